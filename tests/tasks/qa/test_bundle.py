"""A QA model folder is data, not trust (``tasks/qa/bundle.py``): whatever is wrong with a folder
-- a value of ``qa.json`` of the wrong type, a ``config.json`` asking for more memory than the
machine has, a file that is missing or not what it claims, a link leading out of the folder --
``load`` refuses it in one line naming the file, before allocating the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import tasks.qa as qa
from minitransformer.cli.main import main
from tasks.qa.bundle import approximate_parameters
from tasks.qa.config import IntentConfig, qa_encoder


def _set(file: str, *keys, value):
    """A change to one value of a JSON file of the folder (``keys``: the path to it)."""
    def change(folder: Path):
        data = json.loads((folder / file).read_text(encoding="utf-8"))
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        (folder / file).write_text(json.dumps(data), encoding="utf-8")
    return change


def _link_out(name: str):
    def change(folder: Path):
        (folder / name).unlink()
        (folder / name).symlink_to(folder.parent / "outside.json")
    return change


#: (what is wrong, the change, the file the message names, a fragment of the message)
DAMAGE = [
    ("qa.json is not JSON", lambda f: (f / "qa.json").write_text("{"), "qa.json", "not valid JSON"),
    ("qa.json nests too deep", lambda f: (f / "qa.json").write_text("[" * 50000 + "]" * 50000),
     "qa.json", "not valid JSON"),
    ("labels are numbers", _set("qa.json", "labels", value=[1, 2, 3]), "qa.json", "'labels' must be"),
    ("threshold is text", _set("qa.json", "threshold", value="high"), "qa.json", "'threshold' must be"),
    ("the expert is a list", _set("qa.json", "linear_expert", value=[3]), "qa.json",
     "'linear_expert' must be"),
    ("answers are a list", _set("qa.json", "answers", value=["x"]), "qa.json", "'answers' must be"),
    ("columns are one name", _set("qa.json", "columns", value=["text"]), "qa.json", "'columns' must be"),
    ("ensemble is true", _set("qa.json", "ensemble", value=True), "qa.json", "'ensemble' must be"),
    ("a vocabulary of 10^13", _set("config.json", "vocab_size", value=10**13), "config.json",
     "more than this machine's memory"),
    ("positions of 10^12", _set("config.json", "max_len", value=10**12), "config.json",
     "more than this machine's memory"),
    ("the encoder is a number", _set("config.json", "encoder", value=5), "config.json", "encoder"),
    ("d_model is text", _set("config.json", "encoder", "d_model", value="wide"), "config.json", "d_model"),
    ("config.json is missing", lambda f: (f / "config.json").unlink(), "config.json", "missing"),
    ("the weights are garbage", lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 64),
     "model.safetensors", "not a readable safetensors file"),
    ("the tokenizer is a list", lambda f: (f / "tokenizer.json").write_text("[]"), "tokenizer.json", ""),
    ("n-grams are numbers", _set("ngrams.json", "grams", value=[1, 2]), "ngrams.json", "expected"),
    ("the expert's weights are missing", lambda f: (f / "linear.safetensors").unlink(), "linear.safetensors",
     "not found"),
    ("config.json links out", _link_out("config.json"), "qa.json", "leaves the model folder"),
    ("qa.json links out", _link_out("qa.json"), "qa.json", "leaves the model folder"),
    ("a member links out", lambda f: (_set("qa.json", "ensemble", value=2)(f),
                                      (f / "member1").symlink_to(f.parent / "elsewhere")),
     "qa.json", "leaves the model folder"),
]


@pytest.mark.parametrize("what, change, file, fragment", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_model_folder_is_refused_in_one_line_naming_the_file(what, change, file, fragment,
                                                                      own_model, tmp_path, capsys):
    folder = Path(shutil.copytree(own_model.model_dir, tmp_path / "model"))
    (tmp_path / "outside.json").write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    change(folder)
    assert main(["qa", "ask", "--model", str(folder), "where is my refund"]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minitransformer: error: ") and "Traceback" not in err
    assert f"{folder}/{file}" in lines[0] and fragment in lines[0], lines[0]


def test_the_size_check_counts_the_tables_before_allocating():
    config = IntentConfig(vocab_size=1000, encoder=qa_encoder(d_model=64, nhead=4, num_layers=2,
                                                              dim_feedforward=128),
                          max_len=32, ngram_buckets=100, num_labels=5, wide_ngrams=True)
    from tasks.qa.router.classifier import IntentClassifier

    exact = sum(p.numel() for p in IntentClassifier(config).parameters())
    assert 0.8 * exact <= approximate_parameters(config) <= 1.25 * exact


def test_an_older_folder_without_its_columns_reads_the_default_ones(own_model, tmp_path, capsys):
    folder = Path(shutil.copytree(own_model.model_dir, tmp_path / "old"))
    info = json.loads((folder / "qa.json").read_text(encoding="utf-8"))
    del info["columns"]
    (folder / "qa.json").write_text(json.dumps(info), encoding="utf-8")
    assert qa.load(folder).columns == ("text", "category")
    assert main(["qa", "predict", "--model", str(folder), "--data", str(own_model.data)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 18
