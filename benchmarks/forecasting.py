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

Run: ``python benchmarks/forecasting.py [--quick] [--only m4|uci]``. Prints Markdown: for each data
set one table of ours, the baselines and the published numbers, the training line and whether
the target is met (the notes behind the numbers are in ``benchmarks/LOG.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
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
# UCI reference baselines (MASE) from the data folder's SOURCE.md, by our baselines' names
UCI_ANCHORS = {"Mean": "1.135", "MovingAverage": "1.151 (8 weeks)", "SES": "1.164", "Naive": "1.344"}
M4_TARGET = 0.90  # OWA, in under 15 minutes on 2 CPU cores
M4_MINUTES = 15


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


def _run(train: Path, test: Path, h: int, out: Path, quick: bool) -> tuple[dict, dict, float]:
    """Train with the defaults (``quick``: one member, 1.5 minutes) and score against ``test``."""
    config = ForecastSettings(members=1) if quick else ForecastSettings()
    start = time.monotonic()
    with contextlib.redirect_stdout(sys.stderr):              # progress to stderr, the report to stdout
        run = tasks.forecasting.train(train, out / "model", config, horizon=h,
                                      max_minutes=1.5 if quick else None)
    seconds = time.monotonic() - start
    scores = tasks.forecasting.evaluate(run.model, train, test)
    return run.metrics, scores, seconds


def _throughput(model_dir: Path) -> float:
    """Mean training windows per second over all epochs of all members (from metrics.jsonl)."""
    rates = []
    for log in model_dir.glob("member_*/metrics.jsonl"):
        for line in log.read_text().splitlines():
            record = json.loads(line)
            if "examples_per_s" in record:
                rates.append(record["examples_per_s"])
    return sum(rates) / len(rates) if rates else float("nan")


def _cells(values: dict, keys: tuple[str, ...]) -> str:
    return " | ".join(f"{values[k]:.3f}" if k in values else "" for k in keys)


def _training(summary: dict, seconds: float, model_dir: Path) -> str:
    """One line: wall time, members (context, best epoch, validation score, refit), throughput."""
    members = summary["members"]

    def each(key: str, fmt: str = "{}") -> str:
        return " / ".join(fmt.format(m[key] if m.get(key) is not None else float("nan")) for m in members)

    stops = sorted({m["stop_reason"] for m in members})
    refit = (f", refit {each('refit_epochs')} epochs on the full series"
             if all("refit_epochs" in m for m in members) else "")
    first = members[0]
    return (f"Training: {seconds / 60:.1f} min wall for {len(members)} member(s): context "
            f"{each('context')}, best epoch {each('best_epoch')}, validation {first['monitor']} "
            f"{each('valid_best', '{:.3f}')} (stop: {', '.join(stops)}){refit}; "
            f"{_throughput(model_dir):.0f} windows/s, {first['windows']} windows per epoch, "
            f"{first['padded_series']} series padded (shorter than context + horizon), "
            f"{first['skipped_series']} skipped (too short).")


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def m4_report(n_series: int, summary: dict, scores: dict, seconds: float, model_dir: Path) -> list[str]:
    """M4 Weekly: ours and our baselines on the validation split, the published test-set scores."""
    keys = ("sMAPE", "MASE", "OWA", "MAE", "RMSE")
    lines = [f"### M4 Weekly ({n_series} series, horizon 13)", "",
             "Ours and our baselines are scored on the last 13 values of each training series (the official "
             "test split is held back);", "the published rows are on the test split (Makridakis, Spiliotis & "
             "Assimakopoulos 2020, IJF 36(1), the official", "Evaluation and Ranks sheet): anchors, not a "
             "like-for-like race.", "",
             "| method | " + " | ".join(keys) + " | source |", "|---" * (len(keys) + 2) + "|",
             f"| **patch Transformer (ours)** | {_cells(scores, keys)} | |"]
    lines += [f"| {name} | {_cells(s, keys)} | ours |" for name, s in scores["baselines"].items()]
    lines += [f"| {name} | {_cells(dict(zip(keys, values)), keys)} | Makridakis et al. 2020, test split |"
              for name, *values in M4_ANCHORS]
    owa, minutes = scores["OWA"], seconds / 60
    met = _met(owa <= M4_TARGET and minutes < M4_MINUTES)
    lines += ["", _training(summary, seconds, model_dir), "",
              f"Target: OWA ≤ {M4_TARGET:.2f} in under {M4_MINUTES} minutes on 2 CPU cores: {met} "
              f"({owa:.3f} in {minutes:.1f} min).", ""]
    return lines


def uci_report(n_series: int, summary: dict, scores: dict, seconds: float, model_dir: Path) -> list[str]:
    """UCI weekly sales: ours and our baselines, with the MASE of the data folder's SOURCE.md."""
    keys = ("MASE", "MAE", "RMSE")
    best_name, best = min(((n, s["MASE"]) for n, s in scores["baselines"].items()), key=lambda x: x[1])
    lines = [f"### UCI weekly sales ({n_series} products × 52 weeks, horizon 8; train W0..W43, "
             "score W44..W51)",
             "", "| method | " + " | ".join(keys) + " | MASE in SOURCE.md |", "|---" * (len(keys) + 2) + "|",
             f"| **patch Transformer (ours)** | {_cells(scores, keys)} | |"]
    lines += [f"| {name} | {_cells(s, keys)} | {UCI_ANCHORS.get(name, '')} |"
              for name, s in scores["baselines"].items()]
    lines += ["", _training(summary, seconds, model_dir), "",
              f"Target: MASE below the best baseline ({best_name}, {best:.3f}): "
              f"{_met(scores['MASE'] < best)} ({scores['MASE']:.3f}).", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one member, a 1.5-minute budget per data set")
    parser.add_argument("--only", choices=("m4", "uci"), help="run one data set only")
    args = parser.parse_args(argv)
    quick = " (QUICK run: one member, a 1.5-minute budget; not the benchmark)" if args.quick else ""
    report = [f"Sales forecasting with the patch Transformer and the command line's defaults{quick}.", ""]
    with tempfile.TemporaryDirectory(prefix="forecast-bench-") as tmp:
        folder = Path(tmp)
        if args.only in (None, "m4"):
            if not M4.is_file():
                report += ["### M4 Weekly", "", f"_skipped: {M4} not found_", ""]
            else:
                data = load_series(M4)
                train, test = _write_split(data, 13, folder, "m4")
                summary, scores, seconds = _run(train, test, 13, folder / "m4", args.quick)
                report += m4_report(len(data.ids), summary, scores, seconds, folder / "m4" / "model")
        if args.only in (None, "uci"):
            if not UCI.is_file():
                report += ["### UCI weekly sales", "", f"_skipped: {UCI} not found_", ""]
            else:
                data = load_series(UCI)
                train, test = _write_split(data, 8, folder, "uci")
                summary, scores, seconds = _run(train, test, 8, folder / "uci", args.quick)
                report += uci_report(len(data.ids), summary, scores, seconds, folder / "uci" / "model")
    report += ["How we got here: [LOG.md](LOG.md#forecasting)."]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
