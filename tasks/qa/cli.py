"""``minitransformer qa``: customer-service QA from the command line.

::

    minitransformer qa train    --data train.csv [--text-col text] [--label-col category]
                                [--pretrain-epochs N] [--ensemble K] [--oos-label oos] --out DIR
    minitransformer qa train    --data builtin --out DIR          # the built-in bilingual FAQ
    minitransformer qa train    --data pairs.csv --format atec|afqmc --task match --out DIR
    minitransformer qa train    --data faq.csv --task reply|match --out DIR   # question,answer rows
    minitransformer qa evaluate --model DIR --data test.csv [--format ...] [--json FILE]
    minitransformer qa predict  --model DIR --data questions.csv [--json FILE]
    minitransformer qa ask      --model DIR "where is my order?"
    minitransformer qa chat     --model DIR                        # one question per line, Ctrl-D ends

``evaluate --json`` writes ``accuracy`` and ``macro_f1`` for intents (plus ``in_scope_accuracy``
and ``oos_recall`` when rows labelled ``--oos-label`` are present), ``accuracy`` and ``roc_auc``
for matching, ``exact_match`` for replies. Questions longer than the model's ``max_len`` (64
tokens by default) are truncated to their first tokens; empty questions are refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from minitransformer.cli.options import add_task_actions, positive_int
from minitransformer.errors import UsageError

BUILTIN = "builtin"


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
    t.add_argument("--exclude", type=Path, default=None, metavar="FILE",
                   help="match: drop pairs that also occur in this AFQMC-format file (e.g. AFQMC dev)")
    for name in ("ask", "chat"):
        actions[name].add_argument("--lang", choices=("en", "zh"), default=None,
                                   help="language of the canned answer (default: the question's)")
    actions["ask"].add_argument("question", nargs="+", help="the question (quote it)")


# ----------------------------------------------------------------------------- helpers
def _require(args, *names):
    for name in names:
        if getattr(args, name, None) is None:
            raise UsageError(f"qa {args.action}: --{name.replace('_', '-')} is required")


def _fmt(args, task: str) -> str:
    if args.format:
        return args.format
    return {"intent": "intent", "match": "atec", "reply": "faq"}[task]


def _intent_rows(args):
    from .data import load_intents
    from .faq_builtin import faq_split

    if str(args.data) == BUILTIN:
        train, test = faq_split(args.oos_label)
        rows = train if args.action == "train" else test
        return [q for q, _ in rows], [y for _, y in rows]
    return load_intents(args.data, args.text_col, args.label_col)


def _builtin_answers() -> dict:
    from .faq_builtin import ANSWERS
    return ANSWERS


def _load(model_dir: Path, device: str = "cpu"):
    from .bundle import read_info

    info = read_info(model_dir)
    if info["task"] == "intent":
        from .router import IntentRouter
        return "intent", IntentRouter.load(model_dir, device)
    if info["task"] == "match":
        from .matching import QuestionMatcher
        return "match", QuestionMatcher.load(model_dir, device)
    from .replies import ReplyGenerator
    return "reply", ReplyGenerator.load(model_dir, device)


def _write_json(target: str | None, payload) -> None:
    if target is None:
        return
    text = json.dumps(payload, indent=2, ensure_ascii=False)
    if target == "-":
        print(text)
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


def _answer_text(task: str, model, question: str, lang: str | None) -> dict:
    from .faq_builtin import HANDOFF, language_of

    lang = lang or language_of(question)
    if task == "intent":
        out = model.answer(question)
        answer = out["answer"]
        if isinstance(answer, dict):  # bilingual canned answers
            answer = answer.get(lang) or next(iter(answer.values()))
        out["answer"] = answer if not out["handoff"] else HANDOFF[lang]
        return out
    if task == "match":
        out = model.retrieve(question)
        out["answer"] = out["answer"] if not out["handoff"] else HANDOFF[lang]
        return out
    return {"answer": model.reply([question])[0], "handoff": False}


# ----------------------------------------------------------------------------- actions
def _train(args) -> int:
    _require(args, "data", "out")
    if str(args.data) != BUILTIN and not args.data.is_file():
        raise FileNotFoundError(f"{args.data}: data file not found")
    if args.out.exists() and any(args.out.iterdir()):
        raise UsageError(f"--out {args.out}: directory exists and is not empty; choose a new one")
    fmt = _fmt(args, args.task)
    common = dict(seed=args.seed, device=args.device, max_minutes=args.max_minutes)
    if args.task == "intent":
        from .router import IntentRouter, RouterSettings, faq_settings

        if fmt != "intent":
            raise UsageError(f"--format {fmt}: intent training reads an intent CSV (--format intent)")
        texts, labels = _intent_rows(args)
        s = faq_settings() if str(args.data) == BUILTIN else RouterSettings()
        s.tokenizer = args.tokenizer or s.tokenizer
        s.d_model, s.num_layers = args.d_model or s.d_model, args.layers or s.num_layers
        s.ensemble = args.ensemble or s.ensemble
        for key, value in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr),
                           ("pretrain_epochs", args.pretrain_epochs)):
            if value is not None:
                setattr(s.train, key, value)
        answers = _builtin_answers() if str(args.data) == BUILTIN else None
        router = IntentRouter.train(texts, labels, out_dir=args.out, settings=s, oos_label=args.oos_label,
                                    answers=answers, **common)
        r = router.fit_result
        mixed = "" if router.expert is None else (f", with the linear n-gram expert "
                                                   f"{router.valid_accuracy:.4f}")
        which = "Transformer" if not router.members else f"{1 + len(router.members)} Transformers"
        print(f"trained {len(router.labels)} intents: validation accuracy "
              f"{router.transformer_valid_accuracy:.4f} ({which}, best epoch {r.best_epoch}){mixed}, "
              f"hand-off threshold {router.threshold:.3f}; saved to {args.out}")
        return 0
    if args.task == "match":
        from .data import load_faq, load_pairs
        from .matching import MatchSettings, QuestionMatcher, pairs_from_faq

        s = MatchSettings()
        faq = None
        if fmt == "faq":
            questions, answers = load_faq(args.data)
            pairs, faq = pairs_from_faq(questions, answers, seed=args.seed), list(zip(questions, answers))
            s.tokenizer = "bpe"
        else:
            pairs = load_pairs(args.data, fmt)
        if args.exclude is not None:
            from .data import drop_overlapping_pairs
            before = len(pairs)
            pairs = drop_overlapping_pairs(pairs, load_pairs(args.exclude, "afqmc"))
            print(f"dropped {before - len(pairs)} pairs that occur in {args.exclude}")
        s.tokenizer = args.tokenizer or s.tokenizer
        s.d_model, s.num_layers = args.d_model or s.d_model, args.layers or s.num_layers
        for key, value in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr),
                           ("pretrain_epochs", args.pretrain_epochs)):
            if value is not None:
                setattr(s, key, value)
        matcher = QuestionMatcher.train(pairs, out_dir=args.out, settings=s, faq=faq, **common)
        print(f"trained the matcher on {len(pairs)} pairs: best validation ROC-AUC "
              f"{matcher.fit_result.best_metric:.4f}; saved to {args.out}")
        return 0
    from .data import load_faq
    from .faq_builtin import faq_pairs
    from .replies import ReplyGenerator

    if str(args.data) == BUILTIN:
        questions, answers = map(list, zip(*faq_pairs()))
    else:
        questions, answers = load_faq(args.data)
    kwargs = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr))
              if v is not None}
    ReplyGenerator.train(questions, answers, out_dir=args.out, **kwargs, **common)
    print(f"trained the reply generator on {len(questions)} questions; saved to {args.out}")
    return 0


def _evaluate(args) -> int:
    _require(args, "model", "data")
    task, model = _load(args.model, args.device if args.device != "auto" else "cpu")
    if str(args.data) != BUILTIN and not args.data.is_file():
        raise FileNotFoundError(f"{args.data}: data file not found")
    if task == "intent":
        texts, labels = _intent_rows(args)
        metrics = model.evaluate(texts, labels)
    elif task == "match":
        from .data import load_pairs
        fmt = args.format or "atec"
        if fmt in ("intent", "faq"):
            raise UsageError(f"--format {fmt}: a matcher is evaluated on question pairs (atec, afqmc, csv)")
        metrics = model.evaluate(load_pairs(args.data, fmt))
    else:
        from .data import load_faq
        metrics = model.evaluate(*load_faq(args.data))
    for key, value in metrics.items():
        print(f"{key:>18}  {value:.4f}")
    _write_json(args.json, metrics)
    return 0


def _predict(args) -> int:
    _require(args, "model", "data")
    task, model = _load(args.model)
    if task != "intent":
        raise UsageError(f"qa predict: needs an intent model, {args.model} holds a {task!r} model (use ask)")
    from .data import read_csv_columns
    texts = [r[0] for r in read_csv_columns(args.data, (args.text_col,))]
    rows = [{"text": t, **{k: v for k, v in d.items() if k != "answer"}}
            for t, d in zip(texts, model.decide(texts))]
    for row in rows:
        print(f"{row['intent'] or 'HUMAN'}\t{row['confidence']:.3f}\t{row['text']}")
    _write_json(args.json, rows)
    return 0


def _ask(args, question: str, task: str, model) -> dict:
    if not question.strip():
        raise UsageError("qa ask: the question is empty")
    out = _answer_text(task, model, question, args.lang)
    return out


def run(args: argparse.Namespace) -> int | None:
    if args.action == "train":
        return _train(args)
    if args.action == "evaluate":
        return _evaluate(args)
    if args.action == "predict":
        return _predict(args)
    _require(args, "model")
    task, model = _load(args.model)
    if args.action == "ask":
        out = _ask(args, " ".join(args.question), task, model)
        print(out["answer"])
        _write_json(args.json, out)
        return 0
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask a question (Ctrl-D to leave).")
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            break
        if not line.strip():
            continue
        print(_ask(args, line, task, model)["answer"], flush=True)
    return 0
