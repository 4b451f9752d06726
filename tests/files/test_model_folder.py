"""A model folder is data: the files its JSON names stay inside it, and the sizes its config.json
asks for are checked against the machine's memory before anything is allocated."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitransformer.errors import CheckpointError
from minitransformer.files import model_folder
from minitransformer.files.model_folder import check_fits_in_memory, member_path, memory_bytes
from minitransformer.nn import Encoder
from minitransformer.nn.config import EncoderConfig


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "runs" / "sales"
    (root / "member-1").mkdir(parents=True)
    (root / "member-1" / "model.safetensors").write_bytes(b"w")
    (tmp_path / "secret.txt").write_text("not the model's")
    return root


# ---------------------------------------------------------------------------- member_path


@pytest.mark.parametrize("name", ["member-1", "member-1/model.safetensors", "./member-1", "new-file.json"])
def test_names_inside_the_folder_are_joined(folder, name):
    assert member_path(folder, name) == folder / name


@pytest.mark.parametrize("name", ["../secret.txt", "member-1/../../secret.txt", "..", "a/b/../../..",
                                  "/etc/passwd", "//server/share"])
def test_names_leaving_the_folder_are_refused_naming_the_json(folder, name):
    source = folder / "forecast.json"
    with pytest.raises(CheckpointError) as err:
        member_path(folder, name, source)
    assert str(err.value) == (f"{source}: {name!r} leaves the model folder {folder}; a model folder may "
                              "only name files inside it")


def test_a_name_with_dotdot_is_refused_even_if_it_comes_back_inside(folder):
    """``member-1/../member-1`` ends inside, but a folder written by this package never says ``..``."""
    with pytest.raises(CheckpointError, match="leaves the model folder"):
        member_path(folder, "member-1/../member-1")


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_a_symbolic_link_out_of_the_folder_is_refused(folder):
    (folder / "escape").symlink_to(folder.parent.parent / "secret.txt")
    (folder / "tokenizer").symlink_to(folder.parent.parent)
    (folder / "alias").symlink_to(folder / "member-1")  # staying inside: fine
    for name in ("escape", "tokenizer/secret.txt"):
        with pytest.raises(CheckpointError, match="leaves the model folder"):
            member_path(folder, name)
    assert member_path(folder, "alias/model.safetensors").resolve() == \
        (folder / "member-1" / "model.safetensors").resolve()


@pytest.mark.parametrize("name", [None, 3, ["member-1"], {"path": "member-1"}, "", "   "])
def test_a_name_that_is_not_a_file_name_is_refused(folder, name):
    with pytest.raises(CheckpointError, match=r"forecast.json: expected a file name inside the model folder"):
        member_path(folder, name, folder / "forecast.json")


_segment = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd", "Lo"), whitelist_characters="-_."),
                   min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@settings(max_examples=50)
@given(parts=st.lists(_segment, min_size=1, max_size=4))
def test_any_relative_name_without_dotdot_stays_inside(tmp_path_factory, parts):
    folder = tmp_path_factory.mktemp("model")
    name = "/".join(parts)
    path = member_path(folder, name)
    assert path == folder / name
    assert folder.resolve() in path.resolve().parents or path.resolve() == folder.resolve()


# ---------------------------------------------------------------------------- sizes


def test_a_small_configuration_fits():
    check_fits_in_memory(EncoderConfig(d_model=64, nhead=4, num_layers=2).approximate_parameters(1000),
                         "runs/shop/config.json")


def test_a_huge_configuration_is_refused_before_allocating():
    config = EncoderConfig(d_model=2**20, nhead=4, num_layers=2**10, dim_feedforward=2**22)
    parameters = config.approximate_parameters(embedding_rows=10**6)
    with pytest.raises(CheckpointError) as err:
        check_fits_in_memory(parameters, "runs/shop/config.json")
    message = str(err.value)
    assert message.startswith(f"runs/shop/config.json: the configuration asks for {parameters} parameters (")
    assert "more than this machine's memory" in message and "\n" not in message


def test_the_limit_is_the_machines_memory(monkeypatch):
    """Four bytes a float32 parameter: 250 parameters fit in 1000 bytes, 251 do not; eight bytes
    a float64 parameter halve that; without a known memory size nothing is refused."""
    monkeypatch.setattr(model_folder, "memory_bytes", lambda: 1000)
    check_fits_in_memory(250, "c.json")
    with pytest.raises(CheckpointError, match=r"asks for 251 parameters \(0\.0 GiB\)"):
        check_fits_in_memory(251, "c.json")
    with pytest.raises(CheckpointError):
        check_fits_in_memory(126, "c.json", bytes_per_parameter=8)
    monkeypatch.setattr(model_folder, "memory_bytes", lambda: None)
    check_fits_in_memory(10**18, "c.json")


def test_memory_bytes_is_plausible():
    size = memory_bytes()
    assert size is None or 2**27 < size < 2**50  # between 128 MiB and 1 PiB


@pytest.mark.parametrize("d_model, nhead, layers, ffn, rows", [(16, 2, 1, 32, 10), (64, 4, 2, 256, 100),
                                                              (48, 3, 3, 96, 0)])
def test_approximate_parameters_is_close_to_the_encoders_count(d_model, nhead, layers, ffn, rows):
    """The estimate counts the weight matrices, not biases and norms: never more than the real
    encoder plus an embedding table of ``rows`` rows, and within 15% of it even at width 16."""
    config = EncoderConfig(d_model=d_model, nhead=nhead, num_layers=layers, dim_feedforward=ffn)
    encoder = Encoder(d_model=d_model, nhead=nhead, num_layers=layers, dim_feedforward=ffn)
    actual = sum(p.numel() for p in encoder.parameters()) + rows * d_model
    estimate = config.approximate_parameters(rows)
    assert estimate <= actual <= estimate * 1.15
