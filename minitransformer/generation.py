"""Generating sequences: greedy decoding, beam search and sampling, with or without a KV cache.

A trained model gives a distribution over the next token, p(y_t | y_<t, x). Generation turns it
into a sequence, one token at a time:

    y_0 = <bos>            (encoder–decoder)     or     y_0 … y_{n-1} = the prefix (decoder-only)
    repeat: logits = model(y_<t [, memory])[-1]  ->  pick y_t  ->  append, until <eos> or max length

The strategies differ only in *how* y_t is picked:

* **greedy** — the most likely token, ``argmax_v p(v | y_<t)``. Fast, deterministic, short-sighted.
* **beam** — keep the ``num_beams`` best partial sequences by total log-probability; see
  :func:`beam_search` for the algorithm and the length penalty.
* **sample** — draw ``y_t ~ p``, optionally sharpened by a temperature and restricted to the k
  most likely tokens (top-k) or to the smallest set with probability mass ≥ p (top-p / nucleus).

**The KV cache.** Without it every step runs the decoder over the whole prefix again: step t costs
O(t) token computations and generating T tokens costs O(T²). With it (``use_cache=True``, the
default) each step feeds only the newest token; the keys and values of earlier tokens are kept in
the model's cache (:class:`~minitransformer.DecoderCache` or
:class:`~minitransformer.language_model.CausalLMCache`). Both give the same logits up to floating
point rounding. For the encoder–decoder the encoder runs **once**; its output ``memory`` is reused
at every step (and projected to cross-attention keys/values once, in the cache).

Model kinds:

* :class:`~minitransformer.Transformer` (encoder–decoder): pass ``src`` ``(B, S)``; the result is
  the generated target ``(B, T)``: ``<bos>``, the tokens, the stop token, then ``pad_id``.
* :class:`~minitransformer.language_model.CausalLM` (decoder-only): pass a prefix ``input_ids``
  ``(B, n)``; the result is the prefix followed by its continuation, padded after the stop token.
  Prefixes in one batch must have the same length and contain no padding (group prompts by
  length, or generate them one at a time). A prefix longer than the model's ``max_len`` is
  **refused** with a ``ValueError`` naming both lengths (so is ``n + max_new_tokens > max_len``):
  silently truncating a prompt changes its meaning.

Stopping: a row stops after it emits ``eos_id`` or any of ``stop_tokens`` (that token is kept in
the output), or after ``max_new_tokens`` tokens. Finished rows are filled with ``pad_id``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from minitransformer.language_model import CausalLM
from minitransformer.transformer import Transformer
from minitransformer.validation import check_token_ids

__all__ = ["generate", "GenerationOutput", "greedy_search", "sample", "beam_search",
           "top_k_filter", "top_p_filter", "length_penalty_factor", "STRATEGIES"]

STRATEGIES = ("greedy", "beam", "sample")


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


# --------------------------------------------------------------------------- the model, step by step
class _Stepper:
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


# --------------------------------------------------------------------------- logit processing
def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row ``(..., V)``; set the others to -inf."""
    k = min(k, logits.size(-1))
    kth_largest = logits.topk(k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth_largest, -math.inf)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of most likely tokens whose probability is ≥ p.

    Sort the probabilities in decreasing order; a token is kept when the mass of the tokens
    *before* it is still < p. So the most likely token is always kept, and the kept set is the
    shortest head of the sorted list reaching mass p. Returns logits with the rest set to -inf.
    """
    sorted_logits, order = logits.sort(dim=-1, descending=True)  # (..., V)
    sorted_probs = sorted_logits.softmax(dim=-1)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # (..., V) mass of the better tokens
    remove_sorted = mass_before >= p
    remove = remove_sorted.scatter(-1, order, remove_sorted)  # back to vocabulary order
    return logits.masked_fill(remove, -math.inf)


def _suppress(logits: torch.Tensor, token_ids: torch.Tensor, active: bool) -> torch.Tensor:
    """Forbid ``token_ids`` (logit -inf) while ``active`` (used for ``min_new_tokens``)."""
    if not active:
        return logits
    logits = logits.clone()
    logits[:, token_ids] = -math.inf
    return logits


def length_penalty_factor(length: int, alpha: float) -> float:
    """GNMT length penalty (Wu et al., 2016): lp(L) = ((5 + L) / 6) ** alpha.

    A finished hypothesis is ranked by ``log p(y) / lp(|y|)``, where |y| counts the generated
    tokens including the stop token. ``alpha = 0`` ranks by plain log-probability (which favours
    short outputs, every token adds a negative term); ``alpha ≈ 0.6 … 1`` removes most of that
    bias; ``alpha < 0`` favours shorter outputs still.
    """
    return ((5.0 + length) / 6.0) ** alpha


# --------------------------------------------------------------------------- greedy and sampling
def _token_by_token(stepper: _Stepper, tokens: torch.Tensor, pick: Callable[[torch.Tensor], torch.Tensor],
                    max_new_tokens: int, stop_ids: torch.Tensor, pad_id: int, min_new_tokens: int):
    """The loop shared by greedy decoding and sampling; ``pick(logits (B, V)) -> (B,)`` ids."""
    batch = tokens.size(0)
    finished = torch.zeros(batch, dtype=torch.bool, device=tokens.device)  # (B,)
    total_log_prob = torch.zeros(batch, device=tokens.device)  # (B,)
    step_logits = []
    for step in range(max_new_tokens):
        logits = stepper.next_logits(tokens)  # (B, V)
        step_logits.append(logits)
        logits = _suppress(logits, stop_ids, step < min_new_tokens)
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


def greedy_search(stepper: _Stepper, tokens: torch.Tensor, max_new_tokens: int,
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


def sample(stepper: _Stepper, tokens: torch.Tensor, max_new_tokens: int, stop_ids: torch.Tensor,
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


# --------------------------------------------------------------------------- beam search
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


def beam_search(stepper: _Stepper, tokens: torch.Tensor, num_beams: int, max_new_tokens: int,
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
    device = tokens.device
    batch = tokens.size(0) // num_beams
    beam_log_probs = torch.full((batch, num_beams), -math.inf, device=device)  # (B, K)
    beam_log_probs[:, 0] = 0.0  # only the first copy is live at the start
    hypotheses = [_Hypotheses(num_beams, length_penalty, max_new_tokens) for _ in range(batch)]
    done = [False] * batch
    stop_set = set(stop_ids.tolist())
    step_logits = []
    for step in range(max_new_tokens):
        logits = stepper.next_logits(tokens)  # (B·K, V)
        step_logits.append(logits)
        logits = _suppress(logits, stop_ids, step < min_new_tokens)
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
        if all(done):
            break

    steps_taken = len(step_logits)  # tokens generated by the still active beams
    for b in range(batch):  # max length reached: the active beams compete as they are
        if not done[b]:
            for k in range(num_beams):
                log_prob = beam_log_probs[b, k].item()
                if log_prob > -math.inf:
                    hypotheses[b].add(tokens[b * num_beams + k], log_prob, length=steps_taken)
    best = [h.best() for h in hypotheses]
    width = max(seq.size(0) for _, _, seq in best)
    out = tokens.new_full((batch, width), pad_id)  # (B, t) padded after the stop token
    for b, (_, _, seq) in enumerate(best):
        out[b, : seq.size(0)] = seq
    scores = torch.tensor([score for score, _, _ in best], device=device)
    log_probs = torch.tensor([log_prob for _, log_prob, _ in best], device=device)
    return out, step_logits, log_probs, scores


# --------------------------------------------------------------------------- the entry point
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
    bos_id, eos_id = _default(bos_id, model, "bos_id"), _default(eos_id, model, "eos_id")
    pad_id = _default(pad_id, model, "pad_id")
    stop = [eos_id, *(stop_tokens if stop_tokens is not None else ())]
    vocab = model.config.tgt_vocab_size if isinstance(model, Transformer) else model.config.vocab_size
    for token in stop:
        if not isinstance(token, int) or not 0 <= token < vocab:
            raise ValueError(f"stop_tokens: expected token ids in [0, {vocab}), got {token!r}")
    device = next(model.parameters()).device
    stop_ids = torch.tensor(sorted(set(stop)), device=device)

    was_training = model.training
    model.eval()
    try:
        if isinstance(model, Transformer):
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
        else:
            check_token_ids("input_ids", input_ids, model.config.vocab_size)
            if input_ids.size(1) == 0:
                raise ValueError("input_ids: the prefix is empty; start it with at least bos_id")
            if bool((input_ids == pad_id).any()):
                raise ValueError(f"input_ids: the prefix contains pad_id={pad_id}; decoder-only "
                                 "generation needs unpadded prefixes of equal length")
            _check_length("input_ids", input_ids.size(1), max_new_tokens, model)
            memory, start = None, input_ids.to(device)

        beams = num_beams if strategy == "beam" else 1
        if beams > 1 and memory is not None:
            memory = memory.repeat_interleave(beams, dim=0)  # (B·K, S, D): each source K times
            src_padding_mask = src_padding_mask.repeat_interleave(beams, dim=0)  # (B·K, S)
        stepper = _Stepper(model, memory, src_padding_mask if memory is not None else None, use_cache)
        if strategy == "greedy":
            tokens, step_logits, log_probs = greedy_search(
                stepper, start, max_new_tokens, stop_ids, pad_id, min_new_tokens)
            scores = log_probs
        elif strategy == "sample":
            tokens, step_logits, log_probs = sample(
                stepper, start, max_new_tokens, stop_ids, pad_id, temperature, top_k, top_p,
                generator, min_new_tokens)
            scores = log_probs
        else:
            tokens, step_logits, log_probs, scores = beam_search(
                stepper, start.repeat_interleave(beams, dim=0), beams, max_new_tokens, stop_ids,
                pad_id, length_penalty, min_new_tokens)
    finally:
        model.train(was_training)
    if return_scores:
        return GenerationOutput(tokens, step_logits, log_probs, scores)
    return tokens
