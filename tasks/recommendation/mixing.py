"""Fitting the head's mix of the Transformer and the item-to-item counts, on the validation items.

A model with the transition prior (``prior_items`` D > 0) scores ::

    score(i) = λ · H E[i]  +  Σ_d Σ_table  w[d, table] · log(1 + table[a_d, i])

(:mod:`tasks.recommendation.model`, :mod:`tasks.recommendation.transitions`). The trainer fits
the Transformer alone (λ = 1, w = 0). Then :func:`fit_mix` fits λ and the 2·K·D weights ``w``
on each user's validation item, with the tables counted from the training sequences only:
neither part has seen these items, so the weights learn how far each part can be trusted on
items it has not seen, which is what a test item is. (Fitted on the training targets, they
would trust the Transformer's memory of its own training sequences.) Two steps:

1. **Cross-entropy.** Adam (60 steps of 1,024 users, learning rate 0.1) minimises the
   full-softmax cross-entropy of the validation items over λ and ``w``, the user's history
   masked out as the evaluation does (the hidden states ``H`` are computed once: the
   Transformer does not change). Starting point: λ = 1, ``w`` = 0.
2. **The top of the list.** Cross-entropy weighs every item's probability, NDCG@10 only the
   first ten: λ is then multiplied by the factor of :data:`LAMBDA_FACTORS` that gives the best
   validation NDCG@10 (the counts decide most top-10 lists, the Transformer the rest).

At most :data:`MIX_USERS` validation users (a seeded sample) are used: 1 + 2KD numbers are
fitted, so a few thousand users pin them down.
"""

from __future__ import annotations

import random
import time

import torch
import torch.nn.functional as F

from tasks.recommendation.data import EvalSet
from tasks.recommendation.evaluate import evaluate_ranking, history_mask

__all__ = ["fit_mix", "MIX_USERS", "LAMBDA_FACTORS"]

#: validation users the mix is fitted on (a seeded sample when there are more)
MIX_USERS = 10_000
#: the multiples of the cross-entropy λ tried on validation NDCG@10 (step 2)
LAMBDA_FACTORS = (0.25, 0.5, 0.75, 1.0)


def _sample(evalset: EvalSet, n: int, seed: int) -> EvalSet:
    if len(evalset) <= n:
        return evalset
    pick = sorted(random.Random(seed).sample(range(len(evalset)), n))
    return EvalSet([evalset.users[i] for i in pick], [evalset.inputs[i] for i in pick],
                   [evalset.targets[i] for i in pick])


@torch.no_grad()
def _hidden_states(model, histories: list[list[int]], batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The predicting position's hidden state (U, D_model) and prior items (U, D) of each history."""
    hidden, previous = [], []
    device = model.item_embedding.weight.device
    for start in range(0, len(histories), batch_size):
        items = model.prepare_history(histories[start:start + batch_size]).to(device)  # (B, T)
        hidden.append(model(items)[:, -1])  # (B, D_model)
        previous.append(model.previous_items(items)[:, -1])  # (B, D)
    return torch.cat(hidden), torch.cat(previous)


def _ndcg10(model, data: EvalSet, hidden: torch.Tensor, previous: torch.Tensor, lam, weight,
            num_items: int) -> float:
    """Validation NDCG@10 of ``λ · H E^T + prior(w)`` from the hidden states computed once."""
    embeddings = model.item_embedding.weight.detach()  # (V, D_model)
    done = 0

    def score(histories: list[list[int]]) -> torch.Tensor:  # called on consecutive slices, in order
        nonlocal done
        rows = slice(done, done + len(histories))
        done += len(histories)
        with torch.no_grad():
            return model.add_prior(lam * (hidden[rows] @ embeddings.t()), previous[rows], weight).cpu()

    return float(evaluate_ranking(score, data.inputs, data.targets, num_items)["NDCG@10"])


def fit_mix(model, evalset: EvalSet, num_items: int, *, seed: int = 0, steps: int = 60, lr: float = 0.1,
            batch_size: int = 1024) -> dict:
    """Fit ``model.transformer_weight`` (λ) and ``model.prior_weight`` (w) on ``evalset`` (the
    validation users; the model's tables must be counted from the sequences before them, see
    :meth:`~tasks.recommendation.model.SequentialRecommender.set_transitions`). Returns what
    was fitted and the validation NDCG@10 of each part and of the mix::

        {"lambda": λ, "weights": w as lists (D x 2K), "users": U,
         "valid_NDCG@10": {"transformer": ..., "prior": ..., "mixed": ...}, "seconds": ...}
    """
    started = time.monotonic()
    model.eval()
    data = _sample(evalset, MIX_USERS, seed)
    hidden, previous = _hidden_states(model, data.inputs, 256)  # (U, D_model), (U, D)
    targets = torch.tensor(data.targets, device=hidden.device)  # (U,)
    embeddings = model.item_embedding.weight.detach()  # (V, D_model)
    vocab = model.config.vocab_size
    lam = torch.tensor(1.0, device=hidden.device, requires_grad=True)
    weight = torch.zeros_like(model.prior_weight, requires_grad=True)  # (D, 2K)
    optimizer = torch.optim.Adam([lam, weight], lr=lr)
    batch_size = max(64, min(batch_size, 50_000_000 // vocab))  # a (b, V) score matrix of <= 50M cells
    generator = torch.Generator().manual_seed(seed)
    batches = []  # batches of users, reshuffled every pass over them
    for _ in range(steps):
        if not batches:
            batches = list(torch.randperm(len(targets), generator=generator).split(batch_size))
        rows = batches.pop()  # (b,)
        scores = model.add_prior(lam * (hidden[rows] @ embeddings.t()), previous[rows], weight)  # (b, V)
        excluded = history_mask([data.inputs[i] for i in rows.tolist()], vocab).to(scores.device)  # (b, V)
        excluded[torch.arange(len(rows)), targets[rows]] = False  # the target stays a candidate
        excluded[:, num_items + 1] = True  # [MASK]
        loss = F.cross_entropy(scores.masked_fill(excluded, float("-inf")), targets[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    fitted_lambda, fitted_weight = lam.detach(), weight.detach()

    zero_lambda, zero_weight = torch.zeros_like(fitted_lambda), torch.zeros_like(fitted_weight)
    parts = {"transformer": _ndcg10(model, data, hidden, previous, 1.0, zero_weight, num_items),
             "prior": _ndcg10(model, data, hidden, previous, zero_lambda, fitted_weight, num_items)}
    best = max((_ndcg10(model, data, hidden, previous, factor * fitted_lambda, fitted_weight, num_items),
                factor) for factor in LAMBDA_FACTORS)  # step 2: the λ that ranks best at the top
    with torch.no_grad():
        model.transformer_weight.copy_(best[1] * fitted_lambda)
        model.prior_weight.copy_(fitted_weight)
    return {"lambda": float(model.transformer_weight), "weights": model.prior_weight.tolist(),
            "users": len(data), "valid_NDCG@10": {**parts, "mixed": best[0]},
            "seconds": round(time.monotonic() - started, 1)}
