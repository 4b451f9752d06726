"""The intent router: tokenizer + intent classifier(s) + linear expert + hand-off threshold + answers.

What ``qa train`` (``--task intent``) builds and ``qa evaluate|predict|ask|chat`` load::

    router = tasks.qa.load("runs/banking77")
    router.answer("where is my card?")      # -> {"intent": "card_arrival", "confidence": 0.97, ...}
    router.evaluate(test_texts, test_labels)  # -> {"accuracy": ..., "macro_f1": ...}

It is trained by :func:`tasks.qa.router.training.train_router` (the steps are listed there).

**Two experts, trained apart** (the CLI default). The intent probabilities are a weighted
product of the Transformer (the members' geometric mean, :mod:`.ensemble`) and a TF-IDF logistic
regression on the question's n-grams (:mod:`.linear`, features from :mod:`.ngram_vocab`)::

    log p(y | q) = w log p_Transformer(y | q) + (1 - w) log p_linear(y | q) + const        (N, C)

with ``w`` the maximum-likelihood weight on validation (grid of 0.05). The Transformer reads only
the token sequence here (``ngram_buckets = 0``): given the n-gram bag too, it learnt mostly what
the linear model knows and added nothing to it (BANKING77 hold-out, beside scikit-learn's TF-IDF +
LR: both wrong on 7.3% of questions, the mix no better than the LR alone); reading tokens alone,
it is weaker on its own but wrong on other questions (both wrong on 5.8%), and on average the
product beats either expert (5-fold CV, one Transformer: 90.93%, against 90.58% for the linear
expert and 87.42% for the Transformer).

The decision for each question is then the hand-off rule of :mod:`.oos`: the top intent when its
probability clears the threshold and it is not the out-of-scope intent, else a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from minitransformer.files.model_folder import check_fits_in_memory
from minitransformer.nn.io import atomic_save_safetensors, load_weights

from ..bundle import check_vocabulary, load_module, model_file, read_info, write_info
from ..encoding import Encoded, encode_questions
from ..pretrained.checkpoint import load_qa_tokenizer
from .classifier import IntentClassifier, predict_proba
from .ensemble import ensemble_log_proba, member_dir
from .linear import LinearNgramExpert, mix_log_probs
from .ngram_vocab import NgramVocabulary
from .oos import HUMAN, route, routing_metrics

__all__ = ["IntentRouter", "LINEAR_WEIGHTS", "DEFAULT_COLUMNS"]

LINEAR_WEIGHTS = "linear.safetensors"
#: the columns of an intent CSV, (question, label), when a model folder does not name its own
DEFAULT_COLUMNS = ("text", "category")


class IntentRouter:
    """A trained intent classifier with everything needed to answer questions."""

    task = "intent"  # what qa.json says the folder holds

    def __init__(self, model: IntentClassifier, tokenizer, labels: list[str], threshold: float = 0.0,
                 oos_label: str = "oos", answers: dict[str, str] | None = None, lowercase: bool = True,
                 expert: LinearNgramExpert | None = None, ngrams: NgramVocabulary | None = None,
                 mix_weight: float = 1.0, members: Sequence[IntentClassifier] = (),
                 columns: Sequence[str] = DEFAULT_COLUMNS):
        self.model, self.tokenizer, self.labels = model, tokenizer, labels
        self.columns = tuple(columns)  # the intent CSV's (question, label) columns it was trained on
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

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """(token ids, n-gram ids) per question (``[CLS]`` first, at most ``max_len`` tokens)."""
        texts = [t.lower() if self.lowercase and isinstance(t, str) else t for t in texts]
        return encode_questions(self.tokenizer, texts, self.model.config)

    def probs(self, texts: Sequence[str], batch_size: int | None = None) -> torch.Tensor:
        """``(N, C)`` intent probabilities: the Transformer's (the ensemble's geometric mean), or
        its weighted product with the linear expert's when the router has one; ``batch_size``
        questions at a time (None: all at once)."""
        if batch_size is not None and len(texts) > batch_size:
            return torch.cat([self.probs(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)])
        deep = self.transformer_log_probs(texts)  # (N, C)
        if self.expert is None:
            return deep.exp()
        linear = self.linear_logits(texts)  # (N, C)
        return mix_log_probs(deep, linear, self.mix_weight).exp()

    def transformer_log_probs(self, texts: Sequence[str]) -> torch.Tensor:
        """``(N, C)`` log-probabilities of the Transformer, or of the ensemble's members together."""
        encoded = self.encode(texts)
        if not self.members:
            return predict_proba(self.model, encoded).clamp_min(1e-30).log()
        return ensemble_log_proba([self.model, *self.members], encoded)

    @torch.no_grad()
    def linear_logits(self, texts: Sequence[str]) -> torch.Tensor:
        """``(N, C)`` logits of the linear n-gram expert."""
        self.expert.eval()
        return self.expert(self.ngrams.encode_batch(list(texts)))

    # ------------------------------------------------------------------ use
    def decide(self, texts: Sequence[str], batch_size: int | None = None) -> list[dict[str, Any]]:
        """For each question: the intent (or ``None`` = human), its confidence and the reply (the
        intent's answer, or its name when it has none)."""
        probs = self.probs(texts, batch_size)  # (N, C)
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
        """:meth:`decide` for one question."""
        return self.decide([question])[0]

    def evaluate(self, texts: Sequence[str], labels: Sequence[str],
                 batch_size: int | None = None) -> dict[str, float]:
        """``accuracy``/``macro_f1`` of the argmax intent; with oos rows present, of the routed
        decision (plus ``in_scope_accuracy``, ``oos_recall``). Labels the model does not know are
        refused."""
        probs = self.probs(texts, batch_size)  # (N, C)
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
        """Write the router into ``directory`` (see :mod:`tasks.qa.bundle`); ``extra`` joins qa.json."""
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
                               "ensemble": 1 + len(self.members), "columns": list(self.columns),
                               **(extra or {})})
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> IntentRouter:
        """Read a router written by :meth:`save` (loading runs no code: safetensors and JSON).
        Every file is checked before it is used (:mod:`tasks.qa.bundle`): ``qa.json``'s values,
        each ``config.json``'s size, the members' configurations, the tokenizer's ids."""
        info = read_info(directory, task="intent")
        model = load_module(_classifier_class(directory), directory, device)
        tokenizer = load_qa_tokenizer(directory)
        check_vocabulary(tokenizer, _vocab_size(model.config), directory)
        labels = list(info["labels"])
        if len(labels) != model.config.num_labels:
            raise ValueError(f"{directory}: qa.json lists {len(labels)} labels but the model "
                             f"has {model.config.num_labels} outputs")
        members = []
        for k in range(1, info.get("ensemble", 1)):
            folder = model_file(directory, member_dir(".", k).name)
            if not (folder / "config.json").is_file():
                raise FileNotFoundError(f"{directory}: qa.json lists {info['ensemble']} Transformers but "
                                        f"{folder} holds no model (config.json missing)")
            member = load_module(_classifier_class(folder), folder, device)
            if member.config != model.config:
                raise ValueError(f"{folder}/config.json: differs from {directory}/config.json; the "
                                 "ensemble's Transformers share one configuration")
            members.append(member)
        expert = ngrams = None
        linear = info.get("linear_expert")
        if linear:
            ngrams = NgramVocabulary.load(directory)
            if len(ngrams) != linear["ngrams"]:
                raise ValueError(f"{directory}: qa.json says the linear expert reads "
                                 f"{linear['ngrams']} n-grams, ngrams.json lists {len(ngrams)}")
            weights = model_file(directory, LINEAR_WEIGHTS)
            check_fits_in_memory(len(ngrams) * len(labels), weights)
            expert = LinearNgramExpert(len(ngrams), len(labels))
            load_weights(expert, weights)
        return cls(model, tokenizer, labels, float(info.get("threshold", 0.0)),
                   info.get("oos_label", "oos"), info.get("answers"), info.get("lowercase", True),
                   expert, ngrams, float(linear["mix_weight"]) if linear else 1.0, members,
                   info.get("columns", DEFAULT_COLUMNS))


def _vocab_size(config) -> int:
    """The number of token ids a classifier's embedding has: ours, or the BERT checkpoint's."""
    return config.text_encoder.vocab_size if hasattr(config, "text_encoder") else config.vocab_size


def _classifier_class(directory: str | Path):
    """The classifier class a saved model's ``config.json`` names: ours, or the one on BERT."""
    import json

    from ..pretrained.intent import BertIntentClassifier, BertIntentConfig

    try:
        config = json.loads(model_file(directory, "config.json").read_text(encoding="utf-8"))
        model_type = config.get("model_type")
    except (OSError, ValueError, AttributeError, RecursionError):
        return IntentClassifier  # loading it names what is wrong with the file
    return BertIntentClassifier if model_type == BertIntentConfig.model_type else IntentClassifier
