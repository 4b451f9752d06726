"""GPT-2's byte-level BPE, read from a checkpoint's ``vocab.json`` and ``merges.txt``.

The algorithm is the one of :mod:`minitransformer.tokenizers.bpe` (UTF-8 bytes, then merges
replayed lowest rank first); what differs is how GPT-2 (Radford et al., 2019) writes it down, and
its rule for cutting text into words before BPE. ``GPT2Tokenizer.encode(text)`` gives the ids
that the checkpoint's own tokenizer gives.

Bytes as printable characters
-----------------------------
``vocab.json`` maps token *strings* to ids, and a token is a sequence of bytes. To store bytes
as text, GPT-2 gives each of the 256 byte values a printable character: the 188 bytes that are
already printable Latin-1 characters (``!`` … ``~``, ``¡`` … ``¬``, ``®`` … ``ÿ``) stand for
themselves; the other 68 (control characters, the space, DEL, the no-break space, the soft
hyphen) get the characters ``chr(256)``, ``chr(257)``, … in byte order. The space (byte 32) thus
becomes ``Ġ`` and the newline ``Ċ``: the token ``"Ġthe"`` is the bytes of ``" the"``.

``merges.txt`` lists one merge per line, ``"Ġ t"``, in rank order (after a ``#version`` line).

Words before BPE
----------------
Merges never cross word boundaries. GPT-2 finds the words with one regular expression whose
alternatives are tried in order at each position (L: any letter, N: any number, per Unicode):

1. an English contraction: ``'s 't 're 've 'm 'll 'd`` (lower case only);
2. an optional space and a run of letters           `` ?L+``;
3. an optional space and a run of numbers           `` ?N+``;
4. an optional space and a run of anything else that is not whitespace `` ?[^\\sLN]+``;
5. a run of whitespace that is not followed by a non-space, so ``"  hi"`` gives ``" "`` and
   ``" hi"``: the last space of a run goes with the next word;
6. any run of whitespace (a single space before a word is handled by 2-4 anyway).

:func:`gpt2_words` follows these six rules with a small scanner (no regular-expression
library knows "any letter" in Python's standard ``re``). Whitespace is Unicode's White_Space set.

Added tokens (``<|endoftext|>``) are cut out of the text first; see :mod:`.added`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import torch

from .added import AddedToken, read_added_tokens, read_json, split_added
from .special import EncodedBatch, check_text, check_texts

__all__ = ["GPT2Tokenizer", "byte_to_char", "gpt2_words", "WHITESPACE"]

#: Unicode's White_Space characters (what ``\\s`` matches in the tokenizer's regular expression).
WHITESPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                       "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
CONTRACTIONS = ("re", "ve", "ll", "s", "t", "m", "d")  # after an apostrophe; 2 letters tried first
CACHE_SIZE = 100_000  # words whose ids are remembered


@lru_cache(maxsize=1)
def byte_to_char() -> dict[int, str]:
    """The 256 bytes -> printable characters table described in the module docstring."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@lru_cache(maxsize=1)
def char_to_byte() -> dict[str, int]:
    return {c: b for b, c in byte_to_char().items()}


def _kind(c: str) -> str:
    """``"space"``, ``"letter"``, ``"number"`` or ``"other"``: the classes of the word rules."""
    if c in WHITESPACE:
        return "space"
    category = unicodedata.category(c)[0]
    return "letter" if category == "L" else "number" if category == "N" else "other"


def _word_end(text: str, i: int) -> int:
    """Where the word starting at ``text[i]`` ends (rules 1-6 of the module docstring)."""
    n = len(text)
    if text[i] == "'":  # rule 1
        for ending in CONTRACTIONS:
            if text.startswith(ending, i + 1):
                return i + 1 + len(ending)
    start = i + 1 if text[i] == " " and i + 1 < n and _kind(text[i + 1]) != "space" else i
    kind = _kind(text[start])
    if kind != "space":  # rules 2-4: an optional space, then a run of one kind
        end = start + 1
        while end < n and _kind(text[end]) == kind:
            end += 1
        return end
    end = i + 1  # rules 5-6: a run of whitespace
    while end < n and text[end] in WHITESPACE:
        end += 1
    if end < n and end - i >= 2:
        return end - 1  # rule 5: leave the last whitespace character for the next word
    return end  # rule 6 (or the run reaches the end of the text)


