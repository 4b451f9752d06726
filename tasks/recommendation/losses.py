"""Training objectives for next-item prediction, applied at every labelled position.

Let ``h`` (M, D) be the hidden states at the M positions that have a label ``y`` (M,) (every
non-padding position for SASRec, the masked positions for BERT4Rec) and ``E`` (V, D) the item
embeddings. Scores ``s = h E^T``.

* ``ce`` -- full softmax cross-entropy over all N items (Klenitskiy & Vasilev, RecSys 2023, show
  this is why a SASRec trained with it beats BERT4Rec and the original numbers)::

      L = -1/M Σ_m log softmax(s_m)[y_m]          padding and [MASK] columns excluded

* ``bce`` -- the original SASRec loss: one uniformly sampled negative ``n`` per position::

      L = -1/M Σ_m [ log σ(s_{m,y}) + log(1 - σ(s_{m,n})) ]

* ``gbce`` -- gSASRec's generalised BCE (Petrov & Macdonald, RecSys 2023) with k negatives and
  calibration ``t``: the positive's probability is raised to the power
  ``β = α (t (1 - 1/α) + 1/α)``, ``α = k / (N - 1)``, which undoes the overconfidence that
  negative sampling causes::

      L = -1/M Σ_m [ β log σ(s_{m,y}) + Σ_j log(1 - σ(s_{m,n_j})) ]

The k negative scores ``s_{m,n_j}`` can be had two ways with the same result: gather k embeddings
per position and take dot products (an (M, k, D) tensor), or score every item (an (M, N) matrix,
the ``ce`` cost) and pick k columns. :func:`negative_scores` takes whichever tensor is smaller:
with ML-1M's 3,416 items, k = 256 and D = 64 the gather is 4.8x the size of the full scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "negative_scores", "sequence_loss"]

LOSSES = ("ce", "bce", "gbce")


def _labelled(model, inputs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states (M, D) and labels (M,) at the positions with a label (> 0)."""
    hidden = model(inputs)  # (B, T, D)
    where = labels > 0  # (B, T)
    return hidden[where], labels[where]


def negative_scores(hidden: torch.Tensor, weight: torch.Tensor, negative_ids: torch.Tensor) -> torch.Tensor:
    """Scores (M, k) of ``negative_ids`` (M, k) for ``hidden`` (M, D) against item embeddings
    ``weight`` (V, D); by gathering when M·k·D < M·V, else from the full (M, V) score matrix."""
    k, d = negative_ids.size(1), hidden.size(1)
    if k * d < weight.size(0):
        return torch.einsum("md,mkd->mk", hidden, weight[negative_ids])  # via (M, k, D)
    return (hidden @ weight.t()).gather(1, negative_ids)  # via (M, V)


def sequence_loss(model, batch: dict[str, torch.Tensor], loss: str = "ce", negatives: int = 256,
                  gbce_t: float = 0.75) -> torch.Tensor:
    """Mean loss over labelled positions of ``batch = {"inputs": (B, T), "labels": (B, T)}``
    (labels: item id to predict, 0 or -100 = no label)."""
    inner = getattr(model, "module", model)  # DistributedDataParallel wraps the model
    hidden, labels = _labelled(model, batch["inputs"], batch["labels"])  # (M, D), (M,)
    weight = inner.item_embedding.weight  # (V, D) with V = N + 2
    num_items = inner.config.num_items
    if loss == "ce":
        logits = hidden @ weight[: num_items + 1].t()  # (M, N + 1): drop the [MASK] column
        logits[:, 0] = float("-inf")  # padding is never a valid next item
        return F.cross_entropy(logits, labels)
    if loss not in LOSSES:
        raise ValueError(f"loss: expected one of {LOSSES}, got {loss!r}")
    k = 1 if loss == "bce" else negatives
    negative_ids = torch.randint(1, num_items + 1, (labels.numel(), k), device=labels.device)  # (M, k)
    positive = (hidden * weight[labels]).sum(-1)  # (M,)
    negative = negative_scores(hidden, weight[: num_items + 1], negative_ids)  # (M, k)
    beta = 1.0
    if loss == "gbce":
        alpha = k / max(num_items - 1, 1)
        beta = alpha * (gbce_t * (1.0 - 1.0 / alpha) + 1.0 / alpha)
    return -(beta * F.logsigmoid(positive) + F.logsigmoid(-negative).sum(-1)).mean()
