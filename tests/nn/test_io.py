"""Saving and loading: config.json + model.safetensors, clear errors, and no pickle anywhere."""

from __future__ import annotations

import json
import pickle
import re

import pytest
import torch

from minitransformer import Encoder, EncoderConfig, Transformer, TransformerConfig
from minitransformer.nn.io import CONFIG_NAME, WEIGHTS_NAME

SMALL = dict(d_model=16, nhead=4, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32,
             dropout=0.0, max_len=16)


def transformer(**options) -> Transformer:
    return Transformer(13, 13, **(SMALL | options)).eval()


def encoder(**options) -> Encoder:
    return Encoder(**(dict(d_model=16, nhead=4, num_layers=2, dim_feedforward=32, dropout=0.0) | options))


@pytest.fixture
def saved(tmp_path):
    """A small Transformer saved to tmp_path/model; returns the directory."""
    return transformer().save_pretrained(tmp_path / "model")


def file_error(path) -> str:
    """Regex matching an error message that starts with the offending file's path."""
    return "^" + re.escape(str(path)) + ":"


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("positional, tie", [("sinusoidal", False), ("learned", True), ("rope", False),
                                             ("rope", True)])
def test_transformer_round_trip_gives_identical_outputs(tmp_path, positional, tie):
    """from_pretrained(save_pretrained(m)) rebuilds the same config and exactly the same outputs."""
    model = transformer(positional=positional, tie_embeddings=tie)
    src, tgt = torch.randint(0, 13, (2, 7)), torch.randint(0, 13, (2, 5))
    path = model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]
    loaded = Transformer.from_pretrained(path).eval()
    assert loaded.config == model.config
    assert torch.equal(loaded(src, tgt), model(src, tgt))
    if tie:
        assert loaded.output_projection.weight is loaded.src_embedding.weight
        assert loaded.tgt_embedding.weight is loaded.src_embedding.weight


@pytest.mark.parametrize("options", [{}, {"norm_first": True, "rotary": True, "activation": "gelu"},
                                     {"norm_first": True, "final_norm": False, "bias": False}])
def test_encoder_round_trip_gives_identical_outputs(tmp_path, options):
    """An Encoder saved and loaded keeps its config and computes exactly the same function."""
    model = encoder(**options).eval()
    x = torch.randn(2, 6, 16)
    loaded = Encoder.from_pretrained(model.save_pretrained(tmp_path / "enc")).eval()
    assert loaded.config == model.config
    assert torch.equal(loaded(x, is_causal=True), model(x, is_causal=True))


@pytest.mark.parametrize("config", [TransformerConfig(src_vocab_size=7, tgt_vocab_size=9, d_model=24,
                                                      nhead=3, positional="rope", tie_embeddings=False),
                                    EncoderConfig(d_model=8, nhead=2, num_layers=3, final_norm=True)])
def test_config_json_round_trip(tmp_path, config):
    """to_json_file/from_json_file reproduce the config; the JSON records the model_type."""
    path = tmp_path / "config.json"
    config.to_json_file(path)
    assert json.loads(path.read_text())["model_type"] == config.model_type
    assert type(config).from_json_file(path) == config
    assert type(config).from_dict(config.to_dict()) == config


def test_unknown_config_key_is_rejected():
    """A typo such as n_head is an error naming the key, not a silently ignored setting."""
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['n_head'\]"):
        EncoderConfig.from_dict({"d_model": 16, "n_head": 4})


@pytest.mark.parametrize("key, value", [("d_model", "16"), ("num_layers", 2.5), ("dropout", True),
                                        ("layer_norm_eps", None), ("activation", 3)])
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(key, value):
    """A config.json is data from anywhere: ``"d_model": "16"`` is refused before any model is built."""
    with pytest.raises(ValueError, match=rf"config: {key}: expected"):
        EncoderConfig.from_dict({"d_model": 16, "nhead": 4, key: value})


