"""The ``train`` verb: from data to a trained QA model, saved in a folder of its own.

One call for the head's three models (``task``):

* ``"intent"`` -- the intent router (:func:`tasks.qa.router.training.train_router`) on an intent
  CSV, ``(texts, labels)`` or ``"builtin"`` (the built-in FAQ's training questions, with its
  canned answers); ``answers`` (an ``intent,answer`` CSV) gives your own intents their replies;
* ``"match"`` -- the question matcher (:func:`tasks.qa.matching.training.train_matcher`) on
  question pairs (``fmt`` ``atec`` by default, ``afqmc``, ``csv``, or a list of triples), or on
  pairs made from an FAQ table (``fmt="faq"``, then the matcher also retrieves from that table);
* ``"reply"`` -- the reply generator (:func:`tasks.qa.replies.generator.train_reply_generator`)
  on an FAQ table, ``(questions, answers)`` or ``"builtin"``.

**Check first, write after.** Every argument and setting is checked, and the data (and the
answers and ``exclude`` files) read and checked, before anything is written; only then does the
training claim its folder (:func:`~minitransformer.files.run_folder.claim_run_folder`: a folder
that already holds files is refused, and a second training into the same folder is refused while
the first runs). A refused training leaves ``out_dir`` as it was.

``config`` is the task's settings (:mod:`tasks.qa.config`); without it the command line's
defaults apply (:func:`~tasks.qa.config.default_settings`). ``minitransformer qa train`` is this
function behind argparse. QA trainings do not resume: a new run needs a new folder.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minitransformer.files.run_folder import claim_run_folder
from minitransformer.training import Run

from .config import (
    TASKS,
    MatchSettings,
    ReplySettings,
    RouterSettings,
    check_settings,
    default_settings,
    pretrained_settings,
)
from .data import (
    PAIR_FORMATS,
    check_label_counts,
    drop_overlapping_pairs,
    is_builtin,
    read_answers,
    read_faq,
    read_intents,
    read_pairs,
)
from .synthetic import ANSWERS

__all__ = ["train", "FORMATS_OF_TASK"]

SETTINGS_OF = {"intent": RouterSettings, "match": MatchSettings, "reply": ReplySettings}
#: the data layouts each task reads (``fmt``; None is the first)
FORMATS_OF_TASK = {"intent": ("intent",), "match": (*PAIR_FORMATS, "faq"), "reply": ("faq",)}


def train(data, out_dir: str | Path, config=None, *, task: str = "intent", seed: int = 0,
          device: str = "auto", max_minutes: float | None = None, fmt: str | None = None,
          text_col: str = "text", label_col: str = "category", oos_label: str = "oos",
          exclude: str | Path | None = None, verbose: bool = True,
          init_from: str | Path | None = None, answers=None, unlabelled=None) -> Run:
    """Train a QA model on ``data`` and save it to ``out_dir`` (a new or empty folder).

    Args:
        data: a file path, ``"builtin"`` or data in memory (see the module docstring).
        out_dir: the model folder; :func:`tasks.qa.load` reads it back. A folder that already
            holds files is refused (a trained model is never overwritten).
        config: :class:`~tasks.qa.config.RouterSettings` (intent),
            :class:`~tasks.qa.config.MatchSettings` (match) or
            :class:`~tasks.qa.config.ReplySettings` (reply); None: the defaults.
        task: ``"intent"``, ``"match"`` or ``"reply"``.
        seed, device, max_minutes: the random seed (an integer >= 0),
            ``auto|cpu|cuda|cuda:N|mps`` and a time budget in minutes (> 0) for the training
            (the best model so far is kept).
        fmt: the layout of ``data`` (``intent``; ``atec``, ``afqmc``, ``csv`` pairs; ``faq``).
        text_col, label_col, oos_label: an intent CSV's columns and out-of-scope label (saved in
            the model folder: evaluate and predict expect the same columns).
        exclude: match only: drop the pairs that also occur in this AFQMC-format file.
        verbose: print the epochs and the validation scores (with progress bars on a terminal).
        init_from: a pretrained checkpoint folder (Hugging Face layout) to start from instead of
            random weights: BERT for ``intent`` and ``match`` (the encoder, with its WordPiece
            tokenizer), GPT-2 for ``reply`` (a decoder-only model, :mod:`tasks.qa.pretrained`).
            Another folder, or the wrong family for the task, is refused before any training.
            Without ``config`` the defaults are :func:`~tasks.qa.config.pretrained_settings`.
        answers: intent only: what each intent replies, an ``intent,answer`` CSV path or a dict
            ``{intent: text}``; every intent in it must be one of the training data's. Intents
            without an answer reply with their name. The answers are saved in ``qa.json``.
        unlabelled: match only: question pairs without labels for the masked-token pretraining
            (which fine-tuning then starts from): a file in the format ``fmt`` of ``data``, whose
            labels are optional and not read, or ``(question, question)`` pairs in memory. Worth
            most when labelled pairs are few (``benchmarks/LOG.md``).

    Returns:
        a :class:`~minitransformer.training.Run`: ``model_dir``, ``model`` (as :func:`tasks.qa.load`
        returns it), ``metrics`` (validation scores of the kept model) and ``seconds``.

    Raises:
        ValueError: a bad argument or setting (naming it), or bad data (naming the file, the
            line and the column); ``UsageError`` (a ``ValueError``): ``out_dir`` holds files or
            another training is writing to it. Nothing is written then.

    Examples:
        >>> import tempfile
        >>> from tasks.qa import train
        >>> from tasks.qa.config import tiny_settings
        >>> run = train("builtin", tempfile.mkdtemp(), tiny_settings(), device="cpu", verbose=False)
        >>> len(run.model.labels), sorted(run.metrics), (run.model_dir / "qa.json").is_file()
        (33, ['best_epoch', 'threshold', 'transformer_valid_accuracy', 'valid_accuracy'], True)
    """
    _check_arguments(task, fmt, seed, device, max_minutes, out_dir, exclude, answers, init_from)
    _check_unlabelled(unlabelled, task, fmt, init_from)
    if init_from is not None:
        from .pretrained.checkpoint import check_init_from

        check_init_from(init_from, task)
    defaults = default_settings if init_from is None else pretrained_settings
    settings = defaults(task, builtin=is_builtin(data), fmt=fmt) if config is None else config
    if not isinstance(settings, SETTINGS_OF[task]):
        raise ValueError(f"config: task {task!r} takes a {SETTINGS_OF[task].__name__}, "
                         f"got {type(settings).__name__}")
    check_settings(settings)
    if task == "intent":
        inputs = _intent_inputs(data, text_col, label_col, oos_label, answers)
    elif task == "match":
        inputs = _match_inputs(data, fmt or "atec", exclude, seed)
        if unlabelled is not None:
            if not settings.pretrain_epochs:
                raise ValueError("unlabelled: only the masked-token pretraining reads unlabelled pairs, "
                                 "and the settings have pretrain_epochs 0 (--pretrain-epochs)")
            inputs.unlabelled = _unlabelled_pairs(unlabelled, fmt or "atec")
    else:
        inputs = _reply_inputs(data)
    out_dir = Path(out_dir)
    common = dict(out_dir=out_dir, settings=settings, seed=seed, device=device, max_minutes=max_minutes,
                  verbose=verbose, init_from=init_from)
    start = time.monotonic()
    with claim_run_folder(out_dir, option="--out"):  # refuses a folder with files; nothing written before
        model, metrics = _TRAIN[task](inputs, **common)
    return Run(out_dir, model, metrics, time.monotonic() - start)


# ----------------------------------------------------------------------------- checks
def _check_arguments(task, fmt, seed, device, max_minutes, out_dir, exclude, answers, init_from) -> None:
    """Every argument that is not data, checked before anything is read or written."""
    from minitransformer.training import resolve_device

    if task not in TASKS:
        raise ValueError(f"task: expected one of {list(TASKS)}, got {task!r}")
    if fmt is not None and fmt not in FORMATS_OF_TASK[task]:
        raise ValueError(f"format {fmt!r}: task {task!r} reads {' or '.join(FORMATS_OF_TASK[task])} data")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    resolve_device(device)  # an unknown name, or a device this machine lacks, is refused here
    number = isinstance(max_minutes, (int, float)) and not isinstance(max_minutes, bool)
    if max_minutes is not None and not (number and math.isfinite(max_minutes) and max_minutes > 0):
        raise ValueError(f"max_minutes: expected a finite number > 0 or None, got {max_minutes!r}")
    if not isinstance(out_dir, (str, Path)) or not str(out_dir).strip():
        raise ValueError(f"out_dir: expected a folder path, got {out_dir!r}")
    if exclude is not None and task != "match":
        raise ValueError(f"exclude: only a matcher drops pairs (task 'match'), not task {task!r}")
    if answers is not None and task != "intent":
        raise ValueError(f"answers: only an intent router replies with the answers of its intents "
                         f"(task 'intent'), not task {task!r}")
    if init_from is not None and not isinstance(init_from, (str, Path)):
        raise ValueError(f"init_from: expected a checkpoint folder, got {init_from!r}")


def _check_unlabelled(unlabelled, task, fmt, init_from) -> None:
    """``unlabelled`` feeds a matcher's own pretraining on question pairs, and nothing else."""
    if unlabelled is None:
        return
    if task != "match" or fmt == "faq":
        raise ValueError("unlabelled: only a matcher trained on question pairs (task 'match', format "
                         f"atec, afqmc or csv) pretrains on unlabelled pairs, not task {task!r}"
                         + (" on an FAQ table" if task == "match" else ""))
    if init_from is not None:
        raise ValueError("unlabelled: a checkpoint (init_from) is already pretrained; unlabelled pairs "
                         "feed the pretraining from scratch")


