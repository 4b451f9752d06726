"""The ``load`` and ``predict`` verbs: a trained QA model folder, and what it answers.

:func:`load` reads a folder written by :func:`tasks.qa.train` as the model its ``qa.json`` names:
an :class:`~tasks.qa.router.router.IntentRouter`, a
:class:`~tasks.qa.matching.matcher.QuestionMatcher` or a
:class:`~tasks.qa.replies.generator.ReplyGenerator` (each has ``task``: ``"intent"``, ``"match"``,
``"reply"``). :func:`predict` turns the model's decision about each question into what a customer
reads: the canned answer in the question's language, or the hand-off to a person
(:data:`tasks.qa.synthetic.HANDOFF`). ``minitransformer qa predict`` prints the decisions,
``qa ask`` and ``qa chat`` the answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .bundle import read_info
from .synthetic import HANDOFF, language_of

__all__ = ["load", "predict", "check_batch_size"]


def check_batch_size(batch_size) -> None:
    """``batch_size``: None, or a positive integer (questions scored at a time)."""
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                   or batch_size < 1):
        raise ValueError(f"batch_size: expected a positive integer or None, got {batch_size!r}")


def load(model_dir: str | Path, device: str = "cpu"):
    """The model in ``model_dir``, ready to answer (in eval mode, on ``device``).

    A folder without ``qa.json`` (another head's, or none) is refused with a message that says so.

    Examples:
        >>> import tempfile
        >>> from tasks.qa import load, train
        >>> from tasks.qa.config import tiny_settings
        >>> run = train("builtin", tempfile.mkdtemp(), tiny_settings(), device="cpu", verbose=False)
        >>> router = load(run.model_dir)
        >>> router.task, sorted(router.answers) == sorted(run.model.answers)
        ('intent', True)
    """
    from minitransformer.training import resolve_device

    resolve_device(device)  # an unknown or absent device is refused before any file is read
    info = read_info(model_dir)
    task = info["task"]
    if task == "intent":
        from .router.router import IntentRouter
        return IntentRouter.load(model_dir, device)
    if task == "match":
        from .matching.matcher import QuestionMatcher
        return QuestionMatcher.load(model_dir, device)
    if info.get("model") == "causal_lm":  # fine-tuned from a GPT-2 checkpoint
        from .pretrained.replies import GPT2ReplyGenerator
        return GPT2ReplyGenerator.load(model_dir, device)
    from .replies.generator import ReplyGenerator
    return ReplyGenerator.load(model_dir, device)


def predict(model, questions: str | Sequence[str], *, lang: str | None = None,
            batch_size: int | None = None) -> list[dict[str, Any]]:
    """What the model answers to each question (a question, or a list of them), as a list of dicts.

    * intent router: ``intent`` (None = handed to a person), ``top_intent``, ``confidence`` (the
      top probability), ``handoff`` and ``answer``;
    * question matcher: ``matched_question``, ``score``, ``handoff`` and ``answer`` (the matched
      FAQ entry's);
    * reply generator: ``answer`` (the written reply) and ``handoff`` (always False).

    ``answer`` is the canned answer in the question's language (``lang``: ``"en"`` or ``"zh"``
    to choose), the intent's name when it has no answer (a model trained on your own intents
    without ``answers``), or the hand-off sentence when the model hands the question over. Empty
    questions are refused. ``batch_size``: questions scored at a time (None: all at once).

    Examples:
        >>> import tempfile
        >>> from tasks.qa import load, predict, train
        >>> from tasks.qa.config import tiny_settings
        >>> run = train("builtin", tempfile.mkdtemp(), tiny_settings(), device="cpu", verbose=False)
        >>> folder = run.model_dir
        >>> router = load(folder)
        >>> reply = predict(router, "where is my order?")[0]
        >>> sorted(reply), type(reply["confidence"]).__name__
        (['answer', 'confidence', 'handoff', 'intent', 'top_intent'], 'float')
        >>> reply["answer"] == (HANDOFF["en"] if reply["handoff"] else router.answers[reply["intent"]]["en"])
        True
    """
    questions = [questions] if isinstance(questions, str) else list(questions)
    for i, question in enumerate(questions):
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"questions: question {i + 1} is empty or not text ({question!r:.40}); "
                             "type a question to answer")
    if lang not in (None, *HANDOFF):
        raise ValueError(f"lang: expected one of {list(HANDOFF)} or None, got {lang!r}")
    check_batch_size(batch_size)
    if model.task == "intent":
        decisions = model.decide(questions, batch_size)
    elif model.task == "match":
        decisions = [model.retrieve(question, batch_size or 256) for question in questions]
    else:
        step = batch_size or max(len(questions), 1)
        replies = [r for i in range(0, len(questions), step) for r in model.reply(questions[i:i + step])]
        decisions = [{"answer": reply, "handoff": False} for reply in replies]
    return [_in_words(decision, lang or language_of(question))
            for question, decision in zip(questions, decisions)]


def _in_words(decision: dict[str, Any], lang: str) -> dict[str, Any]:
    """The decision with ``answer`` as text in ``lang``: one language of a bilingual canned answer,
    or the hand-off sentence."""
    answer = decision.get("answer")
    if isinstance(answer, dict):  # bilingual canned answers, {"en": ..., "zh": ...}
        answer = answer.get(lang) or next(iter(answer.values()))
    return {**decision, "answer": HANDOFF[lang] if decision["handoff"] else answer}
