"""Interaction data: four file formats, an item-id map, and the leave-one-out split.

Formats (``--format auto`` picks one, see :func:`detect_format`):

* ``sequence`` -- one user per line: ``user item item ...`` (chronological). S3-Rec, LastFM.
* ``pairs``    -- one interaction per line: ``user item``, chronological within each user.
* ``csv``      -- a header with ``user_id,item_id,timestamp`` (other columns ignored; the names
  in any case); rows are sorted by timestamp per user, ties keep the file order (a stable sort).
  A timestamp is Unix seconds (``1709301900``) or an ISO-8601 time (``2024-03-01 14:05:00``,
  ``2024-03-01``; without a zone read as UTC), see :func:`parse_timestamp`. Every row needs all
  three: an empty cell is refused naming the file, the line and the column.
* ``ml1m``     -- the pre-split gSASRec MovieLens-1M folder (``train/input.txt``,
  ``val/input.txt``, ``val/output.txt``, ``test/output.txt``; one line per user, no user id).

Item ids in the files are arbitrary tokens; :class:`ItemMap` maps them to ``1..N`` in order of
first appearance (``0`` is the padding id), and is saved beside the model as ``item_map.json``
(``{"items": [raw id of item 1, raw id of item 2, ...], "columns": [...]}``; ``columns``, the
CSV columns the model was trained from, only for the ``csv`` format), the one file of this
head's own that a model folder holds besides the core's ``config.json`` and ``model.safetensors``.

Every file is read as UTF-8 text (a byte-order mark is fine); other bytes, NUL bytes, a
malformed CSV or a line that does not fit its format are refused in one line naming the file
and the line. CSV files go through the package's one reader,
:func:`minitransformer.files.tables.read_csv`.

Leave-one-out split of a user's sequence ``s_1 .. s_n`` (n >= 3)::

    train      = s_1 .. s_{n-2}
    valid      : input s_1 .. s_{n-2}  ->  target s_{n-1}
    test       : input s_1 .. s_{n-1}  ->  target s_n

Users with fewer than 3 items are kept in training only (their whole sequence). The model input
is truncated to the most recent ``max_len`` items by the model, not here.

Once validation has chosen the model, :meth:`Split.refit_sequences` gives the training sequences
with each validation user's validation item put back (``s_1 .. s_{n-1}``, the test input): the
data of the final fit (``recommend train --final-epochs``). The test item is never in it.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from minitransformer.errors import CheckpointError
from minitransformer.files.model_folder import read_json
from minitransformer.files.tables import compare_columns, decode_utf8, read_csv
from minitransformer.nn.io import save_json

__all__ = ["ItemMap", "EvalSet", "Split", "FORMATS", "CSV_COLUMNS", "ITEM_MAP_NAME", "detect_format",
           "load_sequences", "leave_one_out", "load_split", "parse_timestamp"]

FORMATS = ("auto", "sequence", "pairs", "csv", "ml1m")
CSV_COLUMNS = ("user_id", "item_id", "timestamp")
ITEM_MAP_NAME = "item_map.json"  # the item map's file name in a model folder


@dataclass
class ItemMap:
    """Raw item token <-> contiguous id ``1..N`` (0 = padding).

    ``columns``: the CSV columns the items were read from (``None`` for the other formats, and in
    the item maps of models saved before it was recorded); ``evaluate`` checks a CSV against them.
    """

    tokens: list[str] = field(default_factory=list)  # tokens[i - 1] is the raw id of item i
    index: dict[str, int] = field(default_factory=dict)
    columns: list[str] | None = None

    def add(self, token: str) -> int:
        if token not in self.index:
            self.tokens.append(token)
            self.index[token] = len(self.tokens)
        return self.index[token]

    def __len__(self) -> int:
        return len(self.tokens)

    def token(self, item: int) -> str:
        return self.tokens[item - 1]

    def encode(self, tokens: list[str]) -> tuple[list[int], list[str]]:
        """Known tokens -> ids, and the list of unknown tokens that were skipped."""
        ids = [self.index[t] for t in tokens if t in self.index]
        return ids, [t for t in tokens if t not in self.index]

    def save(self, path: str | Path) -> None:
        payload = {"items": self.tokens, **({"columns": self.columns} if self.columns else {})}
        save_json(path, payload, indent=None)

    @classmethod
    def load(cls, path: str | Path) -> ItemMap:
        """The item map saved at ``path``; a file that is not one is refused naming it
        (:class:`~minitransformer.errors.CheckpointError`)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: item map not found (is this a recommendation model directory?)")
        payload = read_json(path, what="item map")
        tokens = payload.get("items") if isinstance(payload, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t.strip() for t in tokens):
            raise CheckpointError(f'{path}: not a valid item map (expected {{"items": [item id, ...]}} '
                                  "with item ids as non-empty strings)")
        if not tokens or len(set(tokens)) != len(tokens):
            problem = "no items" if not tokens else "an item twice"
            raise CheckpointError(f"{path}: not a valid item map ({problem})")
        columns = payload.get("columns")
        if columns is not None and not (isinstance(columns, list)
                                        and all(isinstance(c, str) for c in columns)):
            raise CheckpointError(f"{path}: not a valid item map (columns: expected a list of column names)")
        return cls(list(tokens), {t: i + 1 for i, t in enumerate(tokens)}, columns)


