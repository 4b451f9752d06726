"""Tests for minitransformer.generation: greedy, beam search, sampling, the KV cache, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from minitransformer import Transformer
from minitransformer.generation import (
    GenerationOutput,
    generate,
    length_penalty_factor,
    top_k_filter,
    top_p_filter,
)
from minitransformer.nn.language_model import CausalLM

ex52 = pytest.mark.exercise("5.2")  # greedy decoding (and sampling, which shares its loop)
ex53 = pytest.mark.exercise("5.3")  # beam search
STRATEGIES = [pytest.param("greedy", marks=ex52), pytest.param("beam", marks=ex53)]

PAD, BOS, EOS = 0, 1, 2
VOCAB = 24



def _seq2seq(positional: str = "sinusoidal", seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(VOCAB, VOCAB, d_model=32, nhead=4, num_encoder_layers=2,
                       num_decoder_layers=2, dim_feedforward=64, dropout=0.1, max_len=40,
                       positional=positional).eval()


def _causal_lm(positional: str = "learned", seed: int = 0) -> CausalLM:
    torch.manual_seed(seed)
    return CausalLM(VOCAB, d_model=32, nhead=4, num_layers=2, dim_feedforward=64, dropout=0.1,
                    max_len=40, positional=positional).eval()


def _src() -> torch.Tensor:
    torch.manual_seed(1)
    src = torch.randint(7, VOCAB, (3, 7))
    src[1, 5:] = PAD  # a padded source row
    src[2, 3:] = PAD
    return src


def _prefix() -> torch.Tensor:
    torch.manual_seed(2)
    return torch.randint(7, VOCAB, (3, 4))


def _inputs(kind: str):
    """``(model, generate kwargs)`` for the two model kinds."""
    if kind == "seq2seq":
        return _seq2seq(), {"src": _src()}
    return _causal_lm(), {"input_ids": _prefix()}


class BigramLM(CausalLM):
    """A hand-made decoder-only "model": the next-token log-probs depend on the last token only.

    ``table[a, b] = log p(b | a)``. Lets a test construct situations (greedy is short-sighted,
    a row ends at a known step) exactly.
    """

    def __init__(self, table: torch.Tensor):
        super().__init__(table.size(0), d_model=8, nhead=2, num_layers=1, dim_feedforward=8,
                         dropout=0.0, max_len=64)
        self.register_buffer("table", table)

    def forward(self, input_ids, key_padding_mask=None, cache=None):
        return self.table[input_ids]  # (B, T, V)


def _bigram(transitions: dict[int, dict[int, float]], vocab: int = 8) -> BigramLM:
    table = torch.full((vocab, vocab), -30.0)
    for a, row in transitions.items():
        for b, p in row.items():
            table[a, b] = math.log(p)
    for a in range(vocab):
        if a not in transitions:
            table[a, EOS] = 0.0  # unlisted tokens end the sequence
    return BigramLM(table)


# Tokens of the bigram tests: 3 = A, 4 = B, 5 = C, 6 = D, 7 = E.
A, B, C, D, E = 3, 4, 5, 6, 7
# From <bos>, A (0.6) looks better than B (0.4); but after A every way on is a coin toss
# (1/3 each), while B ends for sure. Best sequence: <bos> B <eos> (0.4) > <bos> A C <eos> (0.2).
SHORT_SIGHTED = {BOS: {A: 0.6, B: 0.4}, A: {C: 0.34, D: 0.33, EOS: 0.33}, B: {EOS: 1.0},
                 C: {EOS: 1.0}, D: {EOS: 1.0}}


# --------------------------------------------------------------------------- the KV cache
@pytest.mark.parametrize("kind", ["seq2seq", "causal_lm"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_cached_and_uncached_decoding_agree(kind, strategy):
    model, inputs = _inputs(kind)
    cached = generate(model, **inputs, max_new_tokens=12, strategy=strategy, num_beams=3,
                      return_scores=True)
    uncached = generate(model, **inputs, max_new_tokens=12, strategy=strategy, num_beams=3,
                        return_scores=True, use_cache=False)
    assert isinstance(cached, GenerationOutput)
    assert torch.equal(cached.sequences, uncached.sequences)
    assert len(cached.step_logits) == len(uncached.step_logits) > 1
    for step, (a, b) in enumerate(zip(cached.step_logits, uncached.step_logits, strict=True)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0, msg=f"step {step}")
    torch.testing.assert_close(cached.sequence_scores, uncached.sequence_scores, atol=1e-5, rtol=0)


@ex52
@pytest.mark.parametrize("positional", ["learned", "rope"])
def test_cached_sampling_agrees_for_rope_and_learned_positions(positional):
    model = _causal_lm(positional)
    outputs = [generate(model, input_ids=_prefix(), max_new_tokens=10, strategy="sample",
                        generator=torch.Generator().manual_seed(3), use_cache=use_cache,
                        return_scores=True) for use_cache in (True, False)]
    assert torch.equal(outputs[0].sequences, outputs[1].sequences)
    for a, b in zip(outputs[0].step_logits, outputs[1].step_logits, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@ex53
def test_encoder_runs_once_per_call():
    model, inputs = _inputs("seq2seq")
    calls = []
    model.encoder.register_forward_hook(lambda *args: calls.append(1))
    generate(model, **inputs, max_new_tokens=8, strategy="beam", num_beams=3)
    assert len(calls) == 1


@ex52
def test_batched_generation_equals_one_row_at_a_time():
    model, src = _seq2seq(), _src()
    batched = generate(model, src=src, max_new_tokens=10)
    for row in range(src.size(0)):
        length = int((src[row] != PAD).sum())
        alone = generate(model, src=src[row : row + 1, :length], max_new_tokens=10)
        assert alone[0].tolist() == batched[row, : alone.size(1)].tolist()
        assert (batched[row, alone.size(1):] == PAD).all()


@ex52
def test_output_shapes_and_prefix():
    model, src = _seq2seq(), _src()
    out = generate(model, src=src, max_new_tokens=6)
    assert out.dtype == torch.long and out.shape[0] == 3 and out.shape[1] <= 7
    assert (out[:, 0] == BOS).all()
    lm, prefix = _causal_lm(), _prefix()
    out = generate(lm, input_ids=prefix, max_new_tokens=6)
    assert out.shape[1] <= prefix.size(1) + 6
    assert torch.equal(out[:, : prefix.size(1)], prefix)


@ex52
def test_generate_restores_training_mode():
    model = _causal_lm().train()
    generate(model, input_ids=_prefix(), max_new_tokens=3)
    assert model.training


# --------------------------------------------------------------------------- greedy and beam
@ex52
@ex53
@pytest.mark.parametrize("kind", ["seq2seq", "causal_lm"])
def test_beam_search_with_one_beam_is_greedy(kind):
    model, inputs = _inputs(kind)
    greedy = generate(model, **inputs, max_new_tokens=12, return_scores=True)
    beam = generate(model, **inputs, max_new_tokens=12, strategy="beam", num_beams=1,
                    length_penalty=0.0, return_scores=True)
    assert torch.equal(greedy.sequences, beam.sequences)
    torch.testing.assert_close(greedy.sequence_log_probs, beam.sequence_log_probs, atol=1e-5, rtol=0)


@ex52
@ex53
def test_beam_search_finds_the_better_sequence_greedy_misses():
    model = _bigram(SHORT_SIGHTED)
    start = torch.tensor([[BOS]])
    greedy = generate(model, input_ids=start, max_new_tokens=5, return_scores=True)
    beam = generate(model, input_ids=start, max_new_tokens=5, strategy="beam", num_beams=2,
                    length_penalty=0.0, return_scores=True)
    assert greedy.sequences.tolist() == [[BOS, A, C, EOS]]
    assert beam.sequences.tolist() == [[BOS, B, EOS, PAD]] or beam.sequences.tolist() == [[BOS, B, EOS]]
    assert math.isclose(beam.sequence_log_probs.item(), math.log(0.4), abs_tol=1e-4)
    assert math.isclose(greedy.sequence_log_probs.item(), math.log(0.6 * 0.34), abs_tol=1e-4)
    assert beam.sequence_log_probs.item() > greedy.sequence_log_probs.item()


def _teacher_forced_log_prob(model, inputs, sequence: list[int], start: int) -> float:
    """log p(sequence[start:] | sequence[:start]) by one full forward pass, up to <eos>."""
    if EOS in sequence[start:]:
        sequence = sequence[: sequence.index(EOS, start) + 1]
    while sequence[-1] == PAD:
        sequence = sequence[:-1]
    ids = torch.tensor([sequence])
    with torch.no_grad():
        if "src" in inputs:
            src = inputs["src"]
            logits = model(src, ids[:, :-1], src_padding_mask=src == PAD)
        else:
            logits = model(ids[:, :-1])
    log_probs = logits.log_softmax(-1)[0, start - 1:]  # predictions of the generated tokens
    return log_probs.gather(1, ids[0, start:, None]).sum().item()


@pytest.mark.parametrize("kind", ["seq2seq", "causal_lm"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sequence_log_probs_match_a_teacher_forced_pass(kind, strategy):
    model, inputs = _inputs(kind)
    out = generate(model, **inputs, max_new_tokens=8, strategy=strategy, num_beams=3,
                   length_penalty=0.0, return_scores=True)
    start = 1 if kind == "seq2seq" else _prefix().size(1)
    for row in range(out.sequences.size(0)):
        one = {"src": inputs["src"][row : row + 1]} if kind == "seq2seq" else {}
        expected = _teacher_forced_log_prob(model, one, out.sequences[row].tolist(), start)
        assert math.isclose(out.sequence_log_probs[row].item(), expected, abs_tol=1e-4)


@ex53
def test_beam_search_scores_use_the_gnmt_length_penalty():
    model = _bigram(SHORT_SIGHTED)
    out = generate(model, input_ids=torch.tensor([[BOS]]), max_new_tokens=5, strategy="beam",
                   num_beams=2, length_penalty=1.0, return_scores=True)
    length = int((out.sequences[0, 1:] != PAD).sum())  # generated tokens, <eos> included
    expected = out.sequence_log_probs.item() / length_penalty_factor(length, 1.0)
    assert math.isclose(out.sequence_scores.item(), expected, rel_tol=1e-5)
    assert length_penalty_factor(1, 0.0) == 1.0
    assert math.isclose(length_penalty_factor(7, 1.0), 2.0)
    assert math.isclose(length_penalty_factor(7, 0.5), math.sqrt(2.0))


@ex53
def test_beam_search_handles_a_batch_of_sources():
    model, src = _seq2seq(), _src()
    batched = generate(model, src=src, max_new_tokens=8, strategy="beam", num_beams=3)
    for row in range(src.size(0)):
        alone = generate(model, src=src[row : row + 1], max_new_tokens=8, strategy="beam",
                         num_beams=3)
        assert alone[0].tolist() == batched[row, : alone.size(1)].tolist()


# --------------------------------------------------------------------------- sampling
@ex52
def test_sampling_with_a_seeded_generator_is_reproducible():
    model, inputs = _inputs("causal_lm")
    runs = [generate(model, **inputs, max_new_tokens=10, strategy="sample",
                     generator=torch.Generator().manual_seed(seed)) for seed in (7, 7, 8)]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


@ex52
@pytest.mark.parametrize("kind", ["seq2seq", "causal_lm"])
def test_sampling_at_low_temperature_and_top_k_1_is_greedy(kind):
    model, inputs = _inputs(kind)
    greedy = generate(model, **inputs, max_new_tokens=10)
    cold = generate(model, **inputs, max_new_tokens=10, strategy="sample", temperature=1e-4,
                    generator=torch.Generator().manual_seed(0))
    top1 = generate(model, **inputs, max_new_tokens=10, strategy="sample", top_k=1,
                    generator=torch.Generator().manual_seed(0))
    assert torch.equal(greedy, cold)
    assert torch.equal(greedy, top1)


def test_top_p_keeps_the_smallest_set_with_enough_mass():
    probs = torch.tensor([[0.05, 0.5, 0.15, 0.3]])  # sorted: 0.5, 0.3, 0.15, 0.05
    logits = probs.log()

    def kept(p):
        return torch.isfinite(top_p_filter(logits, p))[0].tolist()

    assert kept(0.5) == [False, True, False, False]  # 0.5 alone reaches 0.5
    assert kept(0.51) == [False, True, False, True]
    assert kept(0.8) == [False, True, False, True]  # 0.5 + 0.3 = 0.8
    assert kept(0.81) == [False, True, True, True]
    assert kept(1.0) == [True, True, True, True]
    assert kept(0.01) == [False, True, False, False]  # the most likely token always stays
    kept_logits = top_p_filter(logits, 0.8)
    assert torch.equal(kept_logits[0, [1, 3]], logits[0, [1, 3]])  # kept logits are unchanged


def test_top_k_filter_keeps_the_k_largest():
    logits = torch.tensor([[1.0, 4.0, 3.0, 2.0], [0.0, -1.0, 5.0, 1.0]])
    kept = torch.isfinite(top_k_filter(logits, 2))
    assert kept.tolist() == [[False, True, True, False], [False, False, True, True]]
    assert torch.isfinite(top_k_filter(logits, 10)).all()


@ex52
def test_sampling_never_leaves_the_nucleus():
    model = _bigram({BOS: {A: 0.7, B: 0.2, C: 0.1}})
    start = torch.full((200, 1), BOS)
    out = generate(model, input_ids=start, max_new_tokens=1, strategy="sample", top_p=0.85,
                   generator=torch.Generator().manual_seed(0))
    assert set(out[:, 1].tolist()) == {A, B}  # C lies outside the 0.85 nucleus


# --------------------------------------------------------------------------- stopping
@ex52
@ex53
def test_eos_stops_a_row_and_pads_the_rest():
    # <bos> -> A -> B -> <eos> in row 0; row 1 starts at C which ends at once.
    model = _bigram({BOS: {A: 1.0}, A: {B: 1.0}, B: {EOS: 1.0}, C: {EOS: 1.0}})
    out = generate(model, input_ids=torch.tensor([[BOS], [C]]), max_new_tokens=10)
    assert out.tolist() == [[BOS, A, B, EOS], [C, EOS, PAD, PAD]]  # stopped early: 3 < 10 steps
    beam = generate(model, input_ids=torch.tensor([[BOS], [C]]), max_new_tokens=10,
                    strategy="beam", num_beams=2)
    assert beam.tolist() == [[BOS, A, B, EOS], [C, EOS, PAD, PAD]]


@ex52
def test_seq2seq_eos_is_followed_by_padding():
    model = _seq2seq()
    with torch.no_grad():
        model.output_projection.bias[EOS] = 50.0  # <eos> wins at once
    out = generate(model, src=_src(), max_new_tokens=10)
    assert out.tolist() == [[BOS, EOS]] * 3
    with torch.no_grad():
        model.output_projection.bias[EOS] = -50.0  # <eos> never wins
    assert generate(model, src=_src(), max_new_tokens=10).shape == (3, 11)


@ex52
@ex53
def test_stop_tokens_end_a_row_like_eos():
    model = _bigram({BOS: {A: 1.0}, A: {B: 1.0}, B: {C: 1.0}, C: {EOS: 1.0}})
    start = torch.tensor([[BOS]])
    assert generate(model, input_ids=start, max_new_tokens=10, stop_tokens=[B]).tolist() == \
        [[BOS, A, B]]
    assert generate(model, input_ids=start, max_new_tokens=10, strategy="beam", num_beams=2,
                    stop_tokens=[B]).tolist() == [[BOS, A, B]]


@ex52
@ex53
def test_max_new_tokens_bounds_the_length():
    model = _bigram({BOS: {A: 1.0}, A: {A: 1.0}})  # never ends
    out = generate(model, input_ids=torch.tensor([[BOS]]), max_new_tokens=4)
    assert out.tolist() == [[BOS, A, A, A, A]]
    out = generate(model, input_ids=torch.tensor([[BOS]]), max_new_tokens=4, strategy="beam")
    assert out.tolist() == [[BOS, A, A, A, A]]


@ex52
def test_min_new_tokens_postpones_eos():
    model = _bigram({BOS: {A: 1.0}, A: {EOS: 0.9, B: 0.1}, B: {EOS: 0.9, B: 0.1}})
    out = generate(model, input_ids=torch.tensor([[BOS]]), max_new_tokens=6, min_new_tokens=3)
    assert out.tolist() == [[BOS, A, B, B, EOS]]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"strategy": "beam", "num_beams": 0}, "num_beams"),
    ({"strategy": "sample", "temperature": 0.0}, "temperature"),
    ({"strategy": "sample", "temperature": -1.0}, "temperature"),
    ({"strategy": "sample", "top_p": 0.0}, "top_p"),
    ({"strategy": "sample", "top_p": 1.5}, "top_p"),
    ({"strategy": "sample", "top_k": 0}, "top_k"),
    ({"strategy": "nucleus"}, "strategy"),
    ({"min_new_tokens": 99}, "min_new_tokens"),
    ({"stop_tokens": [VOCAB]}, "stop_tokens"),
])
def test_bad_settings_are_refused(kwargs, match):
    model, inputs = _inputs("causal_lm")
    with pytest.raises(ValueError, match=match):
        generate(model, **inputs, **{"max_new_tokens": 5, **kwargs})


def test_src_and_input_ids_must_match_the_model_kind():
    seq2seq, lm = _seq2seq(), _causal_lm()
    with pytest.raises(ValueError, match="src/input_ids"):
        generate(seq2seq, src=_src(), input_ids=_prefix())
    with pytest.raises(ValueError, match="src/input_ids"):
        generate(lm)
    with pytest.raises(ValueError, match="input_ids"):
        generate(seq2seq, input_ids=_prefix())
    with pytest.raises(ValueError, match="src"):
        generate(lm, src=_src())
    with pytest.raises(ValueError, match="model"):
        generate(nn.Linear(3, 3), input_ids=_prefix())
    with pytest.raises(ValueError, match="src_padding_mask"):
        generate(lm, input_ids=_prefix(), src_padding_mask=torch.zeros(3, 4, dtype=torch.bool))


def test_too_long_inputs_are_refused_with_the_lengths():
    lm = _causal_lm()  # max_len 40
    with pytest.raises(ValueError, match=r"input_ids: length 41 exceeds the model's max_len=40"):
        generate(lm, input_ids=torch.full((1, 41), 9), max_new_tokens=1)
    with pytest.raises(ValueError, match=r"max_new_tokens: .*30 \+ max_new_tokens 20 = 50"):
        generate(lm, input_ids=torch.full((1, 30), 9), max_new_tokens=20)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(_seq2seq(), src=_src(), max_new_tokens=40)  # <bos> + 40 > max_len 40
    with pytest.raises(ValueError, match="pad_id"):
        generate(lm, input_ids=torch.tensor([[9, 9, PAD]]))
    with pytest.raises(ValueError, match="empty"):
        generate(lm, input_ids=torch.zeros(1, 0, dtype=torch.long))
