"""BERT's WordPiece tokenizer, read from a checkpoint's ``vocab.txt``.

Three steps turn a text into ids (Devlin et al., 2019; Wu et al., 2016 for WordPiece):

1. **Normalise** (BERT's "basic tokenizer"), character by character:

   * drop NUL, U+FFFD and the control, format and private-use characters (Unicode categories
     Cc, Cf, Co; tab, newline and carriage return stay); every whitespace character becomes a
     space;
   * put spaces around each CJK ideograph (the CJK Unified Ideographs blocks and their
     extensions, and the compatibility ideographs), so that Chinese is read one character at a
     time; kana and hangul are left alone (they are written with spaces);
   * strip accents (decompose to NFD, drop the non-spacing marks: ``é`` -> ``e``) and lower-case,
     both when the checkpoint is uncased (``do_lower_case``; accent stripping can be set on its
     own with ``strip_accents``). ``bert-base-chinese`` keeps case and accents.

2. **Split into words** at whitespace (dropped) and at punctuation (each punctuation character
   is a word of its own): ASCII symbols such as ``$ + < = > ^ ` | ~`` count as punctuation too.

3. **WordPiece**, per word, greedy longest match first: take the longest prefix of the word that
   is in the vocabulary, then the longest vocabulary piece ``##…`` that continues it, and so on::

       "unaffable" -> "un", "##aff", "##able"

   A word with a part that no piece covers, or longer than 100 characters, becomes one
   ``[UNK]``.

``encode(text)`` then wraps the ids as ``[CLS] … [SEP]``; ``encode_pair(a, b)`` gives
``[CLS] a [SEP] b [SEP]`` with the token types ``0 … 0 1 … 1`` that tell BERT which sentence a
token belongs to. Added tokens (``[MASK]``, ``[SEP]`` written in the text) are cut out first, see
:mod:`.added`.

Character classes come from Python's :mod:`unicodedata`. The checkpoint's own tokenizer (the
Hugging Face ``tokenizers`` library) classifies with older Unicode tables, so the two agree on
every character that Unicode 3.2 (2002) already had, which the tests check character by
character (large uniform blocks such as the ideographs sampled), and on
the text built from them; about 550 of the characters added since 2016 (out of some 150,000
assigned) are classified differently by the two and can give different ids.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import torch

from .added import AddedToken, read_added_tokens, read_json, split_added
from .gpt2 import WHITESPACE
from .special import check_text, check_texts

__all__ = ["WordPieceTokenizer", "WordPieceBatch", "is_cjk", "MAX_CHARS_PER_WORD"]

MAX_CHARS_PER_WORD = 100
CONTINUATION = "##"

#: The CJK ideograph blocks that are split one character at a time (code point ranges).
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
#: ASCII characters that count as punctuation although Unicode calls them symbols.
ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
KEEP_CONTROLS = frozenset("\t\n\r")
#: Unicode categories removed by the cleaning step: control, format, surrogate, private use.
DROPPED = frozenset({"Cc", "Cf", "Cs", "Co"})


def is_cjk(c: str) -> bool:
    """True for a CJK ideograph (the ranges of ``CJK_RANGES``)."""
    cp = ord(c)
    return any(low <= cp <= high for low, high in CJK_RANGES)


#: Four characters whose Unicode category changed after 2015; the checkpoints' own tokenizers
#: (the Hugging Face ``tokenizers`` library) classify them as they were, and so do we.
OLD_CATEGORIES = {"\u166d": "Po", "\u1734": "Mn", "\u1885": "Lo", "\u1886": "Lo"}


def _category(c: str) -> str:
    return OLD_CATEGORIES.get(c) or unicodedata.category(c)


def _is_dropped(c: str) -> bool:
    return c in ("\x00", "\ufffd") or (c not in KEEP_CONTROLS and _category(c) in DROPPED)


def _is_punctuation(c: str) -> bool:
    return c in ASCII_PUNCTUATION or _category(c)[0] == "P"


class WordPieceBatch(NamedTuple):
    """A padded batch: ``ids``, ``token_type_ids`` and ``padding_mask`` (True = padding), all ``(B, T)``."""

    ids: torch.Tensor
    token_type_ids: torch.Tensor
    padding_mask: torch.Tensor


class WordPieceTokenizer:
    """BERT's tokenizer: normalise, split, WordPiece (see the module docstring).

    Args:
        vocab: the token strings in id order (the lines of ``vocab.txt``) or token -> id.
        lowercase: lower-case the text (uncased checkpoints).
        strip_accents: remove accents; ``None`` (default) follows ``lowercase``.
        split_cjk: put spaces around CJK ideographs.
        clean_text: drop control characters, turn whitespace into spaces.
        added_tokens: strings cut out first (default: the five special tokens found in ``vocab``).
        unk_token, cls_token, sep_token, pad_token, mask_token: the special tokens' strings.

    Examples:
        >>> tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff",
        ...                           "##able", "!", "你", "好"])
        >>> tok.tokenize("Unaffable! 你好")
        ['un', '##aff', '##able', '!', '你', '好']
        >>> tok.encode("Unaffable! 你好")
        [2, 5, 6, 7, 8, 9, 10, 3]
    """

    def __init__(self, vocab: Sequence[str] | dict[str, int], lowercase: bool = True,
                 strip_accents: bool | None = None, split_cjk: bool = True, clean_text: bool = True,
                 added_tokens: Iterable[AddedToken] | None = None, unk_token: str = "[UNK]",
                 cls_token: str = "[CLS]", sep_token: str = "[SEP]", pad_token: str = "[PAD]",
                 mask_token: str = "[MASK]", max_chars_per_word: int = MAX_CHARS_PER_WORD):
        self.vocab = dict(vocab) if isinstance(vocab, dict) else {t: i for i, t in enumerate(vocab)}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.lowercase, self.split_cjk, self.clean_text = lowercase, split_cjk, clean_text
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.max_chars_per_word = max_chars_per_word
        for name, token in (("unk_token", unk_token), ("cls_token", cls_token), ("sep_token", sep_token)):
            if token not in self.vocab:
                raise ValueError(f"{name}: {token!r} is not in the vocabulary")
        self.unk_id, self.cls_id, self.sep_id = (self.vocab[unk_token], self.vocab[cls_token],
                                                 self.vocab[sep_token])
        self.pad_id = self.vocab.get(pad_token, 0)
        self.mask_id = self.vocab.get(mask_token)
        if added_tokens is None:
            added_tokens = [AddedToken(t, self.vocab[t]) for t in
                            (pad_token, unk_token, cls_token, sep_token, mask_token) if t in self.vocab]
        self.added_tokens = list(added_tokens)
        for token in self.added_tokens:
            self.id_to_token.setdefault(token.id, token.content)
        self.special_ids = {t.id for t in self.added_tokens if t.special}
        self.special_ids |= {self.cls_id, self.sep_id, self.pad_id, self.unk_id}

    # ------------------------------------------------------------------ files
    @classmethod
    def from_pretrained(cls, directory: str | Path) -> WordPieceTokenizer:
        """Read ``vocab.txt`` (one token per line, the line number is the id) and the settings
        (``tokenizer.json``'s normalizer, else ``tokenizer_config.json``) of a checkpoint folder."""
        directory = Path(directory)
        path = directory / "vocab.txt"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: file not found")
        tokens = path.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        vocab = {token: i for i, token in enumerate(tokens)}  # a repeated line: the last id wins
        settings = _settings(directory)
        added = read_added_tokens(directory, vocab, ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"))
        return cls(vocab, added_tokens=added, **settings)

    def save(self, directory: str | Path) -> Path:
        """Write ``vocab.txt`` and ``tokenizer_config.json`` (the casing settings) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tokens = [self.id_to_token.get(i, "") for i in range(self.vocab_size)]
        (directory / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
        config = {"do_lower_case": self.lowercase, "strip_accents": self.strip_accents,
                  "tokenize_chinese_chars": self.split_cjk, "tokenizer_class": "BertTokenizer"}
        text = json.dumps(config, indent=2) + "\n"
        (directory / "tokenizer_config.json").write_text(text, encoding="utf-8")
        return directory

    # ------------------------------------------------------------------ the three steps
    def normalize(self, text: str) -> str:
        """Step 1: clean, space out CJK, strip accents, lower-case."""
        out = []
        for c in text:
            if self.clean_text:
                if _is_dropped(c):
                    continue
                if c in WHITESPACE:
                    c = " "
            out.append(f" {c} " if self.split_cjk and is_cjk(c) else c)
        text = "".join(out)
        if self.strip_accents:
            text = "".join(c for c in unicodedata.normalize("NFD", text) if _category(c) != "Mn")
        if self.lowercase:
            text = "".join(c.lower() for c in text)  # one character at a time (no final-sigma rule)
        return text

    def split_words(self, text: str) -> list[str]:
        """Step 2: words between whitespace, each punctuation character a word of its own."""
        words, current = [], []
        for c in text:
            if c in WHITESPACE or _is_punctuation(c):
                if current:
                    words.append("".join(current))
                    current = []
                if c not in WHITESPACE:
                    words.append(c)
            else:
                current.append(c)
        if current:
            words.append("".join(current))
        return words

    def wordpiece(self, word: str) -> list[str]:
        """Step 3: greedy longest-match-first pieces of one word, or ``[UNK]``."""
        if len(word) > self.max_chars_per_word:
            return [self.id_to_token[self.unk_id]]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else CONTINUATION + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            else:  # no piece fits: the whole word is unknown
                return [self.id_to_token[self.unk_id]]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """The token strings of ``text``, without ``[CLS]``/``[SEP]``."""
        return self.tokens(self._ids(text))

    # ------------------------------------------------------------------ encode / decode
    @property
    def vocab_size(self) -> int:
        return max(self.id_to_token) + 1

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str, add_special: bool = True) -> list[int]:
        """``text`` -> ``[CLS] … [SEP]`` ids, as ``tokenizer(text)["input_ids"]`` of the checkpoint."""
        check_text(text, "text")
        ids = self._ids(text)
        return [self.cls_id, *ids, self.sep_id] if add_special else ids

    def encode_pair(self, first: str, second: str, max_len: int | None = None) -> tuple[list[int], list[int]]:
        """``[CLS] first [SEP] second [SEP]`` and its token types ``0 … 0 1 … 1``.

        With ``max_len``, the longer of the two texts loses its last token until the pair fits.
        """
        check_text(first, "first")
        check_text(second, "second")
        a, b = self._ids(first), self._ids(second)
        if max_len is not None:
            while len(a) + len(b) + 3 > max_len and (a or b):
                (a if len(a) >= len(b) else b).pop()
        ids = [self.cls_id, *a, self.sep_id, *b, self.sep_id]
        return ids, [0] * (len(a) + 2) + [1] * (len(b) + 1)

    def encode_batch(self, texts: Sequence[str], seconds: Sequence[str] | None = None,
                     max_len: int | None = None) -> WordPieceBatch:
        """Encode texts (or pairs, with ``seconds``) into one padded :class:`WordPieceBatch`.

        Padding is ``pad_id`` on the right; a single text longer than ``max_len`` keeps its first
        ``max_len - 1`` tokens and its ``[SEP]``.
        """
        check_texts(texts, "texts")
        if seconds is not None and len(seconds) != len(texts):
            raise ValueError(f"seconds: expected {len(texts)} texts like texts, got {len(seconds)}")
        rows, types = [], []
        for i, text in enumerate(texts):
            if seconds is not None:
                ids, type_ids = self.encode_pair(text, seconds[i], max_len)
            else:
                ids = self.encode(text)
                if max_len is not None and len(ids) > max_len:
                    ids = ids[: max_len - 1] + [self.sep_id]
                type_ids = [0] * len(ids)
            rows.append(ids)
            types.append(type_ids)
        width = max((len(r) for r in rows), default=0)
        ids = torch.tensor([r + [self.pad_id] * (width - len(r)) for r in rows], dtype=torch.long)
        type_ids = torch.tensor([t + [0] * (width - len(t)) for t in types], dtype=torch.long)
        padding = torch.tensor([[False] * len(r) + [True] * (width - len(r)) for r in rows], dtype=torch.bool)
        shape = (len(rows), width)
        return WordPieceBatch(ids.reshape(shape), type_ids.reshape(shape), padding.reshape(shape))

    def tokens(self, ids: Iterable[int]) -> list[str]:
        """The vocabulary strings of ``ids``."""
        return [self.id_to_token[int(i)] for i in ids]

    def decode(self, ids: Iterable[int] | torch.Tensor, skip_special: bool = True) -> str:
        """Token ids -> text: pieces joined by spaces, ``##`` pieces glued to the one before.

        Lower-casing, accent stripping and the spaces around punctuation cannot be undone, so
        ``decode(encode(text))`` is the normalised text, not ``text`` itself.
        """
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        words: list[str] = []
        for i in ids:
            i = int(i)
            if i not in self.id_to_token:
                raise ValueError(f"ids: token id {i} is outside the vocabulary "
                                 f"(vocab_size={self.vocab_size})")
            if skip_special and i in self.special_ids:
                continue
            token = self.id_to_token[i]
            if token.startswith(CONTINUATION) and words:
                words[-1] += token[len(CONTINUATION):]
            else:
                words.append(token)
        return " ".join(words)

    def _ids(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in split_added(text, self.added_tokens):
            if isinstance(piece, AddedToken):
                ids.append(piece.id)
                continue
            for word in self.split_words(self.normalize(piece)):
                ids.extend(self.vocab[p] if p in self.vocab else self.unk_id for p in self.wordpiece(word))
        return ids


def _settings(directory: Path) -> dict:
    """Casing and CJK settings: ``tokenizer.json``'s BertNormalizer if there is one, else
    ``tokenizer_config.json`` (the defaults of an uncased BERT when neither says)."""
    path = directory / "tokenizer.json"
    if path.is_file():
        data = read_json(path)
        model = data.get("model") if isinstance(data, dict) else None
        if isinstance(model, dict):
            if model.get("type") != "WordPiece":
                raise ValueError(f"{path}: expected a WordPiece model, got {model.get('type')!r}")
            normalizer = data.get("normalizer") or {}
            if normalizer.get("type") != "BertNormalizer":
                raise ValueError(f"{path}: expected BERT's normalizer, got {normalizer.get('type')!r}")
            return {"lowercase": bool(normalizer.get("lowercase", True)),
                    "strip_accents": normalizer.get("strip_accents"),
                    "split_cjk": bool(normalizer.get("handle_chinese_chars", True)),
                    "clean_text": bool(normalizer.get("clean_text", True)),
                    "unk_token": model.get("unk_token", "[UNK]"),
                    "max_chars_per_word": int(model.get("max_input_chars_per_word", MAX_CHARS_PER_WORD))}
    config = directory / "tokenizer_config.json"
    data = read_json(config) if config.is_file() else {}
    if not isinstance(data, dict):
        raise ValueError(f"{config}: expected a JSON object")
    return {"lowercase": bool(data.get("do_lower_case", True)), "strip_accents": data.get("strip_accents"),
            "split_cjk": bool(data.get("tokenize_chinese_chars", True)),
            "unk_token": data.get("unk_token", "[UNK]") if isinstance(data.get("unk_token", "[UNK]"), str)
            else "[UNK]"}