@dataclass
class EvalSet:
    """Users to evaluate: ``inputs[u]`` is the history (item ids), ``targets[u]`` the next item."""

    users: list[str]
    inputs: list[list[int]]
    targets: list[int]

    def __len__(self) -> int:
        return len(self.users)


@dataclass
class Split:
    """Training sequences + validation and test sets, all in mapped item ids."""

    train: list[list[int]]
    valid: EvalSet
    test: EvalSet
    item_map: ItemMap
    format: str
    valid_rows: list[int] = field(default_factory=list)  # train row of each validation user (-1: none)

    @property
    def num_items(self) -> int:
        return len(self.item_map)

    def refit_sequences(self) -> list[list[int]]:
        """The training sequences, each validation user's followed by its validation item."""
        if len(self.valid_rows) != len(self.valid):
            raise ValueError(f"valid_rows: expected one training row per validation user "
                             f"({len(self.valid)}), got {len(self.valid_rows)}")
        sequences = list(self.train)
        for row, history, target in zip(self.valid_rows, self.valid.inputs, self.valid.targets):
            if row < 0:
                sequences.append(history + [target])
            else:
                sequences[row] = history + [target]
        return sequences


def _read_text(path: Path) -> str:
    """The whole file as text (UTF-8, a byte-order mark allowed); other bytes and NUL bytes are
    refused naming the file and the line."""
    if path.is_dir():
        raise IsADirectoryError(f"{path}: expected a data file, got a folder")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found")
    text = decode_utf8(path.read_bytes(), path)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValueError(f"{path}, line {line}: a NUL byte; this is not a text file")
    return text


def _lines(path: Path):
    """(line number, stripped line) for the non-blank lines of a text file."""
    for number, line in enumerate(io.StringIO(_read_text(path), newline=None), start=1):
        line = line.strip()
        if line:
            yield number, line


def _looks_like_csv(first_line: str) -> bool:
    """A header of the ``csv`` format: all of ``user_id,item_id,timestamp``, or a comma-separated
    line naming one of them or one that cannot be a ``sequence`` line (a single word)."""
    names = [c.strip().lower() for c in first_line.split(",")]
    if all(c in names for c in CSV_COLUMNS):
        return True
    return len(names) >= 2 and (any(c in names for c in CSV_COLUMNS) or len(first_line.split()) < 2)


def detect_format(path: str | Path) -> str:
    """``ml1m`` for a folder with ``train/input.txt``; ``csv`` when the first line is a
    comma-separated header (with ``user_id,item_id,timestamp``, or naming one of them: the
    reader then names what is missing); ``pairs`` when every line has two fields and some user
    appears on several lines; otherwise ``sequence``."""
    path = Path(path)
    if path.is_dir():
        if (path / "train" / "input.txt").is_file():
            return "ml1m"
        raise ValueError(f"{path}: a folder, but not the ml1m layout (train/input.txt missing)")
    first = next(_lines(path), None)
    if first is None:
        raise ValueError(f"{path}: the file is empty (no interactions)")
    if _looks_like_csv(first[1]):
        return "csv"
    users, all_pairs, repeated = set(), True, False
    for _, line in _lines(path):
        fields = line.split()
        if len(fields) != 2:
            all_pairs = False
            break
        repeated |= fields[0] in users
        users.add(fields[0])
    return "pairs" if all_pairs and repeated else "sequence"


