"""Classification metrics, written by hand: accuracy, macro-F1, ROC-AUC, AUPRC, thresholds, costs.

All functions take 1-D numpy arrays, lists or torch tensors (``y_true`` holds integer class
labels; for the binary metrics 1 = positive, 0 = negative; ``scores`` are any real numbers where
larger means "more likely positive") and return Python floats.

**ROC-AUC** is the probability that a random positive scores above a random negative (ties count
one half). With ``r_i`` the rank of example ``i`` among all scores (ties get the average of the
ranks they span), ``P`` positives and ``N`` negatives, this is the Mann-Whitney U statistic::

    AUC = (sum_{i positive} r_i - P (P + 1) / 2) / (P * N)

**ROC-AUC within groups** counts only the positive–negative comparisons inside the same group
``g`` (with ``P_g``, ``N_g`` the group's positives and negatives)::

    AUC_within = sum_g AUC_g P_g N_g / sum_g P_g N_g

"how often a positive outranks a negative *that looks alike*", e.g. of the same character overlap:
a score that only counts shared characters is at 0.5 there.

**Average precision (AUPRC)** summarises the precision-recall curve as a step function. Sort the
scores in decreasing order and stop at every distinct score ``s_k`` (flag everything
``>= s_k``), giving precision ``P_k`` and recall ``R_k``; then::

    AP = sum_k (R_k - R_{k-1}) * P_k          (R_0 = 0)

which is what scikit-learn's ``average_precision_score`` computes (no trapezoid interpolation,
which would be optimistic). A random scorer has AP equal to the positive rate.

**Recall at a fixed false-positive rate**: the best true-positive rate over all thresholds whose
false-positive rate stays ``<= max_fpr`` -- "how much fraud do we catch if we may bother at most
1% of honest customers".

**Thresholds and cost**: a detector flags a row when ``score >= threshold``. Missing a positive
costs ``cost_fn``, a false alarm ``cost_fp``; the expected cost per row is::

    cost = (cost_fn * FN + cost_fp * FP) / n

:func:`choose_threshold` picks, on validation data, the threshold minimising that cost, or the
lowest threshold meeting a target precision, or (by default) the one maximising F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "accuracy", "macro_f1", "roc_auc", "roc_auc_within", "average_precision", "precision_recall_f1",
    "recall_at_fpr",
    "roc_curve_points", "choose_threshold", "expected_cost", "confusion_counts", "to_numpy",
]


def to_numpy(values: Any, name: str = "input") -> np.ndarray:
    """A 1-D numpy array from a list, numpy array or torch tensor (ValueError if not 1-D)."""
    if hasattr(values, "detach"):  # a torch tensor, without importing torch here
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {array.shape}")
    return array


def _pair(y_true: Any, other: Any, other_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs as 1-D arrays of the same, non-zero length."""
    truth = to_numpy(y_true, "y_true")
    second = to_numpy(other, other_name)
    if len(truth) != len(second):
        raise ValueError(f"y_true has {len(truth)} values but {other_name} has {len(second)}")
    if len(truth) == 0:
        raise ValueError("empty input: y_true and " + other_name + " have no values")
    return truth, second


def _binary(y_true: np.ndarray) -> np.ndarray:
    """``y_true`` as 0/1 integers; ValueError for any other label."""
    bad = ~np.isin(y_true, (0, 1))
    if bad.any():
        raise ValueError(f"y_true: expected binary labels 0/1, got {y_true[bad][0]!r}")
    return y_true.astype(np.int64)


