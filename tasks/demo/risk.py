"""The demo's risk-control use case: simulated card transactions -> FT-Transformer -> AUPRC.

Data: :mod:`tasks.risk.synthetic` (card holders, terminals, planted fraud: stolen cards,
compromised terminals, large amounts), split in time: the first three quarters of the days
train (``data/transactions_train.csv``), the last quarter tests (``data/transactions_test.csv``).
Training and evaluation: the head's Python verbs ``tasks.risk.train`` and ``tasks.risk.evaluate``
(what ``minitransformer risk train`` and ``risk evaluate`` run), which score the class prior and
a logistic regression (trained on the same rows) beside the model. AUPRC (the
area under the precision-recall curve, as average precision) is the score that matters when
fraud is rare: the prior's AUPRC is the fraud rate.
"""

from __future__ import annotations

import csv
import time

from minitransformer.nn.io import save_json
from tasks.demo.context import DemoContext, Picture, Score, UseCaseResult
from tasks.demo.pictures import curves_picture, draw

__all__ = ["run", "SETTINGS", "write_time_split"]

#: simulated world, encoder size (``risk_encoder``) and training settings (``RiskTrainConfig``),
#: full demo and --quick
SETTINGS = {
    "full": {"customers": 200, "days": 60, "encoder": {"d_model": 32}, "train": {"lr": 2e-3, "epochs": 8}},
    "quick": {"customers": 100, "days": 30, "encoder": {"d_model": 32, "num_layers": 2},
              "train": {"lr": 2e-3, "epochs": 4}},
}


def write_time_split(config, train_path, test_path) -> dict[str, int]:
    """Simulate; rows of the first three quarters of the days to ``train_path``, the rest to
    ``test_path``. Returns row and fraud counts."""
    from tasks.risk.synthetic import COLUMNS, simulate_transactions

    data = simulate_transactions(config)
    first_test_day = config.days * 3 // 4
    rows = list(zip(*(data[name].tolist() for name in COLUMNS)))
    day = COLUMNS.index("day")
    fraud = COLUMNS.index("is_fraud")
    counts = {}
    for path, is_test in ((train_path, False), (test_path, True)):
        part = [row for row in rows if (row[day] >= first_test_day) == is_test]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(part)
        counts[path.stem] = len(part)
        counts[f"{path.stem}_fraud"] = sum(row[fraud] for row in part)
    counts["first_test_day"] = first_test_day
    return counts


def _pictures(ctx: DemoContext, run_dir, test_path) -> list[Picture]:
    import torch

    from minitransformer import record_attention
    from minitransformer.pictures.plotting import plot_attention
    from tasks.risk import load
    from tasks.risk.data import read_table
    from tasks.risk.plot import plot_pr_roc, plot_score_histogram

    risk_run = load(run_dir)
    data = risk_run.encode(read_table(test_path), require_target=True)
    scores = risk_run.score(data)
    folder = ctx.pictures_dir
    pictures = []
    path = draw(ctx, "risk PR/ROC", plot_pr_roc, folder / "risk_pr_roc.png", data.labels, scores,
                risk_run.threshold, title="test days: precision-recall and ROC")
    if path:
        pictures.append(Picture("Precision-recall and ROC curves on the test days, the chosen threshold "
                                "marked", path))
    path = draw(ctx, "risk score histogram", plot_score_histogram, folder / "risk_scores.png", data.labels,
                scores, risk_run.threshold, title="scores of legitimate and fraudulent transactions")
    if path:
        pictures.append(Picture("Scores by class (each normalised to its own total); right of the dashed "
                                "line is flagged", path))
    row = int(scores.argmax())                                       # the most suspicious transaction
    model = risk_run.model
    with torch.no_grad(), record_attention(model) as maps:
        model(torch.from_numpy(data.numeric[row:row + 1]), torch.from_numpy(data.categorical[row:row + 1]))
    path = draw(ctx, "risk attention", plot_attention, maps, folder / "risk_attention.png",
                query_labels=model.token_names(), layers=[-1], heads=[0, 1],
                title=f"the most suspicious test transaction (score {scores[row]:.2f}): "
                      "last layer, two of its heads")
    if path:
        pictures.append(Picture("Attention between the feature tokens ([CLS], the columns, the card's "
                                "previous purchases as time steps): two heads of the last layer", path))
    pictures += curves_picture(ctx, "risk training curves", run_dir, folder / "risk_curves.png",
                               title="risk model: training loss and validation ROC-AUC / AUPRC")
    return pictures


def _train_and_evaluate(ctx: DemoContext, setting: dict, train, test, run_dir) -> dict:
    """Train on the first days (the simulator layout: no target to name), score the last ones;
    the evaluation report is also kept as ``logs/risk_evaluate.json``."""
    import tasks.risk
    from tasks.risk.config import RiskTrainConfig, risk_encoder

    config = RiskTrainConfig(encoder=risk_encoder(**setting["encoder"]), **setting["train"])
    with ctx.logged("risk", f"tasks.risk.train({train.name}) and tasks.risk.evaluate({test.name})"):
        run = tasks.risk.train(train, run_dir, config, seed=ctx.seed, device=ctx.device,
                               max_minutes=ctx.budget_minutes())
        report = tasks.risk.evaluate(run.model, test)
    path = ctx.folder("logs") / "risk_evaluate.json"
    save_json(path, report)
    return report


def run(ctx: DemoContext) -> UseCaseResult:
    from tasks.risk.synthetic import SimulatorConfig

    setting = SETTINGS["quick" if ctx.quick else "full"]
    start = time.monotonic()
    train, test = ctx.data_dir / "transactions_train.csv", ctx.data_dir / "transactions_test.csv"
    config = SimulatorConfig(customers=setting["customers"], days=setting["days"], seed=ctx.seed)
    counts = write_time_split(config, train, test)
    run_dir = ctx.run_dir("risk")
    report = _train_and_evaluate(ctx, setting, train, test, run_dir)
    baselines = {name.replace("_", " "): values["auprc"] for name, values in report["baselines"].items()}
    scores = [Score(f"AUPRC ({counts['transactions_test']} test transactions, "
                    f"{counts['transactions_test_fraud']} frauds)", report["auprc"], baselines)]
    recall = ", ".join(f"{name} {value:.2f}" for name, value in report.get("scenario_recall", {}).items())
    notes = [f"ROC-AUC {report['roc_auc']:.3f} (logistic regression "
             f"{report['baselines']['logistic_regression']['roc_auc']:.3f}). At the threshold chosen on "
             f"validation ({report['threshold']:.2f}): precision {report['precision']:.2f}, recall "
             f"{report['recall']:.2f}; recall per planted scenario: {recall}."]
    pictures = _pictures(ctx, run_dir, test) if ctx.draw else []
    scores_csv = ctx.out / "risk_scores.csv"
    return UseCaseResult(
        name="risk control",
        data=(f"simulated card transactions: {config.customers} card holders over {config.days} days, "
              f"planted fraud (stolen cards, compromised terminals, large amounts); days "
              f"0-{counts['first_test_day'] - 1} train ({counts['transactions_train']} rows), the rest test "
              f"(tasks/risk/synthetic.py)"),
        scores=scores, seconds=time.monotonic() - start, run_dir=run_dir,
        next_command=["risk", "predict", "--model", str(run_dir), "--data", str(test), "--output",
                      str(scores_csv), "--explain", "3"],
        next_note="a fraud score and a flag for every transaction, with the 3 features the model attended to",
        pictures=pictures, notes=notes)
