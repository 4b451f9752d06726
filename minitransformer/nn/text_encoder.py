"""A bidirectional text encoder over token ids (the BERT family), with its masked-LM head.

BERT (Devlin et al., 2019) is the :class:`~minitransformer.Encoder` of the 2017 paper (post-norm,
every position sees every other) with a richer input and two small heads:

    e      = E_tok[x_t] + E_pos[t] + E_type[s_t]                   (B, T, D)   s_t: segment 0 or 1
    h_0    = dropout(LayerNorm(e))                                 (B, T, D)
    h      = Encoder_postnorm(h_0, key_padding_mask)               (B, T, D)   the hidden states
    logits = (LayerNorm(act(h W_t + b_t))) E_tokᵀ + b_out          (B, T, V)   masked-LM head
    pooled = tanh(h[:, 0] W_p + b_p)                               (B, D)      pooler, on [CLS]

* **Token-type (segment) embeddings** ``E_type``: a sentence pair is written as
  ``[CLS] a … [SEP] b … [SEP]``; tokens of the first segment (and the specials around it) get
  type 0, those of the second type 1, so the model knows which sentence a token belongs to.
* **No √D scale**: the three embeddings are summed as they are and normalised by a layer norm
  of their own before the first layer.
* **The masked-LM head** predicts the token at every position from its hidden state: a dense
  layer, the activation, a layer norm, then the output projection, which shares its weight with
  ``E_tok`` (weight tying) and has a bias of its own. It is what BERT was pre-trained with (guess
  the 15 % of tokens that were masked, see :mod:`minitransformer.training.masking`).
* **The pooler** turns the hidden state of the first token (``[CLS]``) into one vector per
  sequence; BERT trained it on next-sentence prediction, a sentence-pair task.

:func:`minitransformer.interop.from_hf` fills this module with the weights of a Hugging Face
``BertModel`` / ``BertForMaskedLM`` checkpoint (``bert-base-chinese`` included). The feed-forward
block has dropout after its activation as well (our :class:`FeedForward`), which BERT has not;
in eval mode the two compute the same function.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from minitransformer.nn.config import ConfigBase
from minitransformer.nn.embedding import TokenEmbedding
from minitransformer.nn.encoder import Encoder
from minitransformer.nn.feedforward import ACTIVATIONS
from minitransformer.nn.io import PretrainedMixin
from minitransformer.nn.norm import LayerNorm
from minitransformer.nn.positional import LearnedPositionalEmbedding
from minitransformer.nn.validation import check_last_dim, check_rank, check_token_ids

__all__ = ["TextEncoder", "TextEncoderConfig", "MaskedLMHead", "Pooler"]


@dataclass
class TextEncoderConfig(ConfigBase):
    """Everything :class:`TextEncoder` needs; saved as ``config.json`` by ``save_pretrained``.

    ``max_len`` is the number of learned positions; ``type_vocab_size`` the number of segments
    (2 for BERT); ``mlm_head`` / ``pooler`` build the two heads. ``layer_norm_eps`` is 1e-12 in
    BERT. ``activation`` is used by the feed-forward blocks and the masked-LM head.
    """

    model_type: ClassVar[str] = "text_encoder"
    vocab_size: int = 1000
    d_model: int = 128
    nhead: int = 4
    num_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    activation: str = "gelu"
    layer_norm_eps: float = 1e-12
    bias: bool = True
    max_len: int = 512
    type_vocab_size: int = 2
    pad_id: int = 0
    mlm_head: bool = True
    pooler: bool = False
    attention_backend: str = "manual"

    def __post_init__(self):
        self._check_common()
        self._check_positive("vocab_size", "num_layers", "max_len", "type_vocab_size")
        if not isinstance(self.pad_id, int) or not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"pad_id: expected an id in [0, {self.vocab_size}), got {self.pad_id!r}")


class MaskedLMHead(nn.Module):
    """``(B, T, D)`` hidden states -> ``(B, T, V)`` token logits: LayerNorm(act(h W + b)) Eᵀ + b_out.

    ``output.weight`` is tied to the token embedding by :class:`TextEncoder`.
    """

    def __init__(self, d_model: int, vocab_size: int, activation: str = "gelu", eps: float = 1e-12):
        super().__init__()
        self.dense = nn.Linear(d_model, d_model)  # W, b
        self.activation = ACTIVATIONS[activation]
        self.norm = LayerNorm(d_model, eps)
        self.output = nn.Linear(d_model, vocab_size)  # E (tied), b_out

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.activation(self.dense(hidden)))  # (B, T, D)
        return self.output(h)  # (B, T, V)


class Pooler(nn.Module):
    """``(B, T, D)`` -> ``(B, D)``: tanh(h[:, 0] W + b), one vector per sequence from its first token."""

    def __init__(self, d_model: int):
        super().__init__()
        self.dense = nn.Linear(d_model, d_model)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))  # (B, D)


class TextEncoder(PretrainedMixin, nn.Module):
    """Token ids ``(B, T)`` -> contextual vectors ``(B, T, D)``: the BERT-style encoder.

    Build it from keyword arguments (the fields of :class:`TextEncoderConfig`) or with
    :meth:`from_config`; save and load with ``save_pretrained`` / ``from_pretrained``.
    ``self.mlm_head`` (:class:`MaskedLMHead`) and ``self.pooler`` (:class:`Pooler`) are ``None``
    unless the config asks for them.
    """

    config_class = TextEncoderConfig

    def __init__(self, vocab_size: int = 1000, d_model: int = 128, nhead: int = 4,
                 num_layers: int = 2, dim_feedforward: int = 512, dropout: float = 0.1, **options):
        super().__init__()
        self.config = config = TextEncoderConfig(vocab_size, d_model, nhead, num_layers,
                                                 dim_feedforward, dropout, **options)
        self.embedding = TokenEmbedding(vocab_size, d_model, config.pad_id, scale=False, name="input_ids")
        self.positions = LearnedPositionalEmbedding(config.max_len, d_model)  # adds E_pos, no dropout
        self.token_types = nn.Embedding(config.type_vocab_size, d_model)  # E_type
        nn.init.normal_(self.token_types.weight, std=0.02)
        fused = config.attention_backend == "sdpa"
        self.embedding_norm = LayerNorm(d_model, config.layer_norm_eps, config.bias, fused)
        self.embedding_dropout = nn.Dropout(dropout)
        self.encoder = Encoder(d_model, nhead, num_layers, dim_feedforward, dropout, config.activation,
                               norm_first=False, final_norm=False, layer_norm_eps=config.layer_norm_eps,
                               bias=config.bias, attention_backend=config.attention_backend)
        self.mlm_head = None
        if config.mlm_head:
            self.mlm_head = MaskedLMHead(d_model, vocab_size, config.activation, config.layer_norm_eps)
            self.mlm_head.output.weight = self.embedding.weight  # tied: logits = h' · E_tokᵀ + b_out
        self.pooler = Pooler(d_model) if config.pooler else None

    @classmethod
    def from_config(cls, config: TextEncoderConfig) -> TextEncoder:
        return cls(**dataclasses.asdict(config))

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T)`` ids -> ``(B, T, D)``: dropout(LayerNorm(E_tok[x] + E_pos[t] + E_type[s]))."""
        check_token_ids("input_ids", input_ids, self.config.vocab_size)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)  # one segment
        elif tuple(token_type_ids.shape) != tuple(input_ids.shape):
            raise ValueError(f"token_type_ids: expected shape {tuple(input_ids.shape)} like input_ids, "
                             f"got {tuple(token_type_ids.shape)}")
        else:
            check_token_ids("token_type_ids", token_type_ids, self.config.type_vocab_size)
        x = self.positions(self.embedding(input_ids))  # (B, T, D): E_tok[x_t] + E_pos[t]
        x = x + self.token_types(token_type_ids)  # (B, T, D): + E_type[s_t]
        return self.embedding_dropout(self.embedding_norm(x))  # (B, T, D)

    def forward(self, input_ids: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, need_weights: bool = False):
        """``input_ids`` ``(B, T)`` -> the last hidden states ``(B, T, D)``.

        Args:
            key_padding_mask: ``(B, T)`` bool, **True = padding** (padded positions are not
                attended to; their own outputs are meaningless).
            token_type_ids: ``(B, T)`` segment ids (0 for the first sentence, 1 for the second);
                default all 0.
            need_weights: also return the per-layer attention weights ``(B, H, T, T)``.
        """
        h = self.embed(input_ids, token_type_ids)  # (B, T, D)
        return self.encoder(h, key_padding_mask=key_padding_mask, need_weights=need_weights)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The masked-LM head on hidden states ``(B, T, D)`` -> token logits ``(B, T, V)``."""
        if self.mlm_head is None:
            raise ValueError("mlm_head: this encoder was built without a masked-LM head "
                             "(the checkpoint was a BertModel, or mlm_head=False)")
        check_rank("hidden", hidden, 3, f"(B, T, {self.config.d_model})")
        check_last_dim("hidden", hidden, self.config.d_model)
        return self.mlm_head(hidden)

    def pool(self, hidden: torch.Tensor) -> torch.Tensor:
        """The pooler on hidden states ``(B, T, D)`` -> one vector per sequence ``(B, D)``."""
        if self.pooler is None:
            raise ValueError("pooler: this encoder was built without a pooler (pooler=False)")
        check_rank("hidden", hidden, 3, f"(B, T, {self.config.d_model})")
        check_last_dim("hidden", hidden, self.config.d_model)
        return self.pooler(hidden)
