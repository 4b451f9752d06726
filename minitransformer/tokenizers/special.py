"""Special tokens and the behaviour every tokenizer shares.

A tokenizer turns text into a list of integer ids and back. Whatever the
algorithm (one id per character, byte-level BPE, ...), a few things are the
same for all of them, so they live here once:

* **Special tokens.** Seven reserved tokens sit at the start of every
  vocabulary, always in this order::

      0 <pad>   padding, to make a batch rectangular
      1 <bos>   beginning of sequence
      2 <eos>   end of sequence
      3 <unk>   unknown (only the character tokenizer ever needs it)
      4 <mask>  masked position, for masked-language-model training
      5 <cls>   classification summary token (BERT style)
      6 <sep>   separator between two segments

  Because the ids are fixed, a model can hard-code ``pad_id == 0``, and every
  tokenizer exposes them as ``pad_id``, ``bos_id``, ... attributes.

* **Special-token strings inside text are plain text by default.** If a user
  writes ``"<mask>"`` in a review, ``encode`` spells it out character by
  character (or byte by byte), exactly like any other text, so that no one can
  inject control tokens through data. Pass ``allow_special=True`` to map the
  seven strings to their ids instead (handy for hand-written prompts).

* **Batching.** :meth:`Tokenizer.encode_batch` pads a list of texts into one
  ``torch.LongTensor`` of shape ``(B, T)``. When ``max_len`` is given, longer
  sequences are *truncated by keeping their first ``max_len`` ids* (so an
  ``<eos>`` added with ``add_eos=True`` is lost on a truncated sequence); the
  first truncation warns once per tokenizer object, later ones are silent.

* **Saving.** ``save(dir)`` writes ``dir/tokenizer.json`` containing a
  ``"type"`` (``"char"`` or ``"bpe"``), a ``"format_version"`` and whatever
  the subclass needs to rebuild itself (its vocabulary or merges).
  ``load(dir)`` checks all of that and raises a ``ValueError`` that names the
  file and the problem when something is off.

Subclasses implement a few small hooks: ``_encode_plain`` (text without
special tokens -> ids), ``_decode_plain`` (ids without special tokens ->
text), ``_to_json`` / ``_from_json`` and the ``vocab_size`` property.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, TypeVar

import torch

PAD, BOS, EOS, UNK, MASK, CLS, SEP = "<pad>", "<bos>", "<eos>", "<unk>", "<mask>", "<cls>", "<sep>"

#: The special tokens, in id order: ``SPECIAL_TOKENS[i]`` has id ``i``.
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK, MASK, CLS, SEP)
NUM_SPECIAL = len(SPECIAL_TOKENS)
SPECIAL_TO_ID: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}

#: Name of the JSON file inside a saved tokenizer directory.
TOKENIZER_FILE = "tokenizer.json"
#: The on-disk layout version this code writes and reads.
FORMAT_VERSION = 1

# Longest first, so that no special token can shadow a longer one.
_SPECIAL_PATTERN = re.compile(
    "(" + "|".join(re.escape(t) for t in sorted(SPECIAL_TOKENS, key=len, reverse=True)) + ")"
)

T = TypeVar("T", bound="Tokenizer")


class EncodedBatch(NamedTuple):
    """A padded batch: ``ids`` is ``(B, T)`` long, ``lengths`` is ``(B,)`` long."""

    ids: torch.Tensor
    lengths: torch.Tensor

    @property
    def attention_mask(self) -> torch.Tensor:
        """``(B, T)`` bool tensor, True at real tokens and False at padding."""
        positions = torch.arange(self.ids.shape[1])
        return positions.unsqueeze(0) < self.lengths.unsqueeze(1)


class Tokenizer:
    """Shared base class; use :class:`CharTokenizer` or :class:`BPETokenizer`."""

    #: Written to ``tokenizer.json`` as ``"type"``; set by each subclass.
    type_name: ClassVar[str] = ""

    pad_id: ClassVar[int] = SPECIAL_TO_ID[PAD]
    bos_id: ClassVar[int] = SPECIAL_TO_ID[BOS]
    eos_id: ClassVar[int] = SPECIAL_TO_ID[EOS]
    unk_id: ClassVar[int] = SPECIAL_TO_ID[UNK]
    mask_id: ClassVar[int] = SPECIAL_TO_ID[MASK]
    cls_id: ClassVar[int] = SPECIAL_TO_ID[CLS]
    sep_id: ClassVar[int] = SPECIAL_TO_ID[SEP]
    special_tokens: ClassVar[tuple[str, ...]] = SPECIAL_TOKENS

    _warned_truncation: bool = False

    # ----------------------------------------------------------- subclass hooks
    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def _encode_plain(self, text: str) -> list[int]:
        """Encode text that contains no special tokens."""
        raise NotImplementedError

    def _decode_plain(self, ids: list[int]) -> str:
        """Decode ids that are all >= NUM_SPECIAL."""
        raise NotImplementedError

    def _to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_json(cls: type[T], data: dict[str, Any], file: Path) -> T:
        raise NotImplementedError

    # ------------------------------------------------------------------ public
    def __len__(self) -> int:
        return self.vocab_size

    def encode(
        self,
        text: str,
        add_bos: bool = False,
        add_eos: bool = False,
        allow_special: bool = False,
    ) -> list[int]:
        """Turn ``text`` into a list of token ids.

        ``add_bos`` / ``add_eos`` wrap the result in ``<bos>`` ... ``<eos>``.
        With ``allow_special=False`` (the default) a string such as ``"<mask>"``
        in the text is ordinary text; with ``True`` it becomes ``mask_id``.
        """
        check_text(text, "text")
        ids = [self.bos_id] if add_bos else []
        if allow_special:
            for piece in _SPECIAL_PATTERN.split(text):
                if piece in SPECIAL_TO_ID:
                    ids.append(SPECIAL_TO_ID[piece])
                elif piece:
                    ids.extend(self._encode_plain(piece))
        else:
            ids.extend(self._encode_plain(text))
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int] | torch.Tensor, skip_special: bool = True) -> str:
        """Turn token ids back into text.

        ``ids`` may be a list, a tuple, or a 1-D tensor/array. With
        ``skip_special=True`` all seven special tokens (``<unk>`` included) are
        dropped; with ``False`` they are written out as their strings.
        """
        id_list = self._check_ids(ids)
        if skip_special:
            return self._decode_plain([i for i in id_list if i >= NUM_SPECIAL])
        parts: list[str] = []
        run: list[int] = []
        for i in id_list:
            if i >= NUM_SPECIAL:
                run.append(i)
                continue
            if run:
                parts.append(self._decode_plain(run))
                run = []
            parts.append(SPECIAL_TOKENS[i])
        if run:
            parts.append(self._decode_plain(run))
        return "".join(parts)

    def encode_batch(
        self,
        texts: Sequence[str],
        max_len: int | None = None,
        add_bos: bool = False,
        add_eos: bool = False,
        allow_special: bool = False,
        pad_to_max_len: bool = False,
    ) -> EncodedBatch:
        """Encode several texts into one padded ``(B, T)`` tensor plus lengths.

        ``T`` is the longest encoded length in the batch (or exactly
        ``max_len`` when ``pad_to_max_len=True``). Padding uses ``pad_id`` on
        the right. Sequences longer than ``max_len`` keep their first
        ``max_len`` ids; the first time that happens this tokenizer warns.
        """
        check_texts(texts, "texts")
        if max_len is not None and (not isinstance(max_len, int) or max_len < 1):
            raise ValueError(f"max_len must be a positive int or None, got {max_len!r}")
        if pad_to_max_len and max_len is None:
            raise ValueError("pad_to_max_len=True needs max_len")
        seqs = [self.encode(t, add_bos, add_eos, allow_special) for t in texts]
        if max_len is not None:
            seqs = self._truncate(seqs, max_len)
        width = max_len if pad_to_max_len else max((len(s) for s in seqs), default=0)
        rows = [seq + [self.pad_id] * (width - len(seq)) for seq in seqs]
        ids = torch.tensor(rows, dtype=torch.long).reshape(len(seqs), width)
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
        return EncodedBatch(ids, lengths)

    def decode_batch(
        self,
        ids: torch.Tensor | Sequence[Sequence[int]],
        lengths: torch.Tensor | Sequence[int] | None = None,
        skip_special: bool = True,
    ) -> list[str]:
        """Decode each row of a batch; ``lengths`` (if given) cuts off the padding."""
        rows = ids.tolist() if isinstance(ids, torch.Tensor) else [list(r) for r in ids]
        if lengths is not None:
            lens = lengths.tolist() if isinstance(lengths, torch.Tensor) else list(lengths)
            rows = [row[:n] for row, n in zip(rows, lens, strict=True)]
        return [self.decode(row, skip_special=skip_special) for row in rows]

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``directory/tokenizer.json`` (creating the directory); return its path."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        data = {"type": self.type_name, "format_version": FORMAT_VERSION}
        data["special_tokens"] = list(SPECIAL_TOKENS)
        data.update(self._to_json())
        file = folder / TOKENIZER_FILE
        file.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return file

    @classmethod
    def load(cls: type[T], directory: str | os.PathLike[str]) -> T:
        """Rebuild a tokenizer saved with :meth:`save` (a directory or the JSON file)."""
        data, file = read_tokenizer_json(directory)
        if data["type"] != cls.type_name:
            raise ValueError(
                f"{file}: holds a {data['type']!r} tokenizer, not a {cls.type_name!r} one "
                f"(use minitransformer.tokenizers.load_tokenizer to dispatch on the type)"
            )
        return cls._from_json(data, file)

    # ----------------------------------------------------------------- helpers
    def _check_ids(self, ids: Iterable[int] | torch.Tensor) -> list[int]:
        if hasattr(ids, "tolist"):  # torch tensors and numpy arrays
            ids = ids.tolist()
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise TypeError(f"ids must be a sequence of ints, got {type(ids).__name__}")
        id_list = list(ids)
        size = self.vocab_size
        for i in id_list:
            if not isinstance(i, int) or isinstance(i, bool):
                raise TypeError(f"ids must contain ints, got {type(i).__name__} ({i!r})")
            if not 0 <= i < size:
                raise ValueError(f"token id {i} is outside the vocabulary (vocab_size={size})")
        return id_list

    def _truncate(self, seqs: list[list[int]], max_len: int) -> list[list[int]]:
        too_long = sum(len(s) > max_len for s in seqs)
        if too_long and not self._warned_truncation:
            self._warned_truncation = True
            warnings.warn(
                f"{too_long} sequence(s) longer than max_len={max_len} were truncated to their "
                f"first {max_len} ids (this warning is shown once per tokenizer)",
                stacklevel=3,
            )
        return [s[:max_len] for s in seqs]


# ---------------------------------------------------------------- validation
def check_text(text: object, name: str) -> None:
    """Raise TypeError unless ``text`` is a str."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")


