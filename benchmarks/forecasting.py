"""Benchmark the forecasting head on M4 Weekly and the UCI weekly sales, with the CLI defaults.

* **M4 Weekly** (359 series, horizon 13): the last 13 values of each *training* series are held
  out (the official test split is held back by the maintainers); the model is trained on the
  rest with :func:`tasks.forecasting.train` and scored with :func:`tasks.forecasting.evaluate`
  (what ``minitransformer forecast train`` and ``forecast evaluate --test`` run).
  Target: OWA ≤ 0.90 in under 15 minutes on 2 CPU cores.
* **UCI weekly sales** (811 products × 52 weeks, horizon 8): train on W0..W43, score W44..W51.
  Target: MASE below the best hand-written baseline.

Inside ``train`` (the defaults of :class:`~tasks.forecasting.config.ForecastSettings`, which
are the CLI's), every member picks its epoch count on the last H values of the training file
and is then refit on the whole training file; the test values are only read by ``evaluate``.

Published M4 Weekly test-set scores (sMAPE / MASE / OWA) come from Makridakis, Spiliotis &
Assimakopoulos (2020), "The M4 Competition: 100,000 time series and 61 forecasting methods",
IJF 36(1) -- the Weekly columns of the official "Evaluation and Ranks" sheet
(``m4_official_scores_weekly.csv`` in the data folder). They are on the test split, ours on a
validation split carved from the training file, so they are anchors, not a like-for-like race.

Run: ``python benchmarks/forecasting.py [--quick]`` (prints Markdown).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, shared_data  # benchmarks/ is on sys.path when run as a script

sys.path.insert(0, str(REPO))

import tasks.forecasting  # noqa: E402
from tasks.forecasting.config import ForecastSettings  # noqa: E402
from tasks.forecasting.data import load_series  # noqa: E402

M4 = shared_data("forecasting", "m4_weekly", "Weekly-train.csv")
M4_SCORES = shared_data("forecasting", "m4_weekly", "m4_official_scores_weekly.csv")
UCI = shared_data("forecasting", "uci_sales_weekly", "Sales_Transactions_Dataset_Weekly.csv")

# (name, sMAPE, MASE, OWA) on the M4 Weekly test split, Makridakis et al. (2020)
M4_ANCHORS = [("Naive2", 9.161, 2.777, 1.000), ("Theta", 9.093, 2.637, 0.971),
              ("Damped", 8.866, 2.404, 0.917), ("Smyl (M4 winner overall)", 7.817, 2.356, 0.851),
              ("best Weekly entry (id 235)", 6.582, 2.107, 0.739),
              ("M4 MLP benchmark", 21.349, 13.568, 3.608), ("M4 RNN benchmark", 15.220, 5.132, 1.755)]
# UCI reference baselines (MASE) from the data folder's SOURCE.md
UCI_ANCHORS = {"Mean": 1.135, "MovingAverage (8)": 1.151, "SES": 1.164, "Naive": 1.344}


def _write_split(data, h: int, folder: Path, name: str) -> tuple[Path, Path]:
    """M4-layout files: the series minus their last h values, and those h values."""
    train, test = folder / f"{name}-train.csv", folder / f"{name}-test.csv"
    longest = max(x.size for x in data.values) - h
    with train.open("w", newline="") as f_train, test.open("w", newline="") as f_test:
        w_train, w_test = csv.writer(f_train), csv.writer(f_test)
        w_train.writerow([f"V{i}" for i in range(1, longest + 2)])
        w_test.writerow([f"V{i}" for i in range(1, h + 2)])
        for series_id, x in zip(data.ids, data.values):
            w_train.writerow([series_id, *(f"{v:g}" for v in x[:-h])] + [""] * (longest - x.size + h))
            w_test.writerow([series_id, *(f"{v:g}" for v in x[-h:])])
    return train, test


def _run(train: Path, test: Path, h: int, out: Path, quick: bool) -> tuple[dict, dict, list[str], float]:
    """Train with the defaults (``quick``: one member, 1.5 minutes) and score against ``test``."""
    config = ForecastSettings(members=1) if quick else ForecastSettings()
    start = time.monotonic()
    with contextlib.redirect_stdout(sys.stderr):              # progress to stderr, the report to stdout
        run = tasks.forecasting.train(train, out / "model", config, horizon=h,
                                      max_minutes=1.5 if quick else None)
    seconds = time.monotonic() - start
    scores = tasks.forecasting.evaluate(run.model, train, test)
    model = train.name.removesuffix("-train.csv") + "-model"
    extra = " --members 1 --max-minutes 1.5" if quick else ""
    commands = [f"minitransformer forecast train --data {train.name} --horizon {h} --out {model}{extra}",
                f"minitransformer forecast evaluate --model {model} --data {train.name} --test {test.name}"]
    return run.metrics, scores, commands, seconds


def _throughput(model_dir: Path) -> float:
    """Mean training windows per second over all epochs of all members (from metrics.jsonl)."""
    rates = []
    for log in model_dir.glob("member_*/metrics.jsonl"):
        for line in log.read_text().splitlines():
            record = json.loads(line)
            if "examples_per_s" in record:
                rates.append(record["examples_per_s"])
    return sum(rates) / len(rates) if rates else float("nan")


def _scores_table(scores: dict, keys: tuple[str, ...]) -> list[str]:
    lines = ["| method | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    rows = [("**patch Transformer (ours)**", scores)] + list(scores["baselines"].items())
    for name, s in rows:
        lines.append(f"| {name} | " + " | ".join(f"{s.get(k, float('nan')):.3f}" for k in keys) + " |")
    return lines


def _section(title: str, summary: dict, scores: dict, commands: list[str], seconds: float, model_dir: Path,
             keys: tuple[str, ...]) -> list[str]:
    members = summary["members"]
    lines = [f"## {title}", "", *_scores_table(scores, keys), "",
             f"- training: {seconds / 60:.1f} min wall for {len(members)} member(s), "
             f"{_throughput(model_dir):.0f} windows/s; "
             f"{members[0]['windows']} windows per epoch, {members[0]['padded_series']} series padded "
             f"(shorter than context + horizon), {members[0]['skipped_series']} skipped (too short)",
             "- members: " + "; ".join(f"context {m['context']}, best epoch {m['best_epoch']}, validation "
                                       f"{m['monitor']} {m['valid_best'] or float('nan'):.3f} "
                                       f"({m['stop_reason']})"
                                       + (f", refit {m['refit_epochs']} epoch(s) on the full series"
                                          if "refit_epochs" in m else "")
                                       for m in members),
             "- the same from the command line, on the two files the benchmark writes:",
             *(f"  - `{c}`" for c in commands), ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one member, a 1.5-minute budget per data set")
    parser.add_argument("--only", choices=("m4", "uci"), help="run one data set only")
    args = parser.parse_args(argv)
    report = ["# Forecasting benchmark" + (" (quick)" if args.quick else ""), "",
              f"Threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
              f"default settings{' + one member, a 1.5-minute budget' if args.quick else ''}.", ""]
    with tempfile.TemporaryDirectory(prefix="forecast-bench-") as tmp:
        folder = Path(tmp)
        if args.only in (None, "m4"):
            if not M4.is_file():
                report += ["## M4 Weekly", "", f"skipped: {M4} not found", ""]
            else:
                train, test = _write_split(load_series(M4), 13, folder, "m4")
                summary, scores, commands, seconds = _run(train, test, 13, folder / "m4", args.quick)
                report += _section("M4 Weekly (validation: last 13 training values; target OWA ≤ 0.90)",
                                   summary, scores, commands, seconds, folder / "m4" / "model",
                                   ("sMAPE", "MASE", "OWA", "MAE", "RMSE"))
                report += ["Published M4 Weekly **test-set** scores (Makridakis et al. 2020, IJF 36(1), "
                           "official Evaluation and Ranks sheet):", "", "| method | sMAPE | MASE | OWA |",
                           "|---|---|---|---|",
                           *(f"| {n} | {s:.3f} | {m:.3f} | {o:.3f} |" for n, s, m, o in M4_ANCHORS), ""]
        if args.only in (None, "uci"):
            if not UCI.is_file():
                report += ["## UCI weekly sales", "", f"skipped: {UCI} not found", ""]
            else:
                train, test = _write_split(load_series(UCI), 8, folder, "uci")
                summary, scores, commands, seconds = _run(train, test, 8, folder / "uci", args.quick)
                report += _section("UCI weekly sales (train W0..W43, score W44..W51; target MASE below "
                                   "the best baseline)", summary, scores, commands, seconds,
                                   folder / "uci" / "model", ("MASE", "MAE", "RMSE"))
                report += ["Reference MASE from the data folder's SOURCE.md: "
                           + ", ".join(f"{k} {v:.3f}" for k, v in UCI_ANCHORS.items()), ""]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
