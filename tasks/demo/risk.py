"""The demo's risk-control use case: simulated card transactions -> FT-Transformer -> AUPRC.

Data: :mod:`tasks.risk.simulate` (card holders, terminals, planted fraud: stolen cards,
compromised terminals, large amounts), split in time: the first three quarters of the days
train (``data/transactions_train.csv``), the last quarter tests (``data/transactions_test.csv``).
Training and evaluation: ``minitransformer risk train`` and ``risk evaluate``, which scores the
class prior and a logistic regression (trained on the same rows) beside the model. AUPRC (the
area under the precision-recall curve, as average precision) is the score that matters when
fraud is rare: the prior's AUPRC is the fraud rate.
"""

from __future__ import annotations

import csv
import json
import time

from tasks.demo.context import DemoContext, Picture, Score, UseCaseResult
from tasks.demo.pictures import curves_picture, draw

__all__ = ["run", "SETTINGS", "write_time_split"]

#: simulated world and ``risk train`` options, full demo and --quick
SETTINGS = {
    "full": {"customers": 200, "days": 60, "train": ["--d-model", "32", "--lr", "2e-3", "--epochs", "8"]},
    "quick": {"customers": 100, "days": 30,
              "train": ["--d-model", "32", "--lr", "2e-3", "--epochs", "4", "--layers", "2"]},
}


def write_time_split(config, train_path, test_path) -> dict[str, int]:
    """Simulate; rows of the first three quarters of the days to ``train_path``, the rest to
    ``test_path``. Returns row and fraud counts."""
    from tasks.risk.simulate import COLUMNS, simulate_transactions

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
    from tasks.risk.data import read_table
    from tasks.risk.evaluate import load_run
    from tasks.risk.plot import plot_pr_roc, plot_score_histogram

    risk_run = load_run(run_dir)
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


def run(ctx: DemoContext) -> UseCaseResult:
    from tasks.risk.simulate import SimulatorConfig

    setting = SETTINGS["quick" if ctx.quick else "full"]
    start = time.monotonic()
    train, test = ctx.data_dir / "transactions_train.csv", ctx.data_dir / "transactions_test.csv"
    config = SimulatorConfig(customers=setting["customers"], days=setting["days"], seed=ctx.seed)
    counts = write_time_split(config, train, test)
    run_dir = ctx.run_dir("risk")
    ctx.cli(["risk", "train", "--data", str(train), "--out", str(run_dir), "--seed", str(ctx.seed),
             "--device", ctx.device, *setting["train"], *ctx.budget()], log="risk")
    report_path = ctx.folder("logs") / "risk_evaluate.json"
    ctx.cli(["risk", "evaluate", "--model", str(run_dir), "--data", str(test), "--json", str(report_path)],
            log="risk")
    report = json.loads(report_path.read_text(encoding="utf-8"))
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
              f"(tasks/risk/simulate.py)"),
        scores=scores, seconds=time.monotonic() - start, run_dir=run_dir,
        next_command=["risk", "predict", "--model", str(run_dir), "--data", str(test), "--output",
                      str(scores_csv), "--explain", "3"],
        next_note="a fraud score and a flag for every transaction, with the 3 features the model attended to",
        pictures=pictures, notes=notes)
