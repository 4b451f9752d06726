"""Token embeddings: a lookup table from token id to a D-dimensional vector.

    Embed(i) = √D · E[i]          E: (V, D)

The √D scale (Vaswani et al., 2017, section 3.4) brings the embeddings to a size comparable
with the positional encodings they are added to. Id ``padding_idx`` maps to a zero vector that
receives no gradient.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from minitransformer.nn.validation import check_token_ids

__all__ = ["TokenEmbedding"]


class TokenEmbedding(nn.Module):
    """``(B, T)`` integer ids -> ``(B, T, D)`` vectors, scaled by √D."""

    def __init__(self, vocab_size: int, d_model: int, padding_idx: int | None = None,
                 scale: bool = True, name: str = "ids"):
        super().__init__()
        self.vocab_size, self.d_model, self.name = vocab_size, d_model, name
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)
        if padding_idx is not None:
            with torch.no_grad():
                self.embedding.weight[padding_idx].zero_()
        self.scale = math.sqrt(d_model) if scale else 1.0

    @property
    def weight(self) -> nn.Parameter:
        return self.embedding.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        check_token_ids(self.name, ids, self.vocab_size)
        return self.embedding(ids) * self.scale  # (B, T, D)
