"""The intent router: tokenizer + intent classifier + hand-off threshold + canned answers.

This is what ``qa train`` (``--task intent``) builds and ``qa evaluate|ask|chat`` load::

    router = IntentRouter.train(texts, labels, out_dir="runs/banking77")  # split, tokenizer, fit
    router.answer("where is my card?")      # -> {"intent": "card_arrival", "confidence": 0.97, ...}
    router.evaluate(test_texts, test_labels)  # -> {"accuracy": ..., "macro_f1": ...}
    IntentRouter.load("runs/banking77")

Training steps: (1) stratified validation split (10 %); (2) a byte-level BPE tokenizer trained on
the training questions (texts lower-cased by default); (3) optional MLM pretraining on the
training + unlabelled questions; (4) fine-tuning with early stopping on validation accuracy;
(5) the hand-off threshold chosen on validation (:mod:`.oos`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from minitransformer.tokenizers import BPETokenizer, CharTokenizer, load_tokenizer
from minitransformer.training import resolve_device, seed_everything

from .bundle import read_info, write_info
from .data import stratified_split
from .intent import IntentClassifier, IntentConfig, IntentSettings, fit_intent_classifier, predict_proba
from .oos import HUMAN, choose_handoff_threshold, route, routing_metrics
from .sentence import encode_questions

__all__ = ["IntentRouter", "RouterSettings", "faq_settings", "check_label_counts", "build_tokenizer"]


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
    ngram_buckets: int = 16384
    wide_ngrams: bool = True
    valid_fraction: float = 0.1
    train: IntentSettings = field(default_factory=IntentSettings)


def faq_settings() -> RouterSettings:
    """The preset of ``qa train --data builtin``: a small FAQ (~25 questions per intent) is learnt
    best by one encoder layer at a higher learning rate, without label smoothing (which would also
    flatten the confidences the hand-off threshold reads)."""
    return RouterSettings(num_layers=1, train=IntentSettings(lr=3e-3, label_smoothing=0.0, pretrain_epochs=0))


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
                 oos_label: str = "oos", answers: dict[str, str] | None = None, lowercase: bool = True):
        self.model, self.tokenizer, self.labels = model, tokenizer, labels
        self.threshold, self.oos_label, self.lowercase = threshold, oos_label, lowercase
        self.answers = dict(answers or {})
        self.label_to_id = {label: i for i, label in enumerate(labels)}

    @property
    def oos_index(self) -> int | None:
        return self.label_to_id.get(self.oos_label)

    def encode(self, texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """(token ids, n-gram ids) per question (``[CLS]`` first, at most ``max_len`` tokens)."""
        texts = [t.lower() if self.lowercase and isinstance(t, str) else t for t in texts]
        return encode_questions(self.tokenizer, texts, self.model.config)

    def probs(self, texts: Sequence[str]) -> torch.Tensor:
        """``(N, C)`` intent probabilities."""
        return predict_proba(self.model, self.encode(texts))

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
        seed_everything(seed)
        tokenizer = build_tokenizer(settings.tokenizer, [fold(t) for t in [*texts, *unlabelled]],
                                    settings.vocab_size)
        config = IntentConfig(vocab_size=tokenizer.vocab_size, d_model=settings.d_model,
                              nhead=settings.nhead, num_layers=settings.num_layers,
                              dim_feedforward=settings.dim_feedforward, dropout=settings.dropout,
                              max_len=settings.max_len, pooling=settings.pooling, num_labels=len(names),
                              ngram_buckets=settings.ngram_buckets, wide_ngrams=settings.wide_ngrams)
        model = IntentClassifier(config)
        router = cls(model, tokenizer, names, 0.0, oos_label, answers, settings.lowercase)
        ids = router.label_to_id
        result = fit_intent_classifier(
            model, tokenizer, [fold(t) for t in texts], [ids[y] for y in labels],
            [fold(t) for t in valid[0]], [ids[y] for y in valid[1]], settings.train,
            unlabelled_texts=[fold(t) for t in unlabelled], seed=seed, device=device,
            out_dir=out_dir, max_minutes=max_minutes, verbose=verbose)
        router.model = model.eval()
        valid_probs = router.probs(valid[0])
        router.threshold = choose_handoff_threshold(valid_probs, [ids[y] for y in valid[1]], router.oos_index)
        router.fit_result = result
        if out_dir is not None:
            router.save(out_dir, extra={"settings": dataclasses.asdict(settings),
                                        "best_epoch": result.best_epoch,
                                        "valid_accuracy": result.best_metric})
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
        self.tokenizer.save(directory)
        write_info(directory, {"task": "intent", "labels": self.labels, "threshold": self.threshold,
                               "oos_label": self.oos_label, "lowercase": self.lowercase,
                               "answers": self.answers, **(extra or {})})
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> IntentRouter:
        info = read_info(directory, task="intent")
        model = IntentClassifier.from_pretrained(directory, map_location=resolve_device(device)).eval()
        tokenizer = load_tokenizer(directory)
        if len(info["labels"]) != model.config.num_labels:
            raise ValueError(f"{directory}: qa.json lists {len(info['labels'])} labels but the model "
                             f"has {model.config.num_labels} outputs")
        return cls(model, tokenizer, list(info["labels"]), float(info.get("threshold", 0.0)),
                   info.get("oos_label", "oos"), info.get("answers"), bool(info.get("lowercase", True)))
