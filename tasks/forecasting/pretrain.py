"""Self-supervised pretraining: masked patch reconstruction (as in PatchTST, Nie et al. 2023).

Hide a random 40 % of the observed context patches (their tokens are swapped for one learned
``[MASK]`` vector), run the encoder, and reconstruct the hidden patches' normalised values
from the encoder outputs with a linear layer ``D -> P``::

    loss = mean over hidden, observed steps of (ẑ_t − z_t)²

Only the context is used (no targets), so any history can serve -- windows from series too
short to be scored, or other data sets. The patch embedding and the encoder learn the shapes
of the series; supervised training (:mod:`tasks.forecasting.train`) then starts from them. The
reconstruction head and the mask vector are thrown away afterwards.
"""

from __future__ import annotations

import torch
from torch import nn

from minitransformer.training import TrainConfig, Trainer
from tasks.forecasting.model import PatchForecaster

__all__ = ["MaskedPatchPretrainer", "masked_patch_loss", "pretrain_masked"]


class MaskedPatchPretrainer(nn.Module):
    """Wraps a :class:`PatchForecaster`: its embedding + encoder, a mask vector, a linear decoder."""

    def __init__(self, forecaster: PatchForecaster, mask_ratio: float = 0.4):
        super().__init__()
        self.forecaster = forecaster
        d, p = forecaster.config.encoder.d_model, forecaster.config.patch_len
        self.mask_token = nn.Parameter(torch.zeros(d))
        self.reconstruct = nn.Linear(d, p)
        self.mask_ratio = mask_ratio

    def forward(self, values: torch.Tensor, observed: torch.Tensor,
                covariates: torch.Tensor | None = None) -> torch.Tensor:
        """The reconstruction loss of one batch (a scalar)."""
        f = self.forecaster
        c = f.config
        B, N, P = values.shape[0], c.num_patches, c.patch_len
        z, _, _ = f.normalize(values, observed, c.min_scale)                      # (B, C)
        has_data = observed.reshape(B, N, P).sum(-1) > 0             # (B, N)
        hide = (torch.rand(B, N, device=values.device) < self.mask_ratio) & has_data
        tokens, padding = f.embed(z, observed, covariates, token_mask=hide, mask_token=self.mask_token)
        hidden = f.encoder(tokens, key_padding_mask=padding)[:, :N]  # (B, N, D)
        guess = self.reconstruct(hidden)                             # (B, N, P)
        weight = (hide.unsqueeze(-1) & (observed.reshape(B, N, P) > 0)).float()
        squared = (guess - z.reshape(B, N, P)) ** 2
        return (squared * weight).sum() / weight.sum().clamp(min=1.0)


def masked_patch_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    """``loss_fn`` for the Trainer."""
    return model(batch["values"], batch["observed"], batch.get("covariates"))


def pretrain_masked(forecaster: PatchForecaster, windows, epochs: int = 2, batch_size: int = 256,
                    lr: float = 1e-3, seed: int = 0, device: str = "auto", mask_ratio: float = 0.4,
                    log=print, max_minutes: float | None = None, progress: bool | None = False) -> list[dict]:
    """Pretrain ``forecaster`` in place on the contexts of ``windows``; returns the loss history.
    ``max_minutes`` bounds it (``None``: no bound); ``progress=None`` shows a bar on a terminal."""
    wrapper = MaskedPatchPretrainer(forecaster, mask_ratio)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device,
                         verbose=False, progress=progress, max_minutes=max_minutes)
    result = Trainer(wrapper, config, loss_fn=masked_patch_loss, train_data=windows).fit()
    for record in result.history:
        loss = record.get("train_loss", float("nan"))
        log(f"pretrain epoch {record.get('epoch')}: reconstruction loss {loss:.4f}")
    return result.history