def check_texts(texts: object, name: str) -> None:
    """Raise TypeError unless ``texts`` is a collection of str (and not one str)."""
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of str, got a single str; wrap it in a list")
    if not isinstance(texts, Iterable):
        raise TypeError(f"{name} must be a list of str, got {type(texts).__name__}")


def iter_texts(texts: Iterable[str], name: str) -> Iterable[str]:
    """Yield the texts of a corpus, checking each one is a str."""
    check_texts(texts, name)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(text).__name__}")
        yield text


def read_tokenizer_json(directory: str | os.PathLike[str]) -> tuple[dict[str, Any], Path]:
    """Read and sanity-check a saved ``tokenizer.json``; return ``(data, file)``.

    ``directory`` may also be the path of the JSON file itself. Every problem
    raises a ``ValueError`` naming the file.
    """
    path = Path(directory)
    file = path if path.is_file() else path / TOKENIZER_FILE
    if not path.exists():
        raise ValueError(f"{path}: tokenizer directory does not exist")
    if not file.is_file():
        raise ValueError(f"{file}: file not found (expected a tokenizer saved with .save())")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{file}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a JSON object, got {type(data).__name__}")
    for key in ("type", "format_version"):
        if key not in data:
            raise ValueError(f"{file}: missing the {key!r} field")
    if data["format_version"] != FORMAT_VERSION:
        raise ValueError(
            f"{file}: unknown format_version {data['format_version']!r} "
            f"(this code reads format_version {FORMAT_VERSION})"
        )
    if data.get("special_tokens", list(SPECIAL_TOKENS)) != list(SPECIAL_TOKENS):
        raise ValueError(f"{file}: special_tokens differ from {list(SPECIAL_TOKENS)}")
    return data, file
