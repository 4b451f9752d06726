"""Self-training with pseudo-labels: learning from a few labelled and many unlabelled examples.

Labels are expensive (a fraud analyst reviews a case, an agent tags a customer question), while
unlabelled rows are plentiful. **Self-training** (Scudder 1965; "pseudo-labelling", Lee 2013)
lets a model label the unlabelled rows itself and learn from its most confident guesses:

1. train a model ``f`` on the labelled set ``L``;
2. predict class probabilities ``p_i = f(x_i)`` (shape ``(N, C)``) on the unlabelled set ``U``;
3. keep the rows the model is sure about, ``max_c p_ic >= threshold``, with pseudo-label
   ``argmax_c p_ic`` (optionally at most ``max_per_class`` per class, the most confident first,
   or the same number per class so the majority class does not swamp the minority);
4. retrain on ``L`` plus the pseudo-labelled rows; repeat for a few rounds.

Why it helps: the confident predictions lie far from the decision boundary, so they add
(mostly correct) examples that push the boundary into low-density regions of the input space
(the "cluster assumption"). Why it can hurt: confident mistakes are learned as if true
("confirmation bias"), which a high threshold and class balancing keep in check; the
validation set -- always truly labelled -- tells whether a round helped.

This module is generic: :func:`select_pseudo_labels` works on any probability matrix and
:func:`self_train` takes the task's own ``train_fn`` and ``predict_fn`` callables, so the QA and
risk heads share it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

__all__ = ["select_pseudo_labels", "select_top_fraction", "self_train", "SelfTrainResult"]


def select_pseudo_labels(probs: Tensor, threshold: float = 0.9, max_per_class: int | None = None,
                         class_balance: bool = False) -> tuple[Tensor, Tensor]:
    """Pick the confidently predicted rows of ``probs`` and their pseudo-labels.

    Args:
        probs: ``(N, C)`` class probabilities (rows sum to 1) for N unlabelled examples.
        threshold: keep row ``i`` only when ``max_c probs[i, c] >= threshold``.
        max_per_class: keep at most this many rows per predicted class (most confident first).
        class_balance: keep the same number of rows for every predicted class that has any:
            the count of the rarest such class (most confident first).

    Returns:
        ``(indices, labels)``: LongTensors of equal length, indices into ``probs`` in increasing
        order and the predicted class of each.
    """
    if probs.ndim != 2:
        raise ValueError(f"probs: expected shape (N, C), got {tuple(probs.shape)}")
    if not torch.isfinite(probs).all():
        raise ValueError("probs: contains nan or inf")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold: expected a probability in [0, 1], got {threshold}")
    if max_per_class is not None and max_per_class < 0:
        raise ValueError(f"max_per_class: expected a non-negative integer, got {max_per_class}")
    # BEGIN EXERCISE 7.5
    confidence, predicted = probs.max(dim=1)                       # (N,), (N,)
    candidates = torch.nonzero(confidence >= threshold).squeeze(1)  # (M,)
    per_class = []
    for c in predicted[candidates].unique().tolist():
        rows = candidates[predicted[candidates] == c]
        rows = rows[torch.argsort(confidence[rows], descending=True, stable=True)]
        per_class.append(rows)
    limit = min((len(rows) for rows in per_class), default=0) if class_balance else None
    if max_per_class is not None:
        limit = max_per_class if limit is None else min(limit, max_per_class)
    kept = [rows[:limit] if limit is not None else rows for rows in per_class]
    indices = torch.sort(torch.cat(kept)).values if kept else torch.zeros(0, dtype=torch.long)
    return indices.long(), predicted[indices].long()
    # END EXERCISE


def select_top_fraction(probs: Tensor, fraction: float,
                        class_prior: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Pseudo-label a fixed share of the rows, class by class, in proportion to a prior.

    For imbalanced problems a probability threshold is awkward (a fraud model is rarely 90%
    sure of fraud). Instead, class ``c`` receives the ``round(fraction * N * prior_c)`` rows
    with the highest ``probs[:, c]`` that no rarer class took first, so the pseudo-labelled set
    keeps the class balance of ``class_prior`` (default: the mean predicted probabilities).

    Returns:
        ``(indices, labels)`` as :func:`select_pseudo_labels`.
    """
    if probs.ndim != 2:
        raise ValueError(f"probs: expected shape (N, C), got {tuple(probs.shape)}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction: expected a value in [0, 1], got {fraction}")
    n, num_classes = probs.shape
    prior = probs.mean(0) if class_prior is None else torch.as_tensor(class_prior, dtype=probs.dtype)
    quotas = (fraction * n * prior / prior.sum()).round().long()          # (C,)
    taken = torch.zeros(n, dtype=torch.bool)
    indices, labels = [], []
    for c in torch.argsort(quotas).tolist():                              # rarest class first
        order = torch.argsort(probs[:, c], descending=True, stable=True)
        order = order[~taken[order]][: int(quotas[c])]
        taken[order] = True
        indices.append(order)
        labels.append(torch.full((len(order),), c, dtype=torch.long))
    indices, labels = torch.cat(indices), torch.cat(labels)
    order = torch.argsort(indices)
    return indices[order].long(), labels[order]


@dataclass
class SelfTrainResult:
    """What :func:`self_train` returns: the final model and, per round, the pseudo-label count."""

    model: Any
    rounds: list[dict[str, Any]] = field(default_factory=list)


def self_train(train_fn: Callable[[Tensor, Tensor, Any], Any],
               predict_fn: Callable[[Any, Tensor], Tensor],
               labelled: Tensor, labels: Tensor, unlabelled: Tensor, rounds: int = 1,
               threshold: float = 0.9, max_per_class: int | None = None, class_balance: bool = False,
               select_fn: Callable[[Tensor], tuple[Tensor, Tensor]] | None = None) -> SelfTrainResult:
    """Train, pseudo-label the unlabelled rows, retrain -- ``rounds`` times.

    Args:
        train_fn: ``(row_indices, row_labels, previous_model_or_None) -> model``; trains on the
            given rows (labelled plus pseudo-labelled) and returns the model.
        predict_fn: ``(model, row_indices) -> (len(row_indices), C)`` class probabilities.
        labelled, labels: the truly labelled rows (indices into the task's table) and labels.
        unlabelled: indices of the rows without labels.
        rounds: pseudo-labelling rounds after the first, supervised-only training.
        threshold, max_per_class, class_balance: passed to :func:`select_pseudo_labels`.
        select_fn: replaces :func:`select_pseudo_labels` (``probs -> (positions, labels)``), e.g.
            to keep a fixed fraction per class.

    Each round re-selects the pseudo-labels from scratch with the newest model (earlier mistakes
    are not carried over) and trains on ``labelled`` plus the selection.
    """
    if len(labelled) != len(labels):
        raise ValueError(f"labelled has {len(labelled)} rows but labels has {len(labels)}")
    select = select_fn or (lambda p: select_pseudo_labels(p, threshold, max_per_class, class_balance))
    model = train_fn(labelled, labels, None)
    result = SelfTrainResult(model=model)
    for round_index in range(rounds):
        if len(unlabelled) == 0:
            break
        probs = predict_fn(model, unlabelled)                    # (U, C)
        positions, pseudo = select(probs)
        rows = torch.cat([labelled, unlabelled[positions]])
        targets = torch.cat([labels, pseudo])
        counts = torch.bincount(pseudo, minlength=probs.shape[1]).tolist()
        model = train_fn(rows, targets, model)
        result.model = model
        result.rounds.append({"round": round_index + 1, "pseudo_labels": len(pseudo),
                              "per_class": counts})
    return result
