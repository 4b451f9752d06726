"""The baseline printed beside the model: always answer the class seen most in training."""

from __future__ import annotations


def majority_class(labels: list[int]) -> int:
    """The most frequent label (ties go to 0)."""
    return int(sum(labels) * 2 > len(labels))
