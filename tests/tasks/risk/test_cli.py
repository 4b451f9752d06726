"""``minitransformer risk ...``: the four actions end to end, and bad input in one line."""

from __future__ import annotations

import json
import math
import re

from minitransformer.cli.main import main
from tasks.risk.config import RiskTrainConfig, risk_encoder
from tasks.risk.data import read_table
from tasks.risk.synthetic import SCENARIOS
from tests.tasks.risk.tables import snapshot, write_csv


def test_cli_simulate_train_evaluate_predict(tmp_path, capsys):
    data, out = tmp_path / "tx.csv", tmp_path / "run"
    assert main(["risk", "simulate", "--out", str(data), "--customers", "40", "--days", "20"]) == 0
    assert main(["risk", "train", "--data", str(data), "--out", str(out), "--epochs", "1", "--d-model", "16",
                 "--layers", "1", "--cost-fn", "5", "--cost-fp", "1", "--device", "cpu",
                 "--json", str(tmp_path / "train.json")]) == 0
    assert "validation: ROC-AUC" in capsys.readouterr().out
    info = json.loads((tmp_path / "train.json").read_text())
    assert info["threshold_rule"] == "min expected cost" and info["settings"]["target"] == "is_fraud"
    expected = RiskTrainConfig(encoder=risk_encoder(d_model=16, num_layers=1), epochs=1,
                               cost_fn=5.0, cost_fp=1.0)
    assert info["settings"]["config"] == expected.to_dict()      # every other setting: the defaults
    report_path = tmp_path / "report.json"
    assert main(["risk", "evaluate", "--model", str(out), "--data", str(data),
                 "--json", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    for key in ("roc_auc", "auprc", "precision", "recall", "f1", "threshold", "cost"):
        assert math.isfinite(report[key])
    assert set(report["baselines"]) == {"class_prior", "logistic_regression"}
    assert set(report["scenario_recall"]) <= set(SCENARIOS)
    scores = tmp_path / "scores.csv"
    assert main(["risk", "predict", "--model", str(out), "--data", str(data), "--output", str(scores),
                 "--id-column", "transaction_id"]) == 0
    lines = scores.read_text().splitlines()
    assert lines[0] == "transaction_id,score,flagged" and len(lines) == 1 + len(read_table(data).rows)
    assert main(["risk", "predict", "--model", str(out), "--data", str(data), "--output", str(scores),
                 "--explain", "2"]) == 0
    header, first = scores.read_text().splitlines()[:2]
    assert header == "row,score,flagged,attended_to" and len(first.split(",")[3].split(";")) == 2
    assert main(["risk", "predict", "--model", str(out), "--data", str(data), "--explain", "-1"]) == 2


def test_cli_attention_flag_chooses_the_backend(tmp_path):
    data = tmp_path / "tx.csv"
    assert main(["risk", "simulate", "--out", str(data), "--customers", "30", "--days", "15"]) == 0
    for backend in ("sdpa", None):
        out = tmp_path / f"run_{backend}"
        flag = ["--attention", backend] if backend else []
        assert main(["risk", "train", "--data", str(data), "--out", str(out), "--epochs", "1",
                     "--d-model", "16", "--layers", "1", "--device", "cpu", *flag]) == 0
        config = json.loads((out / "config.json").read_text())
        assert config["encoder"]["attention_backend"] == (backend or "manual")
    assert main(["risk", "train", "--data", str(data), "--out", str(out), "--attention", "flash"]) == 2


def test_cli_bad_input_exits_2(tmp_path, capsys):
    path = write_csv(tmp_path / "t.csv", ["a", "y"], [(1, 0), ("nan", 1), (3, 0), (4, 1)])
    assert main(["risk", "train", "--data", str(path), "--target", "label",
                 "--out", str(tmp_path / "r")]) == 2
    assert "columns found: a, y" in capsys.readouterr().err
    assert main(["risk", "train", "--data", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "name the target column (--target COLUMN); columns found: a, y" in capsys.readouterr().err
    assert main(["risk", "train", "--data", str(path), "--target", "y", "--out", str(tmp_path / "r")]) == 2
    assert "t.csv, line 3: column 'a'" in capsys.readouterr().err
    assert main(["risk", "train", "--data", str(tmp_path / "missing.csv"), "--target", "y",
                 "--out", str(tmp_path / "r")]) == 2
    assert main(["risk", "train", "--data", str(path), "--target", "y", "--cost-fn", "5",
                 "--target-precision", "0.9", "--cost-fp", "1", "--out", str(tmp_path / "r")]) == 2
    assert "--target-precision cannot be combined" in capsys.readouterr().err
    assert main(["risk", "train", "--out", str(tmp_path / "r")]) == 2
    assert "risk train: --data is required" in capsys.readouterr().err
    assert main(["risk", "evaluate", "--model", str(tmp_path / "nope"), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "model directory not found" in err and "Traceback" not in err


def _help(capsys, *argv) -> str:
    assert main(["risk", *argv, "--help"]) == 0
    return capsys.readouterr().out


def test_each_action_lists_only_its_own_options(capsys):
    training_only = ("--epochs", "--lr", "--max-minutes", "--resume", "--out", "--label-fraction", "--target")
    for action in ("evaluate", "predict"):
        text = _help(capsys, action)
        assert "--model" in text and "--data" in text and "Your own data" in text
        assert not [option for option in training_only if re.search(option + r"\b(?!-)", text)], action
    train = _help(capsys, "train")
    assert "docs/tasks/risk.md, section 'Your own data'" in " ".join(train.split())
    assert "--resume" not in train and "--model" not in train and "--time" in train and "--keep" in train
    for action in ("train", "evaluate", "predict", "simulate"):
        assert "see above" not in _help(capsys, action)


def test_metrics_are_printed_with_at_most_four_decimals(tiny_model, capsys):
    _, data, run_dir = tiny_model
    assert main(["risk", "evaluate", "--model", str(run_dir), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "ROC-AUC" in out and not re.search(r"\d\.\d{5,}", out)


def test_cli_writes_no_file_over_the_input_or_the_model(tiny_model, tmp_path, capsys):
    folder, data, run_dir = tiny_model
    before, model_files = data.read_bytes(), snapshot(run_dir)
    for option, target in (("--output", data), ("--output", run_dir / "config.json"), ("--json", data),
                           ("--output", run_dir)):
        argv = ["risk", "predict", "--model", str(run_dir), "--data", str(data), option, str(target)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{option} {target}" in err
    assert main(["risk", "evaluate", "--model", str(run_dir), "--data", str(data), "--json",
                 str(run_dir / "risk.json")]) == 2
    assert main(["risk", "simulate", "--out", str(data), "--customers", "2", "--days", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert data.read_bytes() == before and snapshot(run_dir) == model_files
    scores, summary = tmp_path / "scores.csv", tmp_path / "summary.json"
    assert main(["risk", "predict", "--model", str(run_dir), "--data", str(data), "--output", str(scores),
                 "--json", str(summary)]) == 0
    written = json.loads(summary.read_text())
    assert written["rows"] == len(scores.read_text().splitlines()) - 1 and written["output"] == str(scores)


def test_cli_warns_once_about_an_id_like_column(tmp_path, capsys):
    rows = [(f"A{i:03d}", f"{(i * 37) % 101 + 0.5}", i % 3, int(i % 4 == 0)) for i in range(60)]
    path = write_csv(tmp_path / "orders.csv", ["order_ref", "amount", "hour", "fraud"], rows)
    assert main(["risk", "train", "--data", str(path), "--target", "fraud", "--out", str(tmp_path / "run"),
                 "--epochs", "1", "--d-model", "16", "--layers", "1", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert err.count("looks like an id") == 1 and "column 'order_ref'" in err and "--keep order_ref" in err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["schema"]["id_like"] == {"order_ref": "a different text in every row"}