def test_json_nested_too_deeply_is_one_line(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        EncoderConfig.from_json_file(path)


def test_unknown_key_in_saved_config_names_file_and_key(saved):
    """Loading a directory whose config.json has an unknown key names the file and the key."""
    config = saved / CONFIG_NAME
    data = json.loads(config.read_text())
    config.write_text(json.dumps(data | {"nheads": 4}))
    with pytest.raises(ValueError, match=file_error(config) + r".*unknown config key\(s\) \['nheads'\]"):
        Transformer.from_pretrained(saved)


# --------------------------------------------------------------------------- broken files


@pytest.mark.parametrize("corrupt", ["truncated", "garbage", "empty"])
def test_broken_weights_file_raises_value_error_naming_it(saved, corrupt):
    """A truncated, garbage or empty model.safetensors is a ValueError naming the file."""
    weights = saved / WEIGHTS_NAME
    data = weights.read_bytes()
    weights.write_bytes({"truncated": data[: len(data) // 2],
                         "garbage": b"\x89not a safetensors file at all" * 10,
                         "empty": b""}[corrupt])
    with pytest.raises(ValueError, match=file_error(weights) + " not a readable safetensors file"):
        Transformer.from_pretrained(saved)


@pytest.mark.parametrize("missing", [CONFIG_NAME, WEIGHTS_NAME])
def test_missing_file_raises_file_not_found(saved, missing):
    """A directory without config.json or model.safetensors names the missing file."""
    (saved / missing).unlink()
    with pytest.raises(FileNotFoundError, match=file_error(saved / missing) + ".*not found"):
        Transformer.from_pretrained(saved)


def test_missing_directory_raises_file_not_found(tmp_path):
    """A directory that does not exist is reported as such."""
    with pytest.raises(FileNotFoundError, match=file_error(tmp_path / "nope") + " model directory not found"):
        Transformer.from_pretrained(tmp_path / "nope")


@pytest.mark.parametrize("text, problem", [("{not json", "not valid JSON"),
                                           ("[1, 2, 3]", "expected a JSON object, got list"),
                                           ("\udcff", "not valid JSON")])
def test_invalid_config_json_raises_value_error(saved, text, problem):
    """config.json that is not a JSON object is a ValueError naming the file and the problem."""
    config = saved / CONFIG_NAME
    if text == "\udcff":
        config.write_bytes(b"\xff\xfe\x00garbage")
    else:
        config.write_text(text)
    with pytest.raises(ValueError, match=file_error(config) + " " + problem):
        Transformer.from_pretrained(saved)


def test_config_of_another_model_type_is_rejected(tmp_path):
    """An Encoder directory loaded as a Transformer says which model type it holds."""
    path = encoder().save_pretrained(tmp_path / "enc")
    with pytest.raises(ValueError, match=file_error(path / CONFIG_NAME)
                       + " this is a 'encoder' model, expected 'transformer'"):
        Transformer.from_pretrained(path)


def test_shape_mismatch_names_file_tensor_and_shapes(saved):
    """Weights that no longer fit the (edited) config name the tensor and both shapes."""
    config = saved / CONFIG_NAME
    config.write_text(json.dumps(json.loads(config.read_text()) | {"dim_feedforward": 48}))
    with pytest.raises(ValueError, match=file_error(saved / WEIGHTS_NAME)
                       + r" shape mismatch for [\w.]+\.linear1\.(weight|bias): file has \(32(, 16)?,?\), "
                       r"the model configuration expects \(48(, 16)?,?\)"):
        Transformer.from_pretrained(saved)


def test_missing_layers_are_reported(saved):
    """A config with more layers than the file holds lists the missing tensors."""
    config = saved / CONFIG_NAME
    config.write_text(json.dumps(json.loads(config.read_text()) | {"num_encoder_layers": 2}))
    with pytest.raises(ValueError, match=file_error(saved / WEIGHTS_NAME)
                       + r" weights do not match the model configuration \(missing \['encoder\.layers\.1"):
        Transformer.from_pretrained(saved)


# --------------------------------------------------------------------------- saving behaviour


def test_saving_over_existing_directory_replaces_model_and_keeps_other_files(tmp_path):
    """Saving into a run folder replaces the model files but leaves the other files alone."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    first, second = transformer(), transformer()
    first.save_pretrained(folder)
    second.save_pretrained(folder)
    assert (folder / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME, "notes.txt"]
    loaded = Transformer.from_pretrained(folder)
    for a, b in zip(loaded.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)


def test_save_leaves_no_temporary_files(tmp_path):
    """Atomic saving cleans up: the parent holds only the new model directory."""
    transformer().save_pretrained(tmp_path / "a" / "model")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["model"]


def test_loading_never_unpickles(saved, monkeypatch):
    """from_pretrained works with pickle and torch.load disabled: nothing can execute on load."""

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle/torch.load must not be used to load a model")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    model = Transformer.from_pretrained(saved)
    assert isinstance(model, Transformer)
    assert not list(saved.glob("*.pt")) and not list(saved.glob("*.bin"))
