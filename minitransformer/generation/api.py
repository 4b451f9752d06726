"""The entry point, :func:`generate`: checks the settings, runs the encoder once, and
hands the model to greedy search, sampling or beam search."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from minitransformer.generation.beam import beam_search
from minitransformer.generation.search import greedy_search, sample
from minitransformer.generation.stepper import GenerationOutput, Stepper
from minitransformer.nn.language_model import CausalLM
from minitransformer.nn.transformer import Transformer
from minitransformer.nn.validation import check_token_ids

__all__ = ["generate", "STRATEGIES"]


STRATEGIES = ("greedy", "beam", "sample")


def _default(value, model: nn.Module, name: str) -> int:
    return getattr(model.config, name) if value is None else value


def _check_settings(strategy, max_new_tokens, min_new_tokens, num_beams, temperature, top_k, top_p,
                    length_penalty) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: expected one of {STRATEGIES}, got {strategy!r}")

    def is_int(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not is_int(max_new_tokens) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens: expected an integer >= 1, got {max_new_tokens!r}")
    if not is_int(min_new_tokens) or not 0 <= min_new_tokens <= max_new_tokens:
        raise ValueError(f"min_new_tokens: expected an integer in [0, max_new_tokens={max_new_tokens}], "
                         f"got {min_new_tokens!r}")
    if not is_int(num_beams) or num_beams < 1:
        raise ValueError(f"num_beams: expected an integer >= 1, got {num_beams!r}")
    if not isinstance(temperature, int | float) or not temperature > 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature: expected a finite number > 0, got {temperature!r} "
                         "(use strategy='greedy' for the temperature → 0 limit)")
    if top_k is not None and (not is_int(top_k) or top_k < 1):
        raise ValueError(f"top_k: expected an integer >= 1 or None, got {top_k!r}")
    if top_p is not None and (not isinstance(top_p, int | float) or not 0 < top_p <= 1):
        raise ValueError(f"top_p: expected a number in (0, 1] or None, got {top_p!r}")
    if not isinstance(length_penalty, int | float) or not math.isfinite(length_penalty):
        raise ValueError(f"length_penalty: expected a finite number, got {length_penalty!r}")


def _check_length(name: str, length: int, extra: int, model: nn.Module) -> None:
    """Refuse inputs the positional encoding cannot cover (RoPE has no bound)."""
    config = model.config
    if config.positional == "rope":
        return
    if length > config.max_len:
        raise ValueError(f"{name}: length {length} exceeds the model's max_len={config.max_len}; "
                         "shorten it (generation does not truncate silently)")
    if length + extra > config.max_len:
        raise ValueError(f"max_new_tokens: {name} length {length} + max_new_tokens {extra} = "
                         f"{length + extra} exceeds the model's max_len={config.max_len}")


@torch.no_grad()
def generate(model: nn.Module, src: torch.Tensor | None = None, input_ids: torch.Tensor | None = None,
             max_new_tokens: int = 32, strategy: str = "greedy", *, num_beams: int = 4,
             length_penalty: float = 1.0, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, generator: torch.Generator | None = None,
             bos_id: int | None = None, eos_id: int | None = None, pad_id: int | None = None,
             stop_tokens: Iterable[int] | None = None, min_new_tokens: int = 0,
             use_cache: bool = True, src_padding_mask: torch.Tensor | None = None,
             return_scores: bool = False) -> torch.Tensor | GenerationOutput:
    """Generate token ids with a :class:`~minitransformer.Transformer` or a ``CausalLM``.

    Args:
        model: an encoder–decoder ``Transformer`` (give ``src``) or a ``CausalLM`` (give
            ``input_ids``). It is run in eval mode; its previous mode is restored afterwards.
        src: ``(B, S)`` source ids for the encoder–decoder.
        input_ids: ``(B, n)`` prefix for a decoder-only model, same length in every row and no
            padding (n ≥ 1; start it with ``bos_id`` for an unconditional sample).
        max_new_tokens: the most tokens to generate after ``<bos>`` / the prefix.
        strategy: ``"greedy"``, ``"beam"`` or ``"sample"`` (see the module docstring).
        num_beams, length_penalty: beam search settings (:func:`beam_search`; GNMT penalty
            ``((5 + L) / 6) ** length_penalty``).
        temperature, top_k, top_p, generator: sampling settings (:func:`sample`); a seeded
            ``torch.Generator`` on the model's device makes sampling reproducible.
        bos_id, eos_id, pad_id: default to ``model.config``'s.
        stop_tokens: more token ids that end a row, like ``eos_id``.
        min_new_tokens: forbid ``eos_id`` and ``stop_tokens`` for this many first steps.
        use_cache: decode incrementally with the KV cache (False: recompute the whole prefix at
            every step — same result, O(T²) work; useful to check the cache).
        src_padding_mask: ``(B, S)`` True = padding; default ``src == pad_id``.
        return_scores: return a :class:`GenerationOutput` with per-step logits and scores.

    Returns:
        ``(B, T)`` ids: for the encoder–decoder ``<bos> y_1 … <eos> <pad> …``; for a decoder-only
        model the prefix followed by the continuation and padding. T is at most
        ``1 + max_new_tokens`` (resp. ``n + max_new_tokens``); it is shorter when every row stopped
        early.

    Raises:
        ValueError: naming the argument, for a wrong model kind, both or neither of ``src`` and
            ``input_ids``, or a setting out of range.
    """
    _check_settings(strategy, max_new_tokens, min_new_tokens, num_beams, temperature, top_k, top_p,
                    length_penalty)
    _check_model_kind(model, src, input_ids, src_padding_mask)
    bos_id, eos_id = _default(bos_id, model, "bos_id"), _default(eos_id, model, "eos_id")
    pad_id = _default(pad_id, model, "pad_id")
    stop_ids = _stop_ids(model, eos_id, stop_tokens)
    beams = num_beams if strategy == "beam" else 1

    was_training = model.training
    model.eval()
    try:
        if isinstance(model, Transformer):
            memory, memory_mask, start = _encode_source(model, src, src_padding_mask, bos_id, pad_id,
                                                        max_new_tokens, beams)
        else:
            memory, memory_mask = None, None
            start = _check_prefix(model, input_ids, pad_id, max_new_tokens)
        stepper = Stepper(model, memory, memory_mask, use_cache)
        tokens, step_logits, log_probs, scores = _search(
            strategy, stepper, start, max_new_tokens, stop_ids, pad_id, min_new_tokens,
            num_beams=beams, length_penalty=length_penalty, temperature=temperature, top_k=top_k,
            top_p=top_p, generator=generator)
    finally:
        model.train(was_training)
    if return_scores:
        return GenerationOutput(tokens, step_logits, log_probs, scores)
    return tokens


# ---------------------------------------------------------------------------- the steps of generate
def _check_model_kind(model: nn.Module, src: torch.Tensor | None, input_ids: torch.Tensor | None,
                      src_padding_mask: torch.Tensor | None) -> None:
    """An encoder–decoder needs ``src``, a decoder-only model ``input_ids``; never both."""
    if (src is None) == (input_ids is None):
        raise ValueError("src/input_ids: give exactly one: src for an encoder–decoder Transformer, "
                         "input_ids (a prefix) for a decoder-only CausalLM")
    if isinstance(model, Transformer):
        if src is None:
            raise ValueError("input_ids: an encoder–decoder Transformer generates from src, "
                             "not from a prefix; pass src=...")
    elif isinstance(model, CausalLM):
        if input_ids is None:
            raise ValueError("src: a decoder-only CausalLM has no encoder; pass the prefix as "
                             "input_ids=...")
        if src_padding_mask is not None:
            raise ValueError("src_padding_mask: only for an encoder–decoder Transformer")
    else:
        raise ValueError(f"model: expected a minitransformer Transformer or CausalLM, "
                         f"got {type(model).__name__}")


def _stop_ids(model: nn.Module, eos_id: int, stop_tokens: Iterable[int] | None) -> torch.Tensor:
    """The ids that end a row: ``eos_id`` and ``stop_tokens``, sorted, on the model's device."""
    stop = [eos_id, *(stop_tokens if stop_tokens is not None else ())]
    vocab = model.config.tgt_vocab_size if isinstance(model, Transformer) else model.config.vocab_size
    for token in stop:
        if not isinstance(token, int) or not 0 <= token < vocab:
            raise ValueError(f"stop_tokens: expected token ids in [0, {vocab}), got {token!r}")
    device = next(model.parameters()).device
    return torch.tensor(sorted(set(stop)), device=device)  # (n_stop,)


