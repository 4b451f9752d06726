"""Which tokens form one word: word boundaries for whole-word masking of Chinese questions.

A character tokenizer cuts 手机号码 into four tokens. Masking one character at a time lets the
encoder fill 手机号[MASK] from the characters beside it, a spelling exercise; masking the whole
word makes it guess the *word* from the rest of the sentence, which is closer to what a matcher
needs (Cui et al. 2021, "Pre-Training with Whole Word Masking for Chinese BERT"). Chinese has no
spaces, so the words come from a segmenter, jieba (Sun 2012-), with its default dictionary::

    "怎么更改手机号码"  --jieba-->  怎么 | 更改 | 手机号码  -->  word of each token  0 0 1 1 2 2 2 2

:func:`word_ids` gives each token of a question the index of its word. A word whose characters
the tokenizer does not cut one-to-one (a subword tokenizer, an unknown character folded with
another) falls back to one word per token, so the groups always line up with the ids.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["segment", "word_ids", "pair_word_ids"]


@lru_cache(maxsize=1)
def _jieba():
    try:
        import jieba
    except ImportError as error:  # the default recipe needs it: say how to get it
        raise ImportError("whole-word masking needs jieba: pip install jieba (or set "
                          "whole_words=False in the match settings)") from error
    jieba.setLogLevel(logging.WARNING)  # no dictionary-loading chatter
    return jieba


def segment(text: str) -> list[str]:
    """``text`` cut into words by jieba (precise mode: the dictionary's words, and its hidden
    Markov model for runs of characters the dictionary does not know; deterministic).

    Examples:
        >>> segment("怎么更改手机号码")
        ['怎么', '更改', '手机号码']
    """
    return _jieba().lcut(text)


def word_ids(tokenizer, text: str) -> list[int]:
    """One word index per token of ``tokenizer.encode(text)``: tokens of the same jieba word
    share it, numbered from 0 in reading order.

    Examples:
        >>> from minitransformer.tokenizers import CharTokenizer
        >>> word_ids(CharTokenizer().fit(["怎么更改手机号码"]), "怎么更改手机号码")
        [0, 0, 1, 1, 2, 2, 2, 2]
    """
    ids = tokenizer.encode(text)
    pieces = [tokenizer.encode(word) for word in segment(text)]
    if [i for piece in pieces for i in piece] != ids:  # the tokenizer does not cut at word edges
        return list(range(len(ids)))
    return [w for w, piece in enumerate(pieces) for _ in piece]


def pair_word_ids(tokenizer, pairs: Sequence[tuple[str, str]], keep: int) -> list[list[int]]:
    """Word indices of ``[CLS] a [SEP] b [SEP]`` for each pair (``-1`` at the special tokens),
    each question cut to its first ``keep`` tokens as :func:`~.matching.cross_encoder.encode_cross`
    cuts it; the words of ``b`` are numbered after those of ``a``.

    Examples:
        >>> from minitransformer.tokenizers import CharTokenizer
        >>> tok = CharTokenizer().fit(["怎么还款", "还款"])
        >>> pair_word_ids(tok, [("怎么还款", "还款")], keep=30)
        [[-1, 0, 0, 1, 1, -1, 2, 2, -1]]
    """
    out = []
    for a, b in pairs:
        wa = word_ids(tokenizer, a.strip())[:keep]
        wb = word_ids(tokenizer, b.strip())[:keep]
        shift = max(wa, default=-1) + 1
        out.append([-1, *wa, -1, *(w + shift for w in wb), -1])
    return out
