"""Beam search: keep the ``num_beams`` best partial sequences by total log-probability."""

from __future__ import annotations

import math

import torch

from minitransformer.generation.filters import length_penalty_factor, suppress
from minitransformer.generation.stepper import Stepper

__all__ = ["beam_search"]


class _Hypotheses:
    """The best ``num_beams`` finished sequences of one source, ranked by length-penalised score."""

    def __init__(self, num_beams: int, alpha: float, max_new_tokens: int):
        self.num_beams, self.alpha, self.max_new_tokens = num_beams, alpha, max_new_tokens
        self.items: list[tuple[float, float, torch.Tensor]] = []  # (score, log_prob, tokens)

    def add(self, tokens: torch.Tensor, log_prob: float, length: int) -> None:
        score = log_prob / length_penalty_factor(length, self.alpha)
        self.items.append((score, log_prob, tokens))
        self.items.sort(key=lambda item: item[0], reverse=True)
        del self.items[self.num_beams:]  # keep the best num_beams

    def is_done(self, best_active_log_prob: float, length: int) -> bool:
        """Can no active beam still beat the worst kept hypothesis?

        Log-probs only fall as a beam grows, so an active beam's final score is at most its
        current log-prob divided by the largest penalty it can still get: lp(max_new_tokens)
        when alpha > 0 (the penalty grows with length), lp(current length) otherwise.
        """
        if len(self.items) < self.num_beams:
            return False
        longest = self.max_new_tokens if self.alpha > 0 else length
        best_possible = best_active_log_prob / length_penalty_factor(longest, self.alpha)
        return self.items[-1][0] >= best_possible

    def best(self) -> tuple[float, float, torch.Tensor]:
        return self.items[0]


def beam_search(stepper: Stepper, tokens: torch.Tensor, num_beams: int, max_new_tokens: int,
                stop_ids: torch.Tensor, pad_id: int, length_penalty: float = 1.0,
                min_new_tokens: int = 0):
    """Beam search: keep the ``K = num_beams`` most likely partial sequences of each source.

    ``tokens`` is ``(B·K, t0)``: every source's start repeated K times (rows ``b·K … b·K+K-1``
    belong to source b). Each beam carries its total log-probability ``s = Σ log p(y_t | y_<t)``.

    Algorithm, per step::

        log_probs = log_softmax(model(tokens)[:, -1])          # (B·K, V)
        candidates = s[:, None] + log_probs                     # (B·K, V) every one-token extension
        per source: take the 2K best of its K·V candidates      # 2K: even if K of them end now,
                                                                #     K unfinished ones remain
        for each candidate, best first:
            ends with eos / a stop token -> a finished hypothesis (only if among the K best),
                                            scored s / lp(length)
            otherwise                     -> a beam of the next step, until K beams are chosen
        reorder tokens and the KV cache to the chosen beams (``cache.reorder(index)``)
        a source is done when K hypotheses are finished and no active beam can still beat them

    At the start the K copies of a source are identical, so only the first one is live (the
    others start with s = -inf). When ``max_new_tokens`` is reached the still active beams are
    scored as they are. The best hypothesis of each source is returned.

    Length penalty: GNMT-style, ``score = s / ((5 + L) / 6) ** length_penalty`` with L the number
    of generated tokens (see :func:`length_penalty_factor`); ``length_penalty=0`` ranks by the
    plain log-probability, and with ``num_beams=1`` it then equals greedy decoding.

    Beam search is a heuristic: it usually finds more likely sequences than greedy decoding, but
    not always (the greedy path can drop out of the beam early), and a finished hypothesis is
    only kept when it ranks among the K best candidates of its step (as in fairseq and Hugging
    Face). Larger K costs K times the compute per step.

    Returns ``(tokens (B, t), step_logits, log_probs (B,), scores (B,))`` of the best hypotheses.
    """
    batch = tokens.size(0) // num_beams
    beam_log_probs = torch.full((batch, num_beams), -math.inf, device=tokens.device)  # (B, K)
    beam_log_probs[:, 0] = 0.0  # only the first copy is live at the start
    hypotheses = [_Hypotheses(num_beams, length_penalty, max_new_tokens) for _ in range(batch)]
    done = [False] * batch
    stop_set = set(stop_ids.tolist())
    step_logits = []
    for step in range(max_new_tokens):
        logits = stepper.next_logits(tokens)  # (B·K, V)
        step_logits.append(logits)
        logits = suppress(logits, stop_ids, step < min_new_tokens)
        tokens, beam_log_probs = _beam_step(stepper, tokens, logits, beam_log_probs, hypotheses, done,
                                            stop_set, step, pad_id)
        if all(done):
            break
    _add_active_beams(hypotheses, done, tokens, beam_log_probs, length=len(step_logits))
    out, log_probs, scores = _best_sequences(hypotheses, pad_id, tokens)
    return out, step_logits, log_probs, scores


