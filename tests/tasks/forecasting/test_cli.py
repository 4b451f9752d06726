"""``minitransformer forecast ...`` end to end: train, evaluate, predict, and bad input."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re

import numpy as np
import pytest

from minitransformer.cli.main import main
from tasks.forecasting import baselines as bl
from tasks.forecasting import load
from tests.tasks.forecasting.series import planted, tiny_m4, write


def test_cli_train_evaluate_predict(tmp_path, capsys):
    train = tiny_m4(tmp_path)
    out = tmp_path / "model"
    common = ["--epochs", "2", "--batch-size", "32", "--device", "cpu"]
    assert main(["forecast", "train", "--data", str(train), "--horizon", "4", "--context", "16",
                 "--patch-len", "4", "--d-model", "16", "--layers", "1", "--members", "2",
                 "--quantiles", "0.1,0.5,0.9", "--out", str(out), "--json", str(tmp_path / "train.json"),
                 *common]) == 0
    assert (out / "member_1" / "selection" / "config.json").is_file()   # selection run, then refit
    summary = json.loads((tmp_path / "train.json").read_text())
    assert [m["context"] for m in summary["members"]] == [16, 12] and summary["train_seconds"] > 0
    assert "trained 2 member(s)" in capsys.readouterr().out
    report = tmp_path / "scores.json"
    assert main(["forecast", "evaluate", "--model", str(out), "--data", str(train),
                 "--json", str(report)]) == 0
    scores = json.loads(report.read_text())
    assert {"MAE", "RMSE", "MASE", "sMAPE", "OWA"} <= set(scores)
    assert set(scores["baselines"]) == set(bl.BASELINE_NAMES)
    assert scores["baselines"]["Naive2"]["OWA"] == pytest.approx(1.0)
    assert "note: the model was refit" in capsys.readouterr().out
    # --test: M4 layout, the same ids, H values each
    test_rows = ['"V1","V2","V3","V4","V5"'] + [f'"T{i}",1,2,3,4' for i in range(6)]
    test = write(tmp_path, "test.csv", "\n".join(test_rows) + "\n")
    assert main(["forecast", "evaluate", "--model", str(out), "--data", str(train), "--test", str(test)]) == 0
    assert f"6 series, horizon 4, scored against {test}" in capsys.readouterr().out
    assert main(["forecast", "predict", "--model", str(out), "--data", str(train), "--series", "T1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "series_id,step,forecast,p10,p90" and len(lines) == 5
    assert [line.split(",")[1] for line in lines[1:]] == ["1", "2", "3", "4"]
    pytest.importorskip("matplotlib")
    png = tmp_path / "t1.png"
    assert main(["forecast", "predict", "--model", str(out), "--data", str(train), "--series", "T1",
                 "--holdout", "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000


def test_cli_long_format_with_dates_and_promotions(tmp_path):
    rows = ["series_id,date,value,promo"]
    for s, x in enumerate(planted(3, 40)):
        for t, v in enumerate(x):
            day = np.datetime64("2023-01-02") + 7 * t
            rows.append(f"s{s},{day},{v:.2f},{int(t % 5 == 0)}")
    data = write(tmp_path, "long.csv", "\n".join(rows) + "\n")
    out = tmp_path / "model"
    assert main(["forecast", "train", "--data", str(data), "--horizon", "4", "--context", "16",
                 "--patch-len", "4", "--d-model", "16", "--layers", "1", "--members", "1", "--epochs", "1",
                 "--no-refit", "--out", str(out), "--device", "cpu"]) == 0
    model = load(out)
    assert model.members[0].config.n_covariates == 5                 # 4 calendar features + promo
    assert model.settings.refit is False and model.settings.format == "long"
    assert main(["forecast", "evaluate", "--model", str(out), "--data", str(data)]) == 0


def test_cli_bad_input_exits_2(tmp_path, capsys):
    bad = write(tmp_path, "bad.csv", '"V1","V2","V3"\n"W1",1,oops\n')
    run = tmp_path / "m"
    assert main(["forecast", "train", "--data", str(bad), "--horizon", "1", "--out", str(run)]) == 2
    assert "bad.csv, line 2, column 'V3'" in capsys.readouterr().err
    short = write(tmp_path, "short.csv", '"V1","V2","V3"\n"W1",1,2\n')
    assert main(["forecast", "train", "--data", str(short), "--horizon", "9", "--out", str(run)]) == 2
    assert "longer than every series" in capsys.readouterr().err
    assert main(["forecast", "evaluate", "--model", str(tmp_path / "none"), "--data", str(short)]) == 2
    assert "not a trained forecasting model" in capsys.readouterr().err
    assert main(["forecast", "train", "--data", str(short), "--horizon", "0", "--out", str(run)]) == 2
    assert "--horizon" in capsys.readouterr().err
    assert main(["forecast", "train", "--horizon", "2", "--out", str(run)]) == 2
    assert "forecast train: --data is required" in capsys.readouterr().err
    assert main(["forecast", "predict", "--model", str(run), "--data", str(short), "--plot", "x.png"]) == 2
    assert "--plot needs --series" in capsys.readouterr().err


def test_cli_refuses_to_overwrite_a_trained_model(tmp_path, capsys):
    data = tiny_m4(tmp_path)
    args = ["forecast", "train", "--data", str(data), "--horizon", "4", "--context", "8", "--patch-len", "4",
            "--d-model", "8", "--layers", "1", "--members", "1", "--epochs", "1", "--no-refit",
            "--out", str(tmp_path / "m"), "--device", "cpu"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert f"--out {tmp_path / 'm'}: already holds files (forecast.json, member_0)" in capsys.readouterr().err


def _help(*words: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["forecast", *words, "--help"]) == 0
    return " ".join(out.getvalue().split())                   # argparse wraps lines: join them


def test_each_action_lists_only_its_own_options_and_train_names_the_data_page():
    train, evaluate, predict = _help("train"), _help("evaluate"), _help("predict")
    assert "series_id,date,value" in train and "docs/tasks/forecasting.md, section 'Your own data'" in train
    assert "--resume" not in train and "--model" not in train            # no resume; starts from scratch
    for text in (evaluate, predict):
        for option in ("--epochs", "--lr", "--max-minutes", "--resume", "--out", "--horizon", "--members"):
            assert option not in text, option
        assert "Your own data" in text
    assert "--future FILE" in predict and "--frequency" not in predict and "--test" in evaluate
    assert "see above" not in train + evaluate + predict


def test_simulate_never_overwrites_a_file(tmp_path, capsys):
    out = tmp_path / "sales.csv"
    assert main(["forecast", "simulate", "--out", str(out), "--products", "2", "--weeks", "10"]) == 0
    before = out.read_bytes()
    assert main(["forecast", "simulate", "--out", str(out), "--products", "3"]) == 2
    assert "already exists; simulate never overwrites a file" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["forecast", "simulate", "--out", str(tmp_path / "x.csv"), "--products", "100000"]) == 2
    assert "at most 5,000,000 product-weeks" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()


def test_an_output_may_not_be_an_input_and_ids_are_quoted_in_the_csv(tmp_path, capsys):
    rows = ['"V1","V2","V3","V4","V5","V6"', '"a,b",1,2,3,4,5', '"say ""hi""",5,4,3,2,1']
    data = write(tmp_path, "quoted.csv", "\n".join(rows) + "\n")
    out = tmp_path / "m"
    assert main(["forecast", "train", "--data", str(data), "--out", str(out), "--horizon", "2",
                 "--context", "4", "--patch-len", "2", "--d-model", "8", "--layers", "1", "--members", "1",
                 "--epochs", "1", "--no-refit", "--device", "cpu"]) == 0
    capsys.readouterr()
    before = data.read_bytes()
    assert main(["forecast", "predict", "--model", str(out), "--data", str(data), "--json", str(data)]) == 2
    assert "--json" in capsys.readouterr().err and data.read_bytes() == before
    assert main(["forecast", "predict", "--model", str(out), "--data", str(data)]) == 0
    table = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert [row[0] for row in table[1:]] == ["a,b", "a,b", 'say "hi"', 'say "hi"']


def test_metrics_are_printed_rounded(tmp_path, capsys):
    data = tiny_m4(tmp_path)
    out = tmp_path / "m"
    assert main(["forecast", "train", "--data", str(data), "--out", str(out), "--horizon", "4",
                 "--context", "8", "--patch-len", "4", "--d-model", "8", "--layers", "1", "--members", "1",
                 "--epochs", "1", "--no-refit", "--device", "cpu"]) == 0
    assert main(["forecast", "evaluate", "--model", str(out), "--data", str(data)]) == 0
    numbers = re.findall(r"\d+\.\d+", capsys.readouterr().out)
    assert numbers and all(len(n.split(".")[1]) <= 4 for n in numbers)
