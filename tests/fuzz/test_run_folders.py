"""A training never writes where it must not: an ``--out`` that holds a run, holds anything, is a
file, lies under a file, or is being written by another process is refused before the first
write, and what was there stays byte-identical (the old model still loads and scores the same)."""

from __future__ import annotations

import os
import stat
import time

import pytest

from tests.fuzz.harness import expect_refusal, run_cli
from tests.fuzz.heads import HEADS

HEAD_PARAMS = [pytest.param(h, id=h.command) for h in HEADS.values()]


def _train(head, made, out):
    return head.command_line("train", made.paths(out=out))


@pytest.mark.parametrize("head", HEAD_PARAMS)
def test_a_training_into_an_existing_run_is_refused_and_the_run_still_works(head, built, capsys):
    made = built(head.command)
    data = made.valid_file("evaluate")
    evaluate = head.command_line("evaluate", made.paths(data=data))
    before = run_cli(evaluate, capsys)
    assert before.status == 0, before.err
    expect_refusal(_train(head, made, made.model), capsys, what="--out: an existing run",
                   names=[str(made.model)], watched=[made.model, made.data])
    after = run_cli(evaluate, capsys)
    assert after.status == 0 and after.out == before.out  # the same model, the same scores


@pytest.mark.parametrize("head", HEAD_PARAMS)
@pytest.mark.parametrize("where", ["holds other files", "a file", "under a file", "an empty name"])
def test_a_training_into_a_folder_that_is_not_free_is_refused(head, where, built, capsys, tmp_path):
    made = built(head.command)
    if where == "holds other files":
        out = tmp_path / "reports"
        out.mkdir()
        (out / "notes.txt").write_text("my notes\n")
        (out / ".hidden").write_bytes(os.urandom(64))
    elif where == "a file":
        out = tmp_path / "model.safetensors"
        out.write_bytes(os.urandom(64))
    elif where == "under a file":
        (tmp_path / "a-file").write_text("mine\n")
        out = tmp_path / "a-file" / "run"
    else:
        out = ""
    argv = _train(head, made, out)
    watched = [tmp_path, made.data, made.model]
    names = ["--out"] + ([str(out)] if out else [])
    refused = expect_refusal(argv, capsys, what=f"--out {where}", names=names, watched=watched)
    assert refused.status == 2 and not refused.traceback


@pytest.mark.skipif(os.name == "nt", reason="the holder process is ended with POSIX signals")
@pytest.mark.parametrize("head", HEAD_PARAMS)
def test_a_training_into_a_folder_another_process_writes_is_refused_at_once(head, built, capsys, tmp_path,
                                                                            holder):
    made = built(head.command)
    out = tmp_path / "busy-run"
    held = holder(out)
    started = time.monotonic()
    expect_refusal(_train(head, made, out), capsys, what="--out held by another process",
                   names=["another training"], watched=[out, made.data])
    assert time.monotonic() - started < 30  # refused, not trained (tiny as the training is)
    assert held.release() == 0


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
@pytest.mark.parametrize("head", HEAD_PARAMS)
def test_every_file_a_training_writes_has_the_mode_open_gives(head, built, tmp_path):
    """Weights, configurations, maps, logs and checkpoints of a head's run: all ``0o666`` less
    the umask, like a file written with ``open()``; folders like ``mkdir()``'s."""
    made = built(head.command)
    with open(tmp_path / "plain.txt", "w") as handle:
        handle.write("x")
    (tmp_path / "plain").mkdir()
    expected = {"file": stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode),
                "folder": stat.S_IMODE((tmp_path / "plain").stat().st_mode)}
    modes = {path.relative_to(made.model).as_posix(): oct(stat.S_IMODE(path.stat().st_mode))
             for path in made.model.rglob("*")}
    assert modes == {path.relative_to(made.model).as_posix():
                     oct(expected["folder" if path.is_dir() else "file"]) for path in made.model.rglob("*")}