def load_sequences(path: str | Path, fmt: str = "auto",
                   columns: list[str] | None = None) -> tuple[dict[str, list[str]], str]:
    """Read ``sequence``/``pairs``/``csv`` -> ``({user: [item tokens, chronological]}, format)``.

    ``columns``: the CSV columns a model was trained from (its item map's); a ``csv`` file
    lacking one of them is refused, listing what is missing and what is extra."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"--format: expected one of {FORMATS}, got {fmt!r}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    seqs: dict[str, list[str]] = defaultdict(list)
    if fmt == "sequence":
        for number, line in _lines(path):
            fields = line.split()
            if len(fields) < 2:
                raise ValueError(f"{path}, line {number}: expected 'user item [item ...]', got {line[:60]!r}")
            seqs[fields[0]].extend(fields[1:])
    elif fmt == "pairs":
        for number, line in _lines(path):
            fields = line.split()
            if len(fields) != 2:
                raise ValueError(f"{path}, line {number}: expected 'user item' (2 fields), "
                                 f"got {len(fields)} field(s): {line[:60]!r}")
            seqs[fields[0]].append(fields[1])
    elif fmt == "csv":
        seqs = _load_csv(path, columns)
    else:
        raise ValueError(f"{path}: format {fmt!r} is not a single file (use load_split)")
    if not seqs:
        raise ValueError(f"{path}: the file is empty (no interactions)")
    return dict(seqs), fmt


def parse_timestamp(text: str) -> float:
    """A CSV timestamp as seconds since 1970-01-01 UTC: Unix seconds, or an ISO-8601 date or time
    (without a zone it is read as UTC; with one, converted). NaN and infinities are refused.

    Both conventions give the same scale, so only the order of a shopper's purchases matters.

    Examples:
        >>> parse_timestamp("1709301900"), parse_timestamp("2024-03-01 14:05:00")
        (1709301900.0, 1709301900.0)
        >>> parse_timestamp("2024-03-01"), parse_timestamp("2024-03-01T15:05:00+01:00")
        (1709251200.0, 1709301900.0)
        >>> parse_timestamp("nan")
        Traceback (most recent call last):
        ...
        ValueError: expected a finite time, got 'nan'
    """
    try:
        seconds = float(text)
    except ValueError:
        iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text  # Python 3.10 has no "Z"
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            raise ValueError("expected Unix seconds or an ISO-8601 time (2024-03-01 14:05:00 or "
                             f"2024-03-01), got {text[:40]!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = moment.timestamp()
    if not math.isfinite(seconds):
        raise ValueError(f"expected a finite time, got {text[:40]!r}")
    return seconds


def _load_csv(path: Path, columns: list[str] | None = None) -> dict[str, list[str]]:
    """The ``csv`` format (see the module docstring); column names are matched in any case."""
    table = read_csv(path)
    table.header = [name.lower() for name in table.header]
    twice = sorted({name for name in table.header if table.header.count(name) > 1})
    if twice:
        raise ValueError(f"{path}, line 1: column {twice[0]!r} appears {table.header.count(twice[0])} times "
                         "in the header (names are matched in any case); column names must be unique")
    if columns:
        compare_columns(columns, table.header, path)
    table.require(CSV_COLUMNS, hint="expected user_id,item_id,timestamp")
    positions = [table.index(name) for name in CSV_COLUMNS]
    rows: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for order, (number, fields) in enumerate(table.rows):
        user, item, stamp = (fields[i] for i in positions)
        for name, value in zip(CSV_COLUMNS, (user, item, stamp)):
            if not value:
                raise ValueError(f"{path}, line {number}, column {name}: empty; every purchase needs a "
                                 "user_id, an item_id and a timestamp (this head takes no missing values)")
        try:
            time = parse_timestamp(stamp)
        except ValueError as err:
            raise ValueError(f"{path}, line {number}, column timestamp: {err}") from None
        rows[user].append((time, order, item))
    return {user: [item for _, _, item in sorted(events)] for user, events in rows.items()}


def leave_one_out(seqs: dict[str, list[str]], fmt: str, item_map: ItemMap | None = None) -> Split:
    """Map items to ids and split every user's sequence (see the module docstring)."""
    item_map = item_map if item_map is not None else ItemMap()
    build = len(item_map) == 0
    train: list[list[int]] = []
    valid, test = EvalSet([], [], []), EvalSet([], [], [])
    valid_rows: list[int] = []
    for user, tokens in seqs.items():
        ids = [item_map.add(t) for t in tokens] if build else item_map.encode(tokens)[0]
        if len(ids) < 3:
            if ids:
                train.append(ids)
            continue
        valid_rows.append(len(train))
        train.append(ids[:-2])
        valid.users.append(user)
        valid.inputs.append(ids[:-2])
        valid.targets.append(ids[-2])
        test.users.append(user)
        test.inputs.append(ids[:-1])
        test.targets.append(ids[-1])
    return Split(train, valid, test, item_map, fmt, valid_rows)


