"""Numeric normalisation inside the model: quantile (default) or mean/std, fitted on training rows.

Money columns are heavily skewed (most bills are small, a few are huge) and some are discrete
(repayment status -2..8). A plain ``(x - mean) / std`` leaves a long tail that dominates a
linear token embedding. The **quantile transform** (used for FT-Transformer by Gorishniy et al.,
2021) maps each value through the column's empirical CDF and then through the inverse normal
CDF, so every column arrives roughly standard-normal whatever its shape::

    u = F_hat(x)          in [0, 1]   (piecewise-linear between Q stored quantiles)
    z = Phi^{-1}(clip(u, eps, 1 - eps))

A value tied with many training values (``x = 0`` in a column that is 0 for half the rows) gets
the middle of the range it occupies: ``u`` is the mean of the left- and right-continuous
interpolations. The quantiles live in buffers, so they are saved in ``model.safetensors`` and
the model accepts raw numbers.

**Two views** (``method="both"``, the default of the risk model). A rank hides how far into
the tail a value lies: a purchase 5 times the card's usual amount and one 2 times it are both
"top 1%" and get nearly the same ``z`` (with ``eps = 1e-3`` everything beyond the 99.9th
percentile gets the same). Fraud often lives exactly there, so :meth:`NumericNormalizer.views`
also returns the standardised value, clipped to +-``clip`` so one huge bill cannot blow up a
token::

    views(x) = [Phi^{-1}(F_hat(x)),  clip((x - mean) / std, -clip, clip)]      (B, F, 2)

(on the simulated fraud data, logistic regression on the rank view alone reaches AUPRC 0.57,
on the standardised view 0.86, on both 0.87).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from tasks.risk.config import NUMERIC_TRANSFORMS

__all__ = ["NumericNormalizer"]


class NumericNormalizer(nn.Module):
    """``(B, F)`` raw numbers -> ``(B, F)`` roughly standard-normal features.

    Args:
        num_features: F.
        num_quantiles: Q, the size of each column's quantile table.
        method: ``"quantile"``, ``"standard"`` or ``"both"`` (forward: the quantile view;
            :meth:`views`: both).
    """

    METHODS = NUMERIC_TRANSFORMS

    def __init__(self, num_features: int, num_quantiles: int = 256, method: str = "quantile",
                 eps: float = 1e-3, clip: float = 10.0):
        super().__init__()
        if method not in self.METHODS:
            raise ValueError(f"numeric_transform: expected one of {self.METHODS}, got {method!r}")
        self.method, self.eps, self.clip = method, eps, clip
        q = torch.linspace(0, 1, num_quantiles).repeat(num_features, 1)
        self.register_buffer("quantiles", q)                        # (F, Q)
        self.register_buffer("mean", torch.zeros(num_features))     # (F,)
        self.register_buffer("std", torch.ones(num_features))       # (F,)

    @torch.no_grad()
    def fit(self, values: np.ndarray) -> NumericNormalizer:
        """Fit the statistics from ``(N, F)`` training values."""
        values = np.asarray(values, dtype=np.float64)
        levels = np.linspace(0, 1, self.quantiles.shape[1])
        if values.shape[1]:
            self.quantiles.copy_(torch.from_numpy(np.quantile(values, levels, axis=0).T))
            self.mean.copy_(torch.from_numpy(values.mean(axis=0)))
            self.std.copy_(torch.from_numpy(np.maximum(values.std(axis=0), 1e-8)))
        return self

    def _cdf(self, x: Tensor, right: bool) -> Tensor:
        """Piecewise-linear CDF through the quantile table; ``x``: (F, B)."""
        q = self.quantiles                                           # (F, Q)
        k = torch.searchsorted(q, x.contiguous(), right=right)        # (F, B)
        k = k.clamp(1, q.shape[1] - 1)
        low, high = q.gather(1, k - 1), q.gather(1, k)                # (F, B)
        gap = high - low
        frac = torch.where(gap > 0, (x - low) / gap.clamp_min(1e-12), torch.zeros_like(x))
        if right:   # at a tie block the right-continuous CDF sits at its top end
            frac = torch.where(gap > 0, frac, torch.ones_like(x))
        return ((k - 1) + frac.clamp(0, 1)) / (q.shape[1] - 1)

    @property
    def num_views(self) -> int:
        return 2 if self.method == "both" else 1

    def views(self, x: Tensor) -> Tensor:
        """``(B, F)`` -> ``(B, F, V)``: the normalised value(s) of every cell (V = 1 or 2)."""
        if self.method != "both":
            return self(x).unsqueeze(-1)
        standard = ((x - self.mean) / self.std).clamp(-self.clip, self.clip).to(x.dtype)
        return torch.stack([self(x), standard], dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        if self.method == "standard":
            return (x - self.mean) / self.std
        xt = x.t().to(self.quantiles.dtype)                          # (F, B)
        u = 0.5 * (self._cdf(xt, right=False) + self._cdf(xt, right=True))
        z = torch.special.ndtri(u.clamp(self.eps, 1 - self.eps))      # (F, B)
        return z.t().to(x.dtype)                                      # (B, F)
