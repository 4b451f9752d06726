"""Byte-level BPE (byte-pair encoding) tokenizer, written from scratch.

The algorithm
-------------
Every string is first turned into its UTF-8 bytes, so the starting alphabet is
just the 256 possible byte values. No text can ever be "unknown": Chinese,
emoji and accented letters are all sequences of bytes. Training then repeats
one step until the vocabulary is big enough:

1. count every pair of adjacent tokens in the corpus;
2. take the most frequent pair, say ``("t", "h")``, and give it a new id;
3. replace every occurrence of that pair by the new token (``"th"``).

The list of merges, in the order they were learned, *is* the tokenizer. Its
position in that list is the merge's **rank**. To encode new text we replay
the merges: look at all adjacent pairs of the text's tokens, apply the one of
lowest rank, repeat until no pair has a rank. This reproduces exactly what
training did to the same text (ranks, not how frequent a pair is in the text at
hand or in the corpus, decide the order).

Vocabulary layout::

    0..6        special tokens (<pad>, <bos>, ... see special.py)
    7..262      the 256 single bytes (byte b has id 7 + b)
    263 + r     the token created by the merge of rank r

Pre-tokenisation (splitting text into chunks before BPE)
--------------------------------------------------------
Merges never cross chunk boundaries. Splitting first keeps tokens sensible
("dog." never becomes one token) and makes training fast: we count each
distinct chunk once, weighted by how often it occurs. The splitter is one
``re`` pattern in the spirit of GPT-2's, tried left to right:

* a run of CJK characters (Han, kana), **at most** ``cjk_chunk_chars`` (4 by
  default) at a time;
* a run of letters of any other script (underscore included);
* a run of digits, at most three at a time ("2024" -> "202", "4");
* a run of punctuation / symbols;
* whitespace.

Each of the first four may carry one leading space, as in GPT-2, so " the" is a
single chunk. A run of several spaces keeps its last space for the next word.

Why cut CJK runs? Chinese has no spaces, so a whole sentence would otherwise
be one chunk: almost every chunk would be unique (no sharing, slow training
and a useless encoding cache) and pair updates would touch very long chunks.
With chunks of at most four characters, tokens can still grow to common
two-to-four-character words, chunks repeat a lot, and training on a megabyte
of Chinese takes seconds. The price: a word that straddles a four-character
boundary is split at that boundary. Apostrophes are punctuation here, so
"don't" becomes "don", "'", "t" (GPT-2 has extra rules for English
contractions; we keep the pattern short instead).

Training details
----------------
* Deterministic: the most frequent pair wins; ties go to the pair whose
  ``(left bytes, right bytes)`` is lexicographically smallest.
* A pair must occur at least twice to be merged; if the corpus runs out of
  such pairs, training stops early with a smaller vocabulary.
* Incremental counting: we keep ``pair -> count`` and ``pair -> set of
  chunks containing it``. After a merge only the chunks that contained the
  merged pair are rewritten, and only their pair counts change. A heap with
  lazily discarded stale entries finds the next best pair quickly.

Encoding caches the token ids of every chunk it has seen (a plain dict, cleared
when it reaches ``CACHE_SIZE`` entries), so common words cost one dict lookup.

Special-token strings such as "<mask>" inside text are encoded as plain text
unless ``encode(..., allow_special=True)``; see special.py. Decoding joins the
bytes and decodes them as UTF-8; an arbitrary id sequence can cut a character
in half, and such broken bytes come out as U+FFFD.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from .special import NUM_SPECIAL, SPECIAL_TOKENS, Tokenizer, iter_texts

#: Id of the first merged token: 7 specials + 256 bytes.
FIRST_MERGE_ID = NUM_SPECIAL + 256
#: Smallest allowed ``vocab_size`` (no merges at all).
MIN_VOCAB_SIZE = FIRST_MERGE_ID
#: Maximum number of chunks whose encoding is remembered.
CACHE_SIZE = 200_000
#: Default maximum length of a CJK chunk, in characters.
CJK_CHUNK_CHARS = 4

Pair = tuple[int, int]

# Han ideographs (basic block, extension A, compatibility, extensions B+), and
# Japanese hiragana + katakana. Hangul is written with spaces, so it counts as
# ordinary letters.
CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"


# --------------------------------------------------------------------------
# Pre-tokenisation
# --------------------------------------------------------------------------
@lru_cache(maxsize=8)
def chunk_pattern(cjk_chunk_chars: int = CJK_CHUNK_CHARS) -> re.Pattern[str]:
    """The regular expression that splits text into chunks (see module docstring)."""
    return re.compile(
        rf" ?[{CJK}]{{1,{cjk_chunk_chars}}}"  # CJK, a few characters at a time
        rf"| ?[^\W\d{CJK}]+"  # letters: word characters that are not digits or CJK
        r"| ?\d{1,3}"  # digits
        r"| ?[^\s\w]+"  # punctuation and symbols
        r"|\s+(?!\S)"  # whitespace not followed by a word ...
        r"|\s+"  # ... or all of it (the last space then starts the next chunk)
    )


def pretokenize(text: str, cjk_chunk_chars: int = CJK_CHUNK_CHARS) -> list[str]:
    """Split ``text`` into chunks; ``"".join(pretokenize(text)) == text`` always holds."""
    return chunk_pattern(cjk_chunk_chars).findall(text)


def to_byte_ids(chunk: str) -> list[int]:
    """UTF-8 bytes of ``chunk`` as token ids (byte b -> id 7 + b)."""
    try:
        data = chunk.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = err.object[err.start : err.end]
        raise ValueError(f"text contains {bad!r}, which cannot be encoded as UTF-8") from err
    return [b + NUM_SPECIAL for b in data]


# --------------------------------------------------------------------------
# The merge step, shared by training and encoding
# --------------------------------------------------------------------------
def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each occurrence of ``pair`` in ``ids`` (left to right) by ``new_id``."""
    left, right = pair
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == left and ids[i + 1] == right:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


