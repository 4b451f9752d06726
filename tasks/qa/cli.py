"""``minitransformer qa``: customer-service QA from the command line.

::

    minitransformer qa train    --data train.csv [--text-col text] [--label-col category]
                                [--pretrain-epochs N] [--ensemble K] [--oos-label oos] --out DIR
    minitransformer qa train    --data builtin --out DIR          # the built-in bilingual FAQ
    minitransformer qa train    --data pairs.csv --format atec|afqmc --task match --out DIR
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
are truncated to their first tokens; empty questions are refused.

This module only reads the options: the work is done by the verbs of :mod:`tasks.qa` (``train``,
``load``, ``evaluate``, ``predict``), which a script can call the same way. It imports no torch
until a command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from minitransformer.cli.options import add_task_actions, positive_int, require, write_json
from minitransformer.errors import UsageError

HELP = "customer-service QA: intent routing, FAQ retrieval, generated replies"
#: a file only this head writes into a model folder (``minitransformer plot attention`` finds it)
MODEL_FILE = "qa.json"


def attention_views(model_dir, text):
    """The attention maps of the model in ``model_dir`` on one input (see ``plot.py``)."""
    from tasks.qa.plot import attention_views as views

    return views(model_dir, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "ask", "chat"))
    for name in ("train", "evaluate", "predict"):
        p = actions[name]
        p.add_argument("--text-col", default="text", help="question column of an intent CSV (default text)")
        p.add_argument("--label-col", default="category", help="label column (default category)")
        p.add_argument("--format", choices=("intent", "atec", "afqmc", "csv", "faq"), default=None,
                       help="data layout: intent CSV (default), question pairs (atec, afqmc, csv with "
                            "sentence1,sentence2,label) or faq (question,answer)")
        p.add_argument("--oos-label", default="oos", help="label of out-of-scope rows (default oos)")
    t = actions["train"]
    t.add_argument("--task", choices=("intent", "match", "reply"), default="intent")
    t.add_argument("--pretrain-epochs", type=int, default=None, metavar="N",
                   help="masked-token pretraining epochs before fine-tuning (default 3; 0 for "
                        "--data builtin)")
    t.add_argument("--tokenizer", choices=("bpe", "char"), default=None,
                   help="bpe (default for intents/replies) or char (default for matching)")
    t.add_argument("--d-model", type=int, default=None, metavar="D")
    t.add_argument("--layers", type=int, default=None, metavar="N")
    t.add_argument("--ensemble", type=positive_int, default=None, metavar="K",
                   help="intent: Transformers trained side by side with different seeds, their "
                        "log-probabilities averaged (default 2, one per CPU core; 1 for --data builtin)")
    t.add_argument("--init-from", type=Path, default=None, metavar="DIR",
                   help="start from a pretrained checkpoint folder instead of random weights: BERT "
                        "for intent and match, GPT-2 for reply (Hugging Face layout)")
    t.add_argument("--exclude", type=Path, default=None, metavar="FILE",
                   help="match: drop pairs that also occur in this AFQMC-format file (e.g. AFQMC dev)")
    for name in ("ask", "chat"):
        actions[name].add_argument("--lang", choices=("en", "zh"), default=None,
                                   help="language of the canned answer (default: the question's)")
    actions["ask"].add_argument("question", nargs="+", help="the question (quote it)")


# ----------------------------------------------------------------------------- options -> settings
def _settings(args):
    """The task's default settings with the options given on the command line."""
    from tasks.qa.config import default_settings, pretrained_settings
    from tasks.qa.data import is_builtin

    defaults = default_settings if args.init_from is None else pretrained_settings
    settings = defaults(args.task, builtin=is_builtin(args.data), fmt=args.format)
    given = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr}
    if args.task == "reply":  # the reply generator takes only these three
        return dataclasses.replace(settings, **_set(given))
    settings.tokenizer = args.tokenizer or settings.tokenizer
    settings.encoder = dataclasses.replace(settings.encoder, **_set({"d_model": args.d_model,
                                                                     "num_layers": args.layers}))
    given["pretrain_epochs"] = args.pretrain_epochs
    if args.task == "match":
        return dataclasses.replace(settings, **_set(given))
    settings.ensemble = args.ensemble or settings.ensemble
    settings.train = dataclasses.replace(settings.train, **_set(given))
    return settings


def _set(options: dict) -> dict:
    """The options that were given (not None)."""
    return {key: value for key, value in options.items() if value is not None}


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
        return (f"trained the matcher on {metrics['pairs']} pairs: best validation ROC-AUC "
                f"{metrics['valid_roc_auc']:.4f}; saved to {run.model_dir}")
    return f"trained the reply generator on {metrics['questions']} questions; saved to {run.model_dir}"


# ----------------------------------------------------------------------------- actions
def _train(args) -> int:
    from tasks.qa import train

    require(args, "data", "out")
    run = train(args.data, args.out, _settings(args), task=args.task, seed=args.seed, device=args.device,
                max_minutes=args.max_minutes, fmt=args.format, text_col=args.text_col,
                label_col=args.label_col, oos_label=args.oos_label, exclude=args.exclude,
                init_from=args.init_from)
    print(_trained(args.task, run))
    return 0


def _evaluate(args) -> int:
    from tasks.qa import evaluate, load

    require(args, "model", "data")
    model = load(args.model, args.device if args.device != "auto" else "cpu")
    metrics = evaluate(model, args.data, fmt=args.format, text_col=args.text_col, label_col=args.label_col,
                       oos_label=args.oos_label)
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
    model = load(args.model)
    if model.task != "intent":
        raise UsageError(f"qa predict: needs an intent model, {args.model} holds a {model.task!r} model "
                         "(use ask)")
    texts = read_questions(args.data, args.text_col)
    rows = [{"text": text, **{k: v for k, v in decision.items() if k != "answer"}}
            for text, decision in zip(texts, predict(model, texts))]
    for row in rows:
        print(f"{row['intent'] or 'HUMAN'}\t{row['confidence']:.3f}\t{row['text']}")
    write_json(args.json, rows)
    return 0


def _ask(args, model) -> int:
    from tasks.qa import predict

    question = " ".join(args.question)
    if not question.strip():
        raise UsageError("qa ask: the question is empty")
    out = predict(model, [question], lang=args.lang)[0]
    print(out["answer"])
    write_json(args.json, out)
    return 0


def _chat(args, model) -> int:
    from tasks.qa import predict

    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask a question (Ctrl-D to leave).")
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            break
        if line.strip():
            print(predict(model, [line], lang=args.lang)[0]["answer"], flush=True)
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
    model = load(args.model)
    return _ask(args, model) if args.action == "ask" else _chat(args, model)
