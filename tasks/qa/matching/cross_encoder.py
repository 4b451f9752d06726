"""The cross-encoder matcher: both questions in one sequence, so every layer attends across them.

A Siamese bi-encoder (:mod:`.matcher`) encodes each question alone and compares two vectors at
the end; it never sees which character of ``a`` answers which of ``b``. A cross-encoder reads
the pair as one sequence, as BERT does for sentence pairs (Devlin et al. 2019)::

    ids      = [CLS] a_1 … a_n [SEP] b_1 … b_m [SEP]                       (B, T)
    segment  = 0     0  …  0    0    1  …  1    1                          (B, T)
    shared   = 1 where the token also occurs in the other question, else 0 (B, T)
    x        = √D · E[ids] + P[0..T) + S[segment] + M[shared]              (B, T, D)
    h        = Encoder(x, key_padding_mask = ids == pad)                   (B, T, D)
    pooled   = Σ_t m_t h_t / Σ_t m_t        (mean over the pair's tokens)  (B, D)

so attention can align 花呗 in ``a`` with 花呗 in ``b``, and notice that 借呗 stands where 花呗 was.
The segment of a position is read from the ids (after the first ``[SEP]``: segment 1), so
masked-token pretraining on the same sequences needs no second input.

**The shared-token flag** ``M[shared]`` (``shared_tokens``, on by default) tells every position
whether its character occurs in the other question, the "exact match" feature of reading
comprehension models (Chen et al. 2017, DrQA). Attention *can* discover identical characters
across the ``[SEP]`` by itself, but from scratch it learns this slowly: on a toy task where two
strings match when they hold the same characters, a small cross-encoder without the flag reached
ROC-AUC 0.73 where the TF-IDF baseline reached 0.997 (see the tests). With it, the layers spend
their capacity on which shared and which differing characters matter in context.

**The head** reads the mean of the pair's token states::

    logit    = w₂ · GELU(W₁ dropout(pooled) + b₁) + b₂                       (B,)

(Lexical evidence is *not* an input here: a hashed bag of the pair's shared and differing
n-grams beside the Transformer memorised the training pairs within two epochs, and the
baseline's logit as an input let the Transformer learn only slowly around it; both measured in
``benchmarks/LOG.md``. The two are blended after training instead, see :mod:`.blend`.)

**Symmetry.** ``[CLS] a [SEP] b [SEP]`` and ``[CLS] b [SEP] a [SEP]`` are different sequences;
training reads each pair in both orders and pulls the two predictions together (the consistency
term of :func:`~.training.fit_pairs`; without it, each pair in a random order,
:func:`cross_batches` with ``swap``), and :meth:`CrossPairMatcher.symmetric_logits` averages the
logits of both orders, so a score never depends on which question came first.

Each question is cut to its first ``(max_len - 3) // 2`` tokens (ATEC questions have about 13
characters, far below the default 64 positions).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from minitransformer import Encoder, LayerNorm, LearnedPositionalEmbedding, PretrainedMixin, TokenEmbedding
from minitransformer.tokenizers.special import SEP, SPECIAL_TO_ID

from ..config import CrossMatchConfig
from ..encoding import CLS_ID, PAD_ID, pad_ids

__all__ = ["SEP_ID", "CrossPairMatcher", "CrossEncoded", "encode_cross", "pair_sequence", "cross_batches",
           "segments_of", "shared_of"]

SEP_ID = SPECIAL_TO_ID[SEP]  # 6, as in every core tokenizer

#: one pair's inputs: (a's token ids, b's token ids), without special tokens
CrossEncoded = tuple[list[int], list[int]]


def encode_cross(tokenizer, pairs: Sequence[tuple[str, str]], config: CrossMatchConfig) -> list[CrossEncoded]:
    """Each pair's (a ids, b ids), each question cut to ``(max_len - 3) // 2`` tokens. Empty
    questions are refused."""
    keep = (config.max_len - 3) // 2
    out = []
    for i, (a, b) in enumerate(pairs):
        for text in (a, b):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"pair {i + 1}: empty question; both questions of a pair need text")
        out.append((tokenizer.encode(a.strip())[:keep], tokenizer.encode(b.strip())[:keep]))
    return out


def pair_sequence(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """``[CLS] a [SEP] b [SEP]`` of two questions' token ids.

    Examples:
        >>> pair_sequence([10, 11], [12])
        [5, 10, 11, 6, 12, 6]
    """
    return [CLS_ID, *a, SEP_ID, *b, SEP_ID]


def cross_batches(rows: Sequence[tuple[CrossEncoded, int]], swap: bool = False, flip: bool = False):
    """collate_fn: ``[((a ids, b ids), y)]`` -> ``(ids (B, T), labels (B,))``.

    ``swap``: put each pair's questions in a random order (training); ``flip``: put every pair in
    the order ``b, a`` (the second half of :meth:`CrossPairMatcher.symmetric_logits`)."""
    order = torch.rand(len(rows)) < 0.5 if swap else torch.full((len(rows),), flip)
    sequences = [pair_sequence(b, a) if turn else pair_sequence(a, b)
                 for ((a, b), _), turn in zip(rows, order.tolist())]
    return pad_ids(sequences), torch.tensor([float(y) for _, y in rows])  # (B, T), (B,)


def segments_of(ids: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` ids -> ``(B, T)`` segment ids: 0 up to and including the first ``[SEP]``, then 1.

    Examples:
        >>> segments_of(torch.tensor([[5, 9, 6, 8, 6, 0]])).tolist()
        [[0, 0, 0, 1, 1, 1]]
    """
    sep = (ids == SEP_ID).long()  # (B, T)
    return ((sep.cumsum(1) - sep) > 0).long()  # (B, T)


