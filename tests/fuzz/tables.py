"""Malformed CSV files, made from a valid table by one defect each.

A case is a valid table (a head's own synthetic data) written the way a user's tools might write
it (**dressings** that keep it valid: a byte-order mark, CRLF line ends, every field quoted,
Chinese text, commas and quotes inside free-text fields) plus exactly one **defect** that makes
it invalid whatever the head does with it. Every defect says why it must be refused:

============== =========================================================================
not-utf8       a byte that is not UTF-8 (Latin-1, GBK-encoded Chinese, a stray 0xff)
nul-byte       a NUL byte: a binary file, not text
utf16          the whole file saved as UTF-16 (Excel's "Unicode text"): not UTF-8
empty          no header at all (0 bytes, blank lines, a lone byte-order mark)
header-only    a header without rows: nothing to train on or to score
unclosed-quote the last row opens a quoted field that never closes
bad-quoting    text after a closing quote (``"x"y``)
duplicate-col  a column name given twice: which one is meant?
missing-col    a column the command needs, removed or renamed (to Chinese, or 200 KiB long)
ragged-row     a row with one field too many or too few
bad-cell       a value the head cannot use (NaN, inf, 1e400, a 200 000-digit number, text
               in a number column, an impossible date, a missing label ...): per head below
duplicate-row  a row given twice where rows are keys (a series' date)
============== =========================================================================
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from hypothesis import strategies as st

__all__ = ["Table", "TableSpec", "Dressing", "Malformed", "DEFECTS", "dressings", "malformed", "read_table",
           "valid_bytes"]

HUGE_NUMBER = "9" * 200_000                 # a 200 000-digit number: inf as a float, too long as an int
HUGE_NAME = "x" * (200 * 1024)              # a column name longer than csv's default field limit


@dataclass(frozen=True)
class Table:
    """A CSV table as text cells: ``header`` and ``rows``."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> int:
        return self.header.index(name)


def read_table(path) -> Table:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header, *rows = list(csv.reader(handle))
    return Table(tuple(header), tuple(tuple(row) for row in rows))


@dataclass(frozen=True)
class TableSpec:
    """What one command needs of its CSV file.

    Attributes:
        required: columns the command cannot do without (removing one is a defect).
        bad_cells: ``{column: values}``, each value invalid in that column for this command.
        free_text: columns whose text the command takes as it is (dressed with Chinese, commas
            and quotes: still valid).
        keyed_rows: a repeated row is an error (a series given the same date twice).
        may_be_empty: a header without rows is valid (not used as a defect).
        column_level: ``(column, value)`` of ``bad_cells`` that are wrong for the column as a whole
            (a third class in a 0/1 label): the message need not name their line.
    """

    required: tuple[str, ...]
    bad_cells: dict[str, tuple[str, ...]] = field(default_factory=dict)
    free_text: tuple[str, ...] = ()
    keyed_rows: bool = False
    may_be_empty: bool = False
    column_level: frozenset[tuple[str, str]] = frozenset()

    def defects(self) -> list[str]:
        """The defects that apply to this command's files."""
        return [name for name in DEFECTS
                if not (name == "header-only" and self.may_be_empty)
                and not (name == "bad-cell" and not self.bad_cells)
                and not (name == "duplicate-row" and not self.keyed_rows)]


@dataclass(frozen=True)
class Dressing:
    """How the file is written (none of it makes a valid table invalid)."""

    bom: bool = False
    crlf: bool = False
    quote_all: bool = False
    text: tuple[str, ...] = ()   # replacements for free-text cells, applied row by row

    def describe(self) -> str:
        parts = [name for name, on in (("BOM", self.bom), ("CRLF", self.crlf), ("all quoted", self.quote_all),
                                       ("Chinese/commas/quotes in text", bool(self.text))) if on]
        return ", ".join(parts) or "plain"


