"""``minitransformer recommend train|evaluate|predict`` (the task-module protocol of
:mod:`minitransformer.cli.main`).

    minitransformer recommend train    --data PATH [--format auto] [--model sasrec|bert4rec] --out DIR
                                        [--max-len 50] [--epochs N] [--max-minutes M] [--seed S]
    minitransformer recommend evaluate --model DIR --data PATH [--protocol full|sampled]
                                        [--split test|valid] [--json FILE]
    minitransformer recommend predict  --model DIR --history "ITEM ITEM ..." [--k 10]
    minitransformer recommend simulate --out FILE.csv [--users N] [--items M] [--seed S]

``simulate`` writes a shop's purchase log with planted patterns (shoppers' tastes, bundles
such as ``phone -> case -> charger``; see :mod:`tasks.recommendation.synthetic`) in the ``csv``
format that ``train`` reads.

Training defaults (chosen on Amazon Beauty to fit 20 minutes on 2 CPU cores): SASRec,
full-softmax cross-entropy at every position, d_model 64, 2 layers, 1 head, dropout 0.3, max-len
50, batch 128, AdamW lr 3e-3 with 100 warm-up steps and a cosine to 0.1 x lr over 30 epochs,
early stopping on validation NDCG@10 (3,000 seeded validation users) with patience 8, then a
5-epoch final fit with the validation items put back (:mod:`tasks.recommendation.train`). The
ml1m folder gets max-len 200, 60 epochs, patience 20, dropout 0.2 and no final fit (only 6,040
histories; 512 noisy validation users, the only ones with a validation item). BERT4Rec: the
same, but dropout 0.1, patience 16, mask probability 0.2, half of the examples a history cut
at a random item with that item masked (``--last-item-prob``), 80 epochs (an epoch costs about
40% of a SASRec epoch, but it learns from far fewer positions per pass).

A model directory holds the trainer's files (``config.json``, ``model.safetensors`` = the model
after the final fit, or the best validation epoch without one, ``metrics.jsonl``,
``checkpoints/``, and ``final_fit/`` with the final fit's own log and checkpoints) plus
``item_map.json`` (raw item id of every model item id). Every printed metric names its
protocol. Torch is imported only inside the functions, so ``minitransformer --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from minitransformer.cli.options import add_common_options, add_task_actions, positive_int
from minitransformer.errors import UsageError

ITEM_MAP_NAME = "item_map.json"
#: BERT4Rec learns from ~20% of the positions per pass and needs many more (cheaper) epochs
DEFAULT_EPOCHS = {"sasrec": 30, "bert4rec": 80}
#: BERT4Rec's masks and random cuts already keep it from memorising its histories; with less
#: dropout it learns faster and keeps more of the final fit (Beauty: see RESULTS.md)
DEFAULT_DROPOUT = {"sasrec": 0.3, "bert4rec": 0.1}
#: BERT4Rec's validation NDCG@10 rises slowly and noisily (fresh masks and cuts every epoch):
#: with patience 8 it stopped after 37-53 of its 80 epochs (Beauty: see RESULTS.md)
DEFAULT_PATIENCE = {"sasrec": 8, "bert4rec": 16}
#: the ml1m folder: long histories (max-len 200), and its 512 validation users make NDCG@10 jump
#: by ~0.01 between epochs (a longer patience).
#: No final fit: only those 512 users have a validation item to put back (0.05% more training
#: targets), so it would only train longer on the same data (measured: no gain, or a loss).
ML1M_DEFAULTS = {"max_len": 200, "patience": 20, "final_epochs": 0}
#: SASRec on the ml1m folder: only 6,040 histories, so 60 epochs; dropout 0.2 as the SASRec
#: paper chose for ML-1M (its long, dense histories overfit less than Amazon's): validation
#: NDCG@10 0.1886 -> 0.2027, test 0.1377 -> 0.1523 (RESULTS.md). BERT4Rec keeps its own
#: (larger) epochs and (smaller) dropout.
ML1M_SASREC_DEFAULTS = {"epochs": 60, "dropout": 0.2}


def training_defaults(fmt: str, model: str) -> dict[str, float]:
    """``max_len``, ``epochs``, ``patience``, ``final_epochs`` and ``dropout`` when the command
    line does not set them."""
    defaults = {"max_len": 50, "epochs": DEFAULT_EPOCHS[model],
                "patience": DEFAULT_PATIENCE[model], "final_epochs": 5,
                "dropout": DEFAULT_DROPOUT[model]}
    if fmt == "ml1m":
        defaults.update(ML1M_DEFAULTS)
        if model == "sasrec":
            defaults.update(ML1M_SASREC_DEFAULTS)
    return defaults


HELP = "next-item recommendation from interaction sequences"
#: a file only this head writes into a model folder (``minitransformer plot attention`` finds it)
MODEL_FILE = "item_map.json"


def attention_views(model_dir, text):
    """The attention maps of the model in ``model_dir`` on one input (see ``plot.py``)."""
    from tasks.recommendation.plot import attention_views as views

    return views(model_dir, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "simulate"), common=False)
    train, evaluate, predict = actions["train"], actions["evaluate"], actions["predict"]
    simulate = actions["simulate"]
    simulate.add_argument("--users", type=positive_int, default=4000, metavar="N",
                          help="shoppers (default 4000)")
    simulate.add_argument("--items", type=positive_int, default=240, metavar="M",
                          help="about this many items, in 24 categories (default 240)")
    add_common_options(train, skip=("model",))
    train.add_argument("--model", choices=("sasrec", "bert4rec"), default="sasrec",
                       help="architecture: causal SASRec (default) or bidirectional BERT4Rec")
    for p in (train, evaluate):
        p.add_argument("--format", choices=("auto", "sequence", "pairs", "csv", "ml1m"), default="auto",
                       help="data format (default auto: detected from the file)")
    train.add_argument("--max-len", type=int,
                       help="most recent items the model sees (default 50; 200 for ml1m)")
    train.add_argument("--loss", choices=("ce", "bce", "gbce"), default="ce",
                       help="full-softmax cross-entropy (default), sampled BCE, or gBCE")
    train.add_argument("--negatives", type=int, default=256, help="negatives per position for gbce")
    train.add_argument("--d-model", type=int, default=64)
    train.add_argument("--layers", type=int, default=2)
    train.add_argument("--heads", type=int, default=1)
    train.add_argument("--dropout", type=float,
                       help="default 0.3 (sasrec; 0.2 for ml1m), 0.1 (bert4rec)")
    train.add_argument("--max-tokens", type=positive_int, default=6400,
                       help="at most this many item positions per batch (default 6400 = 128 x 50)")
    train.add_argument("--mask-prob", type=float, default=0.2, help="BERT4Rec: share of items masked")
    train.add_argument("--last-item-prob", type=float, default=0.5,
                       help="BERT4Rec: share of examples that are a history cut at a random item, "
                            "that item masked (default 0.5)")
    train.add_argument("--patience", type=int,
                       help="epochs without validation gain before stopping (default 8; BERT4Rec 16; "
                            "20 for ml1m)")
    train.add_argument("--final-epochs", type=int, metavar="N",
                       help="after early stopping, N epochs with each user's validation item put "
                            "back into training (default 5; 0 for ml1m; 0 = keep the "
                            "validation-best model)")
    train.add_argument("--eval-users", type=int, default=3000,
                       help="validation users scored each epoch (0 = all)")
    train.add_argument("--attention-backend", choices=("manual", "sdpa"), default="manual")
    add_common_options(evaluate)
    evaluate.add_argument("--protocol", choices=("full", "sampled"), default="full")
    evaluate.add_argument("--split", choices=("test", "valid"), default="test")
    evaluate.add_argument("--negatives", type=int, default=100, help="sampled protocol: negatives per user")
    evaluate.add_argument("--sampling", choices=("uniform", "popularity"), default="uniform")
    evaluate.add_argument("--no-baselines", action="store_true", help="skip the baseline rows")
    add_common_options(predict, skip=("data", "out", "epochs", "batch_size", "lr", "max_minutes", "resume"))
    predict.add_argument("--history", required=True, help='raw item ids, oldest first: "ITEM ITEM ..."')
    predict.add_argument("--k", type=int, default=10, help="how many items to recommend")
    predict.add_argument("--include-history", action="store_true", help="allow items already in the history")


def run(args: argparse.Namespace) -> int | None:
    return {"train": _train, "evaluate": _evaluate, "predict": _predict,
            "simulate": _simulate}[args.action](args)


# ---------------------------------------------------------------------------- helpers
def _require(args, *names: str) -> None:
    for name in names:
        if getattr(args, name) is None:
            raise UsageError(f"--{name.replace('_', '-')} is required for '{args.action}'")


def _write_json(target: str | None, payload: dict) -> None:
    if target is None:
        return
    text = json.dumps(payload, indent=2) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")


def _format_row(name: str, report: dict) -> str:
    cells = " | ".join(f"{report[k]:.4f}" for k in ("HR@5", "NDCG@5", "HR@10", "NDCG@10", "HR@20",
                                                     "NDCG@20", "MRR"))
    return f"| {name} | {report['protocol']} | {report['users']} | {cells} |"


def print_table(rows: list[tuple[str, dict]], title: str) -> None:
    print(f"\n{title}\n")
    print("| model | protocol | users | HR@5 | NDCG@5 | HR@10 | NDCG@10 | HR@20 | NDCG@20 | MRR |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, report in rows:
        print(_format_row(name, report))


def evaluate_with_baselines(model, split, evalset, protocol="full", negatives=100, sampling="uniform",
                            baselines=True) -> list[tuple[str, dict]]:
    """Rows ``(name, report)`` for the model and (optionally) the two baselines.

    The baselines count what is known before the scored item: on the test split that includes
    every user's validation item (the sequences of the final fit), on the validation split not."""
    from tasks.recommendation.baselines import item_counts, most_popular_scorer, transition_scorer
    from tasks.recommendation.evaluate import evaluate_ranking, model_scorer

    known = split.refit_sequences() if evalset is split.test else split.train
    popularity = item_counts(known, split.num_items)
    scorers = [(model.config.kind, model_scorer(model))]
    if baselines:
        scorers += [("most-popular", most_popular_scorer(known, split.num_items)),
                    ("item-to-item", transition_scorer(known, split.num_items))]
    return [(name, evaluate_ranking(scorer, evalset.inputs, evalset.targets, split.num_items, protocol,
                                    negatives, sampling, popularity))
            for name, scorer in scorers]


