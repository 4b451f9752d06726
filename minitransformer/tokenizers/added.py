"""Added tokens of a pretrained tokenizer: strings such as ``[MASK]`` or ``<|endoftext|>`` that
are cut out of the text *before* it is normalised and split, and become one id each.

A Hugging Face tokenizer folder lists them in ``tokenizer.json`` (``"added_tokens"``) or in
``tokenizer_config.json`` (``"added_tokens_decoder"``); each entry has the token's text, its id
and four flags:

* ``lstrip`` / ``rstrip`` -- the token also swallows the whitespace on its left / right;
* ``single_word`` -- it only counts when it is not glued to a letter or digit on either side;
* ``special`` -- dropped by ``decode(..., skip_special=True)``.

Matching goes left to right; where several tokens start at the same place, the longest wins.
The pieces between the matches are tokenized as ordinary text, each on its own.

Unlike the project's own tokenizers (where ``"<mask>"`` in a review is plain text unless
``allow_special=True``), a pretrained tokenizer maps these strings to their ids, because that
is what the tokenizer the checkpoint was trained with does and ``encode`` must agree with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AddedToken", "split_added", "read_added_tokens", "read_json"]


@dataclass(frozen=True)
class AddedToken:
    """One added token: its ``content``, ``id`` and the flags described in the module docstring."""

    content: str
    id: int
    special: bool = True
    lstrip: bool = False
    rstrip: bool = False
    single_word: bool = False


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def split_added(text: str, added: list[AddedToken]) -> list[str | AddedToken]:
    """Cut ``text`` at the added tokens: ``"a [MASK] b"`` -> ``["a ", [MASK], " b"]``.

    Returns the plain pieces (non-empty strings) and the matched :class:`AddedToken` objects in
    order; joined back (with the tokens' contents and any whitespace they swallowed) they give
    ``text``.
    """
    if not added or not text:
        return [text] if text else []
    by_first: dict[str, list[AddedToken]] = {}
    for token in sorted(added, key=lambda t: len(t.content), reverse=True):  # longest first
        if token.content:
            by_first.setdefault(token.content[0], []).append(token)
    out: list[str | AddedToken] = []
    plain_start, i, n = 0, 0, len(text)
    while i < n:
        match = None
        for token in by_first.get(text[i], ()):
            end = i + len(token.content)
            if not text.startswith(token.content, i):
                continue
            if token.single_word and ((i > 0 and _is_word_char(text[i - 1]))
                                      or (end < n and _is_word_char(text[end]))):
                continue
            match = token
            break
        if match is None:
            i += 1
            continue
        start, end = i, i + len(match.content)
        if match.lstrip:
            while start > plain_start and text[start - 1].isspace():
                start -= 1
        if match.rstrip:
            while end < n and text[end].isspace():
                end += 1
        if start > plain_start:
            out.append(text[plain_start:start])
        out.append(match)
        plain_start = i = end
    if plain_start < n:
        out.append(text[plain_start:])
    return out


def read_json(path: Path) -> Any:
    """Read a JSON file; every problem is a ``ValueError``/``FileNotFoundError`` naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def _token(entry: Any, token_id: Any, file: Path) -> AddedToken:
    if not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
        raise ValueError(f"{file}: an added token must be an object with a 'content' string, got {entry!r}")
    if not isinstance(token_id, int) or isinstance(token_id, bool) or token_id < 0:
        raise ValueError(f"{file}: added token {entry['content']!r} has no valid id ({token_id!r})")
    return AddedToken(entry["content"], token_id, bool(entry.get("special", True)),
                      bool(entry.get("lstrip", False)), bool(entry.get("rstrip", False)),
                      bool(entry.get("single_word", False)))


def read_added_tokens(directory: Path, vocab: dict[str, int], defaults: tuple[str, ...]) -> list[AddedToken]:
    """The added tokens of a Hugging Face tokenizer folder.

    Read from ``tokenizer.json`` when it exists, else from ``tokenizer_config.json``'s
    ``added_tokens_decoder``; a folder with neither gets the ``defaults`` that are in ``vocab``
    (``<|endoftext|>`` for GPT-2, ``[PAD] [UNK] [CLS] [SEP] [MASK]`` for BERT), as special tokens.
    """
    full = directory / "tokenizer.json"
    if full.is_file():
        data = read_json(full)
        if isinstance(data, dict) and "model" in data:  # a Hugging Face file, not one of ours
            entries = data.get("added_tokens") or []
            if not isinstance(entries, list):
                raise ValueError(f"{full}: 'added_tokens' must be a list")
            return [_token(e, e.get("id") if isinstance(e, dict) else None, full) for e in entries]
    config = directory / "tokenizer_config.json"
    if config.is_file():
        data = read_json(config)
        decoder = data.get("added_tokens_decoder") if isinstance(data, dict) else None
        if isinstance(decoder, dict) and decoder:
            tokens = []
            for key, entry in decoder.items():
                try:
                    token_id = int(key)
                except ValueError:
                    raise ValueError(f"{config}: added_tokens_decoder key {key!r} is not an id") from None
                tokens.append(_token(entry, token_id, config))
            return tokens
    return [AddedToken(text, vocab[text]) for text in defaults if text in vocab]
