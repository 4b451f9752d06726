"""``minitransformer qa``: customer-service QA from the command line.

::

    minitransformer qa train    --data train.csv [--text-col text] [--label-col category]
                                [--pretrain-epochs N] [--ensemble K] [--oos-label oos]
                                [--answers answers.csv] --out DIR
    minitransformer qa train    --data builtin --out DIR          # the built-in bilingual FAQ
    minitransformer qa train    --data pairs.csv --format atec|afqmc --task match --out DIR
                                [--unlabelled more_pairs.csv] [--exclude afqmc_dev.json]
    minitransformer qa train    --data faq.csv --task reply|match --out DIR   # question,answer rows
    minitransformer qa train    --data builtin --init-from bert-base-chinese --out DIR   # start from BERT
    minitransformer qa train    --data builtin --task reply --init-from gpt2 --out DIR   # from GPT-2
    minitransformer qa evaluate --model DIR --data test.csv [--format ...] [--json FILE]
    minitransformer qa predict  --model DIR --data questions.csv [--json FILE]
    minitransformer qa ask      --model DIR "where is my order?"
    minitransformer qa chat     --model DIR                        # one question per line, Ctrl-D ends

``evaluate --json`` writes ``accuracy`` and ``macro_f1`` for intents (plus ``in_scope_accuracy``
and ``oos_recall`` when rows labelled ``--oos-label`` are present, and the TF-IDF baselines'
accuracy under ``baselines`` for ``--data builtin``), ``accuracy`` and ``roc_auc`` for matching,
``exact_match`` for replies. Questions longer than the model's ``max_len`` (64 tokens by default)
are truncated to their first tokens; empty questions are refused. ``evaluate`` and ``predict``
read the columns the model was trained with (saved in its folder); ``ask`` says once when the
intent it found has no answer of its own (``train --answers FILE`` gives intents their words).

Each action lists only the options it reads: ``train`` has no ``--resume`` (a QA training does
not resume) and refuses an option that the chosen ``--task`` would ignore (``--ensemble`` with
``--task match``, say); ``ask`` and ``chat`` read no ``--data``.

This module only reads the options: the work is done by the verbs of :mod:`tasks.qa` (``train``,
``load``, ``evaluate``, ``predict``), which a script can call the same way. It imports no torch
until a command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from minitransformer.cli.options import (
    TRAIN_OPTIONS,
    USE_OPTIONS,
    add_common_options,
    add_task_actions,
    non_negative_int,
    positive_int,
    require,
    write_json,
)
from minitransformer.errors import UsageError

HELP = "customer-service QA: intent routing, FAQ retrieval, generated replies"
#: a file only this head writes into a model folder (``minitransformer plot attention`` finds it)
MODEL_FILE = "qa.json"
#: the common options of each action: QA trainings do not resume (no ``--resume``) and start
#: from random weights or a checkpoint (``--init-from``, no ``--model``); ``ask`` and ``chat``
#: read no data file
OPTIONS = {"train": set(TRAIN_OPTIONS) - {"resume", "model"}, "evaluate": set(USE_OPTIONS),
           "predict": set(USE_OPTIONS), "ask": {"model", "device", "json", "debug"},
           "chat": {"model", "device", "debug"}}
TRAIN_DESCRIPTION = (
    "Train a QA model. Reads an intent CSV with the columns text,category (others with --text-col "
    "and --label-col; out-of-scope rows labelled oos), question pairs (--task match --format "
    "atec|afqmc|csv, the csv with the columns sentence1,sentence2,label) or an FAQ table with the "
    "columns question,answer (--task reply, or --task match --format faq); UTF-8, with or without "
    "a byte-order mark. See docs/tasks/qa.md, section 'Your own data'.")


def column_name(text: str) -> str:
    """argparse type of a column or label name: not empty (spaces around it dropped, as the CSV
    reader drops them from the header)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a non-empty name, got {text!r}")
    return text.strip()