def gpt2_words(text: str) -> list[str]:
    """Split ``text`` into GPT-2's words; ``"".join(gpt2_words(text)) == text``.

    Examples:
        >>> gpt2_words("Hello  world, it's 2024!")
        ['Hello', ' ', ' world', ',', ' it', "'s", ' 2024', '!']
    """
    words, i = [], 0
    while i < len(text):
        end = _word_end(text, i)
        words.append(text[i:end])
        i = end
    return words


class GPT2Tokenizer:
    """Byte-level BPE with GPT-2's vocabulary files.

    Args:
        vocab: token string -> id (``vocab.json``).
        merges: ``(left, right)`` token strings in rank order (``merges.txt``).
        added_tokens: tokens cut out of the text before BPE (``<|endoftext|>``).
        add_prefix_space: put a space in front of a text that does not start with one
            (False for GPT-2; some checkpoints set it in ``tokenizer.json``).
        eos_token: the end-of-text token; ``eos_id`` (and ``bos_id``, ``pad_id``, as GPT-2 has no
            others) is its id.

    Examples:
        >>> vocab = {byte_to_char()[b]: b for b in range(256)}     # byte b has id b
        >>> vocab.update({"Ġt": 256, "Ġth": 257, "Ġthe": 258, "<|endoftext|>": 259})
        >>> tok = GPT2Tokenizer(vocab, [("Ġ", "t"), ("Ġt", "h"), ("Ġth", "e")],
        ...                     [AddedToken("<|endoftext|>", 259)])
        >>> tok.encode("in the end<|endoftext|>")       # "in", " the", " end", <|endoftext|>
        [105, 110, 258, 32, 101, 110, 100, 259]
        >>> tok.decode(tok.encode("in the end<|endoftext|>"))
        'in the end'
    """

    def __init__(self, vocab: dict[str, int], merges: Sequence[tuple[str, str]],
                 added_tokens: Iterable[AddedToken] = (), add_prefix_space: bool = False,
                 eos_token: str = "<|endoftext|>", unk_token: str | None = None):
        self.vocab = dict(vocab)
        self.added_tokens = list(added_tokens)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        for token in self.added_tokens:
            self.id_to_token.setdefault(token.id, token.content)
        self.ranks = {(a, b): rank for rank, (a, b) in enumerate(merges)}
        self.add_prefix_space = add_prefix_space
        self.unk_id = self.vocab.get(unk_token) if unk_token is not None else None
        added_ids = {t.content: t.id for t in self.added_tokens}
        eos = added_ids.get(eos_token, self.vocab.get(eos_token))
        self.eos_id = self.bos_id = self.pad_id = eos
        self.special_ids = {t.id for t in self.added_tokens if t.special}
        self._cache: dict[str, list[int]] = {}

    # ------------------------------------------------------------------ files
    @classmethod
    def from_pretrained(cls, directory: str | Path) -> GPT2Tokenizer:
        """Read ``vocab.json`` and ``merges.txt`` (and the added tokens) of a checkpoint folder."""
        directory = Path(directory)
        vocab = read_json(directory / "vocab.json")
        if not isinstance(vocab, dict) or not all(isinstance(i, int) for i in vocab.values()):
            raise ValueError(f"{directory / 'vocab.json'}: expected an object of token -> id")
        merges = read_merges(directory / "merges.txt")
        settings = _tokenizer_json_settings(directory)
        added = read_added_tokens(directory, vocab, ("<|endoftext|>",))
        return cls(vocab, merges, added, **settings)

    def save(self, directory: str | Path) -> Path:
        """Write ``vocab.json`` and ``merges.txt`` into ``directory`` (what :meth:`from_pretrained` reads)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        merges = sorted(self.ranks, key=self.ranks.get)
        lines = ["#version: 0.2", *(f"{a} {b}" for a, b in merges)]
        (directory / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return directory

    # ------------------------------------------------------------------ encode
    @property
    def vocab_size(self) -> int:
        return max(self.id_to_token) + 1

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str) -> list[int]:
        """``text`` -> token ids, as ``tokenizer(text)["input_ids"]`` of the checkpoint's tokenizer."""
        check_text(text, "text")
        ids: list[int] = []
        for piece in split_added(text, self.added_tokens):
            if isinstance(piece, AddedToken):
                ids.append(piece.id)
                continue
            if self.add_prefix_space and not piece.startswith(" "):
                piece = " " + piece
            for word in gpt2_words(piece):
                ids.extend(self._word_ids(word))
        return ids

    def encode_batch(self, texts: Sequence[str], max_len: int | None = None) -> EncodedBatch:
        """Encode several texts into ``(B, T)`` ids, padded on the right with ``pad_id``, and
        their lengths; longer texts keep their first ``max_len`` ids."""
        check_texts(texts, "texts")
        rows = [self.encode(t)[:max_len] for t in texts]
        width = max((len(r) for r in rows), default=0)
        ids = torch.tensor([r + [self.pad_id] * (width - len(r)) for r in rows], dtype=torch.long)
        return EncodedBatch(ids.reshape(len(rows), width), torch.tensor([len(r) for r in rows]))

    def tokens(self, ids: Iterable[int]) -> list[str]:
        """The vocabulary strings of ``ids`` (``Ġ`` for a space, see the module docstring)."""
        return [self.id_to_token[int(i)] for i in ids]

    def decode(self, ids: Iterable[int] | torch.Tensor, skip_special: bool = True) -> str:
        """Token ids -> text; bytes that do not form a whole character come out as U+FFFD."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        to_byte, out, run = char_to_byte(), [], bytearray()
        added = {t.id: t.content for t in self.added_tokens}
        for i in ids:
            i = int(i)
            if i not in self.id_to_token:
                raise ValueError(f"ids: token id {i} is outside the vocabulary "
                                 f"(vocab_size={self.vocab_size})")
            if i in added:
                out.append(run.decode("utf-8", errors="replace"))
                run = bytearray()
                if not (skip_special and i in self.special_ids):
                    out.append(added[i])
                continue
            run.extend(to_byte[c] for c in self.id_to_token[i])
        out.append(run.decode("utf-8", errors="replace"))
        return "".join(out)

    def _word_ids(self, word: str) -> list[int]:
        ids = self._cache.get(word)
        if ids is None:
            ids = []
            for token in self._bpe(word):
                token_id = self.vocab.get(token, self.unk_id)
                if token_id is not None:  # without an unknown token, a byte the vocabulary lacks is dropped
                    ids.append(token_id)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[word] = ids
        return ids

    def _bpe(self, word: str) -> list[str]:
        """The word's bytes as characters, then the merges, always the lowest-rank pair first."""
        to_char = byte_to_char()
        symbols = [to_char[b] for b in word.encode("utf-8")]
        rank_of, none = self.ranks.get, len(self.ranks)
        ranks = [rank_of(pair, none) for pair in zip(symbols, symbols[1:])]  # of (symbols[k], symbols[k + 1])
        while ranks:
            best = min(ranks)
            if best == none:  # no adjacent pair is a merge: done
                break
            i = ranks.index(best)  # the leftmost occurrence of the best pair
            symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
            del ranks[i]
            if i > 0:  # only the pairs that touch the new symbol change
                ranks[i - 1] = rank_of((symbols[i - 1], symbols[i]), none)
            if i < len(ranks):
                ranks[i] = rank_of((symbols[i], symbols[i + 1]), none)
        return symbols


