"""A small decoder-only (GPT-style) language model built from the core layers.

A causal language model factorises the probability of a token sequence x_1 … x_T left to right
and is trained to predict each token from the ones before it (*self-supervised*: the text is its
own label, no annotation needed):

    p(x_1, …, x_T) = ∏_t p(x_t | x_<t)
    h     = Encoder_causal( Embed(x) + Pos(x) )                   (B, T, D)
    logits = h · Eᵀ                                               (B, T, V)   (tied output head)
    loss  = − 1/N Σ_t log softmax(logits_t)[x_{t+1}]              (next-token cross-entropy)

The stack is an :class:`~minitransformer.Encoder` in pre-norm form (``norm_first=True``, as in
GPT-2) with a final layer norm, run with ``is_causal=True``: position t attends only to positions
≤ t. ``Embed`` scales the token vectors by √D (``scale_embeddings=True``, the default, as in the
2017 paper); GPT-2 adds them unscaled to its learned positions (``scale_embeddings=False``), and
so does a GPT-2 checkpoint loaded with :func:`minitransformer.interop.from_hf`. The output
projection shares its weight with the token embedding ``E`` (*weight tying*, Press & Wolf 2017),
which saves V·D parameters and usually helps small models.

Incremental decoding: :meth:`CausalLM.new_cache` returns a :class:`CausalLMCache` (one
:class:`~minitransformer.KVCache` per layer). Passed to :meth:`CausalLM.forward`, the model then
sees only the *new* tokens, their positions continue after the cached ones, and the logits equal
those of a full forward pass over the whole prefix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from minitransformer.nn.attention import KVCache
from minitransformer.nn.config import ConfigBase
from minitransformer.nn.embedding import TokenEmbedding
from minitransformer.nn.encoder import Encoder
from minitransformer.nn.io import PretrainedMixin
from minitransformer.nn.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from minitransformer.nn.validation import check_token_ids

__all__ = ["CausalLM", "CausalLMConfig", "CausalLMCache", "next_token_loss"]


@dataclass
class CausalLMConfig(ConfigBase):
    """Everything :class:`CausalLM` needs; saved as ``config.json`` by ``save_pretrained``.

    ``positional`` is ``"learned"`` (GPT-2), ``"sinusoidal"`` or ``"rope"``; ``max_len`` bounds
    learned/sinusoidal positions (the longest prefix + continuation the model can handle).
    ``tie_embeddings`` shares the output projection with the token embedding.
    ``scale_embeddings`` multiplies the token vectors by √D before the positions are added
    (False for GPT-2, whose embeddings are added as they are). ``activation`` is ``"gelu"``,
    ``"gelu_tanh"`` (GPT-2's) or ``"relu"``.
    """

    model_type: ClassVar[str] = "causal_lm"
    vocab_size: int = 1000
    d_model: int = 128
    nhead: int = 4
    num_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    activation: str = "gelu"
    layer_norm_eps: float = 1e-5
    bias: bool = True
    max_len: int = 256
    positional: str = "learned"
    tie_embeddings: bool = True
    scale_embeddings: bool = True
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    attention_backend: str = "manual"

    def __post_init__(self):
        self._check_common()
        self._check_positive("vocab_size", "num_layers", "max_len")
        self._check_choice("positional", ("sinusoidal", "learned", "rope"))
        for name in ("pad_id", "bos_id", "eos_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value < self.vocab_size:
                raise ValueError(f"{name}: expected an id in [0, {self.vocab_size}), got {value!r}")


class CausalLMCache:
    """One self-attention :class:`KVCache` per layer; ``len(cache)`` = tokens seen so far."""

    def __init__(self, num_layers: int):
        self.layers = [KVCache() for _ in range(num_layers)]

    def __len__(self) -> int:
        return len(self.layers[0]) if self.layers else 0

    def __getitem__(self, index: int) -> KVCache:  # what Encoder.forward indexes
        return self.layers[index]

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` in every layer (beam search)."""
        for layer in self.layers:
            layer.reorder(index)


class CausalLM(PretrainedMixin, nn.Module):
    """Decoder-only Transformer language model: ``(B, T)`` ids -> next-token logits ``(B, T, V)``.

    Build it from keyword arguments (the fields of :class:`CausalLMConfig`) or with
    :meth:`from_config`; save and load with ``save_pretrained`` / ``from_pretrained``.
    """

    config_class = CausalLMConfig

    def __init__(self, vocab_size: int = 1000, d_model: int = 128, nhead: int = 4,
                 num_layers: int = 2, dim_feedforward: int = 512, dropout: float = 0.1, **options):
        super().__init__()
        self.config = config = CausalLMConfig(vocab_size, d_model, nhead, num_layers,
                                              dim_feedforward, dropout, **options)
        self.embedding = TokenEmbedding(vocab_size, d_model, config.pad_id, scale=config.scale_embeddings,
                                        name="input_ids")
        if config.positional == "learned":
            self.positions = LearnedPositionalEmbedding(config.max_len, d_model, dropout)
        elif config.positional == "sinusoidal":
            self.positions = SinusoidalPositionalEncoding(d_model, config.max_len, dropout)
        else:  # "rope": positions enter inside attention, only dropout here
            self.positions = None
            self.embedding_dropout = nn.Dropout(dropout)
        self.encoder = Encoder(d_model, nhead, num_layers, dim_feedforward, dropout,
                               config.activation, norm_first=True, final_norm=True,
                               layer_norm_eps=config.layer_norm_eps, bias=config.bias,
                               rotary=config.positional == "rope",
                               attention_backend=config.attention_backend)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.embedding.embedding.weight  # W_out = E, shared

    @classmethod
    def from_config(cls, config: CausalLMConfig) -> CausalLM:
        return cls(**dataclasses.asdict(config))

    def new_cache(self) -> CausalLMCache:
        """An empty cache for step-by-step generation."""
        return CausalLMCache(len(self.encoder.layers))

    def forward(self, input_ids: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                cache: CausalLMCache | list[KVCache] | None = None) -> torch.Tensor:
        """``input_ids`` ``(B, T)`` -> logits ``(B, T, V)``; ``logits[:, t]`` predicts token t + 1.

        Args:
            key_padding_mask: ``(B, T)`` bool, **True = padding** (``(B, T_cached + T)`` with a
                cache). Padding is best put on the right for training: a padded position's own
                prediction is ignored by :func:`next_token_loss` anyway.
            cache: a :class:`CausalLMCache` (or the list from ``encoder.new_cache()``); then
                ``input_ids`` holds only the new tokens, positions continue from the cache
                length, and the cache is extended in place.
        """
        check_token_ids("input_ids", input_ids, self.config.vocab_size)
        offset = len(cache[0]) if cache is not None else 0  # tokens already in the cache
        x = self.embedding(input_ids)  # (B, T, D), scaled by √D unless scale_embeddings=False
        if self.positions is not None:
            x = self.positions(x, offset)  # (B, T, D), positions offset … offset + T - 1
        else:
            x = self.embedding_dropout(x)  # (B, T, D); RoPE rotates q/k inside attention
        h = self.encoder(x, key_padding_mask=key_padding_mask, is_causal=True, cache=cache)  # (B, T, D)
        return self.lm_head(h)  # (B, T, V)


def next_token_loss(logits: torch.Tensor, input_ids: torch.Tensor, pad_id: int | None = None,
                    label_smoothing: float = 0.0) -> torch.Tensor:
    """The self-supervised next-token objective: mean cross-entropy of predicting x_{t+1}.

    ``logits`` ``(B, T, V)`` from :meth:`CausalLM.forward` on ``input_ids`` ``(B, T)``. The
    prediction at position t is scored against the token at t + 1, so the last position has no
    target; targets equal to ``pad_id`` are ignored (``None``: nothing is ignored).
    """
    if logits.dim() != 3 or logits.shape[:2] != input_ids.shape:
        raise ValueError(
            f"logits: expected shape (B, T, V) matching input_ids {tuple(input_ids.shape)}, "
            f"got {tuple(logits.shape)}"
        )
    if input_ids.size(1) < 2:
        raise ValueError(f"input_ids: need at least 2 tokens per row to predict a next one, "
                         f"got length {input_ids.size(1)}")
    predictions = logits[:, :-1]  # (B, T-1, V): the prediction made at position t ...
    targets = input_ids[:, 1:]  # (B, T-1):    ... is scored against the token at t + 1
    return F.cross_entropy(predictions.reshape(-1, predictions.size(-1)), targets.reshape(-1),
                           ignore_index=-100 if pad_id is None else pad_id,
                           label_smoothing=label_smoothing)
