"""Training a risk model: a planted rule learnt far above the baselines; the few-label recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tasks.risk import evaluate, load, train
from tasks.risk.config import RiskTrainConfig, risk_encoder
from tasks.risk.data import read_table
from tests.tasks.risk.tables import planted_table


def _config(**overrides) -> RiskTrainConfig:
    base = dict(encoder=risk_encoder(d_model=32, nhead=4, num_layers=1), epochs=8, batch_size=128, lr=3e-3,
                patience=3)
    return RiskTrainConfig(**{**base, **overrides})


def _train(table, out, **overrides):
    return train(table, out, _config(**overrides), target="label", device="cpu", verbose=False)


def test_model_learns_a_planted_rule_far_above_the_baselines(tmp_path):
    run = _train(read_table(planted_table(tmp_path / "planted.csv")), tmp_path / "run")
    info = run.model.info
    assert run.metrics["roc_auc"] > 0.93 and run.metrics == info["valid"]
    assert run.metrics["auprc"] > info["baselines_valid"]["class_prior"]["auprc"] + 0.5
    test = read_table(planted_table(tmp_path / "test.csv", n=800, seed=1))
    report = evaluate(load(tmp_path / "run"), test)   # save/load round trip
    assert report["roc_auc"] > 0.93 and report["f1"] > 0.75
    assert report["roc_auc"] > report["baselines"]["logistic_regression"]["roc_auc"]
    model = load(tmp_path / "run")
    fresh = model.score(model.encode(test, require_target=True))
    assert np.allclose(fresh, run.model.score(run.model.encode(test, require_target=True)))


def test_the_training_settings_are_recorded_with_the_model(tmp_path):
    config = _config(epochs=1)
    run = train(planted_table(tmp_path / "planted.csv", n=600), tmp_path / "run", config, target="label",
                drop="noise", categorical="shop", seed=3, device="cpu", verbose=False)   # a string: one name
    settings = run.model.info["settings"]
    assert RiskTrainConfig.from_dict(settings["config"]) == config
    assert settings["drop"] == ["noise"] and settings["seed"] == 3 and settings["target"] == "label"
    assert settings["categorical"] == ["shop"] and run.model.schema.categorical == ["shop"]
    assert "noise" not in run.model.schema.numeric
    assert json.loads((tmp_path / "run" / "train_config.json").read_text())["task"] == settings


def test_few_labels_pipeline_pretrains_on_all_rows_and_pseudo_labels_the_rest(tmp_path):
    """label_fraction < 1: pretraining (validated on a fixed-mask hold-out, so its loss is steady),
    cross-fitted teachers, soft pseudo-labels; the model kept is the student, far above the
    baselines on fresh rows."""
    table = read_table(planted_table(tmp_path / "planted.csv", n=2400))
    run = _train(table, tmp_path / "run", label_fraction=0.2, pretrain_epochs=3, pseudo_rounds=1,
                 pseudo_teachers=2, pseudo_epochs=2)
    info = run.model.info
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
    report = evaluate(load(tmp_path / "run"), test)
    assert report["roc_auc"] > 0.9
    assert report["roc_auc"] > report["baselines"]["logistic_regression"]["roc_auc"]


def test_hard_pseudo_labels_fine_tune_one_model_on_every_labelled_train_row(tmp_path):
    """Cross-fitting is for the soft teachers' ensemble; with pseudo_labels="hard" the single
    first model sees all the labelled training rows and stops on the validation split."""
    table = read_table(planted_table(tmp_path / "planted.csv", n=1200))
    run = _train(table, tmp_path / "run", label_fraction=0.3, pretrain_epochs=1, pseudo_rounds=1,
                 pseudo_labels="hard", epochs=3, pseudo_epochs=1)
    info = run.model.info
    finetune = info["stages"][1]
    assert finetune["stage"] == "finetune" and finetune["early_stopping_set"] == "validation"
    assert finetune["rows"] == info["rows"]["labelled_train"]
    assert info["chosen_model"] == "pseudo_1"


def test_long_trainings_show_one_labelled_bar_per_stage(tmp_path, capsys, monkeypatch):
    """On a terminal each stage shows a bar of epochs labelled with the stage (pretraining first) and
    writes its epoch lines above it; elsewhere the core Trainer's plain epoch lines are printed."""
    import tasks.risk.session

    table = read_table(planted_table(tmp_path / "planted.csv", n=400))
    few = dict(label_fraction=0.5, pretrain_epochs=1, pseudo_rounds=1, pseudo_teachers=2, pseudo_epochs=1,
               epochs=1)
    monkeypatch.setattr(tasks.risk.session, "progress_enabled", lambda setting: True)
    train(table, tmp_path / "bars", _config(**few), target="label", device="cpu")
    out, err = capsys.readouterr()
    for label in ("pretraining", "fine-tuning", "teacher 2", "student 1"):
        assert f"{label}: 100%" in err, label
    assert err.index("pretraining") < err.index("fine-tuning")
    assert "pretraining epoch 1/1  valid_loss" in out and "\nepoch 1/1" not in out
    monkeypatch.setattr(tasks.risk.session, "progress_enabled", lambda setting: False)
    train(table, tmp_path / "plain", _config(**few), target="label", device="cpu")
    out, err = capsys.readouterr()
    assert "100%" not in err and "epoch 1/1  loss" in out