# --------------------------------------------------------------------------
# Training: incremental pair counts
# --------------------------------------------------------------------------
class _PairStats:
    """Pair counts over a weighted set of words, kept up to date after each merge.

    ``words[w]`` is the current token list of distinct chunk ``w`` and
    ``freqs[w]`` how often that chunk occurs in the corpus.
    """

    def __init__(self, words: list[list[int]], freqs: list[int], token_bytes: list[bytes]):
        self.words, self.freqs, self.token_bytes = words, freqs, token_bytes
        self.counts: dict[Pair, int] = {}
        self.where: dict[Pair, set[int]] = {}
        for w, word in enumerate(words):
            for pair in zip(word, word[1:]):
                self.counts[pair] = self.counts.get(pair, 0) + freqs[w]
                self.where.setdefault(pair, set()).add(w)
        self.heap = [self._entry(pair, n) for pair, n in self.counts.items()]
        heapq.heapify(self.heap)

    def _entry(self, pair: Pair, count: int) -> tuple[int, bytes, bytes, Pair]:
        # heapq is a min-heap: the most frequent pair, then the smallest bytes, comes first.
        return (-count, self.token_bytes[pair[0]], self.token_bytes[pair[1]], pair)

    def best_pair(self) -> tuple[Pair, int] | None:
        """The pair to merge next and its count, or None when nothing is left."""
        while self.heap:
            neg_count, _, _, pair = self.heap[0]
            if self.counts.get(pair) == -neg_count:
                return pair, -neg_count
            heapq.heappop(self.heap)  # stale: the count has changed since this was pushed
        return None

    def merge(self, pair: Pair, new_id: int) -> None:
        """Rewrite the words that contain ``pair`` and update the counts."""
        delta: Counter[Pair] = Counter()
        for w in self.where.pop(pair, ()):
            old = self.words[w]
            new = merge_pair(old, pair, new_id)
            self.words[w] = new
            freq = self.freqs[w]
            for p in zip(old, old[1:]):
                delta[p] -= freq
            for p in zip(new, new[1:]):
                delta[p] += freq
            old_pairs, new_pairs = set(zip(old, old[1:])), set(zip(new, new[1:]))
            for p in old_pairs - new_pairs:
                if p != pair:
                    self.where[p].discard(w)
            for p in new_pairs - old_pairs:
                self.where.setdefault(p, set()).add(w)
        for p, change in delta.items():
            if change == 0:
                continue
            count = self.counts.get(p, 0) + change
            if count > 0:
                self.counts[p] = count
                heapq.heappush(self.heap, self._entry(p, count))
            else:
                self.counts.pop(p, None)
                self.where.pop(p, None)