def _unlabelled_pairs(unlabelled, fmt) -> list[tuple[str, str]]:
    """The unlabelled ``(question, question)`` pairs from a file (format ``fmt``, labels not read)
    or memory."""
    from .data import load_pairs

    if isinstance(unlabelled, (str, Path)):
        return load_pairs(unlabelled, fmt, labels=False)
    pairs = [tuple(row)[:2] if isinstance(row, (tuple, list)) and len(row) in (2, 3) else None
             for row in unlabelled]
    for i, pair in enumerate(pairs):
        if pair is None or not all(isinstance(t, str) and t.strip() for t in pair):
            raise ValueError(f"unlabelled: pair {i + 1} must be two non-empty questions, got "
                             f"{list(unlabelled)[i]!r:.60}")
    if not pairs:
        raise ValueError("unlabelled: expected a file path or a non-empty list of question pairs")
    return pairs


def _check_texts(name: str, values, rows: str) -> None:
    """In-memory data: every value non-empty text (files are checked by their readers)."""
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"data: {name} of {rows} {i + 1} is empty or not text ({value!r:.40})")


# ----------------------------------------------------------------------------- the data, read first
@dataclass
class _IntentInputs:
    texts: list[str]
    labels: list[str]
    oos_label: str
    columns: tuple[str, str]
    answers: dict[str, Any] = field(default_factory=dict)


