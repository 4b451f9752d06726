"""Pictures of the risk head: how well scores separate fraud from legitimate rows, and where the
threshold cuts.

* :func:`plot_pr_roc` — precision–recall and ROC curves side by side, the chosen threshold marked.
* :func:`plot_score_histogram` — the score distribution of each class, the threshold marked.

matplotlib is optional (``pip install minitransformer[plot]``); it is imported only when a
picture is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minitransformer.metrics.classification import average_precision, roc_auc, roc_curve_points
from minitransformer.pictures.plotting import new_figure, save_figure, text_style

__all__ = ["plot_pr_roc", "plot_score_histogram"]


def _inputs(y_true, scores, threshold) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(y_true.detach().cpu() if hasattr(y_true, "detach") else y_true)
    score = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, dtype=np.float64)
    if truth.ndim != 1 or score.shape != truth.shape:
        raise ValueError(f"y_true and scores: expected two 1-D arrays of the same length, got shapes "
                         f"{truth.shape} and {score.shape}")
    if not np.isin(truth, (0, 1)).all():
        raise ValueError("y_true: expected binary labels 0/1 (1 = fraud / default)")
    if truth.min(initial=1) == truth.max(initial=0) or truth.size < 2:
        raise ValueError("y_true: both classes (0 and 1) are needed for these curves")
    if not np.isfinite(score).all():
        raise ValueError("scores: expected finite numbers, found nan/inf")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold: expected a finite number, got {threshold}")
    return truth.astype(np.int64), score


def plot_pr_roc(path: str | Path, y_true: Sequence[int], scores: Sequence[float], threshold: float, *,
                title: str | None = None) -> Path:
    """Precision–recall (left) and ROC (right) curves, with the point of ``threshold`` on both.

    Flagging every row whose score is ``>= threshold`` gives one point on each curve:
    precision ``TP/(TP+FP)`` against recall ``TP/(TP+FN)``, and the true-positive rate (the
    recall) against the false-positive rate ``FP/(FP+TN)``. With rare fraud the PR curve is the
    honest one: a small false-positive rate can still mean most alerts are false.

    Args:
        y_true: 0/1 labels (1 = fraud or default).
        scores: the model's scores (higher = riskier).
        threshold: the operating threshold chosen on validation data.
    """
    truth, score = _inputs(y_true, scores, threshold)
    fpr, tpr, _ = roc_curve_points(truth, score)  # one point per distinct score, from (0, 0)
    n_pos, n_neg = int(truth.sum()), int(truth.size - truth.sum())
    tp, fp = tpr[1:] * n_pos, fpr[1:] * n_neg
    precision, recall = tp / np.maximum(tp + fp, 1), tpr[1:]
    flagged = score >= threshold
    at_tp, at_fp = int((flagged & (truth == 1)).sum()), int((flagged & (truth == 0)).sum())
    at_recall, at_fpr = at_tp / n_pos, at_fp / n_neg
    at_precision = at_tp / (at_tp + at_fp) if at_tp + at_fp else 1.0
    with text_style([title or ""]):
        fig = new_figure(10, 4.2)
        left, right = fig.subplots(1, 2)
        left.step(recall, precision, where="post", label=f"AP {average_precision(truth, score):.3f}")
        base_rate = n_pos / truth.size
        left.axhline(base_rate, color="grey", linestyle=":", label=f"base rate {base_rate:.3f}")
        left.plot([at_recall], [at_precision], "o", color="tab:red", markersize=8,
                  label=f"threshold {threshold:.3g}: P {at_precision:.2f}, R {at_recall:.2f}")
        left.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.02),
                 title="precision–recall")
        right.plot(fpr, tpr, label=f"ROC-AUC {roc_auc(truth, score):.3f}")
        right.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
        right.plot([at_fpr], [at_recall], "o", color="tab:red", markersize=8,
                   label=f"threshold {threshold:.3g}: FPR {at_fpr:.3f}, TPR {at_recall:.2f}")
        right.set(xlabel="false-positive rate", ylabel="true-positive rate (recall)", xlim=(0, 1),
                  ylim=(0, 1.02), title="ROC")
        for ax in (left, right):
            ax.legend(fontsize=8, loc="lower left" if ax is left else "lower right")
            ax.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)


def plot_score_histogram(path: str | Path, y_true: Sequence[int], scores: Sequence[float], threshold: float,
                         *, title: str | None = None) -> Path:
    """The scores of legitimate (0) and fraudulent (1) rows as two histograms, the threshold marked.

    Each class is normalised to its own total (fraud is rare: raw counts would hide it), and
    the y axis is logarithmic so the thin tails show. Everything right of the dashed line is
    flagged: the red mass there is caught fraud, the blue mass false alerts.
    """
    truth, score = _inputs(y_true, scores, threshold)
    bins = np.linspace(min(score.min(), threshold), max(score.max(), threshold), 41)
    with text_style([title or ""]):
        fig = new_figure(6.5, 3.8)
        ax = fig.subplots()
        for label, name, colour in ((0, "legitimate", "tab:blue"), (1, "fraud", "tab:red")):
            part = score[truth == label]
            caught = int((part >= threshold).sum())
            ax.hist(part, bins=bins, weights=np.full(part.size, 1.0 / part.size), alpha=0.55, color=colour,
                    label=f"{name}: {part.size} rows, {caught} flagged")
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
        ax.set_yscale("log")
        ax.set_xlabel("score")
        ax.set_ylabel("share of the class")
        ax.legend(fontsize=8)
        ax.set_title(title or "scores by class", fontsize=10)
        return save_figure(fig, path)
