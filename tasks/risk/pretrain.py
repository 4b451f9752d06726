"""Self-supervised pretraining: masked-feature reconstruction on every row, labelled or not.

Labels are scarce (an analyst must confirm each fraud), rows are not. Like BERT's masked
language model, hide a random fraction ``p`` of each row's cells and train the encoder to
fill them in from the cells it can still see::

    mask    m_ij ~ Bernoulli(p)                       (B, F)     at least one cell per row
    h       = model.encode(numeric, categorical, m)   (B, T, D)  masked values replaced
    numeric     loss_j = (w_j . h[token(j)] + c_j - z_ij)^2          z = normalised value
    categorical loss_j = cross_entropy(V_j h[token(j)], id_ij)
    loss    = mean over masked cells

To guess a hidden bill from the other months, the payment status and the credit limit, the
encoder must learn how the columns relate -- exactly what a classifier needs later. After
pretraining, the same ``TabularTransformer`` is fine-tuned on the labelled rows (the
reconstruction heads are thrown away). ``token(j)`` is the position holding column ``j``
(its own token, or its history step's token, see :meth:`TabularTransformer.column_tokens`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from tasks.risk.model import TabularTransformer

__all__ = ["MaskedFeatureModel", "random_cell_mask", "masked_reconstruction_loss", "pretrain_holdout",
           "FixedMaskBatches", "reconstruction_metrics", "PRETRAIN_HOLDOUT"]

PRETRAIN_HOLDOUT = 0.05  # share of all rows held out to validate the pretraining (at least 500)


class MaskedFeatureModel(nn.Module):
    """The tabular model plus one small reconstruction head per column."""

    def __init__(self, model: TabularTransformer, mask_rate: float = 0.3):
        super().__init__()
        if not 0.0 < mask_rate < 1.0:
            raise ValueError(f"mask_rate: expected a value in (0, 1), got {mask_rate}")
        self.model, self.mask_rate = model, mask_rate
        d = model.config.encoder.d_model
        numeric_tokens, categorical_tokens = model.column_tokens()
        self.register_buffer("numeric_tokens", torch.tensor(numeric_tokens, dtype=torch.long),
                             persistent=False)
        self.register_buffer("categorical_tokens", torch.tensor(categorical_tokens, dtype=torch.long),
                             persistent=False)
        self.numeric_head = nn.Parameter(torch.zeros(model.num_numeric, d))       # w_j
        self.numeric_head_bias = nn.Parameter(torch.zeros(model.num_numeric))      # c_j
        vocab = model.config.schema["vocab"]
        self.categorical_heads = nn.ModuleList(
            nn.Linear(d, len(vocab[name]) + 1) for name in model.config.schema["categorical"])

    def forward(self, numeric: Tensor, categorical: Tensor, mask: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Numeric predictions ``(B, F_num)`` and one ``(B, K_j + 1)`` logit tensor per category."""
        hidden = self.model.encode(numeric, categorical, mask)                     # (B, T, D)
        at_numeric = hidden[:, self.numeric_tokens]                                # (B, F_num, D)
        numeric_pred = (at_numeric * self.numeric_head).sum(-1) + self.numeric_head_bias
        at_categorical = hidden[:, self.categorical_tokens]                        # (B, F_cat, D)
        logits = [head(at_categorical[:, k]) for k, head in enumerate(self.categorical_heads)]
        return numeric_pred, logits


def random_cell_mask(batch: int, num_cells: int, rate: float, device=None) -> Tensor:
    """``(batch, num_cells)`` bool, each cell True with probability ``rate``, >= 1 per row."""
    mask = torch.rand(batch, num_cells, device=device) < rate
    forced = torch.randint(num_cells, (batch,), device=device)
    mask[torch.arange(batch, device=device), forced] = True
    return mask


def masked_reconstruction_loss(wrapper: MaskedFeatureModel, numeric: Tensor, categorical: Tensor,
                               mask: Tensor | None = None) -> Tensor:
    """Mean reconstruction loss over the masked cells of a batch (squared error / cross-entropy)."""
    model = wrapper.model
    num_cells = model.num_numeric + model.num_categorical
    if mask is None:
        mask = random_cell_mask(numeric.shape[0], num_cells, wrapper.mask_rate, numeric.device)
    numeric_pred, logits = wrapper(numeric, categorical, mask)
    total = numeric.new_zeros(())
    if model.num_numeric:
        target = model.normalizer(numeric).detach()                                # (B, F_num)
        hidden = mask[:, : model.num_numeric].float()
        total = total + ((numeric_pred - target) ** 2 * hidden).sum()
    for k, column_logits in enumerate(logits):
        hidden = mask[:, model.num_numeric + k].float()
        total = total + (F.cross_entropy(column_logits, categorical[:, k], reduction="none") * hidden).sum()
    return total / mask.sum().clamp_min(1)


def pretrain_holdout(rows: np.ndarray, valid_rows: np.ndarray, seed: int) -> np.ndarray:
    """Rows that validate the pretraining: the labelled validation rows plus a seeded sample of
    the others, so that the reconstruction loss is measured on enough rows to be steady."""
    rest = np.setdiff1d(rows, valid_rows)
    extra = min(len(rest) // 2, max(500, int(PRETRAIN_HOLDOUT * len(rows))) - len(valid_rows))
    picked = np.random.default_rng(seed).choice(rest, size=max(extra, 0), replace=False)
    return np.sort(np.concatenate([valid_rows, picked]))


class FixedMaskBatches:
    """Validation batches of the pretraining with masks drawn once (seeded): the same cells are
    hidden at every epoch, so the loss changes only when the model does.

    ``batches``: a list of ``(numeric (B, F_num), categorical (B, F_cat), mask (B, F_num + F_cat))``.
    """

    def __init__(self, numeric: Tensor, categorical: Tensor, wrapper: MaskedFeatureModel,
                 seed: int, batch_size: int = 1024):
        generator = torch.Generator().manual_seed(seed)
        cells = wrapper.model.num_numeric + wrapper.model.num_categorical
        mask = torch.rand(len(numeric), cells, generator=generator) < wrapper.mask_rate
        mask[torch.arange(len(numeric)), torch.randint(cells, (len(numeric),), generator=generator)] = True
        self.batches = [(numeric[i:i + batch_size], categorical[i:i + batch_size], mask[i:i + batch_size])
                        for i in range(0, len(numeric), batch_size)]


def reconstruction_metrics(wrapper: MaskedFeatureModel, data: FixedMaskBatches) -> dict[str, float]:
    """``{"loss": mean reconstruction loss per masked cell}`` over the fixed-mask batches."""
    device = next(wrapper.parameters()).device
    total = count = 0.0
    for numeric, categorical, mask in data.batches:
        numeric, categorical, mask = numeric.to(device), categorical.to(device), mask.to(device)
        cells = float(mask.sum())
        total += float(masked_reconstruction_loss(wrapper, numeric, categorical, mask)) * cells
        count += cells
    return {"loss": total / max(count, 1.0)}
