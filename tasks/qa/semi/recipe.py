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
   model on its n-grams (:mod:`tasks.qa.router.linear`), fitted on the same rows and multiplied with it at the
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
   step added 2.4-3.4 accuracy points (``benchmarks/LOG.md``). ``None`` skips it.

:func:`supervised_only` trains the same model on the ``k`` labels alone, the baseline the recipe
must beat (validation is a separate, truly labelled split in both).

In the code: :func:`semi_supervised` checks its arguments (:func:`_check_recipe`), builds the
tokenizer and the pretrained starting point (:func:`_pretrained_start`), lets the core's
:func:`~minitransformer.training.semi_supervised.self_train` run the rounds with the views of
:class:`_Views` (each round: fit the Transformer and the linear view, weigh the views on
validation, predict the unlabelled questions), then distils (:func:`_distil`).
"""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from minitransformer.training.semi_supervised import select_top_fraction, self_train, sharpen

from ..config import IntentConfig, IntentSettings, RouterSettings
from ..encoding import Encoded, build_tokenizer, pad_ids
from ..pretrain import pretrain_mlm
from ..router.classifier import IntentClassifier, fit_intent_classifier, predict_proba
from ..router.linear import LinearNgramExpert, choose_mix_weight, fit_linear_expert, mix_log_probs
from ..router.router import IntentRouter
from ..router.training import train_router
from .propagation import knn_graph, label_spreading, tfidf_vectors

__all__ = ["semi_supervised", "supervised_only", "few_shot_indices", "SPREAD_MAX_QUESTIONS"]

#: label spreading: neighbours per question, how far labels travel, the floor under its probabilities
SPREAD_K, SPREAD_ALPHA, SPREAD_EPS = 5, 0.99, 1e-3
#: the graph is a dense (N, N) matrix: 20,000 questions take 1.5 GiB per copy
SPREAD_MAX_QUESTIONS = 20_000


def few_shot_indices(labels: Sequence[str], k: int, seed: int = 0) -> list[int]:
    """``k`` row indices per label (fewer if a label has fewer), deterministic for ``seed``.

    Examples:
        >>> few_shot_indices(["a", "a", "a", "b", "b"], 2)   # two of the three a's, both b's
        [1, 2, 3, 4]
    """
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, y in enumerate(labels):
        by_label.setdefault(y, []).append(i)
    return sorted(i for y in sorted(by_label) for i in rng.sample(by_label[y], min(k, len(by_label[y]))))


def supervised_only(texts, labels, valid, settings: RouterSettings, **kwargs) -> IntentRouter:
    """The baseline: the intent router trained on the labelled rows only (no pretraining);
    ``kwargs`` go to :func:`~tasks.qa.router.training.train_router`."""
    plain = dataclasses.replace(settings, train=dataclasses.replace(settings.train, pretrain_epochs=0))
    return train_router(texts, labels, settings=plain, valid=valid, **kwargs)


def semi_supervised(texts: Sequence[str], labels: Sequence[str], unlabelled: Sequence[str],
                    valid: tuple[Sequence[str], Sequence[str]], settings: RouterSettings, *,
                    pretrain_epochs: int = 10, rounds: int = 2, fraction: float | None = 0.5,
                    threshold: float = 0.7, max_per_class: int | None = None, cotrain: bool = True,
                    spread: bool = True, distill_temperature: float | None = 0.5, seed: int = 0,
                    device: str = "auto",
                    verbose: bool = False) -> tuple[IntentRouter, list[dict]]:
    """Pretrain on all text, fine-tune on the labels, self-train, distil; return (router, rounds)."""
    fold = (lambda t: t.lower()) if settings.lowercase else (lambda t: t)
    names = sorted(set(labels) | set(valid[1]))
    label_id = {n: i for i, n in enumerate(names)}
    all_texts = [fold(t) for t in [*texts, *unlabelled]]
    cotrain = cotrain and settings.ngram_buckets > 0  # the linear view reads the n-gram bag
    spread = spread and cotrain                        # the third view joins the second
    _check_recipe(distill_temperature, spread, len(all_texts) + len(valid[0]),
                  pretrain_epochs=pretrain_epochs, rounds=rounds, fraction=fraction, threshold=threshold,
                  max_per_class=max_per_class)
    router, encoded, pretrained_state = _pretrained_start(all_texts, names, settings, pretrain_epochs,
                                                          seed=seed, device=device, verbose=verbose)
    valid_texts = [fold(t) for t in valid[0]]
    n = len(texts)
    label_ids = torch.tensor([label_id[y] for y in labels])
    views = _Views(router.model.config, router.tokenizer, pretrained_state, all_texts, encoded,
                   valid_texts, [label_id[y] for y in valid[1]], router.encode(valid_texts),
                   dataclasses.replace(settings.train, pretrain_epochs=0), cotrain, seed, device, verbose)
    if spread:  # (N + V, C) the third view: labels spread over a graph of all questions, validation too
        views.spread_log = _spread(all_texts + valid_texts, n, label_ids, len(names))
    select = views.per_intent_share(fraction) if fraction else None
    result = self_train(views.train, views.predict, torch.arange(n), label_ids,
                        torch.arange(n, len(all_texts)), rounds=rounds, threshold=threshold,
                        max_per_class=max_per_class, select_fn=select)
    if distill_temperature is not None and unlabelled:
        _distil(views, result, label_ids, distill_temperature)
    router.model = _deep(result.model)
    return router, result.rounds


def _check_recipe(distill_temperature: float | None, spread: bool, questions: int, *,
                  pretrain_epochs: int = 0, rounds: int = 1, fraction: float | None = None,
                  threshold: float = 0.5, max_per_class: int | None = None) -> None:
    """Refuse a count or a share out of range, a bad temperature, or a spreading graph too large,
    before any training (each refusal names the argument)."""
    def integer(value, minimum: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= minimum

    if not integer(pretrain_epochs, 0):
        raise ValueError(f"pretrain_epochs: expected an integer >= 0, got {pretrain_epochs!r}")
    if not integer(rounds, 0):
        raise ValueError(f"rounds: expected an integer >= 0 (self-training rounds after the first "
                         f"training), got {rounds!r}")
    if max_per_class is not None and not integer(max_per_class, 1):
        raise ValueError(f"max_per_class: expected a positive integer or None, got {max_per_class!r}")
    if fraction is not None and not (isinstance(fraction, (int, float)) and 0.0 < fraction <= 1.0):
        raise ValueError(f"fraction: expected a share in (0, 1] or None, got {fraction!r}")
    if not (isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold: expected a probability in [0, 1], got {threshold!r}")
    if distill_temperature is not None and not distill_temperature > 0:
        raise ValueError(f"distill_temperature: expected a positive number or None, "
                         f"got {distill_temperature}")
    if spread and questions > SPREAD_MAX_QUESTIONS:
        raise ValueError(f"spread=True builds a dense (N, N) graph of all N questions: {questions:,} "
                         f"questions need {4 * questions ** 2 / 2 ** 30:.1f} GiB per copy, more than "
                         f"the {SPREAD_MAX_QUESTIONS:,} allowed; pass spread=False or fewer unlabelled "
                         "questions")


def _pretrained_start(all_texts: list[str], names: list[str], settings: RouterSettings, pretrain_epochs: int,
                      *, seed: int, device: str, verbose: bool
                      ) -> tuple[IntentRouter, list[Encoded], dict[str, torch.Tensor]]:
    """The tokenizer on every question, a fresh classifier (seeded) pretrained with masked tokens on
    them: ``(router around it, the encoded questions, a copy of the pretrained weights)``."""
    tokenizer = build_tokenizer(settings.tokenizer, all_texts, settings.vocab_size)
    torch.manual_seed(seed)
    base = IntentClassifier(settings.model_config(tokenizer.vocab_size, len(names)))
    router = IntentRouter(base, tokenizer, names, 0.0, lowercase=settings.lowercase)
    encoded = router.encode(all_texts)
    if pretrain_epochs:
        pretrain_mlm(base.sentence, [ids for ids, _ in encoded], epochs=pretrain_epochs,
                     batch_size=settings.train.batch_size, seed=seed, device=device, verbose=verbose)
    return router, encoded, copy.deepcopy(base.state_dict())


class _CoTrained(NamedTuple):
    """One round's views: the Transformer, the linear n-gram model, their mixing weight ``w``
    and the weight ``v`` of the (fixed) label-spreading view."""

    deep: IntentClassifier
    linear: LinearNgramExpert
    weight: float
    spread_weight: float = 0.0


@dataclass
class _Views:
    """What every round shares: the pretrained start, the encoded questions (the labelled ones
    first, then the unlabelled; rows index into them) and the validation set that weighs the
    views. ``train`` and ``predict`` are the two steps :func:`self_train` calls each round."""

    config: IntentConfig
    tokenizer: object
    pretrained_state: dict
    all_texts: list[str]
    encoded: list[Encoded]
    valid_texts: list[str]
    valid_ids: list[int]
    valid_encoded: list[Encoded]
    settings: IntentSettings   # fine-tuning, without pretraining (it is done once, up front)
    cotrain: bool
    seed: int
    device: str
    verbose: bool
    spread_log: torch.Tensor | None = None   # (N + V, C) log-probabilities of label spreading

    def __post_init__(self):
        self.grams = pad_ids([g for _, g in self.encoded]) if self.cotrain else None             # (N, G)
        self.valid_grams = pad_ids([g for _, g in self.valid_encoded]) if self.cotrain else None  # (V, G)

    def fit_deep(self, rows: torch.Tensor, targets: torch.Tensor) -> IntentClassifier:
        """A Transformer from the pretrained weights, fitted on ``rows`` (targets: ids or (N, C))."""
        model = IntentClassifier(self.config)
        model.load_state_dict(self.pretrained_state)
        fit_intent_classifier(model, self.tokenizer, [self.all_texts[i] for i in rows.tolist()],
                              targets.tolist(), self.valid_texts, self.valid_ids, self.settings,
                              seed=self.seed, device=self.device, verbose=self.verbose)
        return model

    def train(self, rows: torch.Tensor, targets: torch.Tensor, previous=None):
        """One round's model: the Transformer, and with co-training the linear view and the views'
        weights chosen on validation."""
        model = self.fit_deep(rows, targets)
        if not self.cotrain:
            return model.eval()
        linear = LinearNgramExpert(self.config.ngram_buckets, self.config.num_labels)
        fit_linear_expert(linear, self.grams[rows], targets)
        with torch.no_grad():
            deep_valid = predict_proba(model, self.valid_encoded).clamp_min(1e-12).log()  # (V, C)
            linear_valid = linear.eval()(self.valid_grams)                                  # (V, C)
            weight = choose_mix_weight(deep_valid, linear_valid, self.valid_ids)
            spread_weight = 0.0 if self.spread_log is None else _choose_spread_weight(
                mix_log_probs(deep_valid, linear_valid, weight), self.spread_log[len(self.all_texts):],
                self.valid_ids)
        return _CoTrained(model.eval(), linear, weight, spread_weight)

    def predict(self, model, rows: torch.Tensor) -> torch.Tensor:
        """``(R, C)`` probabilities of the rows: the Transformer's, or the views' product."""
        deep = predict_proba(_deep(model), [self.encoded[i] for i in rows.tolist()])  # (R, C)
        if not self.cotrain:
            return deep
        with torch.no_grad():
            mixed = mix_log_probs(deep.clamp_min(1e-12).log(), model.linear(self.grams[rows]), model.weight)
            if model.spread_weight:
                mixed = mixed + model.spread_weight * self.spread_log[rows]
            return torch.softmax(mixed, -1)

    @staticmethod
    def per_intent_share(fraction: float):
        """A ``select_fn``: each intent gets the same share of the unlabelled rows (a uniform prior)."""
        def select(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            uniform = torch.full((probs.shape[1],), 1.0 / probs.shape[1])  # (C,)
            return select_top_fraction(probs, fraction, class_prior=uniform)
        return select


def _distil(views: _Views, result, label_ids: torch.Tensor, temperature: float) -> None:
    """The last student: a Transformer from the pretrained weights learns every question, the
    labelled ones one-hot and the unlabelled ones the views' product sharpened to ``temperature``.
    It replaces ``result.model``, and a round entry records it."""
    n, total = len(label_ids), len(views.all_texts)
    unlabelled_rows = torch.arange(n, total)
    soft = sharpen(views.predict(result.model, unlabelled_rows), temperature)              # (U, C)
    truth = torch.nn.functional.one_hot(label_ids, views.config.num_labels).float()         # (n, C)
    result.model = views.fit_deep(torch.arange(total), torch.cat([truth, soft])).eval()
    result.rounds.append({"round": len(result.rounds) + 1, "pseudo_labels": len(unlabelled_rows),
                          "soft": True})


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