def _intent_inputs(data, text_col, label_col, oos_label, answers) -> _IntentInputs:
    """The training questions and labels, checked (every label twice or more, two labels at
    least), and the answers of the intents."""
    for name, value in (("text_col", text_col), ("label_col", label_col), ("oos_label", oos_label)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name}: expected a non-empty name, got {value!r}")
    if text_col == label_col:
        raise ValueError(f"text_col, label_col: the question and label columns must differ, "
                         f"got {text_col!r} twice")
    texts, labels = read_intents(data, split="train", text_col=text_col, label_col=label_col,
                                 oos_label=oos_label)
    _check_texts("question", texts, "row")
    _check_texts("label", labels, "row")
    check_label_counts(labels)
    canned = dict(ANSWERS) if is_builtin(data) else {}
    if isinstance(answers, (str, Path)):
        canned.update(read_answers(answers, labels, oos_label))
    elif answers is not None:
        canned.update(_answers_in_memory(answers, set(labels), oos_label))
    return _IntentInputs(texts, labels, oos_label, (text_col, label_col), canned)


def _answers_in_memory(answers, labels: set, oos_label: str) -> dict[str, str]:
    """``answers`` given as a dict ``{intent: text}``, checked as the answers file is."""
    if not isinstance(answers, dict):
        raise ValueError(f"answers: expected an intent,answer CSV path or a dict {{intent: text}}, "
                         f"got {type(answers).__name__}")
    for intent, text in answers.items():
        if intent not in labels or intent == oos_label:
            raise ValueError(f"answers: intent {intent!r} is not an intent of the training data")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"answers: the answer of {intent!r} is empty or not text")
    return dict(answers)


def _report_missing_answers(missing: list[str], intents: int) -> None:
    """Say which intents have no answer: ``qa ask`` replies with their names."""
    if not missing:
        return
    shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
    which = ("no intent has an answer" if len(missing) == intents
             else f"{len(missing)} of {intents} intents have no answer")
    print(f"{which} ({shown}): they reply with the intent's name; give them words with an "
          "intent,answer CSV (qa train --answers FILE)")