def shared_of(ids: torch.Tensor, segments: torch.Tensor | None = None) -> torch.Tensor:
    """``(B, T)`` pair ids -> ``(B, T)``: 1 where an ordinary token also occurs in the other
    segment, else 0 (special tokens and padding: 0).

    Examples:
        >>> shared_of(torch.tensor([[5, 10, 11, 6, 11, 12, 6, 0]])).tolist()
        [[0, 0, 1, 0, 1, 0, 0, 0]]
    """
    segments = segments_of(ids) if segments is None else segments  # (B, T)
    ordinary = ids > SEP_ID  # (B, T): the seven special ids come first in every core tokenizer
    same = ids.unsqueeze(2) == ids.unsqueeze(1)  # (B, T, T)
    across = segments.unsqueeze(2) != segments.unsqueeze(1)  # (B, T, T)
    return ((same & across & ordinary.unsqueeze(1)).any(-1) & ordinary).long()  # (B, T)


class CrossPairMatcher(PretrainedMixin, nn.Module):
    """``[CLS] a [SEP] b [SEP]`` ids ``(B, T)`` -> ``(B,)`` same-meaning logits."""

    config_class = CrossMatchConfig

    def __init__(self, config: CrossMatchConfig):
        super().__init__()
        self.config = config
        d = config.encoder.d_model
        self.token = TokenEmbedding(config.vocab_size, d, padding_idx=PAD_ID)
        self.position = LearnedPositionalEmbedding(config.max_len, d, dropout=config.encoder.dropout)
        self.segment = nn.Embedding(2, d)
        nn.init.normal_(self.segment.weight, std=0.02)
        if config.shared_tokens:
            self.shared = nn.Embedding(2, d)
            nn.init.normal_(self.shared.weight, std=0.02)
        self.encoder = Encoder.from_config(config.encoder)
        self.mlm_transform = nn.Sequential(nn.Linear(d, d), nn.GELU(), LayerNorm(d))
        self.mlm_bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.head = nn.Sequential(nn.Dropout(config.encoder.dropout), nn.Linear(d, d), nn.GELU(),
                                  nn.Linear(d, 1))

    @classmethod
    def from_config(cls, config: CrossMatchConfig) -> CrossPairMatcher:
        return cls(config)

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` -> ``(B, T, D)``: token + position + segment (+ shared flag), then the encoder."""
        segments = segments_of(ids)  # (B, T)
        x = self.position(self.token(ids)) + self.segment(segments)  # (B, T, D)
        if self.config.shared_tokens:
            x = x + self.shared(shared_of(ids, segments))  # (B, T, D)
        return self.encoder(x, key_padding_mask=ids == PAD_ID)  # (B, T, D)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` pair ids -> ``(B,)`` logits (one order; see :meth:`symmetric_logits`)."""
        h = self.hidden_states(ids)  # (B, T, D)
        keep = (ids != PAD_ID).unsqueeze(-1).to(h.dtype)  # (B, T, 1)
        pooled = (h * keep).sum(1) / keep.sum(1).clamp_min(1.0)  # (B, D)
        return self.head(pooled).squeeze(-1)  # (B,)

    def symmetric_logits(self, rows: Sequence[tuple[CrossEncoded, int]]) -> torch.Tensor:
        """``(B,)`` logits of ``[((a ids, b ids), y)]``, the mean over both orders of each pair."""
        device = next(self.parameters()).device
        forward, _ = cross_batches(rows)
        backward, _ = cross_batches(rows, flip=True)
        return (self(forward.to(device)) + self(backward.to(device))) / 2  # (B,)

    def mlm_logits(self, ids: torch.Tensor, select: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T)`` (masked) pair ids -> ``(B, T, V)`` logits, or ``(M, V)`` at the ``M``
        positions where ``select`` ``(B, T)`` is true (masked-token pretraining, tied output)."""
        h = self.hidden_states(ids)  # (B, T, D)
        if select is not None:
            h = h[select]  # (M, D)
        return self.mlm_transform(h) @ self.token.weight.t() + self.mlm_bias  # (..., V)