def _beam_step(stepper: Stepper, tokens: torch.Tensor, logits: torch.Tensor, beam_log_probs: torch.Tensor,
               hypotheses: list[_Hypotheses], done: list[bool], stop_set: set[int], step: int,
               pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of :func:`beam_search`: extend every beam by one token, keep the K best.

    ``tokens`` ``(B·K, t)`` are the beams, ``logits`` ``(B·K, V)`` their next-token logits (stop
    tokens already suppressed where ``min_new_tokens`` asks), ``beam_log_probs`` ``(B, K)`` their
    totals. Hypotheses that end now go into ``hypotheses[b]``; ``done[b]`` is updated in place.

    Returns the next step's ``(tokens (B·K, t + 1), beam_log_probs (B, K))``, with the stepper's KV
    cache reordered to follow the beams.
    """
    batch, num_beams = beam_log_probs.shape
    device = tokens.device
    # BEGIN EXERCISE 5.3
    log_probs = torch.log_softmax(logits.float(), dim=-1)  # (B·K, V)
    vocab = log_probs.size(-1)
    candidates = beam_log_probs.view(-1, 1) + log_probs  # (B·K, V) s + log p(v | beam)
    candidates = candidates.view(batch, num_beams * vocab)  # (B, K·V) all extensions of a source
    top_log_probs, top_ids = candidates.topk(min(2 * num_beams, num_beams * vocab), dim=1)  # (B, 2K)
    top_beams = (top_ids // vocab).tolist()  # which beam each candidate extends
    top_tokens = (top_ids % vocab).tolist()  # and with which token
    top_log_probs = top_log_probs.tolist()

    rows, next_tokens, next_log_probs = [], [], []  # the K chosen beams of every source
    for b in range(batch):
        chosen = []  # (row of the beam it extends, token, log-prob)
        if not done[b]:
            for rank, (beam, token, log_prob) in enumerate(
                    zip(top_beams[b], top_tokens[b], top_log_probs[b])):
                if log_prob == -math.inf:
                    break  # only dead copies are left
                row = b * num_beams + beam
                if token in stop_set:
                    if rank < num_beams:  # a finished hypothesis must be among the K best
                        finished = torch.cat([tokens[row], tokens.new_tensor([token])])
                        hypotheses[b].add(finished, log_prob, length=step + 1)
                else:
                    chosen.append((row, token, log_prob))
                if len(chosen) == num_beams:
                    break
        if chosen:
            done[b] = hypotheses[b].is_done(chosen[0][2], length=step + 1)
        else:
            done[b] = True
        while len(chosen) < num_beams:  # done sources (or too few live candidates): padding
            chosen.append((b * num_beams + len(chosen), pad_id, -math.inf))
        for row, token, log_prob in chosen:
            rows.append(row)
            next_tokens.append(token)
            next_log_probs.append(log_prob)

    index = torch.tensor(rows, device=device)  # (B·K,) the beam each new beam continues
    tokens = torch.cat([tokens.index_select(0, index), tokens.new_tensor(next_tokens)[:, None]],
                       dim=1)  # (B·K, t + 1)
    beam_log_probs = torch.tensor(next_log_probs, device=device).view(batch, num_beams)
    stepper.reorder(index)  # the KV cache follows the beams
    # END EXERCISE
    return tokens, beam_log_probs


def _add_active_beams(hypotheses: list[_Hypotheses], done: list[bool], tokens: torch.Tensor,
                      beam_log_probs: torch.Tensor, length: int) -> None:
    """Max length reached: the still active beams of unfinished sources compete as they are."""
    batch, num_beams = beam_log_probs.shape
    for b in range(batch):
        if not done[b]:
            for k in range(num_beams):
                log_prob = beam_log_probs[b, k].item()
                if log_prob > -math.inf:
                    hypotheses[b].add(tokens[b * num_beams + k], log_prob, length=length)


def _best_sequences(hypotheses: list[_Hypotheses], pad_id: int, tokens: torch.Tensor):
    """The best hypothesis of each source: ``(tokens (B, t) padded after the stop token,
    log_probs (B,), scores (B,))``; ``tokens`` only lends its dtype and device."""
    best = [h.best() for h in hypotheses]
    width = max(seq.size(0) for _, _, seq in best)
    out = tokens.new_full((len(best), width), pad_id)  # (B, t) padded after the stop token
    for b, (_, _, seq) in enumerate(best):
        out[b, : seq.size(0)] = seq
    scores = torch.tensor([score for score, _, _ in best], device=tokens.device)
    log_probs = torch.tensor([log_prob for _, log_prob, _ in best], device=tokens.device)
    return out, log_probs, scores
