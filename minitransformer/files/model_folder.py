"""A model folder is data, not trust: what it names stays inside it, and what it asks to allocate
must fit.

A model folder may come from anyone (a colleague, a download). Loading it never unpickles
(weights are safetensors, settings are JSON), and two more checks run before any work:

* :func:`member_path`: a file named inside the folder's JSON (an ensemble's members, a tokenizer
  file) must resolve inside the folder: ``../../etc/passwd`` or an absolute path is refused.
* :func:`check_fits_in_memory`: the number of parameters a ``config.json`` asks for is checked
  against the machine's memory before a tensor is allocated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from minitransformer.errors import CheckpointError
from minitransformer.files.tables import decode_utf8

__all__ = ["member_path", "read_json", "check_fits_in_memory", "memory_bytes"]


def member_path(folder: str | Path, name: object, source: str | Path | None = None) -> Path:
    """``folder / name``, refused unless ``name`` is a relative path that stays inside ``folder``.

    Examples:
        >>> member_path("runs/sales", "member-1").as_posix()
        'runs/sales/member-1'
        >>> member_path("runs/m4", "../other", "runs/m4/forecast.json")  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        minitransformer.errors.CheckpointError: runs/m4/forecast.json: '../other' leaves the model
        folder runs/m4; a model folder may only name files inside it
    """
    folder = Path(folder)
    where = source if source is not None else folder
    if not isinstance(name, str) or not name.strip():
        raise CheckpointError(f"{where}: expected a file name inside the model folder, got {name!r}")
    candidate = Path(name)
    inside = not candidate.is_absolute() and ".." not in candidate.parts
    if inside:
        root = folder.resolve()
        resolved = (folder / candidate).resolve()
        inside = resolved == root or root in resolved.parents
    if not inside:
        raise CheckpointError(f"{where}: {name!r} leaves the model folder {folder}; a model folder may "
                              "only name files inside it")
    return folder / candidate


def read_json(path: str | Path, what: str = "") -> Any:
    """The JSON value of ``path``, a file of a model folder. Whatever is wrong with it (bytes that
    are not UTF-8, text that is not JSON, JSON nested deeper than Python's stack) is one
    :class:`~minitransformer.errors.CheckpointError` naming the file, and ``what`` it should be.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "item_map.json"
        >>> _ = path.write_text('{"items": ["a", "b"]}', encoding="utf-8")
        >>> read_json(path)
        {'items': ['a', 'b']}
        >>> _ = path.write_text("{oops", encoding="utf-8")
        >>> read_json(path, what="item map")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        minitransformer.errors.CheckpointError: ...item_map.json: not a valid item map (not JSON: ...)
    """
    path = Path(path)
    try:
        return json.loads(decode_utf8(path.read_bytes(), path))
    except RecursionError:
        reason = "JSON nested too deeply" if what else "nested too deeply"
    except json.JSONDecodeError as err:
        reason = f"not JSON: {err}" if what else str(err)
    except ValueError as err:  # not UTF-8: decode_utf8 names the file and the line
        raise CheckpointError(str(err)) from None
    raise CheckpointError(f"{path}: not a valid {what} ({reason})" if what
                          else f"{path}: not valid JSON ({reason})")


def memory_bytes() -> int | None:
    """The machine's physical memory in bytes, or ``None`` where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def check_fits_in_memory(parameters: int, source: str | Path, bytes_per_parameter: int = 4) -> None:
    """Refuse a configuration whose ``parameters`` (float32 by default) would not fit in memory.

    Examples:
        >>> check_fits_in_memory(10_000, "runs/shop/config.json")
        >>> check_fits_in_memory(10**15, "runs/shop/config.json")  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        minitransformer.errors.CheckpointError: runs/shop/config.json: the configuration asks for
        1000000000000000 parameters (3725290.3 GiB), more than this machine's memory (...)
    """
    needed = int(parameters) * bytes_per_parameter
    available = memory_bytes()
    if available is not None and needed > available:
        raise CheckpointError(f"{source}: the configuration asks for {int(parameters)} parameters "
                              f"({needed / 2**30:.1f} GiB), more than this machine's memory "
                              f"({available / 2**30:.1f} GiB)")
