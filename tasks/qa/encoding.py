"""Questions as model inputs: the tokenizer, token ids, hashed n-gram ids, padded batches.

    ids(q)   = ([CLS] + tokens(q))[:max_len]                                  (T,)  T <= max_len
    grams(q) = { crc32(f) mod K + 1 : f an n-gram of q }, first 256 kept      (G,)  ids in 1..K
    batch    = right-padded with 0                                            (B, T), (B, G)

The n-grams (:func:`iter_ngrams`) are words, word pairs and the character 1..5-grams inside each
word padded with spaces; they feed the sentence encoder's hashed bag (:mod:`tasks.qa.model`), and
without hashing the linear expert's vocabulary (:mod:`tasks.qa.router.ngram_vocab`).

**Long questions** are truncated to their first ``max_len`` tokens (``[CLS]`` included): the
model has a learned position vector for ``max_len`` positions only, and a customer's first
sentences carry the question. :func:`encode_texts` does the truncation and refuses empty
questions.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence

import torch

from minitransformer.tokenizers import BPETokenizer, CharTokenizer, WordPieceTokenizer
from minitransformer.tokenizers.special import CLS, MASK, PAD, SPECIAL_TO_ID

__all__ = ["PAD_ID", "MASK_ID", "CLS_ID", "Encoded", "build_tokenizer", "encode_texts", "encode_questions",
           "iter_ngrams", "text_ngrams", "pad_ids"]

#: the special ids every core tokenizer shares (:mod:`minitransformer.tokenizers.special`)
PAD_ID, MASK_ID, CLS_ID = SPECIAL_TO_ID[PAD], SPECIAL_TO_ID[MASK], SPECIAL_TO_ID[CLS]
Encoded = tuple[list[int], list[int]]  # (token ids, n-gram ids) of one question
_WORD = re.compile(r"\w+|[^\w\s]")


def build_tokenizer(kind: str, texts: Sequence[str], vocab_size: int):
    """A byte-level BPE (``"bpe"``, ``vocab_size`` ids) or character (``"char"``) tokenizer
    fitted to ``texts``."""
    if kind == "bpe":
        return BPETokenizer().train(list(texts), vocab_size)
    if kind == "char":
        return CharTokenizer().fit(list(texts))
    raise ValueError(f"--tokenizer: expected 'bpe' or 'char', got {kind!r}")


def encode_texts(tokenizer, texts: Sequence[str], max_len: int) -> list[list[int]]:
    """``[CLS] + tokens`` of each text, cut to ``max_len`` ids (with a BERT checkpoint's WordPiece
    tokenizer ``[CLS] + tokens + [SEP]``, as BERT was trained). Empty questions are refused."""
    out = []
    wordpiece = isinstance(tokenizer, WordPieceTokenizer)
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"question {i + 1}: empty question; type a question to classify")
        if wordpiece:  # a BERT checkpoint's own: [CLS] … [SEP], the [SEP] kept when cut
            ids = tokenizer.encode(text.strip())
            out.append(ids if len(ids) <= max_len else ids[:max_len - 1] + [tokenizer.sep_id])
        else:
            out.append(([tokenizer.cls_id] + tokenizer.encode(text.strip()))[:max_len])
    return out


def iter_ngrams(text: str) -> Iterator[str]:
    """The n-grams of ``text`` (lower-cased), in reading order, repeats included: words, word
    pairs and the character 1..5-grams inside each word padded with spaces (``" card "`` ->
    ``" c"``, ``"ca"``, ... ``"ard "``). Chinese has no spaces, so a run of characters is one
    "word" and its character n-grams do the work. A generator: a very long text is read only as
    far as the caller needs.

    Examples:
        >>> list(iter_ngrams("Top up"))[:3]
        ['w top', 'w up', 'b top up']
        >>> list(iter_ngrams("up"))
        ['w up', 'u', 'p', ' u', 'up', 'p ', ' up', 'up ', ' up ']
    """
    words = _WORD.findall(text.lower())
    yield from (f"w {w}" for w in words)
    yield from (f"b {a} {b}" for a, b in zip(words, words[1:]))
    for word in words:
        padded = f" {word} "
        for n in range(1, 6):
            for i in range(len(padded) - n + 1):
                if padded[i:i + n].strip():
                    yield padded[i:i + n]


def text_ngrams(text: str, buckets: int, max_grams: int = 256) -> list[int]:
    """Hashed n-grams of ``text`` (:func:`iter_ngrams`), each once, ids in ``1..buckets``; at most
    ``max_grams`` of them (the first ones of a long text)."""
    ids: dict[int, None] = {}  # insertion-ordered set
    for gram in iter_ngrams(text):
        ids[zlib.crc32(gram.encode("utf-8")) % buckets + 1] = None
        if len(ids) >= max_grams:
            break
    return list(ids) or [1]


def encode_questions(tokenizer, texts: Sequence[str], config) -> list[Encoded]:
    """``(token ids, n-gram ids)`` per question for a model of ``config`` (a
    :class:`~tasks.qa.config.SentenceConfig`); the n-grams are empty without a bag."""
    ids = encode_texts(tokenizer, texts, config.max_len)
    if not config.ngram_buckets:
        return [(row, []) for row in ids]
    return [(row, text_ngrams(text, config.ngram_buckets)) for row, text in zip(ids, texts)]


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int = PAD_ID) -> torch.Tensor:
    """Right-pad lists of ids into one ``(B, T)`` long tensor."""
    width = max((len(r) for r in rows), default=1)
    return torch.tensor([list(r) + [pad_id] * (width - len(r)) for r in rows], dtype=torch.long)