def load_model(directory: Path):
    from tasks.recommendation.data import ItemMap
    from tasks.recommendation.models import SequentialRecommender

    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: model directory not found (--model)")
    item_map = ItemMap.load(directory / ITEM_MAP_NAME)
    model = SequentialRecommender.from_pretrained(directory)
    if model.config.num_items != len(item_map):
        raise ValueError(f"{directory / ITEM_MAP_NAME}: {len(item_map)} items, the model has "
                         f"{model.config.num_items}")
    return model.eval(), item_map


# ---------------------------------------------------------------------------- actions
def _train(args) -> int:
    import torch

    from minitransformer.training import TrainConfig
    from tasks.recommendation.data import load_split
    from tasks.recommendation.models import RecommenderConfig
    from tasks.recommendation.train import TaskSettings, train_recommender

    _require(args, "data", "out")
    split = load_split(args.data, args.format)
    defaults = training_defaults(split.format, args.model)
    max_len = args.max_len if args.max_len is not None else defaults["max_len"]
    patience = args.patience if args.patience is not None else defaults["patience"]
    final_epochs = args.final_epochs if args.final_epochs is not None else defaults["final_epochs"]
    dropout = args.dropout if args.dropout is not None else defaults["dropout"]
    if max_len < 2:
        raise UsageError(f"--max-len: expected an integer >= 2, got {max_len}")
    if final_epochs < 0:
        raise UsageError(f"--final-epochs: expected an integer >= 0, got {final_epochs}")
    print(f"data: {args.data} ({split.format}): {len(split.train)} training sequences, "
          f"{split.num_items} items, {len(split.valid)} valid / {len(split.test)} test users")
    model_config = RecommenderConfig(num_items=split.num_items, kind=args.model, max_len=max_len,
                                     d_model=args.d_model, nhead=args.heads, num_layers=args.layers,
                                     dim_feedforward=4 * args.d_model, dropout=dropout,
                                     attention_backend=args.attention_backend)
    settings = TaskSettings(kind=args.model, loss=args.loss, negatives=args.negatives,
                            batch_size=args.batch_size or 128, max_tokens=args.max_tokens,
                            mask_prob=args.mask_prob, last_item_prob=args.last_item_prob,
                            eval_users=args.eval_users, patience=patience,
                            final_epochs=final_epochs)
    epochs = args.epochs or defaults["epochs"]
    train_config = TrainConfig(epochs=epochs, lr=args.lr or 3e-3, seed=args.seed,
                               device=args.device, max_minutes=args.max_minutes, patience=patience,
                               monitor="NDCG@10", mode="max", warmup_steps=100, min_lr_ratio=0.1,
                               log_every=0)
    args.out.mkdir(parents=True, exist_ok=True)
    split.item_map.save(args.out / ITEM_MAP_NAME)
    model, result, trainer = train_recommender(split, model_config, train_config, settings,
                                               out_dir=args.out, resume=args.resume)
    examples = sum(len(b) for b in trainer.train_data) * max(result.epochs_run, 1)
    print(f"\ntrained {result.epochs_run} epochs in {result.elapsed_s:.0f} s "
          f"({examples / max(result.elapsed_s, 1e-9):.0f} sequences/s incl. validation), "
          f"best epoch {result.best_epoch} (valid NDCG@10 {result.best_metric}), stop: {result.stop_reason}")
    final = trainer.final_fit
    if final is not None:
        print(f"final fit: {final.epochs_run} more epochs ({final.steps} updates, stop: {final.stop_reason}) "
              f"with the validation items put back in {final.elapsed_s:.0f} s (validation scores above "
              f"are from before it)")
    model.eval()
    with torch.no_grad():
        rows = evaluate_with_baselines(model, split, split.test)
    print_table(rows, f"test split ({len(split.test)} users), trained model vs baselines")
    _write_json(args.json, {"fit": result.to_dict(), "final_fit": None if final is None else final.to_dict(),
                            "test": dict(rows), "model_dir": str(args.out)})
    return 0


