"""Interaction data: four file formats, an item-id map, and the leave-one-out split.

Formats (``--format auto`` picks one, see :func:`detect_format`):

* ``sequence`` -- one user per line: ``user item item ...`` (chronological). S3-Rec, LastFM.
* ``pairs``    -- one interaction per line: ``user item``, chronological within each user.
* ``csv``      -- a header with ``user_id,item_id,timestamp`` (other columns ignored); rows are
  sorted by timestamp per user, ties keep the file order (a stable sort).
* ``ml1m``     -- the pre-split gSASRec MovieLens-1M folder (``train/input.txt``,
  ``val/input.txt``, ``val/output.txt``, ``test/output.txt``; one line per user, no user id).

Item ids in the files are arbitrary tokens; :class:`ItemMap` maps them to ``1..N`` in order of
first appearance (``0`` is the padding id), and is saved beside the model as ``item_map.json``
(``{"items": [raw id of item 1, raw id of item 2, ...]}``), the one file of this head's own that
a model folder holds besides the core's ``config.json`` and ``model.safetensors``.

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

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from minitransformer.nn.io import save_json

__all__ = ["ItemMap", "EvalSet", "Split", "FORMATS", "ITEM_MAP_NAME", "detect_format", "load_sequences",
           "leave_one_out", "load_split"]

FORMATS = ("auto", "sequence", "pairs", "csv", "ml1m")
CSV_COLUMNS = ("user_id", "item_id", "timestamp")
ITEM_MAP_NAME = "item_map.json"  # the item map's file name in a model folder


@dataclass
class ItemMap:
    """Raw item token <-> contiguous id ``1..N`` (0 = padding)."""

    tokens: list[str] = field(default_factory=list)  # tokens[i - 1] is the raw id of item i
    index: dict[str, int] = field(default_factory=dict)

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
        save_json(path, {"items": self.tokens}, indent=None)

    @classmethod
    def load(cls, path: str | Path) -> ItemMap:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: item map not found (is this a recommendation model directory?)")
        try:
            tokens = json.loads(path.read_text(encoding="utf-8"))["items"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: not a valid item map ({err})") from None
        return cls(list(tokens), {t: i + 1 for i, t in enumerate(tokens)})


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


def _lines(path: Path):
    """(line number, stripped line) for non-blank lines; a clear error for unreadable files."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if line:
                yield number, line


def detect_format(path: str | Path) -> str:
    """``ml1m`` for a folder with ``train/input.txt``; ``csv`` when the first line is a header
    with ``user_id,item_id,timestamp``; ``pairs`` when every line has two fields and some user
    appears on several lines; otherwise ``sequence``."""
    path = Path(path)
    if path.is_dir():
        if (path / "train" / "input.txt").is_file():
            return "ml1m"
        raise ValueError(f"{path}: a folder, but not the ml1m layout (train/input.txt missing)")
    first = next(_lines(path), None)
    if first is None:
        raise ValueError(f"{path}: the file is empty (no interactions)")
    header = [c.strip().lower() for c in first[1].split(",")]
    if all(c in header for c in CSV_COLUMNS):
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


def load_sequences(path: str | Path, fmt: str = "auto") -> tuple[dict[str, list[str]], str]:
    """Read ``sequence``/``pairs``/``csv`` -> ``({user: [item tokens, chronological]}, format)``."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"--format: expected one of {FORMATS}, got {fmt!r}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    seqs: dict[str, list[str]] = defaultdict(list)
    if fmt == "sequence":
        for number, line in _lines(path):
            fields = line.split()
            if len(fields) < 2:
                raise ValueError(f"{path}: line {number}: expected 'user item [item ...]', got {line!r}")
            seqs[fields[0]].extend(fields[1:])
    elif fmt == "pairs":
        for number, line in _lines(path):
            fields = line.split()
            if len(fields) != 2:
                raise ValueError(f"{path}: line {number}: expected 'user item' (2 fields), "
                                 f"got {len(fields)} field(s): {line!r}")
            seqs[fields[0]].append(fields[1])
    elif fmt == "csv":
        seqs = _load_csv(path)
    else:
        raise ValueError(f"{path}: format {fmt!r} is not a single file (use load_split)")
    if not seqs:
        raise ValueError(f"{path}: the file is empty (no interactions)")
    return dict(seqs), fmt


def _load_csv(path: Path) -> dict[str, list[str]]:
    rows: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: the file is empty (no header)")
        header = [c.strip().lower() for c in header]
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{path}: line 1: header lacks column(s) {missing}; "
                             f"expected {list(CSV_COLUMNS)}")
        cols = [header.index(c) for c in CSV_COLUMNS]
        for order, row in enumerate(reader):
            number = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}: line {number}: expected {len(header)} fields, got {len(row)}")
            user, item, stamp = (row[c].strip() for c in cols)
            try:
                time = float(stamp)
            except ValueError:
                raise ValueError(f"{path}: line {number}: timestamp must be a number, "
                                 f"got {stamp!r}") from None
            if not user or not item:
                raise ValueError(f"{path}: line {number}: empty user_id or item_id")
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
    with path.open(encoding="utf-8") as handle:
        return [line.split() for line in handle]


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
    items it does not know are dropped instead of being added."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: data file or folder not found (--data)")
    if fmt not in FORMATS:
        raise ValueError(f"--format: expected one of {FORMATS}, got {fmt!r}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "ml1m":
        return _load_ml1m(path, item_map)
    seqs, fmt = load_sequences(path, fmt)
    return leave_one_out(seqs, fmt, item_map)
