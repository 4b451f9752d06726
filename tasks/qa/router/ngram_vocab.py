"""An n-gram vocabulary: every n-gram seen in training gets its own feature id, no hashing.

The sentence encoder's n-gram bag (:mod:`tasks.qa.model`) hashes n-grams into a fixed number of
buckets, so unrelated n-grams share a row. For the linear expert (:mod:`tasks.qa.router.linear`) that sharing
is costly: BANKING77's training questions hold about 36,000 distinct n-grams, and squeezed into
16,384 buckets a TF-IDF logistic regression scored 89.7% on our hold-out where the same features
without collisions score 91.8%. A linear model learns nothing about an n-gram it never saw, so
keeping exactly the training n-grams loses nothing and collides nothing:

    grams(text) = the n-grams of :func:`~tasks.qa.encoding.iter_ngrams`: words, word pairs,
                  character 1..5-grams inside each word
    vocab       = sorted { g : g in grams(t), t a training question }      id(g) = 1 + rank
    encode(t)   = [ id(g) for g in grams(t) if g in vocab ]   each id once, the first 1,024

Id 0 is padding (:func:`~tasks.qa.encoding.pad_ids` pads with 0), and an n-gram never seen in
training is dropped. The vocabulary is saved as ``ngrams.json`` beside the model (plain JSON:
loading it runs no code).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from minitransformer.nn.io import save_json

from ..encoding import iter_ngrams, pad_ids

__all__ = ["NgramVocabulary", "NGRAMS_FILE"]

NGRAMS_FILE = "ngrams.json"
_FORMAT = "minitransformer-ngram-vocabulary"


class NgramVocabulary:
    """The n-grams of the training questions, each mapped to an id ``1..len(self)``."""

    def __init__(self, grams: Sequence[str]):
        self.grams = list(grams)
        self.index = {gram: i + 1 for i, gram in enumerate(self.grams)}
        if len(self.index) != len(self.grams):
            raise ValueError("grams: expected distinct n-grams, got repeats")

    @classmethod
    def fit(cls, texts: Sequence[str]) -> NgramVocabulary:
        """Collect every n-gram of ``texts`` (sorted, so the ids do not depend on the order)."""
        if not texts:
            raise ValueError("texts: expected at least one question to collect n-grams from, got none")
        return cls(sorted({gram for text in texts for gram in iter_ngrams(text)}))

    def __len__(self) -> int:
        return len(self.grams)

    def encode(self, text: str, max_grams: int = 1024) -> list[int]:
        """The ids of ``text``'s known n-grams, each once, in reading order (the first
        ``max_grams`` of a very long text). The cap is high on purpose: :func:`iter_ngrams` yields
        words and word pairs first and character n-grams last, so a low cap would drop the
        character n-grams of an ordinary question's later words (BANKING77 hold-out: 90.3% with
        256, 91.9% with 1,024)."""
        ids: dict[int, None] = {}  # insertion-ordered set
        for gram in iter_ngrams(text):
            i = self.index.get(gram)
            if i is not None:
                ids[i] = None
                if len(ids) >= max_grams:
                    break
        return list(ids)

    def encode_batch(self, texts: Sequence[str]) -> torch.Tensor:
        """``(N, G)`` ids of ``N`` questions, right-padded with 0."""
        return pad_ids([self.encode(text) for text in texts])

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / NGRAMS_FILE
        save_json(path, {"format": _FORMAT, "grams": self.grams}, indent=None)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> NgramVocabulary:
        """Read ``ngrams.json`` of a model folder; a file of another shape is refused naming it."""
        from ..bundle import model_file

        path = model_file(directory, NGRAMS_FILE)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: n-gram vocabulary not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
            raise ValueError(f"{path}: not valid JSON ({str(err)[:80]})") from None
        known = isinstance(data, dict) and data.get("format") == _FORMAT
        grams = data.get("grams") if known else None
        if not isinstance(grams, list) or not all(isinstance(gram, str) for gram in grams):
            raise ValueError(f"{path}: expected {{'format': {_FORMAT!r}, 'grams': [n-gram, ...]}}")
        if len(set(grams)) != len(grams):
            raise ValueError(f"{path}: an n-gram is listed twice")
        return cls(grams)
