"""A global patch Transformer forecaster (PatchTST-style) with a direct multi-horizon head.

One model is trained on windows from *every* series. For a window with context ``x`` (the last
``C`` values, left-padded with a mask ``o`` where the series is shorter) it predicts the next
``H`` values at once:

1. **Instance normalisation** (RevIN, Kim et al. 2022): ``μ, σ`` = mean and standard deviation
   of the observed context values, ``s = σ + 0.02·mean|x| + min_scale`` (floors for flat
   contexts), ``z = (x − μ) / s`` (0 where padded). Every series is
   forecast on the same scale; the output is mapped back with ``ŷ = μ + s ẑ``.
2. **Patches as tokens** (PatchTST, Nie et al. 2023): the ``C`` steps are cut into
   ``N = C / P`` patches of ``P`` steps. Each step contributes ``[z_t, o_t, covariates_t]``, so a
   patch is a vector of ``P·(2+K)`` numbers, projected to ``d_model`` and given a learned
   position. A patch with no observed value is a padding token (``key_padding_mask``).
   With covariates, one more token carries the known future covariates of the ``H`` steps.
3. The core :class:`~minitransformer.Encoder`, built from ``config.encoder`` (an
   :class:`~minitransformer.EncoderConfig`), mixes the tokens: ``(B, N, D) -> (B, N, D)``.
4. **Direct head**: the ``N`` patch outputs are flattened and one linear layer gives all
   ``H × Q`` outputs (``Q`` quantiles, or 1 point forecast): no step-by-step feedback, so errors
   do not compound over the horizon.

Loss (in normalised units): MAE for a point forecast, the pinball loss averaged over the
quantiles (e.g. P10/P50/P90) otherwise. The P50 (median) is the point forecast.
"""

from __future__ import annotations

import torch
from torch import nn

from minitransformer import Encoder, LearnedPositionalEmbedding, PretrainedMixin
from tasks.forecasting.config import ForecastConfig

__all__ = ["PatchForecaster", "forecast_loss"]