def learn_merges(chunk_counts: dict[str, int], num_merges: int, min_count: int = 2) -> list[Pair]:
    """Learn up to ``num_merges`` merges from ``{chunk: occurrences}``, in rank order."""
    token_bytes = [tok.encode("utf-8") for tok in SPECIAL_TOKENS]
    token_bytes += [bytes([b]) for b in range(256)]
    words = [to_byte_ids(chunk) for chunk in chunk_counts]
    stats = _PairStats(words, list(chunk_counts.values()), token_bytes)
    merges: list[Pair] = []
    while len(merges) < num_merges:
        best = stats.best_pair()
        if best is None or best[1] < min_count:
            break
        pair, _ = best
        new_id = FIRST_MERGE_ID + len(merges)
        token_bytes.append(token_bytes[pair[0]] + token_bytes[pair[1]])
        merges.append(pair)
        stats.merge(pair, new_id)
    return merges


# --------------------------------------------------------------------------
# The tokenizer
# --------------------------------------------------------------------------
class BPETokenizer(Tokenizer):
    """Byte-level BPE: no unknown token, ``decode(encode(s)) == s`` for every string.

    Examples:
        >>> tok = BPETokenizer().train(["low lower lowest 你好你好"] * 10, vocab_size=270)
        >>> tok.decode(tok.encode("lowest 你好 😀"))
        'lowest 你好 😀'
    """

    type_name = "bpe"

    def __init__(self, merges: Iterable[Pair] = (), cjk_chunk_chars: int = CJK_CHUNK_CHARS):
        if not isinstance(cjk_chunk_chars, int) or cjk_chunk_chars < 1:
            raise ValueError(f"cjk_chunk_chars must be an int >= 1, got {cjk_chunk_chars!r}")
        self.cjk_chunk_chars = cjk_chunk_chars
        self._pattern = chunk_pattern(cjk_chunk_chars)
        self._set_merges([(int(a), int(b)) for a, b in merges])

    def train(self, texts: Iterable[str], vocab_size: int, min_count: int = 2) -> BPETokenizer:
        """Learn merges from ``texts`` until ``vocab_size`` tokens (or no pair occurs
        ``min_count`` times); replaces any previous merges and returns self."""
        if not isinstance(vocab_size, int) or vocab_size < MIN_VOCAB_SIZE:
            raise ValueError(
                f"vocab_size must be an int >= {MIN_VOCAB_SIZE} (256 bytes + {NUM_SPECIAL} "
                f"special tokens), got {vocab_size!r}"
            )
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be an int >= 1, got {min_count!r}")
        chunk_counts: Counter[str] = Counter()
        for text in iter_texts(texts, "texts"):
            chunk_counts.update(self._pattern.findall(text))
        self._set_merges(learn_merges(chunk_counts, vocab_size - MIN_VOCAB_SIZE, min_count))
        return self

    @property
    def vocab_size(self) -> int:
        return FIRST_MERGE_ID + len(self._merges)

    @property
    def merges(self) -> list[Pair]:
        """The learned merges ``(left_id, right_id)``, in rank order."""
        return list(self._merges)

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a (non-special) token stands for, e.g. for inspecting the vocabulary."""
        self._check_ids([token_id])
        return self._bytes[token_id]

    # ------------------------------------------------------------------ hooks
    def _encode_plain(self, text: str) -> list[int]:
        out: list[int] = []
        cache = self._cache
        for chunk in self._pattern.findall(text):
            ids = cache.get(chunk)
            if ids is None:
                ids = self._encode_chunk(chunk)
                if len(cache) >= CACHE_SIZE:
                    cache.clear()
                cache[chunk] = ids
            out.extend(ids)
        return out

    def _decode_plain(self, ids: list[int]) -> str:
        token_bytes = self._bytes
        return b"".join(token_bytes[i] for i in ids).decode("utf-8", errors="replace")

    def _to_json(self) -> dict[str, Any]:
        return {
            "vocab_size": self.vocab_size,
            "cjk_chunk_chars": self.cjk_chunk_chars,
            "merges": [list(pair) for pair in self._merges],
        }

    @classmethod
    def _from_json(cls, data: dict[str, Any], file: Path) -> BPETokenizer:
        merges = data.get("merges")
        if not isinstance(merges, list):
            raise ValueError(f"{file}: 'merges' must be a list of [left_id, right_id] pairs")
        for rank, pair in enumerate(merges):
            known = range(NUM_SPECIAL, FIRST_MERGE_ID + rank)
            ok = isinstance(pair, list) and len(pair) == 2
            if not ok or not all(type(i) is int and i in known for i in pair):
                raise ValueError(f"{file}: merge {rank} is invalid: {pair!r}")
        if len({tuple(pair) for pair in merges}) != len(merges):
            raise ValueError(f"{file}: 'merges' contains the same pair twice")
        expected = FIRST_MERGE_ID + len(merges)
        if data.get("vocab_size", expected) != expected:
            raise ValueError(
                f"{file}: vocab_size {data['vocab_size']!r} does not match "
                f"{len(merges)} merges (expected {expected})"
            )
        cjk = data.get("cjk_chunk_chars", CJK_CHUNK_CHARS)
        if type(cjk) is not int or cjk < 1:
            raise ValueError(f"{file}: 'cjk_chunk_chars' must be an int >= 1, got {cjk!r}")
        return cls([(a, b) for a, b in merges], cjk_chunk_chars=cjk)

    # ---------------------------------------------------------------- helpers
    def _set_merges(self, merges: list[Pair]) -> None:
        token_bytes = [tok.encode("utf-8") for tok in SPECIAL_TOKENS]
        token_bytes += [bytes([b]) for b in range(256)]
        for rank, (left, right) in enumerate(merges):
            known = range(NUM_SPECIAL, len(token_bytes))
            if left not in known or right not in known:
                raise ValueError(f"merge {rank} ({left}, {right}) refers to an unknown token")
            token_bytes.append(token_bytes[left] + token_bytes[right])
        if len(set(merges)) != len(merges):
            raise ValueError("the same pair is merged twice")
        self._merges = merges
        self._ranks: dict[Pair, int] = {pair: rank for rank, pair in enumerate(merges)}
        self._bytes = token_bytes
        self._cache: dict[str, list[int]] = {}

    def _encode_chunk(self, chunk: str) -> list[int]:
        """Apply the merges to one chunk, always the lowest-rank pair present first.

        Each step merges only the leftmost occurrence of that pair. This gives
        the same result as merging all its occurrences at once (as training
        does): the pair stays the lowest-rank one until none is left, because
        every pair the merge creates contains the new token, whose own merges
        have higher ranks.
        """
        ids = to_byte_ids(chunk)
        rank_of, no_rank = self._ranks.get, len(self._ranks)
        # ranks[k] is the rank of the pair (ids[k], ids[k + 1]), or no_rank.
        ranks = [rank_of(pair, no_rank) for pair in zip(ids, ids[1:])]
        while ranks:
            best = min(ranks)
            if best == no_rank:  # no adjacent pair is a known merge: done
                break
            i = ranks.index(best)
            ids[i : i + 2] = [FIRST_MERGE_ID + best]
            del ranks[i]
            # Only the pairs touching the new token changed.
            if i > 0:
                ranks[i - 1] = rank_of((ids[i - 1], ids[i]), no_rank)
            if i < len(ranks):
                ranks[i] = rank_of((ids[i], ids[i + 1]), no_rank)
        return ids
