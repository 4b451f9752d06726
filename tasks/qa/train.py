"""The ``train`` verb: from data to a trained QA model, saved in a folder of its own.

One call for the head's three models (``task``):

* ``"intent"`` -- the intent router (:func:`tasks.qa.router.training.train_router`) on an intent
  CSV, ``(texts, labels)`` or ``"builtin"`` (the built-in FAQ's training questions, with its
  canned answers);
* ``"match"`` -- the question matcher (:func:`tasks.qa.matching.training.train_matcher`) on
  question pairs (``fmt`` ``atec`` by default, ``afqmc``, ``csv``, or a list of triples), or on
  pairs made from an FAQ table (``fmt="faq"``, then the matcher also retrieves from that table);
* ``"reply"`` -- the reply generator (:func:`tasks.qa.replies.generator.train_reply_generator`)
  on an FAQ table, ``(questions, answers)`` or ``"builtin"``.

``config`` is the task's settings (:mod:`tasks.qa.config`); without it the command line's
defaults apply (:func:`~tasks.qa.config.default_settings`). ``minitransformer qa train`` is this
function behind argparse.
"""

from __future__ import annotations

import time
from pathlib import Path

from minitransformer.training import Run

from .config import TASKS, MatchSettings, ReplySettings, RouterSettings, default_settings, pretrained_settings
from .data import drop_overlapping_pairs, is_builtin, read_faq, read_intents, read_pairs
from .synthetic import ANSWERS

__all__ = ["train"]

SETTINGS_OF = {"intent": RouterSettings, "match": MatchSettings, "reply": ReplySettings}


def train(data, out_dir: str | Path, config=None, *, task: str = "intent", seed: int = 0,
          device: str = "auto", max_minutes: float | None = None, fmt: str | None = None,
          text_col: str = "text", label_col: str = "category", oos_label: str = "oos",
          exclude: str | Path | None = None, verbose: bool = True,
          init_from: str | Path | None = None) -> Run:
    """Train a QA model on ``data`` and save it to ``out_dir`` (a new or empty folder).

    Args:
        data: a file path, ``"builtin"`` or data in memory (see the module docstring).
        out_dir: the model folder; :func:`tasks.qa.load` reads it back.
        config: :class:`~tasks.qa.config.RouterSettings` (intent),
            :class:`~tasks.qa.config.MatchSettings` (match) or
            :class:`~tasks.qa.config.ReplySettings` (reply); None: the defaults.
        task: ``"intent"``, ``"match"`` or ``"reply"``.
        seed, device, max_minutes: the random seed, ``auto|cpu|cuda|cuda:N|mps`` and a time
            budget for the training (the best model so far is kept).
        fmt: the layout of ``data`` (``intent``; ``atec``, ``afqmc``, ``csv`` pairs; ``faq``).
        text_col, label_col, oos_label: an intent CSV's columns and out-of-scope label.
        exclude: match only: drop the pairs that also occur in this AFQMC-format file.
        verbose: print the epochs and the validation scores.
        init_from: a pretrained checkpoint folder (Hugging Face layout) to start from instead of
            random weights: BERT for ``intent`` and ``match`` (the encoder, with its WordPiece
            tokenizer), GPT-2 for ``reply`` (a decoder-only model, :mod:`tasks.qa.pretrained`).
            Another folder, or the wrong family for the task, is refused before any training.
            Without ``config`` the defaults are :func:`~tasks.qa.config.pretrained_settings`.

    Returns:
        a :class:`~minitransformer.training.Run`: ``model_dir``, ``model`` (as :func:`tasks.qa.load`
        returns it), ``metrics`` (validation scores of the kept model) and ``seconds``.

    Examples:
        >>> import tempfile
        >>> from tasks.qa import train
        >>> from tasks.qa.config import tiny_settings
        >>> run = train("builtin", tempfile.mkdtemp(), tiny_settings(), device="cpu", verbose=False)
        >>> len(run.model.labels), sorted(run.metrics), (run.model_dir / "qa.json").is_file()
        (33, ['best_epoch', 'threshold', 'transformer_valid_accuracy', 'valid_accuracy'], True)
    """
    if task not in TASKS:
        raise ValueError(f"task: expected one of {list(TASKS)}, got {task!r}")
    if init_from is not None:
        from .pretrained.checkpoint import check_init_from

        check_init_from(init_from, task)
    defaults = default_settings if init_from is None else pretrained_settings
    settings = defaults(task, builtin=is_builtin(data), fmt=fmt) if config is None else config
    if not isinstance(settings, SETTINGS_OF[task]):
        raise ValueError(f"config: task {task!r} takes a {SETTINGS_OF[task].__name__}, "
                         f"got {type(settings).__name__}")
    out_dir = _fresh_folder(out_dir)
    common = dict(out_dir=out_dir, settings=settings, seed=seed, device=device, max_minutes=max_minutes,
                  verbose=verbose, init_from=init_from)
    start = time.monotonic()
    if task == "intent":
        model, metrics = _train_intents(data, fmt, text_col, label_col, oos_label, **common)
    elif task == "match":
        model, metrics = _train_matcher(data, fmt or "atec", exclude, **common)
    else:
        model, metrics = _train_replies(data, **common)
    return Run(out_dir, model, metrics, time.monotonic() - start)