def attention_views(model_dir, text):
    """The attention maps of the model in ``model_dir`` on one input (see ``plot.py``)."""
    from tasks.qa.plot import attention_views as views

    return views(model_dir, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = add_task_actions(parser, actions=tuple(OPTIONS), common=False)
    for name, p in actions.items():
        add_common_options(p, skip=set(TRAIN_OPTIONS) - OPTIONS[name])
    t = actions["train"]
    t.description = TRAIN_DESCRIPTION
    t.add_argument("--task", choices=("intent", "match", "reply"), default="intent",
                   help="intent routing (default), question matching or generated replies")
    t.add_argument("--format", choices=("intent", "atec", "afqmc", "csv", "faq"), default=None,
                   help="data layout: intent CSV (default for --task intent), question pairs (atec, "
                        "the default for --task match; afqmc; csv with sentence1,sentence2,label) or "
                        "faq (question,answer: --task reply, or --task match)")
    t.add_argument("--text-col", type=column_name, default=None, metavar="NAME",
                   help="intent: the question column of the CSV (default text)")
    t.add_argument("--label-col", type=column_name, default=None, metavar="NAME",
                   help="intent: the label column of the CSV (default category)")
    t.add_argument("--oos-label", type=column_name, default=None, metavar="LABEL",
                   help="intent: the label of out-of-scope rows, handed to a person (default oos)")
    t.add_argument("--answers", type=Path, default=None, metavar="FILE",
                   help="intent: a CSV with the columns intent,answer: what `qa ask` replies for each "
                        "intent (without it, an intent replies with its name)")
    t.add_argument("--pretrain-epochs", type=non_negative_int, default=None, metavar="N",
                   help="intent, match: masked-token pretraining epochs before fine-tuning (intent "
                        "default 3, 0 for --data builtin; match default 2 on question pairs, 0 on an "
                        "FAQ table)")
    t.add_argument("--tokenizer", choices=("bpe", "char"), default=None,
                   help="intent, match: bpe (default for intents) or char (default for question pairs)")
    t.add_argument("--d-model", type=positive_int, default=None, metavar="D",
                   help="model width, a multiple of the 4 attention heads (default 128)")
    t.add_argument("--layers", type=positive_int, default=None, metavar="N",
                   help="encoder layers (default 2; 1 for --data builtin)")
    t.add_argument("--ensemble", type=positive_int, default=None, metavar="K",
                   help="intent: Transformers trained side by side with different seeds, their "
                        "log-probabilities averaged (default 2, one per CPU core; 1 for --data builtin)")
    t.add_argument("--init-from", type=Path, default=None, metavar="DIR",
                   help="start from a pretrained checkpoint folder instead of random weights: BERT "
                        "for intent and match, GPT-2 for reply (Hugging Face layout)")
    t.add_argument("--exclude", type=Path, default=None, metavar="FILE",
                   help="match: drop pairs that also occur in this AFQMC-format file (e.g. AFQMC dev)")
    t.add_argument("--unlabelled", type=Path, default=None, metavar="FILE",
                   help="match: question pairs without labels (the --format of --data, a label "
                        "column optional) that the masked-character pretraining reads beside the "
                        "training pairs; worth most when labelled pairs are few")
    e = actions["evaluate"]
    e.description = ("Score a trained model on labelled data: an intent CSV with the columns the "
                     "model was trained with, question pairs for a matcher, an FAQ table for replies.")
    e.add_argument("--format", choices=("intent", "atec", "afqmc", "csv", "faq"), default=None,
                   help="data layout (default: intent for an intent model, atec for a matcher, faq "
                        "for replies)")
    for name in ("evaluate", "predict"):
        actions[name].add_argument("--text-col", type=column_name, default=None, metavar="NAME",
                                   help="the question column (default: the one the model was trained with)")
    e.add_argument("--label-col", type=column_name, default=None, metavar="NAME",
                   help="the label column (default: the one the model was trained with)")
    actions["predict"].description = ("Route each question of a CSV (its question column; other "
                                      "columns are ignored) with a trained intent model.")
    for name in ("ask", "chat"):
        actions[name].add_argument("--lang", choices=("en", "zh"), default=None,
                                   help="language of a bilingual answer (default: the question's)")
    actions["ask"].add_argument("question", nargs="+", help="the question (quote it)")


# ----------------------------------------------------------------------------- options -> settings
#: options of ``qa train`` that only some tasks read: (option, attribute, tasks)
TASK_OPTIONS = (("--text-col", "text_col", ("intent",)), ("--label-col", "label_col", ("intent",)),
                ("--oos-label", "oos_label", ("intent",)), ("--answers", "answers", ("intent",)),
                ("--ensemble", "ensemble", ("intent",)), ("--exclude", "exclude", ("match",)),
                ("--unlabelled", "unlabelled", ("match",)),
                ("--pretrain-epochs", "pretrain_epochs", ("intent", "match")),
                ("--tokenizer", "tokenizer", ("intent", "match")))


def _check_train_options(args) -> None:
    """Refuse an option the chosen task does not read (it would be ignored), before any work."""
    for option, name, tasks in TASK_OPTIONS:
        if getattr(args, name) is not None and args.task not in tasks:
            raise UsageError(f"qa train: {option} applies to --task {' or '.join(tasks)}, "
                             f"not --task {args.task}")
    if args.init_from is not None:
        for option, name in (("--d-model", "d_model"), ("--layers", "layers"), ("--tokenizer", "tokenizer")):
            if getattr(args, name) is not None:
                raise UsageError(f"qa train: {option} cannot be combined with --init-from (the "
                                 "checkpoint fixes the model's size and tokenizer)")
    from tasks.qa.data import is_builtin

    if is_builtin(args.data) and (args.text_col is not None or args.label_col is not None):
        raise UsageError("qa train: --text-col and --label-col name the columns of your CSV; --data "
                         "builtin has none")
    if args.d_model is not None and args.d_model % 4:
        raise UsageError(f"argument --d-model: expected a multiple of the 4 attention heads, "
                         f"got {args.d_model}")


def _settings(args):
    """The task's default settings with the options given on the command line."""
    from tasks.qa.config import default_settings, pretrained_settings
    from tasks.qa.data import is_builtin

    defaults = default_settings if args.init_from is None else pretrained_settings
    settings = defaults(args.task, builtin=is_builtin(args.data), fmt=args.format)
    given = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr}
    if args.task == "reply":  # the reply generator: the core's encoder–decoder
        return dataclasses.replace(settings, **_set({**given, "d_model": args.d_model,
                                                     "num_layers": args.layers}))
    encoder = dataclasses.replace(settings.encoder, **_set({"d_model": args.d_model,
                                                            "num_layers": args.layers}))
    given["pretrain_epochs"] = args.pretrain_epochs
    if args.task == "match":
        return dataclasses.replace(settings, encoder=encoder, **_set({**given, "tokenizer": args.tokenizer}))
    return dataclasses.replace(settings, encoder=encoder, **_set({"tokenizer": args.tokenizer,
                                                                  "ensemble": args.ensemble}),
                               train=dataclasses.replace(settings.train, **_set(given)))


