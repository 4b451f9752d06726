"""A model folder is data, not trust: ``load`` follows no name out of the folder, checks every
JSON value and the memory the members need before building them, and names the file at fault."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

import tasks.forecasting.ensemble as ensemble
from minitransformer.cli.main import main
from minitransformer.errors import CheckpointError
from tasks.forecasting import load, train
from tests.tasks.forecasting.series import tiny_long, tiny_settings


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model_folder")
    data = tiny_long(folder)
    train(data, folder / "model", tiny_settings(members=2, refit=False), verbose=False)
    return folder / "model", data


def _copy(trained, tmp_path, forecast=None, member=None):
    """A copy of the trained folder with keys of forecast.json / member_0/config.json replaced."""
    folder = tmp_path / "copy"
    shutil.copytree(trained[0], folder)
    for name, changes in (("forecast.json", forecast), ("member_0/config.json", member)):
        if changes is not None:
            path = folder / name
            path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return folder


@pytest.mark.parametrize("names, message", [
    (["../model/member_0"], r"forecast.json: '../model/member_0' leaves the model folder"),
    (["/etc"], r"forecast.json: '/etc' leaves the model folder"),
    (["member_0", ""], r"forecast.json: expected a file name inside the model folder, got ''"),
    ("member_0", r"forecast.json: member_dirs: expected a list of strings"),
    (["member_9"], r"member_9/config.json: missing from the model folder"),
])
def test_member_names_must_stay_inside_the_folder(trained, tmp_path, names, message):
    with pytest.raises(CheckpointError, match=message):
        load(_copy(trained, tmp_path, forecast={"member_dirs": names}))


def test_a_symlink_out_of_the_folder_is_refused(trained, tmp_path):
    folder = _copy(trained, tmp_path, forecast={"member_dirs": ["link"]})
    (folder / "link").symlink_to(trained[0] / "member_0")
    with pytest.raises(CheckpointError, match="'link' leaves the model folder"):
        load(folder)


@pytest.mark.parametrize("forecast, member, message", [
    ({"horizon": "4"}, None, r"forecast.json: horizon: expected an integer, got '4'"),
    ({"lr": None}, None, r"forecast.json: lr: expected a number, got None"),
    ({"quantiles": "0.5"}, None, r"forecast.json: quantiles: expected a list of numbers"),
    ({"columns": ["series_id", "value", "promo", "price"]}, None,
     r"member_0/config.json: n_covariates is 5, but the ensemble's is 2"),
    ({"horizon": 5}, None, r"member_0/config.json: horizon is 4, but the ensemble's is 5"),
    (None, {"context": "8"}, r"member_0/config.json: context: expected an integer, got '8'"),
    (None, {"n_covariates": 2}, r"member_0/config.json: n_covariates is 2, but the ensemble's is 5"),
    (None, {"min_scale": float("nan")}, r"member_0/config.json: min_scale: expected a finite number"),
    (None, {"encoder": {"dropout": "x"}}, r"member_0/config.json: encoder: "),
    (None, {"model_type": "encoder"}, r"member_0/config.json: this is a 'encoder' model"),
])
def test_wrong_values_and_types_are_refused_naming_the_file(trained, tmp_path, forecast, member, message):
    with pytest.raises(CheckpointError, match=message):
        load(_copy(trained, tmp_path, forecast=forecast, member=member))


@pytest.mark.parametrize("name", ["forecast.json", "member_0/config.json"])
def test_json_nested_deeper_than_the_stack_is_refused(trained, tmp_path, name):
    folder = _copy(trained, tmp_path)
    (folder / name).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match=f"{name}: nested too deeply"):
        load(folder)


def test_sizes_are_checked_before_a_member_is_built(trained, tmp_path, monkeypatch):
    encoder = json.loads((trained[0] / "member_0" / "config.json").read_text())["encoder"]
    folder = _copy(trained, tmp_path, member={"encoder": {**encoder, "d_model": 2**30}})

    def never(*args, **kwargs):
        raise AssertionError("a member was built before its size was checked")

    monkeypatch.setattr(ensemble, "PatchForecaster", never)
    with pytest.raises(CheckpointError, match=r"member_0/config.json: the configuration asks for \d+ param"):
        load(folder)


def test_broken_or_non_finite_weights_are_refused(trained, tmp_path):
    folder = _copy(trained, tmp_path)
    weights = folder / "member_1" / "model.safetensors"
    tensors = load_file(weights)
    first = next(iter(tensors))
    save_file({**tensors, first: torch.full_like(tensors[first], float("nan"))}, weights)
    with pytest.raises(CheckpointError, match="member_1/model.safetensors: holds NaN or infinite weights"):
        load(folder)
    weights.write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="member_1/model.safetensors: not a readable safetensors file"):
        load(folder)


def test_the_command_line_says_it_in_one_line(trained, tmp_path, capsys):
    folder = _copy(trained, tmp_path, forecast={"member_dirs": ["../../x"]})
    assert main(["forecast", "predict", "--model", str(folder), "--data", str(trained[1])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "forecast.json: '../../x' leaves the model folder" in err[0]
