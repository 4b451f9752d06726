"""One CSV reader for every head: what a spreadsheet or ``pandas.to_csv`` writes is read right,
and anything else is refused in one line that names the file and the line.

* UTF-8, with or without a byte-order mark (Excel writes one); other bytes are refused with the
  line and the byte: ``sales.csv, line 7: not UTF-8 text (byte 0xe9); save the file as UTF-8``.
* A header row; names are stripped of spaces, and a name given twice is refused, naming it.
* Fields of any length (Python's ``csv`` stops at 128 KiB by default).
* Blank lines are skipped; every other row must have as many fields as the header (``ragged=True``
  lets a reader take short or long rows itself).

Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "shop.csv"
    >>> _ = path.write_bytes("\\ufeffuser_id, item_id\\nu1,a\\n\\nu2,b\\n".encode("utf-8"))
    >>> table = read_csv(path)
    >>> table.header, table.rows
    (['user_id', 'item_id'], [(2, ['u1', 'a']), (4, ['u2', 'b'])])
    >>> table.column("item_id")
    ['a', 'b']
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CsvFile", "read_csv", "decode_utf8", "compare_columns"]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # fields of any length (the default stops at 128 KiB)


@dataclass
class CsvFile:
    """A CSV file read by :func:`read_csv`: ``header`` (stripped names) and ``rows``, each
    ``(line number, fields)`` with the fields stripped of surrounding spaces."""

    path: Path
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def index(self, name: str) -> int:
        """The position of column ``name``; a missing one is refused naming the columns found."""
        try:
            return self.header.index(name)
        except ValueError:
            raise ValueError(f"{self.path}: no column {name!r}; the header has "
                             f"{', '.join(self.header)}") from None

    def require(self, names: Iterable[str], hint: str = "") -> None:
        """Refuse the file unless it has every column in ``names`` (all missing ones are named)."""
        missing = [name for name in names if name not in self.header]
        if missing:
            raise ValueError(f"{self.path}: line 1: missing column(s) {', '.join(missing)}; the header has "
                             f"{', '.join(self.header)}{' (' + hint + ')' if hint else ''}")

    def column(self, name: str) -> list[str]:
        """Every row's value of column ``name`` (short rows of a ``ragged`` file give ``""``)."""
        index = self.index(name)
        return [fields[index] if index < len(fields) else "" for _, fields in self.rows]


def decode_utf8(data: bytes, path: str | Path) -> str:
    """``data`` as text: UTF-8 with an optional byte-order mark, else a one-line error naming the
    file, the line and the first byte that is not UTF-8."""
    body = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:  # err.start counts from the end of the byte-order mark
        line = body.count(b"\n", 0, err.start) + 1
        raise ValueError(f"{path}, line {line}: not UTF-8 text (byte 0x{body[err.start]:02x}); "
                         "save the file as UTF-8") from None


def read_csv(path: str | Path, *, ragged: bool = False, required: Sequence[str] = (), hint: str = "",
             allow_empty: bool = False) -> CsvFile:
    """Read the CSV file at ``path`` (see the module docstring for what is accepted).

    Args:
        ragged: accept rows whose number of fields differs from the header's.
        required: columns that must be in the header.
        hint: added to the "missing column" message (e.g. ``"choose others with --text-col"``).
        allow_empty: accept a file with a header and no data rows.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: one line naming the file (and the line) for every other problem.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found" if not path.exists()
                                else f"{path}: expected a CSV file, got a folder" if path.is_dir()
                                else f"{path}: expected a CSV file, got a device or pipe")
    text = decode_utf8(path.read_bytes(), path)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValueError(f"{path}, line {line}: a NUL byte; this is not a text CSV file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        if header is None:
            raise ValueError(f"{path}: the file is empty (expected a header row and data rows)")
        header = [cell.strip() for cell in header]
        _check_header(header, path, reader.line_num)
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if not ragged and len(row) != len(header):
                raise ValueError(f"{path}, line {reader.line_num}: expected {len(header)} fields as in "
                                 f"the header, got {len(row)}")
            rows.append((reader.line_num, [cell.strip() for cell in row]))
    except csv.Error as err:
        raise ValueError(f"{path}, line {reader.line_num}: malformed CSV ({err})") from None
    table = CsvFile(path, header, rows)
    table.require(required, hint)
    if not rows and not allow_empty:
        raise ValueError(f"{path}: the file has a header but no data rows")
    return table


def _check_header(header: list[str], path: Path, line: int) -> None:
    empty = [i + 1 for i, name in enumerate(header) if not name]
    if empty and len(header) > 1:
        raise ValueError(f"{path}, line {line}: column {empty[0]} of the header has no name")
    twice = [name for name, count in Counter(header).items() if count > 1]
    if twice:
        raise ValueError(f"{path}, line {line}: column {twice[0]!r} appears {header.count(twice[0])} times "
                         "in the header; column names must be unique")


def compare_columns(trained: Sequence[str], given: Sequence[str], path: str | Path,
                    what: str = "the model was trained with") -> None:
    """Refuse ``given`` columns unless they hold every ``trained`` one; the message lists what is
    missing and what is extra, so a user can fix the file in one go.

    Examples:
        >>> compare_columns(["amount", "hour"], ["amount", "hour", "note"], "new.csv")  # extra: fine
        >>> compare_columns(["amount", "hour"], ["amount", "day"], "new.csv")
        Traceback (most recent call last):
        ...
        ValueError: new.csv: the columns differ from those the model was trained with: missing hour; extra day
    """
    missing = [name for name in trained if name not in given]
    if missing:
        extra = [name for name in given if name not in trained]
        raise ValueError(f"{path}: the columns differ from those {what}: missing {', '.join(missing)}"
                         f"{'; extra ' + ', '.join(extra) if extra else ''}")
