"""A saved model's attention on one input, ready for
:func:`~minitransformer.pictures.plotting.plot_attention`.

An :class:`AttentionView` is a group of attention maps that share their token labels. A
self-attention stack is one view (queries and keys are the same tokens); an encoder–decoder
gives three: the encoder's self-attention over the source, the decoder's self-attention over
the target, and the cross-attention from target (rows) to source (columns).

* :func:`token_labels` — one readable label per token id (``▁`` marks a leading space of a BPE
  token, ``<bos>`` and friends stay as they are, a byte that is half of a character shows as
  ``\\xe4``).
* :func:`transformer_views` — an encoder–decoder :class:`~minitransformer.Transformer` on a
  source text: the answer is written greedily, then one teacher-forced pass over
  ``<bos> + answer`` records all three kinds of attention.
* :func:`causal_lm_views` — a :class:`~minitransformer.CausalLM` reading a text.
* :func:`core_model_views` — either of them from a directory written by ``save_pretrained``
  (``config.json`` says which), with the ``tokenizer.json`` saved beside it when there is one,
  else the input is a list of token ids (``"12 7 9"``).

The task heads add their own views (a QA question, a shopper's history of items); the
``minitransformer plot attention`` command (:mod:`minitransformer.cli.plot`) finds which one
a model directory needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from minitransformer.nn.io import CONFIG_NAME
from minitransformer.pictures.attention_maps import record_attention
from minitransformer.tokenizers import NUM_SPECIAL, SPECIAL_TOKENS, load_tokenizer
from minitransformer.tokenizers.special import TOKENIZER_FILE

__all__ = ["AttentionView", "token_labels", "parse_token_ids", "transformer_views", "causal_lm_views",
           "core_model_views", "read_model_type", "CORE_MODEL_TYPES"]

#: ``model_type`` in ``config.json`` of the core models that :func:`core_model_views` can draw
CORE_MODEL_TYPES = ("transformer", "causal_lm")


@dataclass
class AttentionView:
    """Attention maps of one model on one input that share their token labels.

    ``maps`` is ``{module name: (B, H, T_q, T_k)}`` as recorded by
    :func:`~minitransformer.record_attention` (B = 1 here); ``query_labels`` has ``T_q``
    entries, ``key_labels`` ``T_k`` (None: the same as the queries).
    """

    name: str
    maps: dict[str, torch.Tensor]
    query_labels: list[str]
    key_labels: list[str] | None = None
    title: str | None = None


def token_labels(tokenizer: Any, ids: list[int]) -> list[str]:
    """A short, readable label for each token id of ``tokenizer`` (one label per id)."""
    labels = []
    for i in ids:
        i = int(i)
        if 0 <= i < NUM_SPECIAL:
            labels.append(SPECIAL_TOKENS[i])
        elif hasattr(tokenizer, "token_bytes"):  # byte-level BPE: a token may be part of a character
            text = tokenizer.token_bytes(i).decode("utf-8", errors="backslashreplace")
            labels.append(_visible(text))
        else:
            labels.append(_visible(tokenizer.decode([i], skip_special=False)))
    return labels


def _visible(text: str) -> str:
    """Spaces and line breaks made visible: ``" order"`` -> ``"▁order"``."""
    return text.replace(" ", "▁").replace("\n", "\\n").replace("\t", "\\t") or "∅"


def parse_token_ids(text: str, vocab_size: int, name: str = "--input") -> list[int]:
    """``"12 7 9"`` -> ``[12, 7, 9]`` for a model saved without a tokenizer (ids in ``[0, vocab_size)``)."""
    ids = []
    for word in text.replace(",", " ").split():
        try:
            value = int(word)
        except ValueError:
            raise ValueError(f"{name}: this model has no {TOKENIZER_FILE}, so the input must be token "
                             f"ids separated by spaces, got {word!r}") from None
        if not 0 <= value < vocab_size:
            raise ValueError(f"{name}: token id {value} is outside the vocabulary [0, {vocab_size})")
        ids.append(value)
    if not ids:
        raise ValueError(f"{name}: the input is empty")
    return ids


def _encode(tokenizer: Any | None, text: str, vocab_size: int, max_len: int | None) -> list[int]:
    if not text.strip():
        raise ValueError("--input: the input is empty")
    ids = tokenizer.encode(text) if tokenizer is not None else parse_token_ids(text, vocab_size)
    if not ids:
        raise ValueError(f"--input: {text!r} gives no tokens")
    return ids[:max_len] if max_len else ids


def _labels(tokenizer: Any | None, ids: list[int]) -> list[str]:
    if tokenizer is None:
        return [SPECIAL_TOKENS[i] if i < NUM_SPECIAL else str(i) for i in ids]
    return token_labels(tokenizer, ids)


@torch.no_grad()
def transformer_views(model: nn.Module, tokenizer: Any | None, text: str,
                      max_new_tokens: int | None = None) -> list[AttentionView]:
    """Encoder, decoder and cross-attention views of an encoder–decoder on the source ``text``.

    The target is the model's own greedy answer: ``<bos> y_1 … y_n`` is decoded, then one
    teacher-forced pass records every attention map. Row *t* of the decoder views is the
    decoder reading token *t* of ``<bos> y_1 … y_n`` (it predicts the token after it).
    """
    from minitransformer.generation import generate

    config = model.config
    limit = getattr(config, "max_len", None)
    src_ids = _encode(tokenizer, text, config.src_vocab_size, limit)
    model.eval()
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], device=device)  # (1, S)
    budget = max_new_tokens or min(limit - 1 if limit else 64, 2 * len(src_ids) + 8)
    out = generate(model, src=src, max_new_tokens=max(1, budget), strategy="greedy")[0].tolist()
    while len(out) > 1 and out[-1] == config.pad_id:
        out.pop()
    tgt = out[:-1] if len(out) > 1 and out[-1] == config.eos_id else out  # <bos> y_1 … y_n
    with record_attention(model) as maps:
        model(src, torch.tensor([tgt], device=device))
    source, target = _labels(tokenizer, src_ids), _labels(tokenizer, tgt)
    answer = tokenizer.decode(out) if tokenizer is not None else " ".join(map(str, out[1:]))

    def part(prefix: str, suffix: str) -> dict[str, torch.Tensor]:
        return {name: w for name, w in maps.items() if name.startswith(prefix) and name.endswith(suffix)}

    return [
        AttentionView("encoder", part("encoder.", "self_attn"), source, source,
                      "encoder self-attention over the source"),
        AttentionView("decoder", part("decoder.", "self_attn"), target, target,
                      f"decoder self-attention over its answer {answer!r}"),
        AttentionView("cross", part("decoder.", "cross_attn"), target, source,
                      "cross-attention: answer tokens (rows) reading the source (columns)"),
    ]


@torch.no_grad()
def causal_lm_views(model: nn.Module, tokenizer: Any | None, text: str) -> list[AttentionView]:
    """The self-attention of a decoder-only model reading ``text`` (each token sees those before)."""
    config = model.config
    ids = _encode(tokenizer, text, config.vocab_size, getattr(config, "max_len", None))
    model.eval()
    with record_attention(model) as maps:
        model(torch.tensor([ids], device=next(model.parameters()).device))
    labels = _labels(tokenizer, ids)
    return [AttentionView("self", dict(maps), labels, labels, "causal self-attention")]


def read_model_type(directory: str | Path) -> str | None:
    """``model_type`` of ``directory/config.json`` (None when there is no readable one)."""
    path = Path(directory) / CONFIG_NAME
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def core_model_views(directory: str | Path, text: str) -> list[AttentionView]:
    """Views of a core ``Transformer`` or ``CausalLM`` saved with ``save_pretrained``.

    ``text`` is tokenized with the ``tokenizer.json`` of the directory when there is one (the
    seq2seq demo and the QA reply head save it), otherwise it is a list of token ids.
    """
    directory = Path(directory)
    model_type = read_model_type(directory)
    if model_type not in CORE_MODEL_TYPES:
        raise ValueError(f"{directory}: expected a core model ({', '.join(CORE_MODEL_TYPES)}) in "
                         f"{CONFIG_NAME}, got {model_type!r}")
    tokenizer = load_tokenizer(directory) if (directory / TOKENIZER_FILE).is_file() else None
    if model_type == "transformer":
        from minitransformer.nn.transformer import Transformer
        return transformer_views(Transformer.from_pretrained(directory), tokenizer, text)
    from minitransformer.nn.language_model import CausalLM
    return causal_lm_views(CausalLM.from_pretrained(directory), tokenizer, text)
