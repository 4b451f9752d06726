"""The encoder–decoder Transformer of "Attention Is All You Need", with the seed's signature.

    memory = Encoder(PosEnc(Embed_src(src)))                      (B, S, D)
    logits = W_out · Decoder(PosEnc(Embed_tgt(tgt)), memory)      (B, T, V_tgt)

Training uses *teacher forcing*: ``tgt`` is the target shifted right (starting with ``<bos>``)
and the logits at position t predict target token t + 1. At inference, :meth:`encode` runs once
and :meth:`decode` is called step by step with a :class:`~minitransformer.DecoderCache`.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from minitransformer.nn.config import TransformerConfig
from minitransformer.nn.decoder import Decoder, DecoderCache
from minitransformer.nn.embedding import TokenEmbedding
from minitransformer.nn.encoder import Encoder
from minitransformer.nn.io import PretrainedMixin
from minitransformer.nn.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from minitransformer.nn.validation import check_mask, check_same_batch, check_token_ids

__all__ = ["Transformer"]


def _positions(config: TransformerConfig) -> nn.Module:
    if config.positional == "sinusoidal":
        return SinusoidalPositionalEncoding(config.d_model, config.max_len, config.dropout)
    if config.positional == "learned":
        return LearnedPositionalEmbedding(config.max_len, config.d_model, config.dropout)
    return _DropoutOnly(config.dropout)  # "rope": positions enter inside attention


class _DropoutOnly(nn.Module):
    def __init__(self, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        return self.dropout(x)


class Transformer(PretrainedMixin, nn.Module):
    """Encoder–decoder Transformer for sequence-to-sequence tasks.

    Args:
        src_vocab_size, tgt_vocab_size: V_src, V_tgt.
        d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout:
            as in ``nn.Transformer``.
        **options: the other fields of :class:`~minitransformer.TransformerConfig`
            (``norm_first``, ``activation``, ``positional``, ``max_len``, ``pad_id``, ...).
    """

    config_class = TransformerConfig

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int = 512,
                 nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, **options):
        super().__init__()
        self.config = config = TransformerConfig(
            src_vocab_size, tgt_vocab_size, d_model, nhead, num_encoder_layers,
            num_decoder_layers, dim_feedforward, dropout, **options)
        stack = dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward,
                     dropout=dropout, activation=config.activation, norm_first=config.norm_first,
                     layer_norm_eps=config.layer_norm_eps, bias=config.bias,
                     rotary=config.positional == "rope",
                     attention_backend=config.attention_backend)
        self.src_embedding = TokenEmbedding(src_vocab_size, d_model, config.pad_id, name="src")
        self.tgt_embedding = TokenEmbedding(tgt_vocab_size, d_model, config.pad_id, name="tgt")
        self.src_positions = _positions(config)
        self.tgt_positions = _positions(config)
        self.encoder = Encoder(num_layers=num_encoder_layers, **stack)
        self.decoder = Decoder(num_layers=num_decoder_layers, **stack)
        self.output_projection = nn.Linear(d_model, tgt_vocab_size)
        if config.tie_embeddings:
            self.tgt_embedding.embedding.weight = self.src_embedding.embedding.weight
            self.output_projection.weight = self.src_embedding.embedding.weight

    @classmethod
    def from_config(cls, config: TransformerConfig) -> Transformer:
        return cls(**dataclasses.asdict(config))

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor | None = None,
               src_padding_mask: torch.Tensor | None = None, need_weights: bool = False):
        """``src`` ``(B, S)`` ids -> ``memory`` ``(B, S, D)`` (plus weights if asked)."""
        self._check_ids("src", src, self.config.src_vocab_size, 0)
        check_mask("src_padding_mask", src_padding_mask, tuple(src.shape), "True = padding")
        x = self.src_positions(self.src_embedding(src))  # (B, S, D)
        return self.encoder(x, src_mask, src_padding_mask, need_weights=need_weights)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, tgt_mask=None,
               tgt_padding_mask=None, memory_key_padding_mask=None,
               cache: DecoderCache | None = None, need_weights: bool = False):
        """``tgt`` ``(B, T)`` ids and ``memory`` ``(B, S, D)`` -> logits ``(B, T, V_tgt)``.

        With a ``cache``, ``tgt`` holds only the new tokens; positions continue from
        ``len(cache)``.
        """
        offset = len(cache) if cache is not None else 0
        self._check_ids("tgt", tgt, self.config.tgt_vocab_size, offset)
        y = self.tgt_positions(self.tgt_embedding(tgt), offset)  # (B, T, D)
        out = self.decoder(y, memory, tgt_mask, None, tgt_padding_mask, memory_key_padding_mask,
                           cache=cache, need_weights=need_weights)
        hidden, weights = out if need_weights else (out, None)
        logits = self.output_projection(hidden)  # (B, T, V_tgt)
        return (logits, weights) if need_weights else logits

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask=None, tgt_mask=None,
                src_padding_mask=None, tgt_padding_mask=None, memory_key_padding_mask=None,
                need_weights: bool = False):
        """Teacher-forced forward pass: ``(B, S)``, ``(B, T)`` ids -> logits ``(B, T, V_tgt)``.

        Masks: ``src_mask``/``tgt_mask`` are attention masks (bool True = may attend, or
        additive float); the decoder is always causal, ``tgt_mask`` adds to that. The three
        padding masks are ``(B, S)``/``(B, T)`` with **True = padding**; when
        ``memory_key_padding_mask`` is None the ``src_padding_mask`` is used for it.

        With ``need_weights`` returns ``(logits, {"encoder": [...], "decoder_self": [...],
        "decoder_cross": [...]})``, one ``(B, H, T_q, T_k)`` tensor per layer.
        """
        self._check_ids("src", src, self.config.src_vocab_size, 0)
        self._check_ids("tgt", tgt, self.config.tgt_vocab_size, 0)
        check_same_batch(src=src, tgt=tgt)
        check_mask("tgt_padding_mask", tgt_padding_mask, tuple(tgt.shape), "True = padding")
        if memory_key_padding_mask is None:
            memory_key_padding_mask = src_padding_mask
        encoded = self.encode(src, src_mask, src_padding_mask, need_weights)
        memory, enc_weights = encoded if need_weights else (encoded, None)
        decoded = self.decode(tgt, memory, tgt_mask, tgt_padding_mask, memory_key_padding_mask,
                              need_weights=need_weights)
        if not need_weights:
            return decoded
        logits, dec_weights = decoded
        return logits, {"encoder": enc_weights,
                        "decoder_self": [w[0] for w in dec_weights],
                        "decoder_cross": [w[1] for w in dec_weights]}

    def _check_ids(self, name: str, ids: torch.Tensor, vocab_size: int, offset: int) -> None:
        check_token_ids(name, ids, vocab_size)
        if self.config.positional != "rope" and offset + ids.size(1) > self.config.max_len:
            raise ValueError(
                f"{name}: length {offset + ids.size(1)} exceeds the model's max_len={self.config.max_len}; "
                "truncate the input or build the model with a larger max_len"
            )

    def new_cache(self) -> DecoderCache:
        """An empty :class:`DecoderCache` for step-by-step decoding."""
        return DecoderCache(len(self.decoder.layers))
