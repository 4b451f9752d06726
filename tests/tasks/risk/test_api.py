"""The Python API of the risk head: train / load / evaluate / predict, and their examples."""

from __future__ import annotations

import importlib
import types

import numpy as np
import pytest

import tasks.risk
from minitransformer.training import Run
from tasks.risk.config import RiskTrainConfig, risk_encoder
from tasks.risk.synthetic import SimulatorConfig, write_transactions

TINY = RiskTrainConfig(encoder=risk_encoder(d_model=16, nhead=2, num_layers=1), epochs=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model on simulated transactions (the target found from the layout)."""
    folder = tmp_path_factory.mktemp("risk")
    write_transactions(folder / "tx.csv", SimulatorConfig(customers=40, days=20, seed=1))
    run = tasks.risk.train(folder / "tx.csv", folder / "run", TINY, device="cpu", verbose=False)
    return folder, run


def test_train_returns_a_run_whose_model_is_what_load_reads(trained):
    folder, run = trained
    assert isinstance(run, Run) and run.model_dir == folder / "run" and run.seconds > 0
    loaded = tasks.risk.load(run.model_dir)
    assert loaded.schema == run.model.schema and loaded.threshold == run.model.threshold
    assert "transaction_id" not in loaded.schema.numeric + loaded.schema.categorical   # simulator layout
    state, again = run.model.model.state_dict(), loaded.model.state_dict()
    assert state.keys() == again.keys() and all(np.array_equal(state[k], again[k]) for k in state)
    assert loaded.model.config == run.model.model.config


def test_evaluate_reports_the_model_beside_its_baselines(trained):
    folder, run = trained
    report = tasks.risk.evaluate(tasks.risk.load(run.model_dir), folder / "tx.csv")
    assert set(report["baselines"]) == {"class_prior", "logistic_regression"}
    assert report["baselines"]["class_prior"]["auprc"] == pytest.approx(report["positive_rate"])
    assert set(report["scenario_recall"]) <= {"stolen_card", "compromised_terminal", "large_amount"}
    assert report == tasks.risk.evaluate(run.model, folder / "tx.csv")      # same model, same report


def test_predict_scores_flags_and_explains_every_row(trained):
    folder, run = trained
    found = tasks.risk.predict(run.model, folder / "tx.csv", explain=3, id_column="transaction_id")
    n = len(found.ids)
    assert found.scores.shape == found.flagged.shape == (n,)
    assert ((found.scores >= 0) & (found.scores <= 1)).all()
    assert np.array_equal(found.flagged, found.scores >= run.model.threshold)
    assert found.ids[:2] == ["0", "1"] and all(len(r) == 3 for r in found.reasons)
    plain = tasks.risk.predict(run.model, folder / "tx.csv")
    assert plain.reasons is None and plain.ids[:2] == ["1", "2"] and np.allclose(plain.scores, found.scores)
    with pytest.raises(ValueError, match="--explain"):
        tasks.risk.predict(run.model, folder / "tx.csv", explain=-1)
    with pytest.raises(ValueError, match="--id-column 'nope'"):
        tasks.risk.predict(run.model, folder / "tx.csv", id_column="nope")


def test_load_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        tasks.risk.load(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="risk.json: not found"):
        tasks.risk.load(tmp_path)


def test_the_verbs_stay_functions_after_their_modules_are_imported():
    importlib.import_module("tasks.risk.train")
    importlib.import_module("tasks.risk.evaluate")
    from tasks.risk import evaluate, predict, train

    for verb in (train, evaluate, predict):
        assert isinstance(verb, types.FunctionType), verb
    with pytest.raises(AttributeError, match="no attribute 'fit'"):
        tasks.risk.fit  # noqa: B018
