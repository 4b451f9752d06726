"""``minitransformer risk ...``: the four actions end to end, and bad input in one line."""

from __future__ import annotations

import json
import math

from minitransformer.cli.main import main
from tasks.risk.config import RiskTrainConfig, risk_encoder
from tasks.risk.data import read_table
from tasks.risk.synthetic import SCENARIOS
from tests.tasks.risk.tables import write_csv


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
    assert "column 'a', row 2" in capsys.readouterr().err
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
