"""Sequential recommenders: SASRec (causal) and BERT4Rec (bidirectional, masked items).

Both are the same three pieces around the core :class:`~minitransformer.Encoder`:

    h_0 = Dropout(E[s_t] + P[t])            E: (N + 2, D) items, 0 = padding, N + 1 = [MASK]
    H   = Encoder(h_0)                       pre-norm, (B, T, D)
    score(t, i) = H_t · E[i]                 tied output: (B, T, N + 2)

* **SASRec** (Kang & McAuley, ICDM 2018): the encoder is causal, so ``H_t`` sees ``s_1..s_t``
  and predicts ``s_{t+1}``. At inference the last position scores the next item.
* **BERT4Rec** (Sun et al., CIKM 2019): no causal mask; training hides random items behind
  ``[MASK]`` and predicts them from both sides. At inference ``[MASK]`` is appended to the
  history and its position scores the next item.

Sequences are **left-padded**: the most recent item is always at the last position, and the
learned position of an item counts from the right (``P[max_len - T + t]``), so a batch can be
cut to its longest sequence without changing any position. Padding keys are masked out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from minitransformer import Encoder, LearnedPositionalEmbedding
from minitransformer.nn.config import ConfigBase
from minitransformer.nn.io import PretrainedMixin

__all__ = ["RecommenderConfig", "SequentialRecommender", "MODEL_KINDS"]

MODEL_KINDS = ("sasrec", "bert4rec")


@dataclass
class RecommenderConfig(ConfigBase):
    """Every number needed to rebuild a :class:`SequentialRecommender` (saved as config.json).

    ``num_items`` is N (ids 1..N); the vocabulary has N + 2 rows (padding and [MASK]).
    """

    model_type: ClassVar[str] = "sequential_recommender"
    num_items: int = 1
    kind: str = "sasrec"
    max_len: int = 50
    d_model: int = 64
    nhead: int = 1
    num_layers: int = 2
    dim_feedforward: int = 256
    dropout: float = 0.3
    activation: str = "gelu"
    attention_backend: str = "manual"

    def __post_init__(self):
        self._check_common()
        self._check_positive("num_items", "max_len", "num_layers")
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind: expected one of {MODEL_KINDS}, got {self.kind!r}")

    @property
    def mask_id(self) -> int:
        return self.num_items + 1

    @property
    def vocab_size(self) -> int:
        return self.num_items + 2


class SequentialRecommender(PretrainedMixin, nn.Module):
    """Item embeddings + learned positions + core Encoder + tied output layer."""

    config_class = RecommenderConfig

    def __init__(self, config: RecommenderConfig):
        super().__init__()
        self.config = config
        self.item_embedding = nn.Embedding(config.vocab_size, config.d_model, padding_idx=0)
        nn.init.normal_(self.item_embedding.weight, std=config.d_model ** -0.5)
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()
        self.positions = LearnedPositionalEmbedding(config.max_len, config.d_model, config.dropout)
        self.encoder = Encoder(config.d_model, config.nhead, config.num_layers, config.dim_feedforward,
                               config.dropout, config.activation, norm_first=True,
                               attention_backend=config.attention_backend)

    @classmethod
    def from_config(cls, config: RecommenderConfig) -> SequentialRecommender:
        return cls(dataclasses.replace(config))

    @property
    def causal(self) -> bool:
        return self.config.kind == "sasrec"

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """``items`` (B, T) left-padded ids (T <= max_len) -> hidden states (B, T, D)."""
        if items.dim() != 2:
            raise ValueError(f"items must be (B, T), got shape {tuple(items.shape)}")
        length = items.size(1)
        if length > self.config.max_len:
            raise ValueError(f"items: length {length} exceeds max_len={self.config.max_len}; truncate first")
        x = self.item_embedding(items)  # (B, T, D)
        x = self.positions(x, offset=self.config.max_len - length)  # (B, T, D), right-aligned
        padding = items == 0  # (B, T) True = padding
        return self.encoder(x, key_padding_mask=padding, is_causal=self.causal)  # (B, T, D)

    def item_scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """Hidden states (..., D) -> scores over the whole vocabulary (..., N + 2)."""
        return hidden @ self.item_embedding.weight.t()

    def prepare_history(self, histories: list[list[int]]) -> torch.Tensor:
        """Histories -> (B, T) left-padded input for next-item scoring; BERT4Rec appends [MASK]."""
        budget = self.config.max_len - (0 if self.causal else 1)
        rows = [h[-budget:] if budget > 0 else [] for h in histories]
        if not self.causal:
            rows = [r + [self.config.mask_id] for r in rows]
        return left_pad(rows, max(1, max((len(r) for r in rows), default=1)))

    def next_item_scores(self, histories: list[list[int]]) -> torch.Tensor:
        """Scores (B, N + 2) of the next item after each history (column 0 and [MASK] included;
        the evaluator excludes them)."""
        device = self.item_embedding.weight.device
        items = self.prepare_history(histories).to(device)  # (B, T)
        hidden = self(items)[:, -1]  # (B, D): the last position predicts the next item
        return self.item_scores(hidden)  # (B, N + 2)


def left_pad(rows: list[list[int]], length: int) -> torch.Tensor:
    """Rows of ids -> (B, length) LongTensor, keeping the last ``length`` ids, zeros on the left."""
    out = torch.zeros(len(rows), length, dtype=torch.long)
    for i, row in enumerate(rows):
        row = row[-length:]
        if row:
            out[i, length - len(row):] = torch.tensor(row, dtype=torch.long)
    return out
