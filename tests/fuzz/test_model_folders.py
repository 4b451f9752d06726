"""Every head's loader on broken model folders: a model folder is data from anyone, so a missing
or unreadable file, a config.json with impossible sizes, weights that are not safetensors (a
pickle among them) or a JSON that names files outside the folder are refused in one line naming
the folder, and the folder is left as it was."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ
from tests.fuzz.harness import expect_refusal
from tests.fuzz.heads import HEADS

#: the files each head's model folder cannot load without (forecasting: its first member's too)
NEEDED = {"recommend": ("config.json", "model.safetensors", "item_map.json", "transitions.safetensors"),
          "qa": ("qa.json", "config.json", "model.safetensors", "tokenizer.json"),
          "forecast": ("forecast.json", "member_0/config.json", "member_0/model.safetensors"),
          "risk": ("risk.json", "config.json", "model.safetensors")}

#: keys of a configuration that size the model; huge values only where one allocation would
#: take them (a huge layer count would build layers one by one, for hours, if not refused)
SIZES = {"d_model", "dim_feedforward", "num_items", "vocab_size", "max_len", "num_features",
         "num_numeric", "horizon", "context", "patch_len"}
COUNTS = {"nhead", "num_layers", "members", "num_labels", "num_classes"}
HUGE = 2**40

BROKEN_JSON = [b"", b"{", b"[]", b"null", b'"config"', b"\xff\xfe{}", b"{\x00}", b'{"model_type": 3}',
               b"[" * 100_000 + b"]" * 100_000,  # nested deeper than any JSON reader goes
               json.dumps({"d_model": "sixteen"}).encode()]


def _bad_weights(folder: Path) -> list[tuple[str, bytes]]:
    weights = folder / "model.safetensors"
    data = weights.read_bytes() if weights.is_file() else b""
    return [("empty", b""), ("truncated", data[: len(data) // 2]), ("random bytes", os.urandom(512)),
            ("a pickle", pickle.dumps({"weight": [1.0, 2.0]})), ("text", b'{"weight": [1, 2]}'),
            ("a header claiming 2**60 bytes", struct.pack("<Q", 2**60) + b"{}"),
            ("a header that is not JSON", struct.pack("<Q", 8) + b"not json")]


def _shape_fields(document, path=()):
    """``(key path, value)`` of every size or count in a JSON document."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key in SIZES | COUNTS and isinstance(value, int) and not isinstance(value, bool) and value > 0:
                yield path + (key,), value
            else:
                yield from _shape_fields(value, path + (key,))


def _member_names(document, folder: Path, path=()):
    """``(key path, name)`` of every string in a JSON document that names something in ``folder``."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _member_names(value, folder, path + (key,))
    elif isinstance(document, list):
        for i, value in enumerate(document):
            yield from _member_names(value, folder, path + (i,))
    elif isinstance(document, str) and document not in ("", ".") and (folder / document).exists():
        yield path, document


def _set(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def _documents(model: Path, needed) -> dict:
    return {name: json.loads((model / name).read_text(encoding="utf-8"))
            for name in needed if name.endswith(".json")}


def _rewrite(name: str, document, path, value):
    changed = _set(json.loads(json.dumps(document)), path, value)
    return lambda copy: (copy / name).write_text(json.dumps(changed))


def deletions(head: str, model: Path):
    """Every file the folder cannot do without, deleted in turn."""
    return [(f"{name} deleted", lambda copy, name=name: (copy / name).unlink()) for name in NEEDED[head]]


def broken_json(head: str, model: Path):
    """Every JSON file of the folder, replaced in turn by every text of BROKEN_JSON."""
    return [(f"{name} = {text[:30]!r}", lambda copy, name=name, text=text: (copy / name).write_bytes(text))
            for name in NEEDED[head] if name.endswith(".json") for text in BROKEN_JSON]


@st.composite
def bad_sizes(draw, head: str, model: Path):
    """A size or count in a config.json (what the model is built from) set to a wrong value."""
    documents = _documents(model, NEEDED[head])
    fields = [(name, path) for name, doc in documents.items() if name.endswith("config.json")
              for path, _ in _shape_fields(doc)]
    name, path = draw(st.sampled_from(fields))
    value = draw(st.sampled_from([0, -3, "16", None, 1.5, [16], float("inf")]
                                 + ([HUGE] if path[-1] in SIZES else [])))
    return f"{name}: {'.'.join(map(str, path))} = {value!r}", _rewrite(name, documents[name], path, value)


@st.composite
def bad_weights(draw, head: str, model: Path):
    """A weights file replaced by something that is not its safetensors."""
    name = draw(st.sampled_from([n for n in NEEDED[head] if n.endswith(".safetensors")]))
    what, data = draw(st.sampled_from(_bad_weights(model / Path(name).parent)))
    return f"{name}: {what}", lambda copy: (copy / name).write_bytes(data)


@st.composite
def escapes(draw, head: str, model: Path):
    """A file named in the folder's JSON (an ensemble member) pointed outside the folder."""
    documents = _documents(model, NEEDED[head])
    names = [(name, path, value) for name, doc in documents.items()
             for path, value in _member_names(doc, model)]
    name, path, value = draw(st.sampled_from(names))
    escape = draw(st.sampled_from(["../" + value, "/etc/passwd", "../../../../../../tmp",
                                   value + "/../../" + value]))
    return f"{name}: {'.'.join(map(str, path))} = {escape!r}", _rewrite(name, documents[name], path, escape)


