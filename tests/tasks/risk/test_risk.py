"""Risk head: loading and typing tables, the model, the simulator, learning, saving, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from minitransformer.cli.main import main
from minitransformer.metrics.classification import roc_auc
from tasks.risk.baselines import LogisticRegression
from tasks.risk.data import (
    detect_history,
    encode,
    infer_schema,
    read_table,
    stratified_folds,
    stratified_split,
)
from tasks.risk.evaluate import evaluate_table, load_run
from tasks.risk.model import RiskModelConfig, TabularTransformer
from tasks.risk.normalize import NumericNormalizer
from tasks.risk.pretrain import MaskedFeatureModel, masked_reconstruction_loss
from tasks.risk.simulate import (
    COLUMNS,
    HISTORY,
    SCENARIOS,
    SimulatorConfig,
    customer_features,
    simulate_transactions,
    terminal_features,
    write_transactions,
)
from tasks.risk.train import RiskSettings, train_risk_model


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header), *(",".join(map(str, r)) for r in rows)]) + "\n")
    return path


def planted_table(path, n=1600, seed=0):
    """y = 1 when a > 1, or when the shop is 'z' and b > 0 (about 26% positives)."""
    rng = np.random.default_rng(seed)
    a, b, noise = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    shop = rng.choice(["x", "y", "z"], n)
    y = ((a > 1) | ((shop == "z") & (b > 0))).astype(int)
    rows = [(f"{a[i]:.4f}", f"{b[i]:.4f}", f"{noise[i]:.4f}", shop[i], y[i]) for i in range(n)]
    return write_csv(path, ["a", "b", "noise", "shop", "label"], rows)


# --- loading and typing ----------------------------------------------------------------------

def test_columns_are_typed_and_categories_get_ids(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["ID", "amount", "shop", "code", "y"],
                     [(1, 5.0, "a", 7, 0), (2, 6.5, "b", 7, 1), (3, 1.0, "a", 8, 0), (4, 2.0, "b", 8, 1)])
    table = read_table(path)
    schema = infer_schema(table, "y", drop=["ID"], categorical=["code"])
    assert schema.numeric == ["amount"] and schema.categorical == ["shop", "code"]
    assert schema.positive == "1" and schema.vocab["shop"] == ["a", "b"]
    data = encode(table, schema)
    assert data.categorical[:, 0].tolist() == [1, 2, 1, 2] and data.labels.tolist() == [0, 1, 0, 1]


def test_unknown_categories_map_to_the_reserved_id_and_are_counted(tmp_path):
    train = read_table(write_csv(tmp_path / "a.csv", ["shop", "y"], [("a", 0), ("a", 1), ("b", 0), ("b", 1)]))
    schema = infer_schema(train, "y")
    new = read_table(write_csv(tmp_path / "b.csv", ["shop", "y"], [("a", 0), ("c", 1), ("d", 0)]))
    data = encode(new, schema)
    assert data.categorical[:, 0].tolist() == [1, 0, 0] and data.unknown == {"shop": 2}


def test_bad_tables_give_clear_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,y\n")
    with pytest.raises(ValueError, match="no data rows"):
        read_table(tmp_path / "header.csv")
    (tmp_path / "ragged.csv").write_text("a,y\n1,0\n2,1,3\n")
    with pytest.raises(ValueError, match="line 3: expected 2 fields"):
        read_table(tmp_path / "ragged.csv")
    table = read_table(write_csv(tmp_path / "t.csv", ["a", "y"], [(1, 0), (2, 0)]))
    with pytest.raises(ValueError, match="only one class"):
        infer_schema(table, "y")
    with pytest.raises(ValueError, match="'label' not found; columns found: a, y"):
        infer_schema(table, "label")
    table = read_table(write_csv(tmp_path / "m.csv", ["a", "gone", "y"], [(1, "", 0), (2, "NA", 1)]))
    with pytest.raises(ValueError, match="column 'gone' has no values"):
        infer_schema(table, "y")


def test_nan_and_inf_name_column_and_row_or_are_imputed(tmp_path):
    table = read_table(write_csv(tmp_path / "t.csv", ["a", "b", "y"],
                                 [(1, 2, 0), (3, "nan", 1), (5, "inf", 0), (7, 4, 1)]))
    schema = infer_schema(table, "y")
    with pytest.raises(ValueError, match=r"column 'b', row 2 \(line 3\).*--impute median"):
        encode(table, schema)
    schema = infer_schema(table, "y", impute="median")
    data = encode(table, schema)
    assert data.numeric[:, 1].tolist() == [2.0, 3.0, 3.0, 4.0] and data.imputed == {"b": 2}


def test_history_families_are_detected():
    taiwan = ["LIMIT_BAL", "AGE", "PAY_0", *(f"PAY_{k}" for k in range(2, 7)),
              *(f"BILL_AMT{k}" for k in range(1, 7)), *(f"PAY_AMT{k}" for k in range(1, 7))]
    groups = detect_history(taiwan)
    assert groups[0] == ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"] and len(groups) == 3
    assert detect_history([f"V{k}" for k in range(1, 29)] + ["Amount"]) == []   # one group: no history


def test_stratified_split_keeps_class_shares():
    labels = np.array([1] * 20 + [0] * 80)
    rest, part = stratified_split(labels, 0.25, seed=0)
    assert len(part) == 25 and labels[part].sum() == 5 and len(np.intersect1d(rest, part)) == 0


def test_stratified_folds_deal_each_class_evenly():
    labels = np.array([1] * 21 + [0] * 79)
    folds = stratified_folds(labels, 4, seed=0)
    assert sorted(np.unique(folds)) == [0, 1, 2, 3]
    assert all(abs(labels[folds == j].sum() - 21 / 4) < 1 for j in range(4))     # 5 or 6 positives
    assert all(abs((folds == j).sum() - 25) <= 1 for j in range(4))
    assert not np.array_equal(folds, stratified_folds(labels, 4, seed=1))        # seeded shuffle
    with pytest.raises(ValueError, match="k=1"):
        stratified_folds(labels, 1)


# --- model pieces ----------------------------------------------------------------------------

def test_quantile_normaliser_makes_skewed_columns_standard_normal():
    rng = np.random.default_rng(0)
    values = np.stack([rng.lognormal(0, 2, 5000), rng.integers(0, 3, 5000) * 1.0], axis=1)
    norm = NumericNormalizer(2, 256).fit(values)
    z = norm(torch.tensor(values, dtype=torch.float32))
    assert abs(z[:, 0].mean()) < 0.05 and abs(z[:, 0].std() - 1) < 0.05
    # a tie block gets the middle of its range: about a third of the rows are 0 -> u ~ 1/6
    assert z[values[:, 1] == 0, 1].unique().numel() == 1
    assert float(z[values[:, 1] == 0, 1][0]) == pytest.approx(float(torch.special.ndtri(torch.tensor(1 / 6))),
                                                               abs=0.05)


def test_both_views_keep_how_extreme_a_tail_value_is():
    values = np.concatenate([np.arange(1000.0), [5000.0, 50000.0]])[:, None]      # two outliers
    norm = NumericNormalizer(1, 64, method="both").fit(values)
    views = norm.views(torch.tensor([[999.0], [5000.0], [50000.0]]))
    assert views.shape == (3, 1, 2)
    rank, standard = views[..., 0].flatten(), views[..., 1].flatten()
    assert rank[1] - rank[0] < 0.5                              # the rank barely tells them apart
    expected = (5000 - values.mean()) / values.std()
    assert standard[1].item() == pytest.approx(expected, rel=1e-4) and standard[2].item() == 10.0  # clipped


def _model(table, **kwargs):
    schema = infer_schema(table, "label")
    config = RiskModelConfig(schema=schema.to_dict(), d_model=16, nhead=2, num_layers=1,
                             dim_feedforward=32, **kwargs)
    model = TabularTransformer(config)
    data = encode(table, schema)
    model.normalizer.fit(data.numeric)
    return model, torch.from_numpy(data.numeric), torch.from_numpy(data.categorical)


def test_history_columns_become_step_tokens(tmp_path):
    header = ["age", *(f"bill{k}" for k in range(1, 4)), *(f"paid{k}" for k in range(1, 4)), "label"]
    rows = [(20 + i, *range(i, i + 3), *range(i, i + 3), i % 2) for i in range(8)]
    table = read_table(write_csv(tmp_path / "h.csv", header, rows))
    model, numeric, categorical = _model(table)
    assert model.num_tokens == 1 + 1 + 3          # [CLS], age, 3 months
    assert model(numeric, categorical).shape == (8,)
    flat, _, _ = _model(table, sequence_view=False)
    assert flat.num_tokens == 1 + 7
    wrapper = MaskedFeatureModel(model)
    loss = masked_reconstruction_loss(wrapper, numeric, categorical)
    loss.backward()
    assert torch.isfinite(loss) and model.numeric_mask.grad is not None


# --- simulator -------------------------------------------------------------------------------

def test_simulator_is_seeded_and_plants_each_scenario_at_the_documented_rate():
    data = simulate_transactions(SimulatorConfig(customers=200, days=45, seed=0))
    again = simulate_transactions(SimulatorConfig(customers=200, days=45, seed=0))
    assert np.array_equal(data["amount"], again["amount"])
    n, scenario = len(data["amount"]), data["fraud_scenario"]
    rates = {name: (scenario == name).mean() for name in SCENARIOS}
    assert 0.002 < rates["stolen_card"] < 0.015
    assert 0.003 < rates["compromised_terminal"] < 0.04
    assert 0.0005 < rates["large_amount"] < 0.005
    assert np.array_equal(data["is_fraud"], (scenario != "none").astype(int)) and n > 15000
    assert (data["amount"][scenario == "large_amount"] > 200).all()


def test_customer_features_use_only_earlier_purchases_of_the_same_card():
    customer, time = np.array([0, 1, 0, 0]), np.array([0.0, 1.0, 10.0, 40.0])    # hours
    f = customer_features(customer, time, np.array([10.0, 99.0, 20.0, 60.0]))
    assert f["prev_amount_1"].tolist() == [0, 0, 10, 20] and f["prev_gap_1"].tolist() == [999, 999, 10, 30]
    assert f["prev_amount_2"].tolist() == [0, 0, 0, 10] and f["prev_gap_2"][3] == 40
    assert f["customer_tx_count_1d"].tolist() == [0, 0, 1, 0]      # at 40 h, 10 h is > 24 h ago
    assert f["customer_tx_count_7d"].tolist() == [0, 0, 1, 2] and f["customer_avg_amount_7d"][3] == 15


def test_terminal_risk_sees_frauds_only_after_the_feedback_delay():
    terminal, day = np.array([0, 0, 0, 1, 0]), np.array([0, 0, 1, 1, 2])
    is_fraud = np.array([1, 0, 0, 1, 0])
    f = terminal_features(terminal, day, is_fraud, n_terminals=2, days=3, delay=1)
    assert f["terminal_tx_count_1d"].tolist() == [0, 0, 2, 0, 1]
    assert f["terminal_risk_1d"].tolist() == [0, 0, 0.5, 0, 0]          # row 3's own fraud is unseen
    assert f["terminal_tx_count_7d"][4] == 3 and f["terminal_risk_7d"][4] == pytest.approx(1 / 3)
    late = terminal_features(terminal, day, is_fraud, n_terminals=2, days=3, delay=2)
    assert late["terminal_risk_1d"].tolist() == [0, 0, 0, 0, 0.5]


def test_simulated_history_becomes_step_tokens():
    numeric = [c for c in COLUMNS if c.startswith(("prev_", "customer_", "amount"))]
    assert detect_history(numeric) == [[f"prev_amount_{k}" for k in range(1, HISTORY + 1)],
                                       [f"prev_gap_{k}" for k in range(1, HISTORY + 1)]]


# --- learning, saving, baselines -------------------------------------------------------------

def _settings(**overrides):
    base = dict(target="label", epochs=8, batch_size=128, lr=3e-3, d_model=32, nhead=4, num_layers=1,
                patience=3, device="cpu", verbose=False)
    return RiskSettings(**{**base, **overrides})


def test_model_learns_a_planted_rule_far_above_the_baselines(tmp_path):
    table = read_table(planted_table(tmp_path / "planted.csv"))
    info = train_risk_model(table, _settings(), tmp_path / "run")
    assert info["valid"]["roc_auc"] > 0.93
    assert info["valid"]["auprc"] > info["baselines_valid"]["class_prior"]["auprc"] + 0.5
    test = read_table(planted_table(tmp_path / "test.csv", n=800, seed=1))
    report = evaluate_table(load_run(tmp_path / "run"), test)   # save/load round trip
    assert report["roc_auc"] > 0.93 and report["f1"] > 0.75
    assert report["roc_auc"] > report["baselines"]["logistic_regression"]["roc_auc"]
    run = load_run(tmp_path / "run")
    fresh = run.score(run.encode(test, require_target=True))
    assert np.allclose(fresh, run.score(run.encode(test, require_target=True)))


def test_logistic_regression_baseline_matches_sklearn(tmp_path):
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    numeric = rng.normal(size=(400, 3)) * [1, 10, 100]
    labels = (numeric @ [1, 0.1, -0.01] + rng.normal(size=400) > 0).astype(int)
    categorical = rng.integers(0, 3, (400, 1))
    ours = LogisticRegression([3], l2=0.0).fit(numeric, categorical, labels, max_iter=500)
    x = ours.features(numeric, categorical).numpy()
    theirs = linear_model.LogisticRegression(C=1e6, max_iter=5000).fit(x, labels)
    assert roc_auc(labels, ours.predict_proba(numeric, categorical)) == pytest.approx(
        roc_auc(labels, theirs.predict_proba(x)[:, 1]), abs=1e-3)


# --- command line ----------------------------------------------------------------------------

def test_cli_simulate_train_evaluate_predict(tmp_path, capsys):
    data, out = tmp_path / "tx.csv", tmp_path / "run"
    assert main(["risk", "simulate", "--out", str(data), "--customers", "40", "--days", "20"]) == 0
    assert main(["risk", "train", "--data", str(data), "--out", str(out), "--epochs", "1", "--d-model", "16",
                 "--layers", "1", "--cost-fn", "5", "--cost-fp", "1", "--device", "cpu"]) == 0
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


def test_cli_bad_input_exits_2(tmp_path, capsys):
    path = write_csv(tmp_path / "t.csv", ["a", "y"], [(1, 0), ("nan", 1), (3, 0), (4, 1)])
    assert main(["risk", "train", "--data", str(path), "--target", "label",
                 "--out", str(tmp_path / "r")]) == 2
    assert "columns found: a, y" in capsys.readouterr().err
    assert main(["risk", "train", "--data", str(path), "--target", "y", "--out", str(tmp_path / "r")]) == 2
    assert "column 'a', row 2" in capsys.readouterr().err
    assert main(["risk", "train", "--data", str(tmp_path / "missing.csv"), "--target", "y",
                 "--out", str(tmp_path / "r")]) == 2
    assert main(["risk", "evaluate", "--model", str(tmp_path / "nope"), "--data", str(path)]) == 2


def test_write_transactions_counts(tmp_path):
    counts = write_transactions(tmp_path / "t.csv", SimulatorConfig(customers=20, days=5, seed=3))
    assert counts["rows"] == len(read_table(tmp_path / "t.csv").rows)


def test_few_labels_pipeline_pretrains_on_all_rows_and_pseudo_labels_the_rest(tmp_path):
    """--label-fraction: pretraining (validated on a fixed-mask hold-out, so its loss is steady),
    cross-fitted teachers, soft pseudo-labels; the model kept is the student, far above the
    baselines on fresh rows."""
    table = read_table(planted_table(tmp_path / "planted.csv", n=2400))
    info = train_risk_model(table, _settings(label_fraction=0.2, pretrain_epochs=3, pseudo_rounds=1,
                                             pseudo_teachers=2, pseudo_epochs=2), tmp_path / "run")
    rows = info["rows"]
    assert rows["unlabelled"] == pytest.approx(0.8 * 2400, abs=2)
    assert rows["labelled_train"] + rows["valid"] == 2400 - rows["unlabelled"]
    stages = [s["stage"] for s in info["stages"]]
    assert stages[:3] == ["pretrain", "finetune", "teacher_2"] and stages[-1] == "pseudo_1"
    lines = (tmp_path / "run/pretrain/metrics.jsonl").read_text().splitlines()
    losses = [e["valid_loss"] for e in map(json.loads, lines) if e["event"] == "epoch"]
    assert losses[-1] < losses[0]                           # reconstruction is learned
    assert [s["early_stopping_set"] for s in info["stages"][1:]] == ["fold 0", "fold 1", "validation"]
    assert [s["rows"] for s in info["stages"][1:3]] == pytest.approx([rows["labelled_train"] / 2] * 2, abs=2)
    assert info["chosen_model"] == "pseudo_1"                   # teachers only teach
    test = read_table(planted_table(tmp_path / "test.csv", n=800, seed=1))
    report = evaluate_table(load_run(tmp_path / "run"), test)
    assert report["roc_auc"] > 0.9
    assert report["roc_auc"] > report["baselines"]["logistic_regression"]["roc_auc"]


def test_hard_pseudo_labels_fine_tune_one_model_on_every_labelled_train_row(tmp_path):
    """Cross-fitting is for the soft teachers' ensemble; with --pseudo-labels hard the single
    first model sees all the labelled training rows and stops on the validation split."""
    table = read_table(planted_table(tmp_path / "planted.csv", n=1200))
    info = train_risk_model(table, _settings(label_fraction=0.3, pretrain_epochs=1, pseudo_rounds=1,
                                             pseudo_labels="hard", epochs=3, pseudo_epochs=1),
                            tmp_path / "run")
    finetune = info["stages"][1]
    assert finetune["stage"] == "finetune" and finetune["early_stopping_set"] == "validation"
    assert finetune["rows"] == info["rows"]["labelled_train"]
    assert info["chosen_model"] == "pseudo_1"