DEFECTS = ("not-utf8", "nul-byte", "utf16", "empty", "header-only", "unclosed-quote", "bad-quoting",
           "duplicate-col", "missing-col", "ragged-row", "bad-cell", "duplicate-row")

_free_text = st.sampled_from(["退款什么时候到账？", "where is my order, please?", 'the "gift" box',
                              "我的卡, 被锁了", "café ☕", "  padded  "])


@st.composite
def dressings(draw, spec: TableSpec) -> Dressing:
    text = ()
    if spec.free_text and draw(st.booleans()):
        text = tuple(draw(st.lists(_free_text, min_size=1, max_size=3)))
    return Dressing(bom=draw(st.booleans()), crlf=draw(st.booleans()), quote_all=draw(st.booleans()),
                    text=text)


def dress(table: Table, spec: TableSpec, dressing: Dressing) -> Table:
    """``table`` with the free-text cells of some rows replaced by ``dressing.text``."""
    if not dressing.text:
        return table
    columns = [table.column(name) for name in spec.free_text if name in table.header]
    rows = [list(row) for row in table.rows]
    for i, text in enumerate(dressing.text):
        row = rows[(i * 7) % len(rows)]
        for j in columns:
            row[j] = text
    return Table(table.header, tuple(tuple(row) for row in rows))


def lines(table: Table, dressing: Dressing) -> list[str]:
    """Each row (the header first) as one CSV record, line end included."""
    out = []
    for row in (table.header, *table.rows):
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\r\n" if dressing.crlf else "\n",
                   quoting=csv.QUOTE_ALL if dressing.quote_all else csv.QUOTE_MINIMAL).writerow(row)
        out.append(buffer.getvalue())
    return out


def encode(records: list[str], dressing: Dressing) -> bytes:
    return ("\ufeff" if dressing.bom else "").encode() + "".join(records).encode("utf-8")


def _insert(record: str, at: int, data: bytes) -> bytes:
    """``record`` as UTF-8 with ``data`` inserted after its ``at``-th character (before the line end)."""
    body = record.rstrip("\r\n")
    at = min(at, len(body))
    return body[:at].encode() + data + body[at:].encode() + record[len(body):].encode()


@dataclass(frozen=True)
class Malformed:
    """A malformed file: its bytes, the defect in words, and the line the defect is on (where
    the message must name it)."""

    data: bytes = field(repr=False)
    what: str = ""
    line: int | None = None


@st.composite
def malformed(draw, table: Table, spec: TableSpec, defect: str) -> Malformed:
    """A file that ``defect`` makes invalid (see the module docstring)."""
    return Malformed(*draw(_malformed(table, spec, defect)))


