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
:class:`~minitransformer.nn.language_model.CausalLMCache`). Both give the same logits up to floating
point rounding. For the encoder–decoder the encoder runs **once**; its output ``memory`` is reused
at every step (and projected to cross-attention keys/values once, in the cache).

Model kinds:

* :class:`~minitransformer.Transformer` (encoder–decoder): pass ``src`` ``(B, S)``; the result is
  the generated target ``(B, T)``: ``<bos>``, the tokens, the stop token, then ``pad_id``.
* :class:`~minitransformer.nn.language_model.CausalLM` (decoder-only): pass a prefix ``input_ids``
  ``(B, n)``; the result is the prefix followed by its continuation, padded after the stop token.
  Prefixes in one batch must have the same length and contain no padding (group prompts by
  length, or generate them one at a time). A prefix longer than the model's ``max_len`` is
  **refused** with a ``ValueError`` naming both lengths (so is ``n + max_new_tokens > max_len``):
  silently truncating a prompt changes its meaning.

Stopping: a row stops after it emits ``eos_id`` or any of ``stop_tokens`` (that token is kept in
the output), or after ``max_new_tokens`` tokens. Finished rows are filled with ``pad_id``.
"""

from __future__ import annotations

from minitransformer.generation.api import STRATEGIES, generate
from minitransformer.generation.beam import beam_search
from minitransformer.generation.filters import length_penalty_factor, top_k_filter, top_p_filter
from minitransformer.generation.search import greedy_search, sample
from minitransformer.generation.stepper import GenerationOutput

__all__ = ["generate", "GenerationOutput", "greedy_search", "sample", "beam_search",
           "top_k_filter", "top_p_filter", "length_penalty_factor", "STRATEGIES"]
