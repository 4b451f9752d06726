"""The sentence encoder every QA head shares: token ids -> one vector per question.

    ids      = [CLS] t_1 … t_n  [pad …]                     (B, T)   (T <= max_len)
    x        = √D · E[ids] + P[0..T)                        (B, T, D) token + learned positions
    h        = Encoder(x, key_padding_mask = ids == pad)    (B, T, D) pre-norm, GELU
    pooled   = Σ_t m_t h_t / Σ_t m_t    (mean pooling, m = not padding)       (B, D)
             or h_0                      (CLS pooling: the [CLS] position)     (B, D)

Mean pooling is the default: on small data sets it trains faster and more stably than reading
the single [CLS] position, because every token's output receives gradient from the head (Reimers
and Gurevych 2019, Sentence-BERT, table 7, found mean pooling slightly ahead of CLS as well).
``[CLS]`` is always prepended, so both poolings work on the same inputs.

**Masked-token pretraining** (BERT's MLM, Devlin et al. 2019) needs token-level outputs too:
``mlm_logits(h) = LN(GELU(W h)) Eᵀ + b`` ``(B, T, V)`` -- a small transform and the *tied*
input embedding table as output layer, so pretraining adds only ``D² + 3D + V`` parameters.

**N-gram bag** (optional, ``ngram_buckets > 0``; on in the matcher and the FAQ and few-label presets;
the intent default gives the n-grams to a separate linear expert instead, see ``router/``). Small data sets
teach a from-scratch encoder few words; a bag of hashed words, word pairs and character n-grams
(fastText, Joulin et al. 2017) shares evidence between "refund", "refunds" and "refnud" and
between 退款 and 退款了, and keeps "top up" apart from "top" and "up":

    g(text)  = { crc32(f) mod K + 1 : f = words, word pairs, char 1..5-grams of " word " }  (G ids)
    bag      = LN( mean_g  N[g] )                                                  (B, D)
    sentence = pooled + bag                                                        (B, D)

The encoder still reads the token sequence (word order, negation); the bag is a second input
adapter that the Trainer fits together with it.

The inputs (token ids, hashed n-gram ids, padding) are made by :mod:`tasks.qa.encoding`; the
settings are a :class:`~tasks.qa.config.SentenceConfig`, whose ``encoder`` field is the core's
:class:`~minitransformer.nn.config.EncoderConfig`.
"""

from __future__ import annotations

import torch
from torch import nn

from minitransformer import Encoder, LayerNorm, LearnedPositionalEmbedding, TokenEmbedding

from .config import SentenceConfig
from .encoding import PAD_ID

__all__ = ["SentenceEncoder"]


class SentenceEncoder(nn.Module):
    """``(B, T)`` ids -> pooled ``(B, D)``; also token states and MLM logits for pretraining."""

    def __init__(self, config: SentenceConfig, pad_id: int = PAD_ID):
        super().__init__()
        self.config, self.pad_id = config, pad_id
        d = config.encoder.d_model
        self.token = TokenEmbedding(config.vocab_size, d, padding_idx=pad_id)
        self.position = LearnedPositionalEmbedding(config.max_len, d, dropout=config.encoder.dropout)
        self.encoder = Encoder.from_config(config.encoder)
        self.mlm_transform = nn.Sequential(nn.Linear(d, d), nn.GELU(), LayerNorm(d))
        self.mlm_bias = nn.Parameter(torch.zeros(config.vocab_size))
        if config.ngram_buckets:
            self.ngram = nn.Embedding(config.ngram_buckets + 1, d, padding_idx=0)
            nn.init.normal_(self.ngram.weight, std=d**-0.5)
            self.ngram_norm = LayerNorm(d)

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` -> ``(B, T, D)``."""
        x = self.position(self.token(ids))  # (B, T, D)
        return self.encoder(x, key_padding_mask=ids == self.pad_id)  # (B, T, D)

    def pool(self, hidden: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` -> ``(B, D)`` by the configured pooling."""
        if self.config.pooling == "cls":
            return hidden[:, 0]
        keep = (ids != self.pad_id).unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        return (hidden * keep).sum(1) / keep.sum(1).clamp_min(1.0)  # (B, D)

    def forward(self, ids: torch.Tensor, grams: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T)`` ids (and ``(B, G)`` n-gram ids, 0 = padding) -> ``(B, D)`` sentence vectors."""
        pooled = self.pool(self.hidden_states(ids), ids)  # (B, D)
        if self.config.ngram_buckets and grams is not None:
            keep = (grams != 0).unsqueeze(-1).to(pooled.dtype)  # (B, G, 1)
            bag = (self.ngram(grams) * keep).sum(1) / keep.sum(1).clamp_min(1.0)  # (B, D)
            pooled = pooled + self.ngram_norm(bag)
        return pooled

    def mlm_logits(self, ids: torch.Tensor, select: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T)`` (masked) ids -> ``(B, T, V)`` logits over the vocabulary, or ``(M, V)`` for
        the ``M`` positions where the bool mask ``select`` ``(B, T)`` is true (the output layer is
        the costly part, and the loss reads only the masked positions)."""
        h = self.hidden_states(ids)  # (B, T, D)
        if select is not None:
            h = h[select]  # (M, D)
        return self.mlm_transform(h) @ self.token.weight.t() + self.mlm_bias  # (..., V)
