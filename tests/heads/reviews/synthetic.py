"""Built-in data: seeded reviews, a complaint when a complaint word is planted in them."""

from __future__ import annotations

import csv
import random
from pathlib import Path

FILLER = ("the", "parcel", "came", "on", "time", "colour", "size", "fits", "box", "price", "ordered",
          "again", "my", "sister", "shoes", "phone", "case", "looks", "as", "pictured")
COMPLAINTS = ("broken", "refund", "damaged", "missing")


def make_reviews(n: int = 400, seed: int = 0) -> list[tuple[str, int]]:
    """``n`` pairs ``(text, label)``: 6-12 filler words, half with one complaint word put in."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = [rng.choice(FILLER) for _ in range(rng.randint(6, 12))]
        label = i % 2
        if label:
            text.insert(rng.randrange(len(text) + 1), rng.choice(COMPLAINTS))
        rows.append((" ".join(text), label))
    rng.shuffle(rows)
    return rows


def write_reviews(path: str | Path, n: int = 400, seed: int = 0) -> Path:
    """Write :func:`make_reviews` as a ``text,label`` CSV file and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(make_reviews(n, seed))
    return path
