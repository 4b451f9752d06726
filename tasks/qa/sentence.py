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
the intent default gives the n-grams to a separate linear expert instead, see ``router.py``). Small data sets
teach a from-scratch encoder few words; a bag of hashed words, word pairs and character n-grams
(fastText, Joulin et al. 2017) shares evidence between "refund", "refunds" and "refnud" and
between 退款 and 退款了, and keeps "top up" apart from "top" and "up":

    g(text)  = { crc32(f) mod K + 1 : f = words, word pairs, char 1..5-grams of " word " }  (G ids)
    bag      = LN( mean_g  N[g] )                                                  (B, D)
    sentence = pooled + bag                                                        (B, D)

The encoder still reads the token sequence (word order, negation); the bag is a second input
adapter that the Trainer fits together with it.

**Long questions** are truncated to their first ``max_len`` tokens ([CLS] included): the model
has a learned position vector for ``max_len`` positions only, and a customer's first sentences
carry the question. :func:`encode_texts` does the truncation and refuses empty questions.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from minitransformer import Encoder, LayerNorm, LearnedPositionalEmbedding, TokenEmbedding
from minitransformer.nn.config import ConfigBase

__all__ = ["SentenceConfig", "SentenceEncoder", "encode_texts", "encode_questions", "pad_ids",
           "text_ngrams", "iter_ngrams", "POOLINGS"]

POOLINGS = ("mean", "cls")
_WORD = re.compile(r"\w+|[^\w\s]")


@dataclass
class SentenceConfig(ConfigBase):
    """Everything the shared :class:`SentenceEncoder` needs."""

    model_type: ClassVar[str] = "qa_sentence"
    vocab_size: int = 8000
    d_model: int = 192
    nhead: int = 4
    num_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    max_len: int = 64
    pooling: str = "mean"
    activation: str = "gelu"
    attention_backend: str = "manual"
    ngram_buckets: int = 0

    def __post_init__(self):
        self._check_common()
        self._check_positive("vocab_size", "num_layers", "max_len")
        if self.ngram_buckets < 0:
            raise ValueError(f"ngram_buckets: expected a non-negative integer, got {self.ngram_buckets}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {list(POOLINGS)}, got {self.pooling!r}")


class SentenceEncoder(nn.Module):
    """``(B, T)`` ids -> pooled ``(B, D)``; also token states and MLM logits for pretraining."""

    def __init__(self, config: SentenceConfig, pad_id: int = 0):
        super().__init__()
        self.config, self.pad_id = config, pad_id
        d = config.d_model
        self.token = TokenEmbedding(config.vocab_size, d, padding_idx=pad_id)
        self.position = LearnedPositionalEmbedding(config.max_len, d, dropout=config.dropout)
        self.encoder = Encoder(d, config.nhead, config.num_layers, config.dim_feedforward,
                               config.dropout, config.activation, norm_first=True,
                               attention_backend=config.attention_backend)
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


def encode_texts(tokenizer, texts: Sequence[str], max_len: int) -> list[list[int]]:
    """``[CLS] + tokens`` of each text, cut to ``max_len`` ids. Empty questions are refused."""
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"question {i + 1}: empty question; type a question to classify")
        out.append(([tokenizer.cls_id] + tokenizer.encode(text.strip()))[:max_len])
    return out


def iter_ngrams(text: str) -> Iterator[str]:
    """The n-grams of ``text`` (lower-cased), in reading order, repeats included: words, word
    pairs and the character 1..5-grams inside each word padded with spaces (``" card "`` ->
    ``" c"``, ``"ca"``, ... ``"ard "``). Chinese has no spaces, so a run of characters is one
    "word" and its character n-grams do the work. A generator: a very long text is read only as
    far as the caller needs."""
    words = _WORD.findall(text.lower())
    yield from (f"w {w}" for w in words)
    yield from (f"b {a} {b}" for a, b in zip(words, words[1:]))
    for word in words:
        padded = f" {word} "
        for n in range(1, 6):
            for i in range(len(padded) - n + 1):
                if padded[i:i + n].strip():
                    yield padded[i:i + n]


def text_ngrams(text: str, buckets: int, max_grams: int = 256) -> list[int]:
    """Hashed n-grams of ``text`` (:func:`iter_ngrams`), each once, ids in ``1..buckets``; at most
    ``max_grams`` of them (the first ones of a long text)."""
    ids: dict[int, None] = {}  # insertion-ordered set
    for gram in iter_ngrams(text):
        ids[zlib.crc32(gram.encode("utf-8")) % buckets + 1] = None
        if len(ids) >= max_grams:
            break
    return list(ids) or [1]


def encode_questions(tokenizer, texts: Sequence[str], config: SentenceConfig
                     ) -> list[tuple[list[int], list[int]]]:
    """``(token ids, n-gram ids)`` per question; the n-grams are empty without a bag."""
    ids = encode_texts(tokenizer, texts, config.max_len)
    if not config.ngram_buckets:
        return [(row, []) for row in ids]
    return [(row, text_ngrams(text, config.ngram_buckets)) for row, text in zip(ids, texts)]


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int = 0) -> torch.Tensor:
    """Right-pad lists of ids into one ``(B, T)`` long tensor."""
    width = max((len(r) for r in rows), default=1)
    return torch.tensor([list(r) + [pad_id] * (width - len(r)) for r in rows], dtype=torch.long)