@st.composite
def _malformed(draw, table: Table, spec: TableSpec, defect: str) -> tuple:
    dressing = draw(dressings(spec))
    table = dress(table, spec, dressing)
    n = len(table.rows)
    row = draw(st.integers(1, n))                  # a data row (0 is the header)

    if defect in ("not-utf8", "nul-byte"):
        bad = b"\x00" if defect == "nul-byte" else draw(st.sampled_from(
            [b"\xff", b"\xe9", b"\xc3\x28", b"\x80", "退款".encode("gbk"), "Müller".encode("latin-1")]))
        records = lines(table, dressing)
        at = draw(st.integers(0, 40))
        data = encode(records[:row], dressing) + _insert(records[row], at, bad) + \
            "".join(records[row + 1:]).encode()
        return data, f"{defect} {bad!r} in line {row + 1}, {dressing.describe()}", row + 1
    if defect == "utf16":
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"]))
        return "".join(lines(table, dressing)).encode(encoding), f"saved as {encoding}"
    if defect == "empty":
        data = draw(st.sampled_from([b"", b"\n", b"\r\n\r\n", b"\xef\xbb\xbf", b"  \n\t\n", b",,,\n"]))
        return data, f"empty file {data!r}"
    if defect == "header-only":
        return encode(lines(table, dressing)[:1], dressing), f"a header without rows, {dressing.describe()}"
    if defect == "unclosed-quote":  # the last field of the file: nothing after it can close it
        *cells, last = table.rows[-1]
        body = lines(Table(table.header, table.rows[:-1]), dressing)
        opened = "".join(_quoted(cell) + "," for cell in cells) + '"' + last.replace('"', "")
        return encode(body, dressing) + (opened + ("\r\n" if dressing.crlf else "\n")).encode(), \
            "the last field opens a quote that never closes"
    if defect == "bad-quoting":
        cells = [_quoted(cell) for cell in table.rows[row - 1]]
        j = draw(st.integers(0, len(cells) - 1))
        cells[j] = cells[j] + "x"
        records = lines(table, dressing)
        records[row] = ",".join(cells) + ("\r\n" if dressing.crlf else "\n")
        return encode(records, dressing), f'text after a closing quote in line {row + 1}'
    if defect == "duplicate-col":
        j = draw(st.integers(0, len(table.header) - 1))
        name = table.header[j]
        if draw(st.booleans()) and spec.required:   # a column the command reads, given twice
            name = draw(st.sampled_from(spec.required))
            j = table.column(name)
        where = draw(st.integers(0, len(table.header)))
        header = list(table.header)
        header.insert(where, name)
        rows = tuple(tuple(r[:where]) + (r[j],) + tuple(r[where:]) for r in table.rows)
        return encode(lines(Table(tuple(header), rows), dressing), dressing), f"column {name!r} twice"
    if defect == "missing-col":
        name = draw(st.sampled_from(spec.required))
        j = table.column(name)
        how = draw(st.sampled_from(["removed", "renamed to Chinese", "renamed to 200 KiB", "renamed"]))
        if how == "removed":
            header = table.header[:j] + table.header[j + 1:]
            rows = tuple(r[:j] + r[j + 1:] for r in table.rows)
        else:
            new = {"renamed to Chinese": f"列名{j}", "renamed to 200 KiB": HUGE_NAME}.get(how, f"{name}_2")
            header, rows = table.header[:j] + (new,) + table.header[j + 1:], table.rows
        return encode(lines(Table(header, rows), dressing), dressing), f"column {name!r} {how}"
    if defect == "ragged-row":
        cells = list(table.rows[row - 1])
        longer = len(cells) == 1 or draw(st.booleans())
        cells = cells + [draw(st.sampled_from(["extra", "", "多余"]))] if longer else cells[:-1]
        rows = table.rows[:row - 1] + (tuple(cells),) + table.rows[row:]
        return encode(lines(Table(table.header, rows), dressing), dressing), \
            f"line {row + 1} has {len(cells)} fields, the header {len(table.header)}", row + 1
    if defect == "bad-cell":
        name = draw(st.sampled_from(sorted(spec.bad_cells)))
        value = draw(st.sampled_from(spec.bad_cells[name]))
        j = table.column(name)
        cells = list(table.rows[row - 1])
        cells[j] = value
        rows = table.rows[:row - 1] + (tuple(cells),) + table.rows[row:]
        shown = value if len(value) < 40 else f"{value[:10]}... ({len(value)} characters)"
        line = None if (name, value) in spec.column_level else row + 1
        return encode(lines(Table(table.header, rows), dressing), dressing), \
            f"{name} = {shown!r} in line {row + 1}, {dressing.describe()}", line
    if defect == "duplicate-row":
        rows = table.rows[:row] + (table.rows[row - 1],) + table.rows[row:]
        return encode(lines(Table(table.header, rows), dressing), dressing), f"line {row + 1} given twice"
    raise ValueError(f"unknown defect {defect!r}")


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def valid_bytes(table: Table, spec: TableSpec, dressing: Dressing) -> bytes:
    """The table written with ``dressing`` and no defect: a file the command must accept."""
    return encode(lines(dress(table, spec, dressing), dressing), dressing)
