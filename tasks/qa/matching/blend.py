"""Blending the cross-encoder with the lexical baseline: two logits, three weights, fitted on validation.

The Transformer and character TF-IDF + logistic regression make different mistakes: the baseline
counts shared characters and knows nothing of word order or synonyms; the Transformer reads both
questions together but, trained from scratch on 30 thousand pairs, misses some of what counting
gets right. Their logits are combined by a logistic regression on the **validation** pairs,
which neither model was fitted on (stacking, Wolpert 1992)::

    z_m = Transformer logit (mean of both orders),  z_l = baseline logit        (N,) each
    p   = σ(a · z_m + b · z_l + c)                                               (N,)
    (a, b, c) = argmin  Σ_i CE(p_i, y_i) + λ/2 (a² + b²)                         λ = 1

Three numbers fitted on a few thousand pairs cannot memorise them; they are saved in ``qa.json``
(``blend``). ``qa evaluate`` prints the blend's ``roc_auc`` and the Transformer's alone
(``transformer_roc_auc``) beside the baseline's, so what the Transformer adds stays visible.

Examples:
    >>> import numpy as np
    >>> z_m, z_l = np.array([2.0, -1.0, 0.5, -2.0]), np.array([1.0, 0.0, -0.5, -1.0])
    >>> a, b, c = fit_blend(z_m, z_l, [1, 0, 1, 0])
    >>> bool(a > 0), blend_logits((a, b, c), z_m, z_l).shape
    (True, (4,))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["fit_blend", "blend_logits"]


def fit_blend(model_logits, lexical_logits, labels: Sequence[int], l2: float = 1.0,
              steps: int = 100) -> tuple[float, float, float]:
    """``(a, b, c)`` of the module docstring, by Newton's method with a backtracking line search
    (3 unknowns; the objective is convex, so each accepted step lowers it). A plain Newton step can
    overshoot when the logits are large (a Transformer trained many epochs is confidently wrong on
    some pairs, where ``p (1 - p)`` is nearly 0): each step is halved until the objective falls."""
    x = np.stack([np.asarray(model_logits, dtype=np.float64), np.asarray(lexical_logits, dtype=np.float64),
                  np.ones(len(labels))], axis=1)  # (N, 3)
    y = np.asarray(labels, dtype=np.float64)  # (N,)
    if len(y) == 0 or not np.isfinite(x).all():
        raise ValueError("blend: expected finite logits for at least one pair")
    penalty = np.diag([l2, l2, 0.0])  # the intercept is not shrunk

    def objective(w):  # Σ CE + λ/2 (a² + b²), with log(1 + e^z) computed stably
        z = x @ w  # (N,)
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * w @ penalty @ w)

    w = np.array([1.0, 0.0, 0.0])
    loss = objective(w)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))  # (N,)
        grad = x.T @ (p - y) + penalty @ w  # (3,)
        hess = (x * (p * (1 - p))[:, None]).T @ x + penalty + 1e-9 * np.eye(3)  # (3, 3)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-10 and objective(w - scale * step) > loss:
            scale /= 2
        if scale <= 1e-10:  # no step lowers it any more: the minimum, to rounding
            break
        w = w - scale * step
        loss = objective(w)
        if np.abs(scale * step).max() < 1e-10:
            break
    return float(w[0]), float(w[1]), float(w[2])


def blend_logits(weights: Sequence[float], model_logits, lexical_logits) -> np.ndarray:
    """``a · z_m + b · z_l + c`` ``(N,)``."""
    a, b, c = weights
    z_m, z_l = np.asarray(model_logits, dtype=np.float64), np.asarray(lexical_logits, dtype=np.float64)
    return a * z_m + b * z_l + c
