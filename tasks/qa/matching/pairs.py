"""Labelled question pairs from an FAQ table, for training a matcher without pair labels.

Two questions with the same answer mean the same (a positive pair); a question and a random
question of another answer do not (a negative)::

    positives = { (q, q') : answer(q) = answer(q'), q != q' }          every such ordered pair
    negatives = { (q, r_1), ..., (q, r_k) } per question q, r_i drawn from other answers   k = negatives

Examples:
    >>> pairs_from_faq(["hi", "hello", "bye"], ["A", "A", "B"], negatives=1)
    [('hi', 'hello', 1), ('hi', 'bye', 0), ('hello', 'hi', 1), ('hello', 'bye', 0), ('bye', 'hi', 0)]
"""

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = ["pairs_from_faq"]


def pairs_from_faq(questions: Sequence[str], answers: Sequence[str], negatives: int = 2,
                   seed: int = 0) -> list[tuple[str, str, int]]:
    """Labelled pairs from an FAQ table: questions sharing an answer are positives, and each
    question is paired with ``negatives`` random questions of other answers (seeded)."""
    if not isinstance(negatives, int) or isinstance(negatives, bool) or negatives < 1:
        raise ValueError(f"negatives: expected a positive integer, got {negatives!r}")
    if len(questions) != len(answers):
        raise ValueError(f"questions and answers differ in length ({len(questions)} vs {len(answers)})")
    rng = random.Random(seed)
    by_answer: dict[str, list[str]] = {}
    for q, a in zip(questions, answers):
        by_answer.setdefault(a, []).append(q)
    pairs = []
    for q, a in zip(questions, answers):
        pairs += [(q, other, 1) for other in by_answer[a] if other != q]
        others = [i for i, b in enumerate(answers) if b != a]
        pairs += [(q, questions[i], 0) for i in rng.sample(others, min(negatives, len(others)))]
    return pairs
