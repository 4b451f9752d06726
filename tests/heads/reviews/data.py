"""Reading reviews: a CSV file with a header ``text,label`` (label 1 = complaint, 0 = not).

Words are lower-cased and split on white space. A vocabulary maps each word seen in training to
an id; id 0 is padding and id 1 stands for every word not seen in training.
"""

from __future__ import annotations

import csv
from pathlib import Path

PAD, UNKNOWN = 0, 1


def read_reviews(path: str | Path) -> tuple[list[str], list[int]]:
    """``(texts, labels)`` of a ``text,label`` CSV; a bad row is refused naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found (--data)")
    texts, labels = [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected the columns text,label, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            if row["label"] not in ("0", "1"):
                raise ValueError(f"{path}: line {line}: label: expected 0 or 1, got {row['label']!r}")
            texts.append(row["text"])
            labels.append(int(row["label"]))
    if not texts:
        raise ValueError(f"{path}: no reviews")
    return texts, labels


def words(text: str) -> list[str]:
    return text.lower().split()


def build_vocab(texts: list[str]) -> dict[str, int]:
    """Every word of the training texts, numbered from 2 in order of first appearance."""
    vocab: dict[str, int] = {}
    for text in texts:
        for word in words(text):
            vocab.setdefault(word, len(vocab) + 2)
    return vocab


def encode(texts: list[str], vocab: dict[str, int], max_len: int) -> list[list[int]]:
    """Word ids of each text, cut to ``max_len`` words (at least one id: an empty text is padding)."""
    return [[vocab.get(w, UNKNOWN) for w in words(t)][:max_len] or [PAD] for t in texts]
