"""The intent router: tokenizer + intent classifier + hand-off threshold + canned answers.

This is what ``qa train`` (``--task intent``) builds and ``qa evaluate|ask|chat`` load::

    router = IntentRouter.train(texts, labels, out_dir="runs/banking77")  # split, tokenizer, fit
    router.answer("where is my card?")      # -> {"intent": "card_arrival", "confidence": 0.97, ...}
    router.evaluate(test_texts, test_labels)  # -> {"accuracy": ..., "macro_f1": ...}
    IntentRouter.load("runs/banking77")

Training steps: (1) stratified validation split (10 %); (2) a byte-level BPE tokenizer trained on
the training questions (texts lower-cased by default); (3) the linear n-gram expert fitted to
convergence on the training questions (:mod:`.linear`, features from :mod:`.ngram_vocab`);
(4) the Transformers -- an ensemble of ``ensemble`` members trained side by side with their own
seeds (:mod:`.ensemble`), each with optional MLM pretraining on the training + unlabelled
questions, then fine-tuning with early stopping on validation accuracy; (5) the two experts'
weight and (6) the hand-off threshold chosen on validation (:mod:`.oos`); (7) the linear expert
fitted again on the training and validation questions together.

**Two experts, trained apart** (the CLI default). The intent probabilities are a weighted
product of the Transformer (the members' geometric mean) and a TF-IDF logistic regression on the
question's n-grams::

    log p(y | q) = w log p_Transformer(y | q) + (1 - w) log p_linear(y | q) + const

with ``w`` the maximum-likelihood weight on validation (grid of 0.05). The Transformer reads only
the token sequence here (``ngram_buckets = 0``): given the n-gram bag too, it learnt mostly what
the linear model knows and added nothing to it (BANKING77 hold-out, beside scikit-learn's TF-IDF +
LR: both wrong on 7.3% of questions, the mix no better than the LR alone); reading tokens alone,
it is weaker on its own but wrong on other questions (both wrong on 5.8%), and on average the
product beats either expert (5-fold CV, one Transformer: 90.93%, against 90.58% for the linear
expert and 87.42% for the Transformer).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from minitransformer.metrics.classification import accuracy
from minitransformer.nn.io import atomic_save_safetensors, load_weights
from minitransformer.tokenizers import BPETokenizer, CharTokenizer, load_tokenizer
from minitransformer.training import resolve_device, seed_everything

from .bundle import read_info, write_info
from .data import stratified_split
from .ensemble import MemberJob, ensemble_log_proba, member_dir, train_members
from .intent import IntentClassifier, IntentConfig, IntentSettings, predict_proba
from .linear import LinearNgramExpert, choose_mix_weight, fit_linear_expert, mix_log_probs
from .ngram_vocab import NgramVocabulary
from .oos import HUMAN, choose_handoff_threshold, route, routing_metrics
from .sentence import encode_questions

__all__ = ["IntentRouter", "RouterSettings", "faq_settings", "few_label_settings", "check_label_counts",
           "build_tokenizer"]

LINEAR_WEIGHTS = "linear.safetensors"


@dataclass
class RouterSettings:
    """Model size, tokenizer and training settings (the CLI defaults)."""

    tokenizer: str = "bpe"
    vocab_size: int = 4000
    lowercase: bool = True
    d_model: int = 128
    nhead: int = 4
    num_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    max_len: int = 64
    pooling: str = "mean"
    ngram_buckets: int = 0  # the Transformer's own hashed n-gram bag (sentence.py); off by default
    wide_ngrams: bool = False  # a linear part on that bag, trained jointly (intent.py)
    linear_expert: bool = True  # a separate linear n-gram expert, mixed in on validation
    linear_c: float = 30.0  # its inverse L2 strength, scikit-learn's C: l2 = 1 / (C N)
    ensemble: int = 2  # Transformers trained with seeds seed, seed + 1, ... side by side (ensemble.py)
    valid_fraction: float = 0.1
    # two 12-epoch members score higher together than one trained for 25 (BANKING77, ensemble.py)
    train: IntentSettings = field(default_factory=lambda: IntentSettings(epochs=12))

    def __post_init__(self):
        if not (isinstance(self.ensemble, int) and self.ensemble >= 1):
            raise ValueError(f"ensemble: expected a positive integer (the number of Transformers), "
                             f"got {self.ensemble!r}")


def faq_settings() -> RouterSettings:
    """The preset of ``qa train --data builtin``: a small FAQ (~25 questions per intent) is learnt
    best by one encoder layer at a higher learning rate, without label smoothing (which would also
    flatten the confidences the hand-off threshold reads); the encoder reads the hashed n-gram bag
    beside the tokens, a single model (the FAQ benchmark's 95.3% was measured so)."""
    return RouterSettings(num_layers=1, ngram_buckets=16384, wide_ngrams=True, linear_expert=False,
                          ensemble=1, train=IntentSettings(lr=3e-3, label_smoothing=0.0, pretrain_epochs=0))


def few_label_settings() -> RouterSettings:
    """The Transformer of the few-label recipe (:mod:`.semi`): it reads the hashed n-gram bag,
    which the recipe's own linear view reads too; one model trained for 25 epochs, no separate
    expert."""
    return RouterSettings(ngram_buckets=16384, wide_ngrams=True, linear_expert=False, ensemble=1,
                          train=IntentSettings())


def check_label_counts(labels: Sequence[str], minimum: int = 2) -> None:
    """Every label needs ``minimum`` examples (one for training, one for validation)."""
    counts = Counter(labels)
    rare = sorted(label for label, n in counts.items() if n < minimum)
    if rare:
        shown = ", ".join(repr(r) for r in rare[:5]) + (" ..." if len(rare) > 5 else "")
        raise ValueError(f"label(s) {shown} occur fewer than {minimum} times; every intent needs at "
                         f"least {minimum} example questions (one for training, one for validation)")
    if len(counts) < 2:
        raise ValueError(f"only one label ({next(iter(counts))!r}); intent routing needs at least two")


def build_tokenizer(kind: str, texts: Sequence[str], vocab_size: int):
    """A BPE (``"bpe"``) or character (``"char"``) tokenizer fitted to ``texts``."""
    if kind == "bpe":
        return BPETokenizer().train(list(texts), vocab_size)
    if kind == "char":
        return CharTokenizer().fit(list(texts))
    raise ValueError(f"--tokenizer: expected 'bpe' or 'char', got {kind!r}")


class IntentRouter:
    """A trained intent classifier with everything needed to answer questions."""

    def __init__(self, model: IntentClassifier, tokenizer, labels: list[str], threshold: float = 0.0,
                 oos_label: str = "oos", answers: dict[str, str] | None = None, lowercase: bool = True,
                 expert: LinearNgramExpert | None = None, ngrams: NgramVocabulary | None = None,
                 mix_weight: float = 1.0, members: Sequence[IntentClassifier] = ()):
        self.model, self.tokenizer, self.labels = model, tokenizer, labels
        self.members = list(members)  # the ensemble's other Transformers (model is member 0)
        self.threshold, self.oos_label, self.lowercase = threshold, oos_label, lowercase
        self.answers = dict(answers or {})
        self.label_to_id = {label: i for i, label in enumerate(labels)}
        if (expert is None) != (ngrams is None):
            raise ValueError("expert and ngrams: pass both (the linear expert and its n-gram "
                             "vocabulary) or neither")
        self.expert, self.ngrams, self.mix_weight = expert, ngrams, mix_weight

    @property
    def oos_index(self) -> int | None:
        return self.label_to_id.get(self.oos_label)

    def encode(self, texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """(token ids, n-gram ids) per question (``[CLS]`` first, at most ``max_len`` tokens)."""
        texts = [t.lower() if self.lowercase and isinstance(t, str) else t for t in texts]
        return encode_questions(self.tokenizer, texts, self.model.config)

    def probs(self, texts: Sequence[str]) -> torch.Tensor:
        """``(N, C)`` intent probabilities: the Transformer's (the ensemble's geometric mean), or
        its weighted product with the linear expert's when the router has one."""
        deep = self._transformer_log_probs(texts)  # (N, C)
        if self.expert is None:
            return deep.exp()
        linear = self._linear_logits(texts)  # (N, C)
        return mix_log_probs(deep, linear, self.mix_weight).exp()

    def _transformer_log_probs(self, texts: Sequence[str]) -> torch.Tensor:
        """``(N, C)`` log-probabilities of the Transformer, or of the ensemble's members together."""
        encoded = self.encode(texts)
        if not self.members:
            return predict_proba(self.model, encoded).clamp_min(1e-30).log()
        return ensemble_log_proba([self.model, *self.members], encoded)

    @torch.no_grad()
    def _linear_logits(self, texts: Sequence[str]) -> torch.Tensor:
        """``(N, C)`` logits of the linear n-gram expert."""
        self.expert.eval()
        return self.expert(self.ngrams.encode_batch(list(texts)))

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], *, out_dir: str | Path | None = None,
              settings: RouterSettings | None = None, oos_label: str = "oos",
              unlabelled: Sequence[str] = (), answers: dict[str, str] | None = None, seed: int = 0,
              device: str = "auto", max_minutes: float | None = None, verbose: bool = True,
              valid: tuple[Sequence[str], Sequence[str]] | None = None) -> IntentRouter:
        """Split, build the tokenizer, (pre)train, choose the threshold; save to ``out_dir``."""
        settings = settings or RouterSettings()
        if len(texts) != len(labels):
            raise ValueError(f"texts and labels differ in length ({len(texts)} vs {len(labels)})")
        if valid is None:
            check_label_counts(labels)
            train_idx, valid_idx = stratified_split(labels, settings.valid_fraction, seed)
            valid = ([texts[i] for i in valid_idx], [labels[i] for i in valid_idx])
            texts, labels = [texts[i] for i in train_idx], [labels[i] for i in train_idx]
        names = sorted(set(labels) | set(valid[1]))
        fold = (lambda t: t.lower()) if settings.lowercase else (lambda t: t)
        expert = ngrams = None
        if settings.linear_expert:  # convex and quick: fitted first, its minutes leave the budget
            start = time.monotonic()
            expert, ngrams = fit_router_expert(texts, labels, names, settings.linear_c)
            minutes = (time.monotonic() - start) / 60
            # twice: the refit on training + validation questions at the end takes as long again
            max_minutes = None if max_minutes is None else max(max_minutes - 2 * minutes, 0.5)
            if verbose:
                with torch.no_grad():
                    expert_accuracy = _accuracy(expert(ngrams.encode_batch(list(valid[0]))), valid[1], names)
                print(f"linear n-gram expert: {len(ngrams):,} n-grams, validation accuracy "
                      f"{expert_accuracy:.4f} ({60 * minutes:.0f} s)")
        seed_everything(seed)
        tokenizer = build_tokenizer(settings.tokenizer, [fold(t) for t in [*texts, *unlabelled]],
                                    settings.vocab_size)
        config = IntentConfig(vocab_size=tokenizer.vocab_size, d_model=settings.d_model,
                              nhead=settings.nhead, num_layers=settings.num_layers,
                              dim_feedforward=settings.dim_feedforward, dropout=settings.dropout,
                              max_len=settings.max_len, pooling=settings.pooling, num_labels=len(names),
                              ngram_buckets=settings.ngram_buckets, wide_ngrams=settings.wide_ngrams)
        ids = {name: i for i, name in enumerate(names)}
        jobs = [MemberJob(config, tokenizer, ([fold(t) for t in texts], [ids[y] for y in labels]),
                          ([fold(t) for t in valid[0]], [ids[y] for y in valid[1]]),
                          [fold(t) for t in unlabelled], settings.train, seed + k, device,
                          member_dir(out_dir, k), max_minutes, verbose and k == 0)
                for k in range(settings.ensemble)]
        trained = train_members(jobs)
        router = cls(trained[0][0], tokenizer, names, 0.0, oos_label, answers, settings.lowercase,
                     expert, ngrams, members=[m for m, _ in trained[1:]])
        result = trained[0][1]
        deep = router._transformer_log_probs(valid[0])  # (N, C)
        router.transformer_valid_accuracy = _accuracy(deep, valid[1], names)
        if verbose and len(trained) > 1:
            for k, (_, r) in enumerate(trained):
                best = "none" if r.best_metric is None else f"{r.best_metric:.4f}"
                print(f"Transformer {k + 1} of {len(trained)} (seed {seed + k}): validation accuracy "
                      f"{best} at epoch {r.best_epoch}, {r.elapsed_s / 60:.1f} min")
            print(f"the {len(trained)} Transformers together: validation accuracy "
                  f"{router.transformer_valid_accuracy:.4f}")
        if expert is not None:
            router.mix_weight = choose_mix_weight(deep, router._linear_logits(valid[0]),
                                                  [ids[y] for y in valid[1]], grid=20, by="log_loss")
        valid_probs = router.probs(valid[0])
        router.valid_accuracy = _accuracy(valid_probs, valid[1], names)
        if verbose and expert is not None:
            print(f"Transformer x linear expert, weight {router.mix_weight:.2f} on the Transformer: "
                  f"validation accuracy {router.valid_accuracy:.4f}")
        router.threshold = choose_handoff_threshold(valid_probs, [ids[y] for y in valid[1]], router.oos_index)
        if expert is not None:
            # w and the threshold are chosen; the expert has no early stopping to feed, so it is fitted
            # again with the validation questions too (a tenth more data; BANKING77, five splits:
            # the expert alone +0.8 points, the product +0.1 on average)
            router.expert, router.ngrams = fit_router_expert([*texts, *valid[0]], [*labels, *valid[1]],
                                                             names, settings.linear_c)
        router.fit_result = result
        router.member_results = [r for _, r in trained]
        if out_dir is not None:
            router.save(out_dir, extra={"settings": dataclasses.asdict(settings),
                                        "best_epoch": result.best_epoch,
                                        "member_valid_accuracies": [r.best_metric for _, r in trained],
                                        "transformer_valid_accuracy": router.transformer_valid_accuracy,
                                        "valid_accuracy": router.valid_accuracy})
        return router

    # ------------------------------------------------------------------ use
    def decide(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """For each question: the intent (or ``None`` = human), its confidence and the reply."""
        probs = self.probs(texts)
        decisions = route(probs, self.threshold, self.oos_index)
        out = []
        for p, decision in zip(probs, decisions):
            confidence, best = float(p.max()), int(p.argmax())
            intent = None if decision == HUMAN else self.labels[decision]
            out.append({"intent": intent, "top_intent": self.labels[best], "confidence": confidence,
                        "handoff": intent is None,
                        "answer": self.answers.get(intent, intent) if intent is not None else None})
        return out

    def answer(self, question: str) -> dict[str, Any]:
        return self.decide([question])[0]

    def evaluate(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
        """``accuracy``/``macro_f1`` of the argmax intent; with oos rows present, of the routed
        decision (plus ``in_scope_accuracy``, ``oos_recall``). Unknown labels count as oos."""
        probs = self.probs(texts)
        oos = self.oos_index if self.oos_index is not None else len(self.labels)
        truth = [self.label_to_id.get(y, oos) if y != self.oos_label else oos for y in labels]
        unknown = sorted({y for y in labels if y not in self.label_to_id and y != self.oos_label})
        if unknown:
            raise ValueError(f"labels not seen in training: {unknown[:5]} (the model knows "
                             f"{len(self.labels)} intents; out-of-scope rows must be labelled "
                             f"{self.oos_label!r})")
        num_classes = len(self.labels)
        if any(t == oos for t in truth):
            decisions = route(probs, self.threshold, self.oos_index)
            return routing_metrics(decisions, truth, oos, num_classes + (self.oos_index is None))
        pred = probs.argmax(-1).tolist()
        metrics = routing_metrics(pred, truth, None, num_classes)
        decisions = route(probs, self.threshold, self.oos_index)
        metrics["handoff_rate"] = sum(d == HUMAN for d in decisions) / len(decisions)
        return metrics

    # ------------------------------------------------------------------ files
    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        directory = Path(directory)
        self.model.save_pretrained(directory)
        for k, member in enumerate(self.members, start=1):
            member.save_pretrained(member_dir(directory, k))
        self.tokenizer.save(directory)
        linear = None
        if self.expert is not None:
            atomic_save_safetensors(self.expert, directory / LINEAR_WEIGHTS)
            self.ngrams.save(directory)
            linear = {"ngrams": len(self.ngrams), "mix_weight": self.mix_weight}
        write_info(directory, {"task": "intent", "labels": self.labels, "threshold": self.threshold,
                               "oos_label": self.oos_label, "lowercase": self.lowercase,
                               "answers": self.answers, "linear_expert": linear,
                               "ensemble": 1 + len(self.members), **(extra or {})})
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> IntentRouter:
        info = read_info(directory, task="intent")
        model = IntentClassifier.from_pretrained(directory, map_location=resolve_device(device)).eval()
        tokenizer = load_tokenizer(directory)
        if len(info["labels"]) != model.config.num_labels:
            raise ValueError(f"{directory}: qa.json lists {len(info['labels'])} labels but the model "
                             f"has {model.config.num_labels} outputs")
        count = info.get("ensemble", 1)
        if not (isinstance(count, int) and count >= 1):
            raise ValueError(f"{directory}: qa.json 'ensemble' must be a positive integer, got {count!r}")
        members = []
        for k in range(1, count):
            folder = member_dir(directory, k)
            if not (folder / "config.json").is_file():
                raise FileNotFoundError(f"{directory}: qa.json lists {count} Transformers but "
                                        f"{folder} holds no model (config.json missing)")
            members.append(IntentClassifier.from_pretrained(folder, map_location=resolve_device(device)))
            members[-1].eval()
        expert = ngrams = None
        linear = info.get("linear_expert")
        if linear:
            ngrams = NgramVocabulary.load(directory)
            if len(ngrams) != linear.get("ngrams"):
                raise ValueError(f"{directory}: qa.json says the linear expert reads "
                                 f"{linear.get('ngrams')} n-grams, ngrams.json lists {len(ngrams)}")
            expert = LinearNgramExpert(len(ngrams), model.config.num_labels)
            load_weights(expert, Path(directory) / LINEAR_WEIGHTS)
        return cls(model, tokenizer, list(info["labels"]), float(info.get("threshold", 0.0)),
                   info.get("oos_label", "oos"), info.get("answers"), bool(info.get("lowercase", True)),
                   expert, ngrams, float(linear["mix_weight"]) if linear else 1.0, members)


def fit_router_expert(texts: Sequence[str], labels: Sequence[str], names: list[str],
                      c: float) -> tuple[LinearNgramExpert, NgramVocabulary]:
    """The linear n-gram expert on the training questions: vocabulary, then L-BFGS to convergence
    with ``l2 = 1 / (c N)`` (scikit-learn's ``C = c``)."""
    if not c > 0:
        raise ValueError(f"linear_c: expected a positive number, got {c}")
    ngrams = NgramVocabulary.fit(list(texts))
    expert = LinearNgramExpert(len(ngrams), len(names))
    label_id = {name: i for i, name in enumerate(names)}
    targets = torch.tensor([label_id[y] for y in labels], dtype=torch.long)
    fit_linear_expert(expert, ngrams.encode_batch(list(texts)), targets, l2=1.0 / (c * len(texts)))
    return expert.eval(), ngrams


def _accuracy(scores: torch.Tensor, labels: Sequence[str], names: list[str]) -> float:
    """Share of rows whose top score is the named label (``scores`` ``(N, C)``, columns = ``names``)."""
    label_id = {name: i for i, name in enumerate(names)}
    return accuracy([label_id[y] for y in labels], scores.argmax(-1).tolist())