@dataclass
class _MatchInputs:
    pairs: list
    faq: list | None
    dropped: str = ""  # what ``exclude`` removed, said once the training starts
    unlabelled: list = field(default_factory=list)  # (question, question) pairs for the pretraining only


def _match_inputs(data, fmt, exclude, seed) -> _MatchInputs:
    """The labelled pairs (from a pair file, or made from an FAQ table), without those of
    ``exclude``; both labels must occur twice at least (one of each for validation)."""
    from .matching.pairs import pairs_from_faq

    faq = None
    if fmt == "faq":
        questions, answers = read_faq(data)
        _check_texts("question", questions, "row")
        _check_texts("answer", answers, "row")
        pairs, faq = pairs_from_faq(questions, answers, seed=seed), list(zip(questions, answers))
    else:
        pairs = read_pairs(data, fmt)
        for i, pair in enumerate(pairs):
            if (not all(isinstance(t, str) and t.strip() for t in pair[:2])) or pair[2] not in (0, 1):
                raise ValueError(f"data: pair {i + 1} must be (question, question, 0 or 1), got {pair!r:.60}")
    dropped = ""
    if exclude is not None:
        before = len(pairs)
        pairs = drop_overlapping_pairs(pairs, read_pairs(exclude, "afqmc"))
        dropped = f"dropped {before - len(pairs)} pairs that occur in {exclude}"
    counts = Counter(label for _, _, label in pairs)
    if counts[0] < 2 or counts[1] < 2:
        hint = " (an FAQ table needs answers shared by two questions or more, and two answers at least)" \
            if fmt == "faq" else ""
        raise ValueError(f"data: a matcher needs two pairs or more of each label (one of each for "
                         f"validation), got {counts[1]} labelled 1 and {counts[0]} labelled 0{hint}")
    return _MatchInputs(pairs, faq, dropped)


def _reply_inputs(data) -> tuple[list[str], list[str]]:
    questions, answers = read_faq(data)
    _check_texts("question", questions, "row")
    _check_texts("answer", answers, "row")
    return questions, answers


# ----------------------------------------------------------------------------- training, after the claim
def _train_intents(inputs: _IntentInputs, **common):
    """The intent router on the training questions; its validation scores."""
    from .router.training import train_router

    intents = set(inputs.labels) - {inputs.oos_label}
    if common["verbose"]:
        _report_missing_answers(sorted(intents - set(inputs.answers)), len(intents))
    router = train_router(inputs.texts, inputs.labels, oos_label=inputs.oos_label,
                          answers=inputs.answers or None, columns=inputs.columns, **common)
    return router, {"valid_accuracy": router.valid_accuracy,
                    "transformer_valid_accuracy": router.transformer_valid_accuracy,
                    "best_epoch": router.fit_result.best_epoch, "threshold": router.threshold}


def _train_matcher(inputs: _MatchInputs, **common):
    """The question matcher on labelled pairs, or on pairs made from an FAQ table."""
    from .matching.training import train_matcher

    if inputs.dropped and common["verbose"]:
        print(inputs.dropped)
    matcher = train_matcher(inputs.pairs, faq=inputs.faq, unlabelled=inputs.unlabelled, **common)
    metrics = {"valid_roc_auc": matcher.fit_result.best_metric, "best_epoch": matcher.fit_result.best_epoch,
               "threshold": matcher.threshold, "pairs": len(inputs.pairs)}
    if inputs.unlabelled:
        metrics["unlabelled_pairs"] = len(inputs.unlabelled)
    metrics["valid_roc_auc"] = matcher.valid_report["valid_roc_auc"]
    for key in ("baseline_valid_roc_auc", "transformer_valid_roc_auc"):
        if key in matcher.valid_report:
            metrics[key] = matcher.valid_report[key]
    return matcher, metrics


def _train_replies(inputs: tuple[list[str], list[str]], *, init_from, **common):
    """The reply generator on an FAQ table: our encoder–decoder, or a GPT-2 checkpoint fine-tuned."""
    questions, answers = inputs
    if init_from is not None:
        from .pretrained.replies import train_gpt2_replies

        model = train_gpt2_replies(questions, answers, init_from=init_from, **common)
    else:
        from .replies.generator import train_reply_generator

        model = train_reply_generator(questions, answers, **common)
    return model, {"questions": len(questions)}


_TRAIN = {"intent": _train_intents, "match": _train_matcher, "reply": _train_replies}