def read_merges(path: Path) -> list[tuple[str, str]]:
    """``merges.txt``: an optional ``#version`` line, then ``left right`` per line, in rank order."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    merges = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if (number == 1 and line.startswith("#version")) or not line.strip():
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise ValueError(f"{path}:{number}: expected two tokens separated by one space, got {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def _tokenizer_json_settings(directory: Path) -> dict:
    """``add_prefix_space`` and the unknown token, from ``tokenizer.json`` when there is one;
    refuse a file whose BPE needs features this tokenizer does not have."""
    path = directory / "tokenizer.json"
    if not path.is_file():
        return {}
    data = read_json(path)
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict):
        return {}
    if model.get("type", "BPE") != "BPE":
        raise ValueError(f"{path}: expected a BPE model, got {model.get('type')!r}")
    for flag in ("byte_fallback", "ignore_merges"):
        if model.get(flag):
            raise ValueError(f"{path}: BPE option {flag}=true is not supported (GPT-2 does not use it)")
    if data.get("normalizer") is not None:
        raise ValueError(f"{path}: a normalizer ({data['normalizer'].get('type')}) is not supported "
                         "(GPT-2 has none)")
    pre = data.get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel" or not pre.get("use_regex", True):
        raise ValueError(f"{path}: expected GPT-2's ByteLevel pre-tokenizer, got {pre.get('type')!r}")
    return {"add_prefix_space": bool(pre.get("add_prefix_space", False)), "unk_token": model.get("unk_token")}