def _fresh_folder(out_dir: str | Path) -> Path:
    """``out_dir`` as a Path; refused when it is a file or a folder with something in it (a
    trained model is never overwritten)."""
    path = Path(out_dir)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ValueError(f"{path}: exists and is not an empty folder; choose a new one for the model")
    return path


def _train_intents(data, fmt, text_col, label_col, oos_label, **common):
    """The intent router on the training questions; its validation scores."""
    from .router.training import train_router

    if fmt not in (None, "intent"):
        raise ValueError(f"format {fmt!r}: intent training reads an intent CSV (format 'intent')")
    texts, labels = read_intents(data, split="train", text_col=text_col, label_col=label_col,
                                 oos_label=oos_label)
    router = train_router(texts, labels, oos_label=oos_label,
                          answers=ANSWERS if is_builtin(data) else None, **common)
    return router, {"valid_accuracy": router.valid_accuracy,
                    "transformer_valid_accuracy": router.transformer_valid_accuracy,
                    "best_epoch": router.fit_result.best_epoch, "threshold": router.threshold}


def _train_matcher(data, fmt, exclude, *, verbose, seed, **common):
    """The question matcher on labelled pairs, or on pairs made from an FAQ table."""
    from .matching.pairs import pairs_from_faq
    from .matching.training import train_matcher

    faq = None
    if fmt == "faq":
        questions, answers = read_faq(data)
        pairs, faq = pairs_from_faq(questions, answers, seed=seed), list(zip(questions, answers))
    else:
        pairs = read_pairs(data, fmt)
    if exclude is not None:
        before = len(pairs)
        pairs = drop_overlapping_pairs(pairs, read_pairs(exclude, "afqmc"))
        if verbose:
            print(f"dropped {before - len(pairs)} pairs that occur in {exclude}")
    matcher = train_matcher(pairs, faq=faq, seed=seed, verbose=verbose, **common)
    return matcher, {"valid_roc_auc": matcher.fit_result.best_metric,
                     "best_epoch": matcher.fit_result.best_epoch, "threshold": matcher.threshold,
                     "pairs": len(pairs)}


def _train_replies(data, *, init_from, **common):
    """The reply generator on an FAQ table: our encoder–decoder, or a GPT-2 checkpoint fine-tuned."""
    questions, answers = read_faq(data)
    if init_from is not None:
        from .pretrained.replies import train_gpt2_replies

        model = train_gpt2_replies(questions, answers, init_from=init_from, **common)
    else:
        from .replies.generator import train_reply_generator

        model = train_reply_generator(questions, answers, **common)
    return model, {"questions": len(questions)}
