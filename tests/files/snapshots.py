"""Byte-for-byte snapshots of files and folders, to prove that a refused command changed nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["snapshot"]


def snapshot(path: str | Path) -> dict[str, str]:
    """``{relative path: sha256 of its bytes}`` for a file or every file under a folder (hidden
    ones included; folders appear as ``"dir"``, links as ``"link -> target"``); ``{}`` if absent."""
    root = Path(path)
    if not root.exists() and not root.is_symlink():
        return {}
    if not root.is_dir():
        return {".": _digest(root)}
    found = {".": "dir"}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            entry = Path(folder) / name
            key = entry.relative_to(root).as_posix()
            if entry.is_symlink():
                found[key] = f"link -> {os.readlink(entry)}"
            elif entry.is_dir():
                found[key] = "dir"
            else:
                found[key] = _digest(entry)
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
