"""A model folder is data, not trust: ``load`` checks every file it reads, and the sizes in
config.json, before it builds a model; evaluate checks a CSV's columns against the training's."""

from __future__ import annotations

import json
import shutil

import pytest

from minitransformer.cli.main import main
from minitransformer.errors import CheckpointError
from tasks.recommendation import evaluate, load, predict
from tasks.recommendation.model import SequentialRecommender
from tasks.recommendation.synthetic import ShopConfig, write_purchases

TINY = ["--epochs", "1", "--d-model", "16", "--layers", "1", "--max-len", "8", "--final-epochs", "0",
        "--eval-users", "50", "--device", "cpu"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shop")
    write_purchases(folder / "shop.csv", ShopConfig.for_items(48, users=120, seed=3))
    assert main(["recommend", "train", "--data", str(folder / "shop.csv"), "--out", str(folder / "run"),
                 *TINY]) == 0
    return folder / "run"


@pytest.fixture
def copy(model_dir, tmp_path):
    """A copy of the trained model folder, to be spoilt."""
    return shutil.copytree(model_dir, tmp_path / "model")


def _edit_json(path, change):
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


SPOILT = [  # (file, how it is spoilt, what the one-line error says)
    ("config.json", lambda d: d["encoder"].update(d_model="16"), "encoder.d_model: expected int, got '16'"),
    ("config.json", lambda d: d["encoder"].update(dropout=[0.1]), "encoder.dropout: expected float"),
    ("config.json", lambda d: d["encoder"].update(norm_first="yes"), "encoder.norm_first: expected bool"),
    ("config.json", lambda d: d.update(encoder=7), "encoder: expected an object, got 7"),
    ("config.json", lambda d: d.update(max_len=0), "max_len: expected a positive integer"),
    ("config.json", lambda d: d.update(kind="gpt"), "kind: expected 'sasrec' or 'bert4rec'"),
    ("config.json", lambda d: d.update(heads=2), "unknown config key(s) ['heads']"),
    ("config.json", lambda d: d.update(num_items=47), "48 items, the model"),
    ("item_map.json", lambda d: d.update(items=[1, 2]), "not a valid item map"),
    ("item_map.json", lambda d: d.update(items=["a", "a"]), "an item twice"),
    ("item_map.json", lambda d: d.update(columns="user_id"), "columns: expected a list"),
]


@pytest.mark.parametrize("name, change, message", SPOILT, ids=[m for _, _, m in SPOILT])
def test_a_spoilt_json_file_is_refused_naming_it(copy, capsys, name, change, message):
    _edit_json(copy / name, change)
    with pytest.raises(ValueError) as caught:
        load(copy)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(copy / name) in str(caught.value)
    assert main(["recommend", "predict", "--model", str(copy), "--history", "phone-00"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("name, text, message", [
    ("config.json", "{not json", "config.json: not valid JSON"),
    ("config.json", "[" * 100_000, "config.json: not valid JSON (nested too deeply)"),
    ("config.json", "[1, 2]", "config.json: expected a JSON object, got list"),
    ("item_map.json", '{"items": "abc"}', "item_map.json: not a valid item map"),
    ("item_map.json", "\ufffe\x00", "item_map.json: not a valid item map"),
    ("model.safetensors", "\x10\x00", "model.safetensors: not a readable safetensors file"),
])
def test_a_file_that_is_not_what_it_says_is_refused_naming_it(copy, name, text, message):
    (copy / name).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load(copy)


@pytest.mark.parametrize("name", ["config.json", "item_map.json", "model.safetensors"])
def test_a_missing_file_or_one_that_leaves_the_folder_is_refused(copy, tmp_path, name):
    (copy / name).unlink()
    with pytest.raises(FileNotFoundError, match=f"{name}: .*not found"):
        load(copy)
    outside = tmp_path / "elsewhere"
    outside.write_text("{}", encoding="utf-8")
    (copy / name).symlink_to(outside)
    with pytest.raises(CheckpointError, match=f"'{name}' leaves the model folder"):
        load(copy)


def test_sizes_are_checked_before_a_model_is_built(copy, monkeypatch):
    def never(config):
        raise AssertionError("a model was built")

    monkeypatch.setattr(SequentialRecommender, "from_config", classmethod(lambda cls, config: never(config)))
    _edit_json(copy / "config.json", lambda d: d["encoder"].update(num_layers=10**9, dim_feedforward=10**6))
    with pytest.raises(CheckpointError, match="config.json: the configuration asks for .* more than this "
                                              "machine's memory"):
        load(copy)


def test_evaluate_checks_the_columns_the_model_was_trained_with(model_dir, copy, tmp_path, capsys):
    saved = json.loads((model_dir / "item_map.json").read_text(encoding="utf-8"))
    assert saved["columns"] == ["user_id", "item_id", "timestamp"]
    data = model_dir.parent / "shop.csv"
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(data.read_text(encoding="utf-8").replace("timestamp", "time", 1), encoding="utf-8")
    assert main(["recommend", "evaluate", "--model", str(model_dir), "--data", str(renamed)]) == 2
    err = capsys.readouterr().err
    assert err == (f"minitransformer: error: {renamed}: the columns differ from those the model was trained "
                   "with: missing timestamp; extra category, time\n")
    # a model folder from before the columns were saved still works
    _edit_json(copy / "item_map.json", lambda d: d.pop("columns"))
    old = load(copy)
    assert old.item_map.columns is None
    assert evaluate(old, data) == evaluate(load(model_dir), data)
    assert predict(old, "phone-00 case-00") == predict(load(model_dir), "phone-00 case-00")
