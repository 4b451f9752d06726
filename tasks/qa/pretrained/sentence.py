"""A BERT checkpoint as the QA sentence encoder: WordPiece ids -> one vector per question.

    ids    = [CLS] w_1 … w_n [SEP] [PAD …]                      (B, T)  the checkpoint's tokenizer
    h      = TextEncoder(ids, key_padding_mask = ids == [PAD])   (B, T, D)  the loaded BERT
    pooled = Σ_t m_t h_t / Σ_t m_t      (mean, m = not padding)  (B, D)   -- the default
             or h_0                     (the [CLS] position)     (B, D)

**Why the padding-aware mean.** BERT's [CLS] vector was trained only by the next-sentence task
(and ``BertModel``'s pooler on top of it too), so before fine-tuning it says little about what a
question asks; the mean of the token states starts as a usable sentence vector and every token
receives gradient from the head. Sentence-BERT (Reimers and Gurevych 2019, table 7) found mean
pooling ahead of [CLS] for fine-tuned BERT, and the matcher compares two such vectors directly.
The padded positions are left out of the mean (their states are meaningless). ``pooling="cls"``
reads ``h_0`` instead.

The config nests the core's :class:`~minitransformer.nn.text_encoder.TextEncoderConfig`, so the
saved model (``config.json`` + ``model.safetensors``) rebuilds without the checkpoint folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from minitransformer.nn.config import ConfigBase
from minitransformer.nn.text_encoder import TextEncoder, TextEncoderConfig

from ..config import POOLINGS

__all__ = ["BertSentenceConfig", "BertSentenceEncoder"]


@dataclass
class BertSentenceConfig(ConfigBase):
    """The loaded encoder's shape, the longest question (``max_len`` ids, [CLS] and [SEP]
    included, at most the checkpoint's positions) and the pooling. ``ngram_buckets`` is always
    0: the QA encoding reads it (:func:`tasks.qa.encoding.encode_questions`)."""

    text_encoder: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    max_len: int = 64
    pooling: str = "mean"
    ngram_buckets: int = 0

    def __post_init__(self):
        if not isinstance(self.text_encoder, TextEncoderConfig):
            raise ValueError(f"text_encoder: expected a TextEncoderConfig, "
                             f"got {type(self.text_encoder).__name__}")
        self._check_positive("max_len")
        if self.max_len > self.text_encoder.max_len:
            raise ValueError(f"max_len: {self.max_len} is more than the encoder's "
                             f"{self.text_encoder.max_len} positions")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {list(POOLINGS)}, got {self.pooling!r}")
        if self.ngram_buckets != 0:
            raise ValueError("ngram_buckets: a pretrained encoder reads no n-gram bag (expected 0)")

    @property
    def d_model(self) -> int:
        return self.text_encoder.d_model


class BertSentenceEncoder(nn.Module):
    """``(B, T)`` WordPiece ids (padded with 0) -> ``(B, D)`` sentence vectors."""

    def __init__(self, config: BertSentenceConfig):
        super().__init__()
        self.config = config
        self.bert = TextEncoder.from_config(config.text_encoder)

    def forward(self, ids: torch.Tensor, grams: torch.Tensor | None = None) -> torch.Tensor:
        """``grams`` is accepted and ignored (the QA batches carry it; this encoder has no bag)."""
        padding = ids == self.config.text_encoder.pad_id  # (B, T) True = padding
        hidden = self.bert(ids, key_padding_mask=padding)  # (B, T, D)
        if self.config.pooling == "cls":
            return hidden[:, 0]  # (B, D)
        keep = (~padding).unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        return (hidden * keep).sum(1) / keep.sum(1).clamp_min(1.0)  # (B, D)