class PatchForecaster(PretrainedMixin, nn.Module):
    """Context ``(B, C)`` (+ mask, covariates) -> forecasts ``(B, H, Q)`` in the data's units."""

    config_class = ForecastConfig

    def __init__(self, config: ForecastConfig):
        super().__init__()
        self.config = c = config
        d = c.encoder.d_model
        step_features = 2 + c.n_covariates                        # z, observed, covariates
        self.patch_embed = nn.Linear(c.patch_len * step_features, d)
        self.position = LearnedPositionalEmbedding(c.num_patches + 1, d, c.encoder.dropout)
        self.future_embed = nn.Linear(c.horizon * c.n_covariates, d) if c.n_covariates else None
        self.encoder = Encoder.from_config(c.encoder)
        self.n_outputs = max(1, len(c.quantiles))
        self.head = nn.Linear(c.num_patches * d, c.horizon * self.n_outputs)

    @classmethod
    def from_config(cls, config: ForecastConfig) -> PatchForecaster:
        return cls(config)

    @property
    def median_index(self) -> int:
        return self.config.quantiles.index(0.5) if self.config.quantiles else 0

    @staticmethod
    def normalize(values: torch.Tensor, observed: torch.Tensor, min_scale: float = 1.0):
        """RevIN statistics over observed steps: ``z (B, C)``, ``mean (B, 1)``, ``scale (B, 1)``.

        ``scale = σ + 0.02·mean|x| + min_scale``: the floors keep a flat context (σ = 0, e.g. a
        run of zero sales) from blowing the normalised target up; ``min_scale`` is in data units.
        """
        weight = observed.float()                                 # (B, C)
        count = weight.sum(dim=1, keepdim=True).clamp(min=1.0)    # (B, 1)
        mean = (values * weight).sum(dim=1, keepdim=True) / count
        var = (((values - mean) * weight) ** 2).sum(dim=1, keepdim=True) / count
        level = (values.abs() * weight).sum(dim=1, keepdim=True) / count
        scale = var.sqrt() + 0.02 * level + min_scale             # floors: flat or near-empty context
        return (values - mean) / scale * weight, mean, scale

    def embed(self, z: torch.Tensor, observed: torch.Tensor, covariates: torch.Tensor | None = None,
              token_mask: torch.Tensor | None = None, mask_token: torch.Tensor | None = None):
        """Patch tokens ``(B, N[+1], D)`` and their padding mask ``(B, N[+1])`` (True = padding).

        ``token_mask`` ``(B, N)`` (True = hide) swaps those patch tokens for ``mask_token``
        ``(D,)``: masked patch reconstruction (see ``pretrain.py``).
        """
        c = self.config
        B, N, P = z.shape[0], c.num_patches, c.patch_len
        steps = [z.unsqueeze(-1), observed.float().unsqueeze(-1)]  # (B, C, 1) each
        if c.n_covariates:
            steps.append(covariates[:, :c.context])               # (B, C, K)
        patches = torch.cat(steps, dim=-1).reshape(B, N, -1)      # (B, N, P·(2+K))
        tokens = self.patch_embed(patches)                        # (B, N, D)
        padding = observed.reshape(B, N, P).sum(-1) == 0          # (B, N)
        if token_mask is not None:
            tokens = torch.where(token_mask.unsqueeze(-1), mask_token.expand_as(tokens), tokens)
        if c.n_covariates:
            future = covariates[:, c.context:].reshape(B, 1, -1)  # (B, 1, H·K)
            tokens = torch.cat([tokens, self.future_embed(future)], dim=1)
            padding = torch.cat([padding, padding.new_zeros(B, 1)], dim=1)
        return self.position(tokens), padding

    def forward_normalized(self, values: torch.Tensor, observed: torch.Tensor,
                           covariates: torch.Tensor | None = None):
        """Normalised forecasts ``(B, H, Q)`` plus ``mean, scale (B, 1)`` to undo RevIN."""
        c = self.config
        z, mean, scale = self.normalize(values, observed, c.min_scale)
        tokens, padding = self.embed(z, observed, covariates)     # (B, N', D), (B, N')
        hidden = self.encoder(tokens, key_padding_mask=padding)   # (B, N', D)
        hidden = hidden[:, :c.num_patches].masked_fill(padding[:, :c.num_patches, None], 0.0)
        out = self.head(hidden.flatten(1))                        # (B, H·Q)
        return out.view(-1, c.horizon, self.n_outputs), mean, scale

    def forward(self, values: torch.Tensor, observed: torch.Tensor,
                covariates: torch.Tensor | None = None, normalized: bool = False):
        """``values, observed (B, C)``, ``covariates (B, C+H, K)`` -> forecasts ``(B, H, Q)``.

        ``normalized=True`` returns :meth:`forward_normalized`'s triple instead (for the loss).
        """
        out, mean, scale = self.forward_normalized(values, observed, covariates)
        if normalized:
            return out, mean, scale
        return out * scale.unsqueeze(-1) + mean.unsqueeze(-1)     # (B, H, Q)


def forecast_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    """MAE (point) or mean pinball loss (quantiles) in normalised units, for the Trainer."""
    out, mean, scale = _call_normalized(model, batch)            # (B, H, Q), (B, 1), (B, 1)
    target = ((batch["target"] - mean) / scale).unsqueeze(-1)     # (B, H, 1)
    quantiles = _config(model).quantiles
    if not quantiles:
        return (out - target).abs().mean()
    q = torch.tensor(quantiles, device=out.device)                # (Q,)
    error = target - out
    return torch.maximum(q * error, (q - 1.0) * error).mean()


def _config(model: nn.Module) -> ForecastConfig:
    return getattr(model, "module", model).config               # under DDP, the wrapped model


def _call_normalized(model: nn.Module, batch: dict):
    return model(batch["values"], batch["observed"], batch.get("covariates"), normalized=True)
