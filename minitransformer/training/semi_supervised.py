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

**Soft pseudo-labels** (:func:`distill`; self-distillation, "noisy student", Xie et al. 2020)
keep every unlabelled row and use the teacher's whole probability vector as the target::

    targets  t_i = onehot(y_i)                 for labelled rows      (N_L, C)
             t_i = sharpen(f_teacher(x_i), T)  for unlabelled rows    (N_U, C)
    sharpen(p, T)_c = p_c^(1/T) / sum_k p_k^(1/T)     (T < 1 pushes towards the argmax)
    student  = argmin_f  mean_i  cross_entropy(t_i, f(x_i))   (with dropout: the "noise")

No threshold to tune, and no row is labelled more surely than the teacher believes, which
matters for rare classes (a fraud model is seldom 90% sure). A student trained with noise on
many more rows than the teacher saw is smoother than it, and often better; when a
``score_fn`` (validation score) is given, each round's teacher is the best model so far, so a
bad round cannot poison the next. With few labels each model is noisy: the first teacher can
be the mean of several models trained on the labelled rows (an ensemble), and the student
then distils the ensemble into one model (Bucilua et al. 2006; Hinton et al. 2015) -- which
needs many rows to imitate it on, exactly what the unlabelled rows are.

This module is generic: :func:`select_pseudo_labels` works on any probability matrix and
:func:`self_train` / :func:`distill` take the task's own ``train_fn`` and ``predict_fn``
callables, so the QA and risk heads share them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

__all__ = ["select_pseudo_labels", "select_top_fraction", "self_train", "SelfTrainResult", "sharpen",
           "distill"]


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


def sharpen(probs: Tensor, temperature: float = 1.0) -> Tensor:
    """``(N, C)`` probabilities raised to ``1 / temperature`` and renormalised (T = 1: unchanged)."""
    if temperature <= 0:
        raise ValueError(f"temperature: expected a positive number, got {temperature}")
    logp = probs.clamp_min(1e-12).log() / temperature
    return torch.softmax(logp, dim=1)


def distill(train_fn: Callable[[Tensor, Tensor, Any], Any], predict_fn: Callable[[Any, Tensor], Tensor],
            labelled: Tensor, labels: Tensor, unlabelled: Tensor, num_classes: int, rounds: int = 1,
            temperature: float = 1.0, score_fn: Callable[[Any], float] | None = None,
            teachers: int = 1) -> SelfTrainResult:
    """Self-training with soft pseudo-labels on every unlabelled row, ``rounds`` times.

    Args:
        train_fn: ``(row_indices, targets (N, C) probabilities, previous_model_or_None) -> model``
            (each call should use its own random seed).
        predict_fn: ``(model, row_indices) -> (len(row_indices), C)`` class probabilities.
        labelled, labels: the truly labelled rows and their classes (one-hot targets).
        unlabelled: the rows without labels (targets from the teacher).
        temperature: :func:`sharpen` the teacher's probabilities (1 = as they are).
        score_fn: ``model -> validation score`` (higher is better); when given, the teacher of
            each later round and the returned model are the best single model so far, else the
            latest.
        teachers: the first round's teacher is the mean prediction of this many models trained
            on the labelled rows (an ensemble: with few labels, each model alone is noisy); the
            student distils the ensemble into one model, which only the unlabelled rows allow.
    """
    if len(labelled) != len(labels):
        raise ValueError(f"labelled has {len(labelled)} rows but labels has {len(labels)}")
    truth = torch.nn.functional.one_hot(labels.long(), num_classes).float()     # (N_L, C)
    members = [train_fn(labelled, truth, None) for _ in range(max(1, teachers))]
    scores = [score_fn(m) for m in members] if score_fn else [0.0] * len(members)
    best = max(range(len(members)), key=scores.__getitem__) if score_fn else 0
    teacher, best_score = members[best], scores[best]
    result = SelfTrainResult(model=teacher)
    for round_index in range(rounds):
        if len(unlabelled) == 0:
            break
        ensemble = members if round_index == 0 else [teacher]
        probs = torch.stack([predict_fn(m, unlabelled).float() for m in ensemble]).mean(0)   # (N_U, C)
        soft = sharpen(probs, temperature)
        student = train_fn(torch.cat([labelled, unlabelled]), torch.cat([truth, soft]), teacher)
        record = {"round": round_index + 1, "pseudo_labels": len(unlabelled),
                  "mean_target": soft.mean(0).tolist()}
        if score_fn is None:
            teacher = student
        else:
            record["score"] = score = score_fn(student)
            if score > best_score:
                teacher, best_score = student, score
        result.model = teacher
        result.rounds.append(record)
    return result
