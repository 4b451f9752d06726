"""A training's output folder: checked first, written after, and held by one process at a time.

``with claim_run_folder(out_dir):`` wraps everything a training writes:

1. **Check first.** A folder that already holds files is refused (unless ``resume``) *before*
   anything is written, so the model in it stays whole: ``runs/shop: already holds files
   (config.json, model.safetensors); choose a new --out folder``.
2. **One process per folder.** The folder is locked with an OS lock on ``DIR/.lock``
   (``fcntl.flock`` on Linux and macOS, ``msvcrt.locking`` on Windows). A second training into
   the same folder is refused at once, naming the folder and the holder's process id. The OS
   drops the lock when the process ends, however it ends, so a killed training never leaves a
   stale lock behind; a clean exit also removes the ``.lock`` file.

Claims are re-entrant within one process: a head's ``train`` claims its folder, and the
:class:`~minitransformer.training.Trainer` it runs claims the same folder again without a second
check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from minitransformer.errors import UsageError

__all__ = ["claim_run_folder", "holds_files", "LOCK_NAME", "RunFolderBusy"]

LOCK_NAME = ".lock"
_HELD: dict[Path, tuple[int, int]] = {}  # resolved folder -> (file descriptor, claims)


class RunFolderBusy(UsageError):
    """Another process is writing to the run folder."""


def holds_files(folder: str | Path) -> list[str]:
    """The names of what ``folder`` holds (its lock file left out), sorted; ``[]`` if absent."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name != LOCK_NAME)


@contextmanager
def claim_run_folder(folder: str | Path | None, *, resume: bool = False,
                     option: str = "--out") -> Iterator[Path | None]:
    """Hold ``folder`` for this process while the ``with`` block writes to it.

    Args:
        folder: the run folder (``None``: nothing is written, nothing is claimed).
        resume: the training continues the run in ``folder``, so it may hold files.
        option: how the user named the folder, for the message.

    Raises:
        UsageError: ``folder`` is a file, or holds files and ``resume`` is false (nothing is
            written), or another process holds it (:class:`RunFolderBusy`).
    """
    if folder is None:
        yield None
        return
    folder = Path(folder)
    key = folder.resolve()
    if key in _HELD:  # this process holds it already: a nested claim
        fd, claims = _HELD[key]
        _HELD[key] = (fd, claims + 1)
        try:
            yield folder
        finally:
            fd, claims = _HELD[key]
            _HELD[key] = (fd, claims - 1)
        return
    _check_before_writing(folder, resume, option)
    fd = _lock(folder)
    _HELD[key] = (fd, 1)
    try:
        yield folder
    finally:
        del _HELD[key]
        _release(folder, fd)


def _check_before_writing(folder: Path, resume: bool, option: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {folder}: expected a folder, got a file")
    held = holds_files(folder)
    if held and not resume:
        shown = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
        raise UsageError(f"{option} {folder}: already holds files ({shown}); choose a new folder"
                         " (a training never overwrites one)")


def _lock(folder: Path) -> int:
    """Create ``folder`` and take its lock without waiting; refuse if another process has it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    if not _try_lock(fd) or not _same_file(fd, path):
        holder = _read_pid(fd)
        os.close(fd)
        raise RunFolderBusy(f"{folder}: another training{f' (process {holder})' if holder else ''} is "
                            "writing to this folder; wait for it or choose another folder")
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _same_file(fd: int, path: Path) -> bool:
    """The locked file is still the one at ``path`` (a holder may have removed it meanwhile)."""
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip() if hasattr(os, "pread") else ""
    except OSError:
        return ""


def _release(folder: Path, fd: int) -> None:
    try:
        if os.name != "nt":  # removed while still held: nobody can take the old file
            (folder / LOCK_NAME).unlink(missing_ok=True)
    finally:
        _unlock(fd)
        os.close(fd)
    if os.name == "nt":  # pragma: no cover - Windows cannot remove an open file
        (folder / LOCK_NAME).unlink(missing_ok=True)


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