def _names_members(head: str, model: Path) -> bool:
    return any(True for doc in _documents(model, NEEDED[head]).values() for _ in _member_names(doc, model))


KINDS = {"deleted": deletions, "broken-json": broken_json, "bad-size": bad_sizes, "bad-weights": bad_weights,
         "escape": escapes}


def _refuse(head, made, change, copy, capsys):
    what, apply = change
    shutil.copytree(made.model, copy, symlinks=True)
    apply(copy)
    argv = head.command_line("evaluate", made.paths(model=copy, data=made.valid_file("evaluate")))
    expect_refusal(argv, capsys, what=what, names=[copy.name], watched=[copy, made.data])


@pytest.mark.parametrize("head", [pytest.param(h, id=h.command) for h in HEADS.values()])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_damaged_model_folder_is_refused(head, kind, built, capsys, tmp_path_factory):
    made = built(head.command)
    missing = [name for name in NEEDED[head.command] if not (made.model / name).is_file()]
    assert not missing, f"the {head.command} model folder has no {missing}: update NEEDED"
    if kind == "escape" and not _names_members(head.command, made.model):
        pytest.skip(f"a {head.command} model folder names no other file in its JSON")
    folder = tmp_path_factory.mktemp(f"{head.command}-{kind}")
    numbers = itertools.count()
    make = KINDS[kind]
    if kind in ("deleted", "broken-json"):  # every case
        for change in make(head.command, made.model):
            _refuse(head, made, change, folder / f"model-{next(numbers)}", capsys)
        return

    @settings(FUZZ, max_examples=4)
    @given(change=make(head.command, made.model))
    def case(change):
        _refuse(head, made, change, folder / f"model-{next(numbers)}", capsys)

    case()


@pytest.mark.parametrize("head", [pytest.param(h, id=h.command) for h in HEADS.values()])
@pytest.mark.parametrize("where", ["missing", "a file", "empty folder", "another head's model"])
def test_a_folder_that_is_not_this_heads_model_is_refused(head, where, built, capsys, tmp_path):
    made = built(head.command)
    if where == "missing":
        model = tmp_path / "no-such-model"
    elif where == "a file":
        model = made.data
    elif where == "empty folder":
        model = tmp_path / "empty-model"
        model.mkdir()
    else:
        others = list(HEADS)
        model = built(others[(others.index(head.command) + 1) % len(others)]).model
    data = made.valid_file("evaluate")
    argv = head.command_line("evaluate", made.paths(model=model, data=data))
    watched = [made.data, model] if model.exists() else [made.data]
    refused = expect_refusal(argv, capsys, what=f"--model {where}", names=[model.name], watched=watched)
    assert refused.status == 2 and not refused.traceback