def _set(options: dict) -> dict:
    """The options that were given (not None)."""
    return {key: value for key, value in options.items() if value is not None}


def _given(value, default):
    """An option's value when it was given, else ``default``."""
    return default if value is None else value


def _trained(task: str, run) -> str:
    """One line on what ``qa train`` trained."""
    model, metrics = run.model, run.metrics
    if task == "intent":
        which = "Transformer" if not model.members else f"{1 + len(model.members)} Transformers"
        mixed = ("" if model.expert is None
                 else f", with the linear n-gram expert {metrics['valid_accuracy']:.4f}")
        return (f"trained {len(model.labels)} intents: validation accuracy "
                f"{metrics['transformer_valid_accuracy']:.4f} ({which}, best epoch {metrics['best_epoch']})"
                f"{mixed}, hand-off threshold {metrics['threshold']:.3f}; saved to {run.model_dir}")
    if task == "match":
        lexical, alone = metrics.get("baseline_valid_roc_auc"), metrics.get("transformer_valid_roc_auc")
        beside = "" if alone is None else f" blended with char TF-IDF + LR, the Transformer alone {alone:.4f}"
        beside += "" if lexical is None else f"; char TF-IDF + LR alone {lexical:.4f}"
        return (f"trained the matcher on {metrics['pairs']} pairs: best validation ROC-AUC "
                f"{metrics['valid_roc_auc']:.4f}{beside}; saved to {run.model_dir}")
    return f"trained the reply generator on {metrics['questions']} questions; saved to {run.model_dir}"


