"""The demo's recommendation use case: a shop's purchase log -> SASRec -> HR@10 and NDCG@10.

Data: :mod:`tasks.recommendation.synthetic` (shoppers with a taste for two departments, and
bundles such as ``phone-k -> case -> charger-k``), written to ``data/shop_purchases.csv``.
Training and evaluation: the head's verbs ``train`` and ``evaluate`` (the test split: the last
purchase of every shopper, ranked against all items; baselines most-popular and item-to-item),
their printout in ``logs/recommend.log``, the results in ``logs/recommend_train.json``.

Settings: smaller batches (64) and less dropout (0.1) than the head's defaults, which are tuned
for real logs with 12,000 items: on this small shop they give the model the optimizer steps it
needs to learn the bundles -- a tenth of the targets, so they hardly move the validation metric
that picks the kept epoch. Early stopping is off (patience = the number of epochs).
"""

from __future__ import annotations

import contextlib
import time

from minitransformer.nn.io import save_json
from tasks.demo.context import DemoContext, Picture, Score, UseCaseResult
from tasks.demo.pictures import curves_picture, draw

__all__ = ["run", "SETTINGS"]

#: shop size, model width, epochs (= patience) and validation users, full demo and --quick;
#: the rest: 2 layers, 2 heads, dropout 0.1, batches of 64 (see the module docstring)
SETTINGS = {
    "full": {"users": 4000, "d_model": 64, "epochs": 12, "eval_users": 1000},
    "quick": {"users": 1000, "d_model": 32, "epochs": 15, "eval_users": 300},
}


def _recipe(setting: dict):
    """The model config and training settings of a demo setting (the head's other defaults)."""
    from tasks.recommendation.config import RecommenderConfig, TrainSettings, encoder_config

    config = RecommenderConfig(encoder=encoder_config(d_model=setting["d_model"], nhead=2, num_layers=2,
                                                      dropout=0.1))
    settings = TrainSettings(epochs=setting["epochs"], patience=setting["epochs"], batch_size=64,
                             eval_users=setting["eval_users"])
    return config, settings


def _train_and_evaluate(ctx: DemoContext, data, run_dir, setting: dict) -> dict:
    """Train on the shop's log and score the test split; the printout goes to the use case's log,
    the results (as ``recommend train --json`` writes them) to ``logs/recommend_train.json``."""
    import tasks.recommendation as rec
    from tasks.recommendation.data import load_split

    config, settings = _recipe(setting)
    max_minutes = None if ctx.max_minutes is None else ctx.max_minutes / 4  # a quarter of the budget
    with ctx.log_path("recommend").open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        split = load_split(data)
        result = rec.train(split, run_dir, config, settings=settings, seed=ctx.seed, device=ctx.device,
                           max_minutes=max_minutes)
        test = rec.evaluate(result.model, split)
    save_json(ctx.folder("logs") / "recommend_train.json",
               {"fit": result.metrics["fit"], "final_fit": result.metrics["final_fit"], "test": test,
                "model_dir": str(run_dir)})
    return test


def _example(histories: dict[str, list[str]], config) -> tuple[str, list[str], str]:
    """A shopper whose test history ends with a bundle's first two items (``phone-k, case``):
    ``(user, history without the last purchase, the last purchase)``."""
    from tasks.recommendation.synthetic import bundle_partner

    for user, items in histories.items():
        if len(items) >= 5:
            partner = bundle_partner(items[-3], config)
            if partner is not None and partner == (items[-2], items[-1]):
                return user, items[:-1], items[-1]
    user, items = next(iter(histories.items()))
    return user, items[:-1], items[-1]


def _bundle_mrr(data, run_dir, config) -> dict[str, float] | None:
    """MRR on the test shoppers whose last purchase completes a bundle: the model vs item-to-item."""
    import torch

    from tasks.recommendation import load
    from tasks.recommendation.baselines import transition_scorer
    from tasks.recommendation.data import load_split
    from tasks.recommendation.evaluate import evaluate_ranking, model_scorer
    from tasks.recommendation.synthetic import bundle_partner

    model = load(run_dir)
    item_map = model.item_map
    split = load_split(data, item_map=item_map)
    token = item_map.token
    pick = [u for u, (history, target) in enumerate(zip(split.test.inputs, split.test.targets))
            if len(history) >= 2 and bundle_partner(token(history[-2]), config) == (token(history[-1]),
                                                                                    token(target))]
    if not pick:
        return None
    inputs, targets = [split.test.inputs[u] for u in pick], [split.test.targets[u] for u in pick]
    with torch.no_grad():
        ours = evaluate_ranking(model_scorer(model), inputs, targets, split.num_items)["MRR"]
    theirs = evaluate_ranking(transition_scorer(split.refit_sequences(), split.num_items), inputs, targets,
                              split.num_items)["MRR"]
    return {"users": len(pick), "model": ours, "item-to-item": theirs}


