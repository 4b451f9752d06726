"""Loading customer-service data: intent CSVs, question-pair files and FAQ tables.

Three shapes of data, one reader each; every reader names the file, the line and what it expected
when something is wrong, and none of them needs torch.

* **Intents** (:func:`load_intents`) -- BANKING77's layout by default: a CSV with the header
  ``text,category`` and quoted fields (``"Hi, where is my card?",card_arrival``). Other column
  names with ``text_col`` / ``label_col``.
* **Question pairs** (:func:`load_pairs`) -- ``label = 1`` when two questions mean the same:
  ``atec``: tab-separated, no header, ``id \\t sentence1 \\t sentence2 \\t label`` (the first
  line carries a UTF-8 BOM at the start of *two* fields, so every field is stripped of
  ``\\ufeff``); ``afqmc``: one JSON object per line with ``sentence1``, ``sentence2`` and
  ``label`` ("0"/"1"); ``csv``: a header with ``sentence1,sentence2,label``.
* **FAQ tables** (:func:`load_faq`) -- a CSV with ``question,answer`` columns.

:func:`stratified_split` carves a validation split that keeps every label's share (each label
with at least two rows gets at least one row on each side), and :func:`drop_overlapping_pairs`
removes pairs that also occur in another set in either order (ATEC vs AFQMC dev, see the data's
SOURCE.md).
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

__all__ = ["PAIR_FORMATS", "load_intents", "load_pairs", "load_faq", "stratified_split",
           "drop_overlapping_pairs", "read_csv_columns"]

PAIR_FORMATS = ("atec", "afqmc", "csv")
Pair = tuple[str, str, int]


def _check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty")
    return path


def read_csv_columns(path: str | Path, columns: Sequence[str]) -> list[tuple[str, ...]]:
    """The ``columns`` of a CSV with a header row, as tuples of stripped strings.

    Raises ValueError naming the columns found when one is missing, and the line number of a row
    with an empty value or too few fields.
    """
    path = _check_file(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        found = [name.strip() for name in (reader.fieldnames or [])]
        reader.fieldnames = found
        missing = [c for c in columns if c not in found]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; the header has {found} "
                             f"(choose others with --text-col / --label-col)")
        rows = []
        for row in reader:
            line = reader.line_num
            values = []
            for column in columns:
                value = row.get(column)
                if value is None:
                    raise ValueError(f"{path}: line {line}: too few fields, no value for {column!r}")
                value = value.strip()
                if not value:
                    raise ValueError(f"{path}: line {line}: empty {column!r}")
                values.append(value)
            rows.append(tuple(values))
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")
    return rows


def load_intents(path: str | Path, text_col: str = "text",
                 label_col: str = "category") -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from an intent CSV (BANKING77 layout by default)."""
    rows = read_csv_columns(path, (text_col, label_col))
    return [r[0] for r in rows], [r[1] for r in rows]


def load_faq(path: str | Path, question_col: str = "question",
             answer_col: str = "answer") -> tuple[list[str], list[str]]:
    """``(questions, answers)`` from an FAQ CSV of ``question,answer`` rows."""
    rows = read_csv_columns(path, (question_col, answer_col))
    return [r[0] for r in rows], [r[1] for r in rows]


def _parse_label(value: object, path: Path, line: int) -> int:
    text = str(value).strip()
    if text not in ("0", "1"):
        raise ValueError(f"{path}: line {line}: label must be 0 or 1, got {text!r}")
    return int(text)


def load_pairs(path: str | Path, fmt: str = "atec") -> list[Pair]:
    """``[(sentence1, sentence2, label)]`` from a question-pair file in format ``fmt``."""
    if fmt not in PAIR_FORMATS:
        raise ValueError(f"--format: expected one of {list(PAIR_FORMATS)}, got {fmt!r}")
    path = _check_file(path)
    if fmt == "csv":
        rows = read_csv_columns(path, ("sentence1", "sentence2", "label"))
        return [(a, b, _parse_label(y, path, i + 2)) for i, (a, b, y) in enumerate(rows)]
    pairs: list[Pair] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if fmt == "atec":
                fields = [f.replace("\ufeff", "").strip() for f in line.split("\t")]
                if len(fields) != 4:
                    raise ValueError(f"{path}: line {line_no}: expected 4 tab-separated fields "
                                     f"(id, sentence1, sentence2, label), got {len(fields)}")
                _, a, b, label = fields
            else:
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}: line {line_no}: not a JSON object ({err.msg})") from None
                missing = [k for k in ("sentence1", "sentence2", "label") if k not in obj]
                if missing:
                    raise ValueError(f"{path}: line {line_no}: missing key(s) {missing}; "
                                     f"found {sorted(obj)}")
                a, b, label = str(obj["sentence1"]).strip(), str(obj["sentence2"]).strip(), obj["label"]
            if not a or not b:
                raise ValueError(f"{path}: line {line_no}: empty sentence")
            pairs.append((a, b, _parse_label(label, path, line_no)))
    if not pairs:
        raise ValueError(f"{path}: no question pairs found")
    return pairs


def drop_overlapping_pairs(pairs: Sequence[Pair], other: Sequence[Pair]) -> list[Pair]:
    """``pairs`` without those whose (s1, s2) also occurs in ``other``, in either order."""
    seen = {(a, b) for a, b, _ in other} | {(b, a) for a, b, _ in other}
    return [p for p in pairs if (p[0], p[1]) not in seen]


def stratified_split(labels: Sequence, valid_fraction: float = 0.1,
                     seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices ``(train, valid)`` with every label's share kept.

    Each label with ``n >= 2`` rows puts ``max(1, round(n * valid_fraction))`` (at most ``n - 1``)
    of them in validation; a label seen only once stays in training. Deterministic for ``seed``.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction: expected a number in (0, 1), got {valid_fraction}")
    by_label: dict = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    train, valid = [], []
    for label in sorted(by_label, key=str):
        idx = by_label[label][:]
        rng.shuffle(idx)
        k = 0 if len(idx) < 2 else min(len(idx) - 1, max(1, round(len(idx) * valid_fraction)))
        valid.extend(idx[:k])
        train.extend(idx[k:])
    return sorted(train), sorted(valid)
