"""Out-of-scope detection: answer only when confident, otherwise hand over to a human.

A classifier always names *some* intent, even for "what's the weather?". We answer with the
predicted intent only when its probability is high enough:

    confidence_i = max_c p_ic                        (the maximum softmax probability,
                                                      Hendrycks and Gimpel 2017)
    decision_i   = argmax_c p_ic   if confidence_i > τ   and the argmax is not the oos class
                 = HUMAN           otherwise          ("transferring you to a human agent")

**Choosing τ on validation** as a cost trade-off. Call a validation question *should-hand-off*
when it is out of scope or the classifier's argmax is wrong. Handing off a question we would have
answered correctly costs ``handoff_cost`` (an agent's time); answering one we should have handed
off costs ``wrong_cost`` (a wrong answer, an annoyed customer). With the hand-off score
``s_i = 1 - confidence_i`` this is a binary decision "flag when s_i >= t", and
:func:`minitransformer.metrics.classification.choose_threshold` finds the ``t`` of least total
cost; ``τ = 1 - t``. Without out-of-scope rows in validation the same rule still applies: it
hands off the low-confidence questions that are mostly wrong anyway.

Evaluation (CLINC150 conventions, Larson et al. 2019): ``in_scope_accuracy`` = in-scope questions
answered with the right intent (a hand-off counts as wrong); ``oos_recall`` = out-of-scope
questions handed off; ``accuracy`` = right decision over all questions (HUMAN is right for oos).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from minitransformer.metrics.classification import accuracy, choose_threshold, macro_f1

__all__ = ["HUMAN", "choose_handoff_threshold", "route", "routing_metrics"]

HUMAN = -1  # the decision "hand over to a human agent"


def choose_handoff_threshold(probs: torch.Tensor, truth: Sequence[int], oos_index: int | None = None,
                             wrong_cost: float = 1.0, handoff_cost: float = 1.0) -> float:
    """τ: answer when ``max p > τ``. ``truth`` holds class ids; ``oos_index`` the oos class (if any).

    Out-of-scope rows are those whose truth is ``oos_index``; their "right" decision is HUMAN.
    """
    confidence, predicted = probs.max(dim=-1)  # (N,), (N,)
    truth_t = torch.as_tensor(list(truth), dtype=torch.long)
    is_oos = truth_t == oos_index if oos_index is not None else torch.zeros_like(truth_t, dtype=torch.bool)
    says_oos = predicted == oos_index if oos_index is not None else torch.zeros_like(is_oos)
    should_hand_off = is_oos | (predicted != truth_t)
    # a predicted oos class is always handed off, whatever τ: give it the top hand-off score
    score = torch.where(says_oos, torch.ones_like(confidence) * 2.0, 1.0 - confidence)
    t = choose_threshold(should_hand_off.long().numpy(), score.double().numpy(),
                         cost_fn=wrong_cost, cost_fp=handoff_cost)
    return float(min(max(1.0 - t, 0.0), 1.0))


def route(probs: torch.Tensor, threshold: float, oos_index: int | None = None) -> list[int]:
    """One decision per row: a class id, or :data:`HUMAN`."""
    confidence, predicted = probs.max(dim=-1)
    decisions = torch.where(confidence > threshold, predicted, torch.full_like(predicted, HUMAN))
    if oos_index is not None:
        decisions = torch.where(predicted == oos_index, torch.full_like(predicted, HUMAN), decisions)
    return decisions.tolist()


def routing_metrics(decisions: Sequence[int], truth: Sequence[int], oos_index: int | None,
                    num_classes: int) -> dict[str, float]:
    """``accuracy``, ``macro_f1`` (oos/HUMAN as one class), ``in_scope_accuracy``, ``oos_recall``,
    ``handoff_rate``."""
    oos_id = num_classes if oos_index is None else oos_index  # where HUMAN lands for F1
    truth_l = list(truth)
    as_class = [oos_id if d == HUMAN else d for d in decisions]
    in_scope = [i for i, t in enumerate(truth_l) if t != oos_index]
    out_scope = [i for i, t in enumerate(truth_l) if t == oos_index]
    # a model without an oos intent gets the HUMAN class only when it occurs: an empty class would
    # count F1 = 0 and pull the mean down by 1/(C + 1)
    human_class = oos_index is None and (oos_id in truth_l or oos_id in as_class)
    metrics = {"accuracy": accuracy(truth_l, as_class),
               "macro_f1": macro_f1(truth_l, as_class, num_classes=num_classes + human_class),
               "handoff_rate": sum(d == HUMAN for d in decisions) / max(len(decisions), 1)}
    if in_scope:
        metrics["in_scope_accuracy"] = sum(as_class[i] == truth_l[i] for i in in_scope) / len(in_scope)
    if out_scope:
        metrics["oos_recall"] = sum(decisions[i] == HUMAN for i in out_scope) / len(out_scope)
    return metrics
