"""Character tokenizer: one token per Unicode character.

The simplest tokenizer there is. ``fit`` counts every character (Python
``str`` element, i.e. Unicode code point) in a corpus and gives each one that
appears at least ``min_freq`` times its own id, most frequent first (ties in
code-point order, so fitting is deterministic). Encoding is then a dictionary
lookup per character.

It works for Chinese out of the box: each Han character is one token, which is
also how BERT-Chinese tokenizes. The vocabulary is a few thousand entries for
everyday Chinese, about a hundred for English.

Limitation to keep in mind: a character that was not seen in ``fit`` (or was
rarer than ``min_freq``) becomes ``<unk>``. Therefore
``decode(encode(s)) == s`` holds only for strings made of characters from the
vocabulary; for any other string the unknown characters are lost (dropped by
``decode(..., skip_special=True)``, shown as ``<unk>`` with
``skip_special=False``). Use :class:`BPETokenizer` when every string must
survive the round trip.

Vocabulary layout: ids 0..6 are the special tokens, then the characters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .special import NUM_SPECIAL, SPECIAL_TOKENS, Tokenizer, iter_texts


class CharTokenizer(Tokenizer):
    """One id per character; unknown characters map to ``unk_id``.

    Examples:
        >>> tok = CharTokenizer().fit(["你好, hello"])
        >>> tok.decode(tok.encode("hello 你好"))
        'hello 你好'
    """

    type_name = "char"

    def __init__(self, chars: Iterable[str] = ()) -> None:
        self._set_chars(list(chars))

    def fit(self, texts: Iterable[str], min_freq: int = 1, max_size: int | None = None) -> CharTokenizer:
        """Build the vocabulary from ``texts`` (replacing any previous one); return self.

        Characters seen fewer than ``min_freq`` times are left out, and with
        ``max_size`` only the most frequent ``max_size`` characters are kept.
        """
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an int >= 1, got {min_freq!r}")
        if max_size is not None and (not isinstance(max_size, int) or max_size < 0):
            raise ValueError(f"max_size must be an int >= 0 or None, got {max_size!r}")
        counts: Counter[str] = Counter()
        for text in iter_texts(texts, "texts"):
            counts.update(text)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        chars = [ch for ch, n in ranked if n >= min_freq]
        self._set_chars(chars[:max_size] if max_size is not None else chars)
        return self

    @property
    def vocab_size(self) -> int:
        return NUM_SPECIAL + len(self._chars)

    @property
    def chars(self) -> list[str]:
        """The characters in id order (the one at index ``k`` has id ``7 + k``)."""
        return list(self._chars)

    # ------------------------------------------------------------------ hooks
    def _encode_plain(self, text: str) -> list[int]:
        if not self._chars and text:
            raise RuntimeError("CharTokenizer has an empty vocabulary; call fit(texts) first")
        lookup, unk = self._char_to_id, self.unk_id
        return [lookup.get(ch, unk) for ch in text]

    def _decode_plain(self, ids: list[int]) -> str:
        chars = self._chars
        return "".join(chars[i - NUM_SPECIAL] for i in ids)

    def _to_json(self) -> dict[str, Any]:
        return {"vocab": list(SPECIAL_TOKENS) + self._chars}

    @classmethod
    def _from_json(cls, data: dict[str, Any], file: Path) -> CharTokenizer:
        vocab = data.get("vocab")
        if not isinstance(vocab, list) or list(vocab[:NUM_SPECIAL]) != list(SPECIAL_TOKENS):
            raise ValueError(f"{file}: 'vocab' must be a list starting with {SPECIAL_TOKENS}")
        chars = vocab[NUM_SPECIAL:]
        if not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError(f"{file}: every 'vocab' entry after the specials must be one char")
        if len(set(chars)) != len(chars):
            raise ValueError(f"{file}: 'vocab' contains a character twice")
        return cls(chars)

    # ---------------------------------------------------------------- helpers
    def _set_chars(self, chars: list[str]) -> None:
        for ch in chars:
            if not isinstance(ch, str) or len(ch) != 1:
                raise ValueError(f"vocabulary entries must be single characters, got {ch!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("vocabulary contains a character twice")
        self._chars = chars
        self._char_to_id = {ch: NUM_SPECIAL + i for i, ch in enumerate(chars)}