def _evaluate(args) -> int:
    from tasks.recommendation.data import load_split
    from tasks.recommendation.train import FINAL_FIT_DIR

    _require(args, "model", "data")
    model, item_map = load_model(args.model)
    split = load_split(args.data, args.format, item_map=item_map)
    evalset = split.test if args.split == "test" else split.valid
    if len(evalset) == 0:
        raise ValueError(f"{args.data}: no user with 3 or more known items to evaluate")
    if args.split == "valid" and (Path(args.model) / FINAL_FIT_DIR).is_dir():
        print(f"warning: {args.model} had a final fit on the validation items (--final-epochs): "
              "its validation scores are not held-out scores", file=sys.stderr)
    rows = evaluate_with_baselines(model, split, evalset, args.protocol, args.negatives, args.sampling,
                                   baselines=not args.no_baselines)
    print_table(rows, f"{args.split} split of {args.data}")
    payload = {**rows[0][1], "split": args.split, "model": model.config.kind,
               "baselines": {name: report for name, report in rows[1:]}}
    _write_json(args.json, payload)
    return 0


def _predict(args) -> int:
    import torch

    from minitransformer import record_attention

    _require(args, "model")
    if args.k <= 0:
        raise UsageError(f"--k: expected a positive integer, got {args.k}")
    model, item_map = load_model(args.model)
    tokens = args.history.split()
    history, unknown = item_map.encode(tokens)
    if unknown:
        print(f"warning: {len(unknown)} unknown item(s) in --history skipped: {' '.join(unknown[:10])}",
              file=sys.stderr)
    if not history:
        raise UsageError(f"--history: none of its {len(tokens)} item(s) is known to the model")
    with torch.no_grad(), record_attention(model) as maps:
        scores = model.next_item_scores([history])[0]  # (N + 2,)
    scores[0] = scores[model.config.mask_id] = float("-inf")
    if not args.include_history:
        scores[torch.tensor(history)] = float("-inf")
    k = min(args.k, int(torch.isfinite(scores).sum()))
    top = torch.topk(scores, k)
    recommendations = [{"item": item_map.token(int(i)), "score": float(s)} for s, i in zip(*top)]
    # the last layer's attention from the predicting (last) position to each history item
    last_layer = maps[f"encoder.layers.{model.config.num_layers - 1}.self_attn"][0]  # (H, T, T)
    weights = last_layer[:, -1].mean(0)  # (T,)
    shown = history[-(weights.numel() - (0 if model.causal else 1)):]
    weights = weights[: len(shown)] if model.causal else weights[:-1][-len(shown):]
    attention = sorted(({"item": item_map.token(i), "position": len(history) - len(shown) + p + 1,
                         "weight": float(w)} for p, (i, w) in enumerate(zip(shown, weights))),
                       key=lambda a: -a["weight"])[:5]
    print(f"top-{k} next items for a history of {len(history)} known item(s):")
    for rank, rec in enumerate(recommendations, start=1):
        print(f"{rank:3d}. {rec['item']}  score {rec['score']:.4f}")
    print("history items the last layer attended to most (position in history, weight):")
    for a in attention:
        print(f"  {a['item']} (#{a['position']})  {a['weight']:.3f}")
    _write_json(args.json, {"recommendations": recommendations, "attention": attention,
                            "unknown_items": unknown, "unknown_count": len(unknown)})
    return 0


def _simulate(args) -> int:
    from tasks.recommendation.synthetic import ShopConfig, write_purchases

    _require(args, "out")
    counts = write_purchases(args.out, ShopConfig.for_items(args.items, users=args.users, seed=args.seed))
    print(f"{counts['purchases']} purchases of {counts['items']} items by {counts['users']} shoppers "
          f"written to {args.out}")
    return 0