def _encode_source(model: Transformer, src: torch.Tensor, src_padding_mask: torch.Tensor | None,
                   bos_id: int, pad_id: int, max_new_tokens: int, beams: int):
    """Run the encoder once; return ``(memory, memory padding mask, start)``.

    ``memory`` ``(B·K, S, D)`` and its mask ``(B·K, S)`` hold each source K = ``beams`` times (once
    for greedy search and sampling); ``start`` ``(B, 1)`` is ``<bos>`` for every row.
    """
    device = next(model.parameters()).device
    check_token_ids("src", src, model.config.src_vocab_size)
    _check_length("src", src.size(1), 0, model)
    _check_length("target (<bos> + generated)", 1, max_new_tokens, model)
    src = src.to(device)
    if src_padding_mask is None:
        src_padding_mask = src == pad_id  # (B, S) True = padding
    elif tuple(src_padding_mask.shape) != tuple(src.shape):
        raise ValueError(f"src_padding_mask: expected shape {tuple(src.shape)} like src "
                         f"(True = padding), got {tuple(src_padding_mask.shape)}")
    src_padding_mask = src_padding_mask.to(device)
    memory = model.encode(src, src_padding_mask=src_padding_mask)  # (B, S, D), once
    start = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=device)  # (B, 1)
    if beams > 1:
        memory = memory.repeat_interleave(beams, dim=0)  # (B·K, S, D): each source K times
        src_padding_mask = src_padding_mask.repeat_interleave(beams, dim=0)  # (B·K, S)
    return memory, src_padding_mask, start