def _finite_scores(scores: np.ndarray) -> np.ndarray:
    scores = scores.astype(np.float64)
    if not np.isfinite(scores).all():
        raise ValueError(f"scores: expected finite numbers, found nan/inf at index "
                         f"{int(np.flatnonzero(~np.isfinite(scores))[0])}")
    return scores


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of predictions equal to the true label."""
    truth, pred = _pair(y_true, y_pred, "y_pred")
    return float(np.mean(truth == pred))


def macro_f1(y_true: Any, y_pred: Any, num_classes: int | None = None) -> float:
    """Unweighted mean over classes of F1 = 2 TP / (2 TP + FP + FN).

    Classes are ``0..num_classes-1`` when given (a class that never occurs in either array then
    has F1 = 0, as scikit-learn's ``f1_score(labels=range(num_classes), average="macro")``),
    otherwise the labels occurring in ``y_true`` or ``y_pred``.
    """
    truth, pred = _pair(y_true, y_pred, "y_pred")
    classes = np.arange(num_classes) if num_classes is not None else np.union1d(truth, pred)
    scores = []
    for c in classes:
        tp = np.sum((pred == c) & (truth == c))
        fp = np.sum((pred == c) & (truth != c))
        fn = np.sum((pred != c) & (truth == c))
        denominator = 2 * tp + fp + fn
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def confusion_counts(y_true: Any, y_pred: Any) -> tuple[int, int, int, int]:
    """Binary ``(tp, fp, fn, tn)`` with 1 = positive."""
    truth, pred = _pair(y_true, y_pred, "y_pred")
    truth, pred = _binary(truth).astype(bool), np.asarray(pred).astype(bool)
    return (int(np.sum(truth & pred)), int(np.sum(~truth & pred)), int(np.sum(truth & ~pred)),
            int(np.sum(~truth & ~pred)))


def precision_recall_f1(y_true: Any, y_pred: Any) -> tuple[float, float, float]:
    """Binary precision TP/(TP+FP), recall TP/(TP+FN) and their harmonic mean (0 when undefined)."""
    tp, fp, fn, _ = confusion_counts(y_true, y_pred)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values``; tied values share the mean of the ranks they occupy."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # a new group starts wherever the sorted value changes
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]                 # exclusive
    group_rank = (starts + 1 + ends) / 2.0                # mean of ranks starts+1 .. ends
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def roc_auc(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve via the rank-sum (Mann-Whitney) formula; ties count one half."""
    truth, score = _pair(y_true, scores, "scores")
    truth, score = _binary(truth), _finite_scores(score)
    n_pos = int(truth.sum())
    n_neg = len(truth) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"roc_auc needs both classes in y_true, got only class {int(truth[0])} "
                         f"({len(truth)} values)")
    ranks = _average_ranks(score)
    return float((ranks[truth == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc_within(y_true: Any, scores: Any, groups: Any) -> float:
    """ROC-AUC over the positive–negative pairs of the same group only (see the module docstring);
    groups with a single class add nothing.

    Examples:
        >>> roc_auc_within([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], groups=[0, 0, 1, 1])
        1.0
    """
    truth, score = _pair(y_true, scores, "scores")
    truth, group = _pair(truth, groups, "groups")
    truth, score = _binary(truth), _finite_scores(score)
    total = weight = 0.0
    for g in np.unique(group):
        inside = group == g
        n_pos = int(truth[inside].sum())
        n_neg = int(inside.sum()) - n_pos
        if n_pos and n_neg:
            total += roc_auc(truth[inside], score[inside]) * n_pos * n_neg
            weight += n_pos * n_neg
    if weight == 0:
        raise ValueError("roc_auc_within needs a group holding both classes")
    return float(total / weight)


def _cumulative_counts(truth: np.ndarray, score: np.ndarray):
    """Distinct thresholds (decreasing) and the TP / FP counts when flagging ``score >= t``."""
    order = np.argsort(-score, kind="mergesort")
    sorted_score, sorted_truth = score[order], truth[order]
    last_of_group = np.r_[np.flatnonzero(sorted_score[1:] != sorted_score[:-1]), len(score) - 1]
    tps = np.cumsum(sorted_truth)[last_of_group]
    fps = (last_of_group + 1) - tps
    return sorted_score[last_of_group], tps, fps


def average_precision(y_true: Any, scores: Any) -> float:
    """AUPRC as step-wise average precision (equals scikit-learn's ``average_precision_score``)."""
    truth, score = _pair(y_true, scores, "scores")
    truth, score = _binary(truth), _finite_scores(score)
    n_pos = int(truth.sum())
    if n_pos == 0:
        raise ValueError("average_precision needs at least one positive in y_true")
    # BEGIN EXERCISE 7.3
    _, tps, fps = _cumulative_counts(truth, score)
    precision = tps / (tps + fps)                          # at each distinct threshold
    recall = tps / n_pos
    recall_steps = np.diff(np.r_[0.0, recall])             # R_k - R_{k-1}
    return float(np.sum(recall_steps * precision))
    # END EXERCISE


def roc_curve_points(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)``: one point per distinct score, starting at (0, 0) with +inf."""
    truth, score = _pair(y_true, scores, "scores")
    truth, score = _binary(truth), _finite_scores(score)
    n_pos, n_neg = int(truth.sum()), int(len(truth) - truth.sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("a ROC curve needs both classes in y_true")
    thresholds, tps, fps = _cumulative_counts(truth, score)
    return np.r_[0.0, fps / n_neg], np.r_[0.0, tps / n_pos], np.r_[np.inf, thresholds]


def recall_at_fpr(y_true: Any, scores: Any, max_fpr: float) -> float:
    """The highest recall (TPR) reachable with a false-positive rate ``<= max_fpr``."""
    if not 0.0 <= max_fpr <= 1.0:
        raise ValueError(f"max_fpr: expected a rate in [0, 1], got {max_fpr}")
    fpr, tpr, _ = roc_curve_points(y_true, scores)
    return float(tpr[fpr <= max_fpr + 1e-12].max())


def expected_cost(y_true: Any, y_pred: Any, cost_fn: float, cost_fp: float) -> float:
    """Mean cost per row: ``(cost_fn * FN + cost_fp * FP) / n`` for 0/1 predictions."""
    _, fp, fn, _ = confusion_counts(y_true, y_pred)
    return float((cost_fn * fn + cost_fp * fp) / len(to_numpy(y_true, "y_true")))


def choose_threshold(y_true: Any, scores: Any, cost_fn: float | None = None,
                     cost_fp: float | None = None, target_precision: float | None = None) -> float:
    """The decision threshold (flag ``score >= threshold``) chosen on labelled validation data.

    * ``cost_fn`` and ``cost_fp`` given: minimise :func:`expected_cost`;
    * ``target_precision`` given: the lowest threshold (most recall) whose precision reaches the
      target; if no threshold does, the one with the highest precision;
    * neither: maximise F1.

    Candidate thresholds lie halfway between consecutive distinct scores (a margin on both
    sides); "flag everything" is the lowest score and "flag nothing" is just above the highest.
    """
    if (cost_fn is None) != (cost_fp is None):
        raise ValueError("cost_fn and cost_fp: give both or neither")
    if cost_fn is not None and target_precision is not None:
        raise ValueError("choose_threshold: give costs or target_precision, not both")
    if cost_fn is not None and (cost_fn < 0 or cost_fp < 0):
        raise ValueError(f"costs must be non-negative, got cost_fn={cost_fn}, cost_fp={cost_fp}")
    if target_precision is not None and not 0.0 < target_precision <= 1.0:
        raise ValueError(f"target_precision: expected a value in (0, 1], got {target_precision}")
    truth, score = _pair(y_true, scores, "scores")
    truth, score = _binary(truth), _finite_scores(score)
    distinct, tps, fps = _cumulative_counts(truth, score)  # decreasing thresholds
    n_pos = int(truth.sum())
    # candidate k flags the k+1 highest groups; prepend "flag nothing"
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    above = np.r_[np.nextafter(distinct[0], np.inf), distinct]
    below = np.r_[distinct, distinct[-1]]
    candidates = np.r_[above[0], (above[1:] + below[1:]) / 2]
    candidates[-1] = distinct[-1]                          # flag everything
    if cost_fn is not None:
        cost = cost_fn * (n_pos - tps) + cost_fp * fps
        return float(candidates[int(np.argmin(cost))])
    precision = np.divide(tps, tps + fps, out=np.zeros(len(tps)), where=(tps + fps) > 0)
    if target_precision is not None:
        meets = np.flatnonzero(precision >= target_precision)
        best = meets[-1] if len(meets) else int(np.argmax(precision))
        return float(candidates[best])
    recall = tps / max(n_pos, 1)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(len(tps)),
                   where=(precision + recall) > 0)
    return float(candidates[int(np.argmax(f1))])
