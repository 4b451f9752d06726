"""``claim_run_folder``: a folder that holds a run is refused before anything is written, and one
folder belongs to one process at a time (an OS lock that dies with its process)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from minitransformer.errors import UsageError
from minitransformer.files.run_folder import LOCK_NAME, RunFolderBusy, claim_run_folder, holds_files
from tests.files.snapshots import snapshot

posix_only = pytest.mark.skipif(os.name == "nt", reason="holder processes are killed with POSIX signals")

def make_run(folder: Path) -> Path:
    """A folder that looks like a finished run."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.json").write_text('{"d_model": 16}\n')
    (folder / "model.safetensors").write_bytes(os.urandom(256))
    (folder / "checkpoints" / "latest").write_text("step-00000004\n")
    return folder


# ---------------------------------------------------------------------------- check first


def test_a_folder_holding_a_run_is_refused_and_left_byte_identical(tmp_path):
    run = make_run(tmp_path / "run")
    before = snapshot(run)
    with pytest.raises(UsageError) as err:
        with claim_run_folder(run):
            raise AssertionError("the block must not run")
    assert str(err.value) == (f"--out {run}: already holds files (checkpoints, config.json, "
                              "model.safetensors); choose a new folder (a training never overwrites one)")
    assert snapshot(run) == before and not (run / LOCK_NAME).exists()


def test_the_option_is_named_and_long_listings_are_cut(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for i in range(6):
        (run / f"f{i}").write_text("x")
    with pytest.raises(UsageError, match=r"^out_dir .*: already holds files \(f0, f1, f2, f3 and 2 more\)"):
        with claim_run_folder(run, option="out_dir"):
            pass


def test_a_file_is_not_a_folder(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"weights")
    with pytest.raises(UsageError, match="expected a folder, got a file"):
        with claim_run_folder(path):
            pass
    assert path.read_bytes() == b"weights"


def test_new_and_empty_folders_are_claimed_and_the_lock_goes_after_a_clean_exit(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (tmp_path / "new" / "nested", empty):
        with claim_run_folder(folder) as claimed:
            assert claimed == folder and (folder / LOCK_NAME).is_file()
            assert holds_files(folder) == []  # the lock is not one of the run's files
            (folder / "model.safetensors").write_bytes(b"w")
        assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors"]


def test_the_lock_goes_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError, match="diverged"):
        with claim_run_folder(tmp_path / "run"):
            raise RuntimeError("diverged")
    assert not (tmp_path / "run" / LOCK_NAME).exists()
    with claim_run_folder(tmp_path / "run"):  # claimable again
        pass


def test_resume_accepts_a_folder_with_files(tmp_path):
    run = make_run(tmp_path / "run")
    with claim_run_folder(run, resume=True):
        (run / "metrics.jsonl").write_text("{}\n")
    assert (run / "metrics.jsonl").is_file() and not (run / LOCK_NAME).exists()


def test_none_claims_nothing():
    with claim_run_folder(None) as claimed:
        assert claimed is None


def test_claims_are_re_entrant_within_one_process(tmp_path):
    """A head's ``train`` claims its folder and the ``Trainer`` it runs claims it again: the inner
    claim neither re-checks (the outer block has written files by then) nor releases the lock."""
    run = tmp_path / "run"
    with claim_run_folder(run):
        (run / "item_map.json").write_text("{}")
        with claim_run_folder(run) as inner:
            assert inner == run
            with claim_run_folder(run / ".." / run.name):  # the same folder spelled differently
                pass
        assert (run / LOCK_NAME).is_file()  # still held by the outer claim
    assert not (run / LOCK_NAME).exists()


# ---------------------------------------------------------------------------- one process per folder


@posix_only
def test_a_second_process_is_refused_at_once_naming_the_folder_and_the_holder(tmp_path, holder):
    run = tmp_path / "run"
    held = holder(run)
    started = time.monotonic()
    with pytest.raises(RunFolderBusy) as err:
        with claim_run_folder(run):
            raise AssertionError("the block must not run")
    assert time.monotonic() - started < 2.0  # refused, not waited for
    assert str(err.value) == (f"{run}: another training (process {held.process.pid}) is writing to this "
                              "folder; wait for it or choose another folder")
    assert isinstance(err.value, UsageError)  # the command line turns it into one line, status 2
    assert held.release() == 0
    assert not (run / LOCK_NAME).exists()
    with claim_run_folder(run):  # free again
        pass


@posix_only
def test_a_killed_holder_leaves_no_stale_lock(tmp_path, holder):
    """SIGKILL gives the holder no chance to clean up: its ``.lock`` file stays, but the OS lock
    died with the process, so the next claim succeeds."""
    run = tmp_path / "run"
    held = holder(run)
    assert held.kill() == -signal.SIGKILL
    assert (run / LOCK_NAME).is_file()  # left behind...
    with claim_run_folder(run):  # ...and not in the way
        assert (run / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert not (run / LOCK_NAME).exists()


@posix_only
def test_a_refused_claim_leaves_the_holders_folder_byte_identical(tmp_path, holder):
    run = tmp_path / "run"
    held = holder(run)
    before = snapshot(run)
    for resume in (False, True):
        with pytest.raises(RunFolderBusy):
            with claim_run_folder(run, resume=resume):
                (run / "model.safetensors").write_bytes(b"overwritten")
    assert snapshot(run) == before
    assert held.release() == 0