# ----------------------------------------------------------------------------- actions
def _device(args) -> str:
    """The device to answer on: ``--device``, the CPU for ``auto``."""
    return args.device if args.device != "auto" else "cpu"


def _train(args) -> int:
    from tasks.qa import train

    require(args, "data", "out")
    _check_train_options(args)
    run = train(args.data, args.out, _settings(args), task=args.task, seed=args.seed, device=args.device,
                max_minutes=args.max_minutes, fmt=args.format, text_col=_given(args.text_col, "text"),
                label_col=_given(args.label_col, "category"), oos_label=_given(args.oos_label, "oos"),
                exclude=args.exclude, init_from=args.init_from, answers=args.answers,
                unlabelled=args.unlabelled)
    print(_trained(args.task, run))
    write_json(args.json, {"model_dir": str(run.model_dir), "seconds": round(run.seconds, 1), **run.metrics})
    return 0


def _evaluate(args) -> int:
    from tasks.qa import evaluate, load

    require(args, "model", "data")
    model = load(args.model, _device(args))
    metrics = evaluate(model, args.data, fmt=args.format, text_col=args.text_col, label_col=args.label_col,
                       batch_size=args.batch_size)
    for key, value in metrics.items():
        if key != "baselines":
            print(f"{key:>18}  {value:.4f}")
    for name, scores in metrics.get("baselines", {}).items():
        print(f"baseline, {name}: " + ", ".join(f"{key} {value:.4f}" for key, value in scores.items()))
    write_json(args.json, metrics)
    return 0


def _predict(args) -> int:
    from tasks.qa import load, predict
    from tasks.qa.data import read_questions

    require(args, "model", "data")
    model = load(args.model, _device(args))
    if model.task != "intent":
        raise UsageError(f"qa predict: needs an intent model, {args.model} holds a {model.task!r} model "
                         "(use ask)")
    texts = read_questions(args.data, _given(args.text_col, model.columns[0]), trained=True)
    rows = [{"text": text, **{k: v for k, v in decision.items() if k != "answer"}}
            for text, decision in zip(texts, predict(model, texts, batch_size=args.batch_size))]
    for row in rows:
        print(f"{row['intent'] or 'HUMAN'}\t{row['confidence']:.3f}\t{row['text']}")
    write_json(args.json, rows)
    return 0


def _unanswered(model, reply: dict) -> str | None:
    """The intent of ``reply`` when the model has no answer for it (the reply is its name)."""
    intent = reply.get("intent")
    if model.task == "intent" and intent is not None and intent not in model.answers:
        return intent
    return None


def _note_unanswered(intent: str) -> None:
    print(f"note: the model has no answer for intent {intent!r}, so it replies with the intent's name; "
          "train it with --answers FILE (columns intent,answer) to reply in words", file=sys.stderr)


def _ask(args, model) -> int:
    from tasks.qa import predict

    question = " ".join(args.question)
    if not question.strip():
        raise UsageError("qa ask: the question is empty")
    out = predict(model, [question], lang=args.lang)[0]
    print(out["answer"])
    if _unanswered(model, out):
        _note_unanswered(out["intent"])
    write_json(args.json, out)
    return 0


def _chat(args, model) -> int:
    from tasks.qa import predict

    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask a question (Ctrl-D to leave).")
    noted = False
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            break
        if line.strip():
            out = predict(model, [line], lang=args.lang)[0]
            print(out["answer"], flush=True)
            if not noted and _unanswered(model, out):
                _note_unanswered(out["intent"])  # once a conversation
                noted = True
    return 0


def run(args: argparse.Namespace) -> int | None:
    if args.action == "train":
        return _train(args)
    if args.action == "evaluate":
        return _evaluate(args)
    if args.action == "predict":
        return _predict(args)
    from tasks.qa import load

    require(args, "model")
    model = load(args.model, _device(args))
    return _ask(args, model) if args.action == "ask" else _chat(args, model)