def _read_ml1m_lines(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing file of the ml1m folder")
    return [line.split() for line in io.StringIO(_read_text(path), newline=None)]


def _load_ml1m(folder: Path, item_map: ItemMap | None) -> Split:
    """gSASRec's split: train on train/input; valid = val users' val/input -> val/output;
    test = the same 512 users, input val/input + val/output -> test/output (exact leave-one-out)."""
    train_lines = _read_ml1m_lines(folder / "train" / "input.txt")
    val_in = _read_ml1m_lines(folder / "val" / "input.txt")
    val_out = _read_ml1m_lines(folder / "val" / "output.txt")
    test_out = _read_ml1m_lines(folder / "test" / "output.txt")
    if len(val_in) != len(val_out) or len(test_out) != len(train_lines):
        raise ValueError(f"{folder}: inconsistent ml1m files "
                         "(val input/output or train/test line counts differ)")
    item_map = item_map if item_map is not None else ItemMap()
    build = len(item_map) == 0

    def enc(tokens: list[str]) -> list[int]:
        return [item_map.add(t) for t in tokens] if build else item_map.encode(tokens)[0]

    train = [enc(t) for t in train_lines]
    valid, test = EvalSet([], [], []), EvalSet([], [], [])
    valid_lines: list[int] = []
    cursor = 0
    for k, (history, target) in enumerate(zip(val_in, val_out)):
        # the k-th validation user is the first later user whose train line is history minus one item
        while cursor < len(train_lines) and train_lines[cursor] != history[:-1]:
            cursor += 1
        if cursor == len(train_lines) or len(target) != 1 or len(test_out[cursor]) != 1:
            raise ValueError(f"{folder / 'val' / 'input.txt'}: line {k + 1}: "
                             "matches no user of train/input.txt")
        ids, target_ids, test_ids = enc(history), enc(target), enc(test_out[cursor])
        if target_ids and test_ids:
            valid.users.append(str(cursor + 1))
            valid.inputs.append(ids)
            valid.targets.append(target_ids[0])
            test.users.append(str(cursor + 1))
            test.inputs.append(ids + target_ids)
            test.targets.append(test_ids[0])
            valid_lines.append(cursor)
        cursor += 1
    kept = [line for line, t in enumerate(train) if t]  # lines left empty (no known item) go
    row_of = {line: row for row, line in enumerate(kept)}
    train = [train[line] for line in kept]
    valid_rows = [row_of.get(line, -1) for line in valid_lines]
    return Split(train, valid, test, item_map, "ml1m", valid_rows)


def load_split(path: str | Path, fmt: str = "auto", item_map: ItemMap | None = None) -> Split:
    """Load ``path`` in format ``fmt`` and split it; with ``item_map`` (a trained model's),
    items it does not know are dropped instead of being added, and a CSV must hold the columns
    the model was trained from (``item_map.columns``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: data file or folder not found (--data)")
    if fmt not in FORMATS:
        raise ValueError(f"--format: expected one of {FORMATS}, got {fmt!r}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "ml1m":
        return _load_ml1m(path, item_map)
    seqs, fmt = load_sequences(path, fmt, columns=None if item_map is None else item_map.columns)
    split = leave_one_out(seqs, fmt, item_map)
    if item_map is None and fmt == "csv":
        split.item_map.columns = list(CSV_COLUMNS)  # saved with the model, checked by evaluate
    return split
