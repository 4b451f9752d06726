"""A model folder is data, not trust: ``load`` checks every file and setting before it allocates,
and evaluate/predict check the columns of a user's file against those the model was trained with."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import tasks.risk
from minitransformer.cli.main import main
from tasks.risk.data import read_table
from tests.tasks.risk.tables import snapshot


@pytest.fixture()
def copy(tiny_model, tmp_path):
    """A copy of the tiny model folder, free to spoil."""
    target = tmp_path / "model"
    shutil.copytree(tiny_model[2], target)
    return target


def _edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


SPOILERS = {
    "config.json not JSON": ("config.json", lambda d: d.joinpath("config.json").write_text("{oops")),
    "config.json a list": ("config.json", lambda d: d.joinpath("config.json").write_text("[]")),
    "another head's model": ("config.json", lambda d: _edit_json(d / "config.json",
                                                                 lambda c: c.update(model_type="sasrec"))),
    "a setting of the wrong type": ("config.json", lambda d: _edit_json(
        d / "config.json", lambda c: c["encoder"].update(dropout="x"))),
    "encoder not an object": ("config.json", lambda d: _edit_json(d / "config.json",
                                                                  lambda c: c.update(encoder=3))),
    "a numeric column that is a number": ("config.json", lambda d: _edit_json(
        d / "config.json", lambda c: c["schema"]["numeric"].__setitem__(0, 7))),
    "vocab of the wrong shape": ("config.json", lambda d: _edit_json(
        d / "config.json", lambda c: c["schema"].update(vocab=[]))),
    "a history of unknown columns": ("config.json", lambda d: _edit_json(
        d / "config.json", lambda c: c["schema"].update(history=[["nope"]]))),
    "an unknown schema key": ("config.json", lambda d: _edit_json(
        d / "config.json", lambda c: c["schema"].update(extra=1))),
    "a size beyond memory": ("config.json", lambda d: _edit_json(
        d / "config.json", lambda c: c.update(num_quantiles=10**13))),
    "a width beyond memory": ("config.json", lambda d: _edit_json(
        d / "config.json", lambda c: c["encoder"].update(d_model=2**20, nhead=1, dim_feedforward=2**21))),
    "risk.json not JSON": ("risk.json", lambda d: d.joinpath("risk.json").write_bytes(b"\xff\xfe")),
    "risk.json nested too deeply": ("risk.json", lambda d: d.joinpath("risk.json").write_text("[" * 100_000)),
    "config.json nested too deeply": ("config.json",
                                      lambda d: d.joinpath("config.json").write_text('{"a":' * 100_000)),
    "a threshold that is text": ("risk.json", lambda d: _edit_json(d / "risk.json",
                                                                   lambda i: i.update(threshold="x"))),
    "a negative cost": ("risk.json", lambda d: _edit_json(d / "risk.json", lambda i: i.update(cost_fn=-1))),
    "weights not safetensors": ("model.safetensors",
                                lambda d: d.joinpath("model.safetensors").write_text("x")),
    "weights missing": ("model.safetensors", lambda d: d.joinpath("model.safetensors").unlink()),
    "baseline not safetensors": ("baseline_logreg.safetensors",
                                 lambda d: d.joinpath("baseline_logreg.safetensors").write_text("x")),
    "baseline of another shape": ("baseline_logreg.safetensors", lambda d: shutil.copy(
        d / "model.safetensors", d / "baseline_logreg.safetensors")),
    "baseline a link out of the folder": ("leaves the model folder", lambda d: (
        d.joinpath("baseline_logreg.safetensors").unlink(),
        d.joinpath("baseline_logreg.safetensors").symlink_to(d.parent / "elsewhere.safetensors"))),
}


@pytest.mark.parametrize("case", sorted(SPOILERS))
def test_a_spoiled_model_folder_is_one_line_naming_the_file(case, copy, tiny_model, capsys):
    expected, spoil = SPOILERS[case]
    spoil(copy)
    with pytest.raises((ValueError, OSError)) as caught:
        tasks.risk.load(copy)
    message = str(caught.value)
    assert expected in message and "\n" not in message, message
    data = tiny_model[1]
    before = snapshot(data.parent / "run")
    assert main(["risk", "predict", "--model", str(copy), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert snapshot(data.parent / "run") == before


def test_an_older_model_folder_without_the_new_schema_keys_still_works(copy, tiny_model):
    """Folders written before times, ids and the training columns were recorded load and score
    as before (extra columns then show in full in a column message)."""
    data = tiny_model[1]
    expected = tasks.risk.predict(tasks.risk.load(copy), data).scores
    _edit_json(copy / "config.json", lambda c: [c["schema"].pop(k) for k in ("times", "id_like", "columns")])
    old = tasks.risk.load(copy)
    assert old.schema.times == {} and old.schema.columns == []
    assert np.array_equal(tasks.risk.predict(old, data).scores, expected)


def test_other_columns_are_one_line_listing_missing_and_extra(tiny_model, tmp_path, capsys):
    folder, data, run_dir = tiny_model
    table = read_table(data)
    renamed = tmp_path / "renamed.csv"
    text = data.read_text().split("\n", 1)
    renamed.write_text(text[0].replace("amount,", "amt,", 1) + "\n" + text[1])
    model = tasks.risk.load(run_dir)
    for verb in (tasks.risk.evaluate, tasks.risk.predict):
        with pytest.raises(ValueError, match=r"renamed.csv: the columns differ.*missing amount; extra amt$"):
            verb(model, renamed)
    for action in ("evaluate", "predict"):
        assert main(["risk", action, "--model", str(run_dir), "--data", str(renamed)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "missing amount; extra amt" in err
    assert len(table.rows) == len(tasks.risk.predict(model, data).scores)


def test_predict_reads_neither_the_target_nor_the_ids(tmp_path):
    """A new file may have an empty or no target column; a column left out as an id at training
    time is not needed, and --explain never names it."""
    rng = np.random.default_rng(0)
    n = 200
    amount = rng.gamma(2.0, 30.0, n).round(2)
    y = (amount > 80).astype(int)
    rows = [f"ORD{(i * 37) % 1000:04d},{a},{i % 5},{t}" for i, (a, t) in enumerate(zip(amount, y))]
    (tmp_path / "train.csv").write_text("order_id,amount,hour,fraud\n" + "\n".join(rows) + "\n")
    from tasks.risk.config import RiskTrainConfig, risk_encoder

    config = RiskTrainConfig(encoder=risk_encoder(d_model=16, nhead=2, num_layers=1), epochs=1)
    run = tasks.risk.train(tmp_path / "train.csv", tmp_path / "run", config, target="fraud", device="cpu",
                           verbose=False)
    assert list(run.model.schema.id_like) == ["order_id"]
    (tmp_path / "new.csv").write_text("amount,hour,fraud\n12.5,3,\n99.9,1,\n")
    found = tasks.risk.predict(run.model, tmp_path / "new.csv", explain=3)
    assert len(found.scores) == 2 and all("order_id" not in name for r in found.reasons for name, _ in r)
    with pytest.raises(ValueError, match="line 2: column 'fraud': empty label"):
        tasks.risk.evaluate(run.model, tmp_path / "new.csv")
    (tmp_path / "neg.csv").write_text("amount,hour,fraud\n12.5,3,0\n9.9,1,0\n")
    with pytest.raises(ValueError, match="holds only negative rows.*predict"):
        tasks.risk.evaluate(run.model, tmp_path / "neg.csv")


def test_the_scoring_verbs_check_their_arguments(tiny_model):
    _, data, run_dir = tiny_model
    model = tasks.risk.load(run_dir)
    with pytest.raises(ValueError, match=r"batch_size \(--batch-size\)"):
        tasks.risk.evaluate(model, data, batch_size=0)
    with pytest.raises(ValueError, match=r"explain \(--explain\)"):
        tasks.risk.predict(model, data, explain=True)
    with pytest.raises(ValueError, match="model: expected what tasks.risk.load returns"):
        tasks.risk.predict(str(run_dir), data)
    small = tasks.risk.predict(model, data, batch_size=7, explain=1, id_column="transaction_id")
    assert np.allclose(small.scores, tasks.risk.predict(model, data).scores, atol=1e-6)
