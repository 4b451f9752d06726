"""Loading customer-service data: intent CSVs, question-pair files and FAQ tables.

Three shapes of data, one reader each; every reader names the file, the line and what it expected
when something is wrong, and none of them needs torch.

* **Intents** (:func:`load_intents`) -- BANKING77's layout by default: a CSV with the header
  ``text,category`` and quoted fields (``"Hi, where is my card?",card_arrival``). Other column
  names with ``text_col`` / ``label_col``. Out-of-scope rows carry the label ``oos``.
* **Question pairs** (:func:`load_pairs`) -- ``label = 1`` when two questions mean the same:
  ``atec``: tab-separated, no header, ``id \\t sentence1 \\t sentence2 \\t label`` (the first
  line carries a UTF-8 BOM at the start of *two* fields, so every field is stripped of
  ``\\ufeff``); ``afqmc``: one JSON object per line with ``sentence1``, ``sentence2`` and
  ``label`` ("0"/"1"); ``csv``: a header with ``sentence1,sentence2,label``.
* **FAQ tables** (:func:`load_faq`) -- a CSV with ``question,answer`` columns.
* **Questions to answer** (:func:`read_questions`) -- any CSV with a ``text`` column
  (``text_col``), e.g. an intent CSV without its labels.
* **Answers** (:func:`read_answers`) -- a CSV with ``intent,answer`` columns: the words each
  intent of a user's own data replies with (``qa train --answers FILE``).

Every CSV goes through the project's one reader,
:func:`minitransformer.files.tables.read_csv`: UTF-8 with or without a byte-order mark, fields
of any length, any other columns ignored; a column name given twice, bytes that are not UTF-8,
a NUL byte, a row with more or fewer fields than the header and an empty question, label or
answer are refused with the file, the line and the column. The head reads no timestamps and no
missing values: every row needs each of its columns.

The verbs (``tasks.qa.train``, ``evaluate``) read their ``data`` argument through
:func:`read_intents`, :func:`read_pairs` and :func:`read_faq`, which also take ``"builtin"`` (the
built-in bilingual FAQ of :mod:`tasks.qa.synthetic`: its training or held-out questions for
intents, every ``question,answer`` row for an FAQ table) and data already in memory
(``(texts, labels)``, ``[(sentence1, sentence2, label)]``, ``(questions, answers)``).

:func:`stratified_split` carves a validation split that keeps every label's share (each label
with at least two rows gets at least one row on each side), :func:`check_label_counts` refuses
labels too rare to split, and :func:`drop_overlapping_pairs` removes pairs that also occur in
another set in either order (ATEC vs AFQMC dev, see the data's SOURCE.md).
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from minitransformer.files.tables import compare_columns, decode_utf8, read_csv

from .synthetic import faq_pairs, faq_split

__all__ = ["BUILTIN", "PAIR_FORMATS", "is_builtin", "read_intents", "read_pairs", "read_faq",
           "read_questions", "load_intents", "load_pairs", "load_faq", "stratified_split",
           "check_label_counts", "drop_overlapping_pairs", "read_csv_columns", "read_answers"]

#: ``data="builtin"``: the head's own bilingual FAQ (:mod:`tasks.qa.synthetic`)
BUILTIN = "builtin"
PAIR_FORMATS = ("atec", "afqmc", "csv")
Pair = tuple[str, str, int]


def is_builtin(data) -> bool:
    """Whether ``data`` names the built-in FAQ (``"builtin"``, as a string or a path)."""
    return isinstance(data, (str, Path)) and str(data) == BUILTIN


def _columns(data, names: str) -> tuple[list[str], list[str]]:
    """Two equally long lists from in-memory ``data`` (a pair of sequences)."""
    try:
        first, second = data
        first, second = list(first), list(second)
    except (TypeError, ValueError):
        raise ValueError(f"data: expected a file path, {BUILTIN!r} or {names}, "
                         f"got {type(data).__name__}") from None
    if len(first) != len(second) or not first:
        raise ValueError(f"data: {names} must be two non-empty lists of the same length, "
                         f"got {len(first)} and {len(second)}")
    return first, second


def read_questions(data, text_col: str = "text", *, trained: bool = False) -> list[str]:
    """The questions of a CSV's ``text_col`` column (any other columns are ignored), or a list of
    questions in memory. ``trained``: ``text_col`` is the column a trained model reads."""
    if isinstance(data, (str, Path)):
        _check_columns(text_col)
        return [row[0] for row in read_csv_columns(data, (text_col,), trained=trained)]
    questions = [data] if isinstance(data, str) else list(data)
    for i, question in enumerate(questions):
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"questions: question {i + 1} is empty or not text ({question!r:.40})")
    return questions


def _check_columns(*names: str) -> None:
    """Column names given as options: non-empty text, all different."""
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"column name: expected a non-empty name, got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"column names: the question and label columns must differ, got {names[0]!r} twice")


def read_intents(data, *, split: str = "train", text_col: str = "text", label_col: str = "category",
                 oos_label: str = "oos", trained: bool = False) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from an intent CSV path, ``(texts, labels)`` in memory, or ``"builtin"``:
    the built-in FAQ's ``split`` (``"train"`` or ``"test"``), out-of-scope rows labelled
    ``oos_label``. ``trained``: the columns are those a trained model reads (evaluate)."""
    if is_builtin(data):
        if split not in ("train", "test"):
            raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
        rows = faq_split(oos_label)[0 if split == "train" else 1]
        return [q for q, _ in rows], [y for _, y in rows]
    if isinstance(data, (str, Path)):
        return load_intents(data, text_col, label_col, trained=trained)
    return _columns(data, "(texts, labels)")