def _check_prefix(model: CausalLM, input_ids: torch.Tensor, pad_id: int, max_new_tokens: int) -> torch.Tensor:
    """A decoder-only prefix ``(B, n)``: valid ids, not empty, no padding; on the model's device."""
    check_token_ids("input_ids", input_ids, model.config.vocab_size)
    if input_ids.size(1) == 0:
        raise ValueError("input_ids: the prefix is empty; start it with at least bos_id")
    if bool((input_ids == pad_id).any()):
        raise ValueError(f"input_ids: the prefix contains pad_id={pad_id}; decoder-only "
                         "generation needs unpadded prefixes of equal length")
    _check_length("input_ids", input_ids.size(1), max_new_tokens, model)
    return input_ids.to(next(model.parameters()).device)  # (B, n)


def _search(strategy: str, stepper: Stepper, start: torch.Tensor, max_new_tokens: int,
            stop_ids: torch.Tensor, pad_id: int, min_new_tokens: int, *, num_beams: int,
            length_penalty: float, temperature: float, top_k: int | None, top_p: float | None,
            generator: torch.Generator | None):
    """Hand the stepper to the chosen strategy; ``(tokens, step_logits, log_probs, scores)``.

    Greedy search and sampling rank by the log-probability itself, so for them
    ``scores = log_probs``; beam search starts from each row of ``start`` repeated ``num_beams``
    times.
    """
    if strategy == "greedy":
        tokens, step_logits, log_probs = greedy_search(
            stepper, start, max_new_tokens, stop_ids, pad_id, min_new_tokens)
        return tokens, step_logits, log_probs, log_probs
    if strategy == "sample":
        tokens, step_logits, log_probs = sample(
            stepper, start, max_new_tokens, stop_ids, pad_id, temperature, top_k, top_p,
            generator, min_new_tokens)
        return tokens, step_logits, log_probs, log_probs
    return beam_search(stepper, start.repeat_interleave(num_beams, dim=0), num_beams, max_new_tokens,
                       stop_ids, pad_id, length_penalty, min_new_tokens)
