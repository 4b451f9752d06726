"""Hand-written tokenizers: characters and byte-level BPE, and the two of pretrained checkpoints.

* :class:`CharTokenizer` -- one token per character (good for Chinese,
  unknown characters become ``<unk>``).
* :class:`BPETokenizer` -- byte-level byte-pair encoding, trained on a corpus;
  every Unicode string round-trips, there is no unknown token.

Both share the seven special tokens at ids 0..6 (see :mod:`.special`),
``encode`` / ``decode`` / ``encode_batch`` and ``save`` / ``load``.
:func:`load_tokenizer` reads a saved directory of either kind::

    tok = BPETokenizer().train(texts, vocab_size=8000)
    tok.save("runs/tok")
    same = load_tokenizer("runs/tok")

The tokenizers of pretrained checkpoints keep the vocabulary they were trained with (their own
special tokens and ids) and are read from its files with ``from_pretrained(folder)``:

* :class:`GPT2Tokenizer` -- GPT-2's byte-level BPE (``vocab.json`` + ``merges.txt``);
* :class:`WordPieceTokenizer` -- BERT's WordPiece (``vocab.txt``), with lower-casing, accent
  stripping and one token per Chinese character.

``encode(text)`` gives the ids of the checkpoint's own tokenizer;
:func:`minitransformer.interop.from_hf` returns the right one beside the model.
"""

from __future__ import annotations

import os

from .bpe import BPETokenizer, pretokenize
from .char import CharTokenizer
from .gpt2 import GPT2Tokenizer
from .special import (
    FORMAT_VERSION,
    NUM_SPECIAL,
    SPECIAL_TOKENS,
    EncodedBatch,
    Tokenizer,
    read_tokenizer_json,
)
from .wordpiece import WordPieceBatch, WordPieceTokenizer

TOKENIZER_TYPES: dict[str, type[Tokenizer]] = {
    CharTokenizer.type_name: CharTokenizer,
    BPETokenizer.type_name: BPETokenizer,
}


def load_tokenizer(directory: str | os.PathLike[str]) -> Tokenizer:
    """Load a tokenizer saved with ``save``, whatever its type."""
    data, file = read_tokenizer_json(directory)
    cls = TOKENIZER_TYPES.get(data["type"])
    if cls is None:
        raise ValueError(
            f"{file}: unknown tokenizer type {data['type']!r} (known: {', '.join(sorted(TOKENIZER_TYPES))})"
        )
    return cls._from_json(data, file)


__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "EncodedBatch",
    "FORMAT_VERSION",
    "GPT2Tokenizer",
    "NUM_SPECIAL",
    "SPECIAL_TOKENS",
    "TOKENIZER_TYPES",
    "Tokenizer",
    "WordPieceBatch",
    "WordPieceTokenizer",
    "load_tokenizer",
    "pretokenize",
]
