"""The model seen one decoding step at a time, with or without a KV cache; and the
output record of :func:`~minitransformer.generation.generate`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["GenerationOutput", "Stepper"]


@dataclass
class GenerationOutput:
    """What :func:`generate` returns with ``return_scores=True``.

    Attributes:
        sequences: ``(B, T)`` token ids, exactly what ``return_scores=False`` returns.
        step_logits: the model's raw next-token logits at every step, one tensor per step:
            ``(B, V)`` for greedy/sampling, ``(B·num_beams, V)`` for beam search (row
            ``b·K + k`` is beam k of source b, in the beam order of that step).
        sequence_log_probs: ``(B,)`` Σ log p(y_t | y_<t) of each returned sequence's generated
            tokens (up to and including its stop token), under the model's distribution.
        sequence_scores: ``(B,)`` the score the strategy ranked by: for beam search the
            length-penalised score (:func:`length_penalty_factor`), otherwise the log-prob.
    """

    sequences: torch.Tensor
    step_logits: list[torch.Tensor]
    sequence_log_probs: torch.Tensor
    sequence_scores: torch.Tensor


class Stepper:
    """Hides the two model kinds and cached/uncached decoding behind one method.

    ``next_logits(tokens)`` receives *everything* decoded so far ``(N, t)`` and returns the logits
    for the next token ``(N, V)``. With a cache only the tokens the model has not seen yet are fed
    in (the whole prefix on the first call, then one token); without it the whole prefix is
    recomputed every time.
    """

    def __init__(self, model: nn.Module, memory: torch.Tensor | None,
                 memory_padding_mask: torch.Tensor | None, use_cache: bool):
        self.model, self.memory, self.memory_padding_mask = model, memory, memory_padding_mask
        self.cache = model.new_cache() if use_cache else None
        self.seen = 0  # tokens already in the cache

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            new = tokens[:, self.seen:]  # (N, t - seen): only what the cache has not seen
            self.seen = tokens.size(1)
        else:
            new = tokens  # (N, t): recompute the whole prefix
        if self.memory is not None:  # encoder–decoder
            logits = self.model.decode(new, self.memory, memory_key_padding_mask=self.memory_padding_mask,
                                       cache=self.cache)  # (N, t_new, V)
        else:  # decoder-only
            logits = self.model(new, cache=self.cache)  # (N, t_new, V)
        return logits[:, -1]  # (N, V): the prediction after the last token

    def reorder(self, index: torch.Tensor) -> None:
        """Beam search keeps rows ``index`` of the batch: reorder the cache to match.

        Memory rows never need reordering: beams only ever move within their own source.
        """
        if self.cache is not None:
            self.cache.reorder(index)