def read_pairs(data, fmt: str = "atec") -> list[Pair]:
    """``[(sentence1, sentence2, label)]`` from a question-pair file in format ``fmt``, or the same
    list in memory."""
    if is_builtin(data):
        raise ValueError(f"data {BUILTIN!r}: the built-in FAQ is a question,answer table, not question "
                         "pairs; train a matcher on it with format 'faq'")
    if isinstance(data, (str, Path)):
        return load_pairs(data, fmt)
    pairs = [tuple(row) for row in data]
    if not pairs or any(len(row) != 3 for row in pairs):
        raise ValueError("data: expected a file path or a non-empty list of (sentence1, sentence2, label)")
    return pairs


def read_faq(data) -> tuple[list[str], list[str]]:
    """``(questions, answers)`` from an FAQ CSV path, ``(questions, answers)`` in memory, or
    ``"builtin"``: every question of the built-in FAQ with the answer in its own language."""
    if is_builtin(data):
        questions, answers = zip(*faq_pairs())
        return list(questions), list(answers)
    if isinstance(data, (str, Path)):
        return load_faq(data)
    return _columns(data, "(questions, answers)")


def read_csv_columns(path: str | Path, columns: Sequence[str], *,
                     hint: str = "choose others with --text-col / --label-col",
                     trained: bool = False) -> list[tuple[str, ...]]:
    """The ``columns`` of a CSV with a header row, as tuples of stripped strings, one per row.

    The file is read by :func:`minitransformer.files.tables.read_csv` (UTF-8 with or without a
    byte-order mark, fields of any length; duplicate column names, other bytes and rows with
    more or fewer fields than the header are refused, naming the file and the line). Other
    columns are ignored. ``trained``: the columns are those a trained model reads (evaluate,
    predict), so a missing one is reported beside the file's extra ones.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a missing column (naming those found), or an empty value (naming the line
            and the column: questions and labels cannot be missing).
    """
    return [values for _, values in _numbered_rows(path, columns, hint, trained)[1]]


def _numbered_rows(path: str | Path, columns: Sequence[str], hint: str = "", trained: bool = False
                   ) -> tuple[Path, list[tuple[int, tuple[str, ...]]]]:
    """``(path, [(line number, values of columns)])`` of a CSV, as :func:`read_csv_columns`."""
    table = read_csv(path, hint=hint)
    if trained:
        compare_columns(columns, table.header, table.path)
    else:
        table.require(columns, hint)
    where = [table.index(column) for column in columns]
    rows = []
    for line, fields in table.rows:
        values = tuple(fields[i] for i in where)
        for column, value in zip(columns, values):
            if not value:
                raise ValueError(f"{table.path}, line {line}: column {column!r} is empty; every row "
                                 "needs a value there (QA takes no missing values)")
        rows.append((line, values))
    return table.path, rows


def load_intents(path: str | Path, text_col: str = "text", label_col: str = "category", *,
                 trained: bool = False) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from an intent CSV (BANKING77 layout by default)."""
    _check_columns(text_col, label_col)
    rows = read_csv_columns(path, (text_col, label_col), trained=trained)
    return [r[0] for r in rows], [r[1] for r in rows]


def load_faq(path: str | Path, question_col: str = "question",
             answer_col: str = "answer") -> tuple[list[str], list[str]]:
    """``(questions, answers)`` from an FAQ CSV of ``question,answer`` rows."""
    rows = read_csv_columns(path, (question_col, answer_col),
                            hint="an FAQ table has the columns question,answer")
    return [r[0] for r in rows], [r[1] for r in rows]


def read_answers(path: str | Path, intents: Sequence[str], oos_label: str = "oos") -> dict[str, str]:
    """``{intent: answer}`` from an answers CSV with the columns ``intent,answer`` (UTF-8, any
    language): the text ``qa ask`` replies with for each intent.

    Every intent must be one of ``intents`` (those of the training data); an unknown one, the
    out-of-scope label (its questions go to a person) or an intent given twice is refused,
    naming the line.
    """
    path, rows = _numbered_rows(path, ("intent", "answer"), "an answers file has the columns intent,answer")
    known = sorted(set(intents) - {oos_label})
    answers: dict[str, str] = {}
    for line, (intent, answer) in rows:
        if intent == oos_label:
            raise ValueError(f"{path}, line {line}: {intent!r} is the out-of-scope label; its "
                             "questions are handed to a person, so it takes no answer")
        if intent not in known:
            shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
            raise ValueError(f"{path}, line {line}: intent {intent!r} is not an intent of the training "
                             f"data ({shown})")
        if intent in answers:
            raise ValueError(f"{path}, line {line}: intent {intent!r} has a second answer; give each "
                             "intent one")
        answers[intent] = answer
    return answers


def _parse_label(value: object, path: Path, line: int) -> int:
    text = str(value).strip()
    if text not in ("0", "1"):
        raise ValueError(f"{path}, line {line}: label must be 0 or 1, got {text[:20]!r}")
    return int(text)


def _read_text(path: str | Path) -> tuple[Path, str]:
    """A text file's path and contents: UTF-8 (a byte-order mark is dropped), no NUL byte."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found" if not path.exists()
                                else f"{path}: expected a data file, got a folder")
    text = decode_utf8(path.read_bytes(), path)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValueError(f"{path}, line {line}: a NUL byte; this is not a text file")
    return path, text


