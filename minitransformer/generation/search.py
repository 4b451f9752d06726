"""Greedy decoding and sampling: one token per step, chosen by argmax or drawn at random."""

from __future__ import annotations

from collections.abc import Callable

import torch

from minitransformer.generation.filters import suppress, top_k_filter, top_p_filter
from minitransformer.generation.stepper import Stepper

__all__ = ["greedy_search", "sample"]


def _token_by_token(stepper: Stepper, tokens: torch.Tensor, pick: Callable[[torch.Tensor], torch.Tensor],
                    max_new_tokens: int, stop_ids: torch.Tensor, pad_id: int, min_new_tokens: int):
    """The loop shared by greedy decoding and sampling; ``pick(logits (B, V)) -> (B,)`` ids."""
    batch = tokens.size(0)
    finished = torch.zeros(batch, dtype=torch.bool, device=tokens.device)  # (B,)
    total_log_prob = torch.zeros(batch, device=tokens.device)  # (B,)
    step_logits = []
    for step in range(max_new_tokens):
        logits = stepper.next_logits(tokens)  # (B, V)
        step_logits.append(logits)
        logits = suppress(logits, stop_ids, step < min_new_tokens)
        # BEGIN EXERCISE 5.2
        log_probs = torch.log_softmax(logits.float(), dim=-1)  # (B, V)
        next_token = pick(logits)  # (B,) greedy: logits.argmax(-1)
        next_token = next_token.masked_fill(finished, pad_id)  # finished rows only get padding
        chosen = log_probs.gather(1, next_token[:, None]).squeeze(1)  # (B,) log p(y_t | y_<t)
        total_log_prob += chosen.masked_fill(finished, 0.0)
        finished = finished | torch.isin(next_token, stop_ids)  # emitting a stop token finishes
        tokens = torch.cat([tokens, next_token[:, None]], dim=1)  # (B, t + 1)
        # END EXERCISE
        if finished.all():
            break
    return tokens, step_logits, total_log_prob


def greedy_search(stepper: Stepper, tokens: torch.Tensor, max_new_tokens: int,
                  stop_ids: torch.Tensor, pad_id: int, min_new_tokens: int = 0):
    """Greedy decoding: always append the single most likely next token.

    Algorithm::

        finished = [False] * B
        repeat max_new_tokens times:
            logits = model(tokens)[:, -1]                 # (B, V) next-token logits
            y = argmax(logits)                            # (B,)
            y[finished] = pad                             # rows that ended keep padding
            tokens = [tokens, y]
            finished |= y is eos or a stop token
            stop when every row is finished

    Greedy can miss the most likely *sequence*: a token with a high probability now can lead to
    a continuation that is worse in total. Beam search looks a little further.

    Returns ``(tokens (B, t), step_logits, total_log_prob (B,))``.
    """
    return _token_by_token(stepper, tokens, lambda logits: logits.argmax(dim=-1), max_new_tokens,
                           stop_ids, pad_id, min_new_tokens)


def sample(stepper: Stepper, tokens: torch.Tensor, max_new_tokens: int, stop_ids: torch.Tensor,
           pad_id: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, generator: torch.Generator | None = None,
           min_new_tokens: int = 0):
    """Sampling: draw the next token from the (reshaped) model distribution.

    Algorithm, per step::

        logits = model(tokens)[:, -1] / temperature   # T < 1 sharpens, T > 1 flattens; T → 0 is greedy
        if top_k: keep the k largest logits            # never pick from the long tail
        if top_p: keep the smallest set with mass ≥ p  # the "nucleus": adapts to how peaked p is
        y ~ Categorical(softmax(logits))               # drawn with ``generator``
        then as in greedy decoding (padding after the stop token, stop when all rows finished)

    With a seeded ``torch.Generator`` the result is reproducible. Returns as
    :func:`greedy_search`; the log-probs are those of the model's distribution (temperature 1,
    no filtering).
    """
    def pick(logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float() / temperature  # (B, V)
        if top_k is not None:
            logits = top_k_filter(logits, top_k)
        if top_p is not None:
            logits = top_p_filter(logits, top_p)
        probs = logits.softmax(dim=-1)  # (B, V)
        return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)  # (B,)

    return _token_by_token(stepper, tokens, pick, max_new_tokens, stop_ids, pad_id, min_new_tokens)
