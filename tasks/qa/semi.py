"""Few labels, much text: masked-token pretraining + self-training for intent routing.

The setting: ``k`` labelled questions per intent (BANKING77's 10-shot: 770 of 10,003) and the
rest of the training questions without labels. The recipe:

1. **pretrain** the encoder with masked tokens on *all* questions (labelled and unlabelled):
   the words of the domain and how they co-occur, learned without a single label;
2. **fine-tune** on the ``k`` labels per intent;
3. **self-train** (:func:`minitransformer.training.semi_supervised.self_train`): predict the unlabelled
   questions, keep confident ones as pseudo-labels, retrain on labels + pseudo-labels; repeat
   for ``rounds``. Each round starts again from the pretrained weights, so the mistakes of one
   round are not baked into the next. Which rows are kept:

   * ``fraction`` (the default, 0.5): **the same number per intent** -- every intent receives
     the ``fraction * U / C`` unlabelled questions it is most probable for
     (:func:`~minitransformer.training.semi_supervised.select_top_fraction` with a uniform prior). A
     model trained on a few labels is over-confident about some intents and timid about
     others; a plain threshold then fills the pseudo-labels with the former and the next model
     drifts towards them. Intent data sets are roughly balanced (BANKING77: 35-187 per intent),
     so a uniform share is a safe prior;
   * ``fraction=None``: every row with ``max p >= threshold`` (at most ``max_per_class`` per
     intent, the most confident first).

   **Co-training** (``cotrain=True``, the default; Blum & Mitchell 1998 read a page two ways):
   the pseudo-labels come from the Transformer *and* a second view of the question, a linear
   model on its n-grams (:mod:`.linear`), fitted on the same rows and multiplied with it at the
   weight that is best on validation. With 10 labels per intent the linear view alone is the
   stronger one (BANKING77: 72% vs 66-69%) and the two err on different questions, so their
   product labels the unlabelled questions better than either. The returned router is the
   Transformer alone (the linear view only teaches it), so it is the same model as the
   supervised-only baseline's.

   **Label spreading** (``spread=True``, the default; :mod:`.propagation`) adds a third view:
   the ``k`` labels per intent flow over a graph of similar questions (labelled, unlabelled and
   validation questions all in it) and the pseudo-labels multiply in its distribution too, at
   the weight ``v`` that is best on validation::

       log p(y | q) = w log p_deep + (1 - w) log p_linear + v log(p_spread + ε) + const

   It is computed once, from the true labels only.

4. **distil** (``distill_temperature``, default 0.5; Hinton et al. 2015, "noisy student" Xie et
   al. 2020): a last Transformer, again from the pretrained weights, learns from *every*
   unlabelled question at once, its target the views' product sharpened to temperature ``T``::

       t_i = onehot(y_i)                                    labelled questions
       t_i = sharpen(p(y | q_i), T)_c = p_c^(1/T) / sum_k p_k^(1/T)   unlabelled questions

   The hard pseudo-labels of step 3 keep only the surer half and teach each as certain; the
   soft targets keep all of them and say how sure the views are, so the Transformer alone
   learns what the linear and spreading views know. On BANKING77's 10-shot draws this last
   step added 2.4-3.4 accuracy points (``benchmarks/RESULTS.md``). ``None`` skips it.

:func:`supervised_only` trains the same model on the ``k`` labels alone, the baseline the recipe
must beat (validation is a separate, truly labelled split in both).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import torch

from minitransformer.training.semi_supervised import select_top_fraction, self_train, sharpen

from .intent import IntentClassifier, IntentConfig, fit_intent_classifier, predict_proba
from .linear import LinearNgramExpert, choose_mix_weight, fit_linear_expert, mix_log_probs
from .propagation import knn_graph, label_spreading, tfidf_vectors
from .router import IntentRouter, RouterSettings, build_tokenizer
from .sentence import pad_ids

__all__ = ["semi_supervised", "supervised_only", "few_shot_indices"]


def few_shot_indices(labels: Sequence[str], k: int, seed: int = 0) -> list[int]:
    """``k`` row indices per label (fewer if a label has fewer), deterministic for ``seed``."""
    import random

    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, y in enumerate(labels):
        by_label.setdefault(y, []).append(i)
    return sorted(i for y in sorted(by_label) for i in rng.sample(by_label[y], min(k, len(by_label[y]))))


def supervised_only(texts, labels, valid, settings: RouterSettings, **kwargs) -> IntentRouter:
    """The baseline: the intent router trained on the labelled rows only (no pretraining)."""
    plain = dataclasses.replace(settings, train=dataclasses.replace(settings.train, pretrain_epochs=0))
    return IntentRouter.train(texts, labels, settings=plain, valid=valid, **kwargs)


def semi_supervised(texts: Sequence[str], labels: Sequence[str], unlabelled: Sequence[str],
                    valid: tuple[Sequence[str], Sequence[str]], settings: RouterSettings, *,
                    pretrain_epochs: int = 10, rounds: int = 2, fraction: float | None = 0.5,
                    threshold: float = 0.7, max_per_class: int | None = None, cotrain: bool = True,
                    spread: bool = True, distill_temperature: float | None = 0.5, seed: int = 0,
                    device: str = "auto",
                    verbose: bool = False) -> tuple[IntentRouter, list[dict]]:
    """Pretrain on all text, fine-tune on the labels, self-train, distil; return (router, rounds)."""
    if distill_temperature is not None and not distill_temperature > 0:
        raise ValueError(f"distill_temperature: expected a positive number or None, "
                         f"got {distill_temperature}")
    fold = (lambda t: t.lower()) if settings.lowercase else (lambda t: t)
    names = sorted(set(labels) | set(valid[1]))
    label_id = {n: i for i, n in enumerate(names)}
    all_texts = [fold(t) for t in [*texts, *unlabelled]]
    cotrain = cotrain and settings.ngram_buckets > 0  # the linear view reads the n-gram bag
    spread = spread and cotrain                        # the third view joins the second
    questions = len(all_texts) + len(valid[0])
    if spread and questions > SPREAD_MAX_QUESTIONS:
        raise ValueError(f"spread=True builds a dense (N, N) graph of all N questions: {questions:,} "
                         f"questions need {4 * questions ** 2 / 2 ** 30:.1f} GiB per copy, more than "
                         f"the {SPREAD_MAX_QUESTIONS:,} allowed; pass spread=False or fewer unlabelled "
                         "questions")
    tokenizer = build_tokenizer(settings.tokenizer, all_texts, settings.vocab_size)
    torch.manual_seed(seed)
    config = IntentConfig(vocab_size=tokenizer.vocab_size, d_model=settings.d_model, nhead=settings.nhead,
                          num_layers=settings.num_layers, dim_feedforward=settings.dim_feedforward,
                          dropout=settings.dropout, max_len=settings.max_len, pooling=settings.pooling,
                          num_labels=len(names), ngram_buckets=settings.ngram_buckets,
                          wide_ngrams=settings.wide_ngrams)
    base = IntentClassifier(config)
    router = IntentRouter(base, tokenizer, names, 0.0, lowercase=settings.lowercase)
    encoded = router.encode(all_texts)
    if pretrain_epochs:
        from .pretrain import pretrain_mlm

        pretrain_mlm(base.sentence, [ids for ids, _ in encoded], epochs=pretrain_epochs,
                     batch_size=settings.train.batch_size, seed=seed, device=device, verbose=verbose)
    pretrained_state = copy.deepcopy(base.state_dict())
    valid_texts, valid_ids = [fold(t) for t in valid[0]], [label_id[y] for y in valid[1]]
    no_pretrain = dataclasses.replace(settings.train, pretrain_epochs=0)

    valid_encoded = router.encode(valid_texts)
    grams = pad_ids([g for _, g in encoded]) if cotrain else None               # (N, G)
    valid_grams = pad_ids([g for _, g in valid_encoded]) if cotrain else None
    n = len(texts)
    label_ids = torch.tensor([label_id[y] for y in labels])
    # (N + V, C) the third view: labels spread over a graph of all questions, validation included
    spread_log = _spread(all_texts + valid_texts, n, label_ids, len(names)) if spread else None

    def fit_deep(rows: torch.Tensor, targets: torch.Tensor) -> IntentClassifier:
        """A Transformer from the pretrained weights, fitted on ``rows`` (targets: ids or (N, C))."""
        model = IntentClassifier(config)
        model.load_state_dict(pretrained_state)
        fit_intent_classifier(model, tokenizer, [all_texts[i] for i in rows.tolist()], targets.tolist(),
                              valid_texts, valid_ids, no_pretrain, seed=seed, device=device,
                              verbose=verbose)
        return model

    def train_fn(rows: torch.Tensor, targets: torch.Tensor, previous):
        model = fit_deep(rows, targets)
        if not cotrain:
            return model.eval()
        linear = LinearNgramExpert(config.ngram_buckets, len(names))
        fit_linear_expert(linear, grams[rows], targets)
        with torch.no_grad():
            deep_valid = predict_proba(model, valid_encoded).clamp_min(1e-12).log()
            linear_valid = linear.eval()(valid_grams)
            weight = choose_mix_weight(deep_valid, linear_valid, valid_ids)
            spread_weight = 0.0 if spread_log is None else _choose_spread_weight(
                mix_log_probs(deep_valid, linear_valid, weight), spread_log[len(all_texts):], valid_ids)
        return _CoTrained(model.eval(), linear, weight, spread_weight)

    def predict_fn(model, rows: torch.Tensor) -> torch.Tensor:
        deep = predict_proba(_deep(model), [encoded[i] for i in rows.tolist()])
        if not cotrain:
            return deep
        with torch.no_grad():
            mixed = mix_log_probs(deep.clamp_min(1e-12).log(), model.linear(grams[rows]), model.weight)
            if model.spread_weight:
                mixed = mixed + model.spread_weight * spread_log[rows]
            return torch.softmax(mixed, -1)

    def per_intent_share(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        uniform = torch.full((probs.shape[1],), 1.0 / probs.shape[1])  # (C,)
        return select_top_fraction(probs, fraction, class_prior=uniform)

    result = self_train(train_fn, predict_fn, torch.arange(n), label_ids,
                        torch.arange(n, len(all_texts)), rounds=rounds, threshold=threshold,
                        max_per_class=max_per_class, select_fn=per_intent_share if fraction else None)
    if distill_temperature is not None and unlabelled:
        unlabelled_rows = torch.arange(n, len(all_texts))
        soft = sharpen(predict_fn(result.model, unlabelled_rows), distill_temperature)   # (U, C)
        truth = torch.nn.functional.one_hot(label_ids, len(names)).float()              # (n, C)
        student = fit_deep(torch.arange(len(all_texts)), torch.cat([truth, soft]))
        result.model = student.eval()
        result.rounds.append({"round": len(result.rounds) + 1, "pseudo_labels": len(unlabelled_rows),
                              "soft": True})
    router.model = _deep(result.model)
    return router, result.rounds


class _CoTrained(NamedTuple):
    """One round's views: the Transformer, the linear n-gram model, their mixing weight ``w``
    and the weight ``v`` of the (fixed) label-spreading view."""

    deep: IntentClassifier
    linear: LinearNgramExpert
    weight: float
    spread_weight: float = 0.0


#: label spreading: neighbours per question, how far labels travel, the floor under its probabilities
SPREAD_K, SPREAD_ALPHA, SPREAD_EPS = 5, 0.99, 1e-3
#: the graph is a dense (N, N) matrix: 20,000 questions take 1.5 GiB per copy
SPREAD_MAX_QUESTIONS = 20_000


def _spread(texts: Sequence[str], n_labelled: int, labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """``(N, C)`` log-probabilities of label spreading from the first ``n_labelled`` texts."""
    graph = knn_graph(tfidf_vectors(texts), k=min(SPREAD_K, len(texts) - 1))
    probs = label_spreading(graph, torch.arange(n_labelled), labels, num_labels, alpha=SPREAD_ALPHA)
    return (probs + SPREAD_EPS).log()


def _choose_spread_weight(mixed: torch.Tensor, spread_log: torch.Tensor, labels: Sequence[int],
                          grid: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> float:
    """The ``v`` of ``grid`` whose ``mixed + v * spread_log`` is most accurate on validation
    (ties: the smaller ``v``)."""
    truth = torch.as_tensor(list(labels), dtype=torch.long)
    scores = [float(((mixed + v * spread_log).argmax(-1) == truth).float().mean()) for v in grid]
    return grid[scores.index(max(scores))]


def _deep(model) -> IntentClassifier:
    return model.deep if isinstance(model, _CoTrained) else model