def _sentence(value: object, path: Path, line: int, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{path}, line {line}: {key!r} must be a non-empty string, got {value!r:.40}")
    return value.strip()


def load_pairs(path: str | Path, fmt: str = "atec", *, labels: bool = True) -> list:
    """``[(sentence1, sentence2, label)]`` from a question-pair file in format ``fmt``.

    ``labels=False``: ``[(sentence1, sentence2)]`` of pairs whose label is optional and not read
    (unlabelled pairs for pretraining): an ``atec`` line may have 3 fields (id, sentence1,
    sentence2), an ``afqmc`` object no ``label``, a ``csv`` no ``label`` column."""
    if fmt not in PAIR_FORMATS:
        raise ValueError(f"--format: expected one of {list(PAIR_FORMATS)}, got {fmt!r}")
    if fmt == "csv":
        columns = ("sentence1", "sentence2", "label")[:3 if labels else 2]
        path, rows = _numbered_rows(path, columns, f"a pair CSV has the columns {','.join(columns)}")
        if not labels:
            return [(a, b) for _, (a, b) in rows]
        return [(a, b, _parse_label(y, path, line)) for line, (a, b, y) in rows]
    path, text = _read_text(path)
    pairs: list = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label = None
        if fmt == "atec":
            fields = [f.replace("\ufeff", "").strip() for f in line.split("\t")]
            if len(fields) != 4 and (labels or len(fields) != 3):
                expected = ("4 tab-separated fields (id, sentence1, sentence2, label)" if labels else
                            "3 or 4 tab-separated fields (id, sentence1, sentence2[, label])")
                raise ValueError(f"{path}, line {line_no}: expected {expected}, got {len(fields)}")
            _, a, b, *rest = fields
            if not a or not b:
                raise ValueError(f"{path}, line {line_no}: empty sentence")
            label = rest[0] if rest else None
        else:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}, line {line_no}: not a JSON object ({err.msg})") from None
            keys = ("sentence1", "sentence2", "label")[:3 if labels else 2]
            if not isinstance(obj, dict):
                raise ValueError(f"{path}, line {line_no}: expected a JSON object with "
                                 f"{', '.join(keys[:-1])} and {keys[-1]}, got {type(obj).__name__}")
            missing = [k for k in keys if k not in obj]
            if missing:
                raise ValueError(f"{path}, line {line_no}: missing key(s) {', '.join(missing)}; "
                                 f"found {', '.join(map(str, sorted(obj)))}")
            a, b = (_sentence(obj[k], path, line_no, k) for k in ("sentence1", "sentence2"))
            label = obj.get("label")
        pairs.append((a, b, _parse_label(label, path, line_no)) if labels else (a, b))
    if not pairs:
        raise ValueError(f"{path}: no question pairs found")
    return pairs


def drop_overlapping_pairs(pairs: Sequence[Pair], other: Sequence[Pair]) -> list[Pair]:
    """``pairs`` without those whose (s1, s2) also occurs in ``other``, in either order."""
    seen = {(a, b) for a, b, _ in other} | {(b, a) for a, b, _ in other}
    return [p for p in pairs if (p[0], p[1]) not in seen]


def check_label_counts(labels: Sequence[str], minimum: int = 2) -> None:
    """Every label needs ``minimum`` examples (one for training, one for validation)."""
    counts = Counter(labels)
    rare = sorted(label for label, n in counts.items() if n < minimum)
    if rare:
        shown = ", ".join(repr(r) for r in rare[:5]) + (" ..." if len(rare) > 5 else "")
        raise ValueError(f"label(s) {shown} occur fewer than {minimum} times; every intent needs at "
                         f"least {minimum} example questions (one for training, one for validation)")
    if len(counts) < 2:
        raise ValueError(f"only one label ({next(iter(counts))!r}); intent routing needs at least two")


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