def _pictures(ctx: DemoContext, run_dir, history: list[str], target: str) -> tuple[list[Picture], str]:
    """History attention + recommendations, the attention heatmaps, the training curves."""
    import torch

    from minitransformer import record_attention
    from minitransformer.pictures.plotting import plot_attention
    from tasks.recommendation import load, predict
    from tasks.recommendation.plot import plot_history_attention

    model = load(run_dir)
    shown = history[-10:]                                        # a readable picture: the last 10
    recommendations = predict(model, shown, k=10)                # [(item, score), ...] best first
    with torch.no_grad(), record_attention(model) as maps:
        model.next_item_scores([model.item_map.encode(shown)[0]])
    last = maps[f"encoder.layers.{model.config.encoder.num_layers - 1}.self_attn"][0]   # (H, T, T)
    weights = last[:, -1].mean(0)                                # (T,): the predicting position
    folder = ctx.pictures_dir
    pictures = []
    title = f"next purchase: {target}; the model's first pick: {recommendations[0][0]}"
    path = draw(ctx, "recommendation history attention", plot_history_attention,
                folder / "recommend_history.png", shown, weights, recommendations, title=title)
    if path:
        pictures.append(Picture("A shopper's last purchases, the attention of the position that predicts "
                                "the next one, and the top-10 recommendations", path))
    path = draw(ctx, "recommendation attention heatmaps", plot_attention, maps,
                folder / "recommend_attention.png", query_labels=shown,
                title="SASRec attention per layer and head (causal: each row reads the items before it)")
    if path:
        pictures.append(Picture("Attention heatmaps, one per layer and head", path))
    pictures += curves_picture(ctx, "recommendation training curves", run_dir,
                               folder / "recommend_curves.png",
                               keys=["train_loss", "valid_NDCG@10", "valid_HR@10", "lr"],
                               title="recommendation: training loss and validation NDCG@10 / HR@10")
    return pictures, recommendations[0][0]


def run(ctx: DemoContext) -> UseCaseResult:
    from tasks.recommendation.synthetic import ShopConfig, simulate_purchases, write_purchases

    setting = SETTINGS["quick" if ctx.quick else "full"]
    start = time.monotonic()
    shop = ShopConfig(users=setting["users"], seed=ctx.seed)
    data = ctx.data_dir / "shop_purchases.csv"
    counts = write_purchases(data, shop)
    run_dir = ctx.run_dir("recommend")
    test = _train_and_evaluate(ctx, data, run_dir, setting)
    model = test["sasrec"]
    baselines = {name: test[name] for name in ("most-popular", "item-to-item")}
    scores = [Score(f"{metric} (full ranking, {model['users']} shoppers)", model[metric],
                    {name: report[metric] for name, report in baselines.items()})
              for metric in ("HR@10", "NDCG@10")]
    user, history, target = _example(simulate_purchases(shop), shop)
    notes = []
    bundles = _bundle_mrr(data, run_dir, shop)
    if bundles:
        notes.append(f"The planted bundles: on the {bundles['users']} shoppers whose last purchase completes "
                     f"a bundle (phone-k, case -> charger-k), MRR {bundles['model']:.3f} for the model "
                     f"against {bundles['item-to-item']:.3f} for item-to-item, which sees only the case.")
    pictures, first_pick = _pictures(ctx, run_dir, history, target) if ctx.draw else ([], "")
    if first_pick:
        notes.append(f"Shopper {user}: last purchases {' '.join(history[-3:])}; the next one was {target}, "
                     f"the model's first pick {first_pick}.")
    example = history[-3:]
    return UseCaseResult(
        name="recommendation",
        data=(f"a shop's purchase log: {counts['users']} shoppers, {counts['items']} items in 24 categories, "
              f"{counts['purchases']} purchases; planted tastes (two favourite departments each) and "
              f"bundles such as phone-k -> case -> charger-k (tasks/recommendation/synthetic.py)"),
        scores=scores, seconds=time.monotonic() - start, run_dir=run_dir,
        next_command=["recommend", "predict", "--model", str(run_dir), "--history", " ".join(example)],
        next_note="the top-10 next items for that history, and which items the model attended to",
        pictures=pictures, notes=notes)
