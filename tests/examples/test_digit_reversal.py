"""Tests for minitransformer.examples.digit_reversal: the data, the loss, and that the model really learns."""

from __future__ import annotations

import pytest
import torch

from minitransformer.examples.digit_reversal import (
    build_model,
    collate,
    evaluate_exact_match,
    make_examples,
    make_tokenizer,
    predict,
    run_demo,
    seq2seq_loss,
    train_seq2seq,
)


def test_examples_are_seeded_reversals():
    examples = make_examples(50, seed=3, min_len=2, max_len=6)
    assert examples == make_examples(50, seed=3, min_len=2, max_len=6)
    assert examples != make_examples(50, seed=4, min_len=2, max_len=6)
    assert all(t == s[::-1] and 2 <= len(s) <= 6 and s.isdigit() for s, t in examples)
    held_out = {s for s, _ in make_examples(20, seed=9, min_len=2, max_len=2)}
    assert not held_out & {s for s, _ in make_examples(200, seed=1, min_len=2, max_len=2,
                                                       exclude=held_out)}
    with pytest.raises(ValueError, match="min_len"):
        make_examples(3, min_len=4, max_len=2)


@pytest.mark.parametrize("seed", [0, 5])
def test_training_sources_never_reach_the_validation_or_test_set(seed):
    from minitransformer.examples.digit_reversal import QUICK_SETTINGS, _datasets

    settings = dict(QUICK_SETTINGS, steps=30, epochs=4, batch_size=8, min_len=3, max_len=3)
    train, valid, held_out = _datasets(settings, seed, eval_size=300)
    assert len(train) == 8 * 8 and len(valid) == 200 and len(held_out) == 300  # ⌈30 / 4⌉ batches
    sources = {s for s, _ in train}
    assert not sources & {s for s, _ in valid + held_out}  # 3 digits: 1000 strings, overlap is likely
    assert all(len(s) == 3 and t == s[::-1] for s, t in train + valid + held_out)


def test_collate_shifts_the_target_for_teacher_forcing():
    tok = make_tokenizer()
    batch = collate([("123", "321"), ("45", "54")], tok)
    assert batch["src"].tolist() == [tok.encode("123"), tok.encode("45") + [tok.pad_id]]
    assert batch["tgt_in"].tolist() == [[tok.bos_id, *tok.encode("321")],
                                        [tok.bos_id, *tok.encode("54"), tok.pad_id]]
    assert batch["tgt_out"].tolist() == [[*tok.encode("321"), tok.eos_id],
                                         [*tok.encode("54"), tok.eos_id, tok.pad_id]]


def test_loss_ignores_padding():
    tok = make_tokenizer()
    model = build_model(tok, d_model=32, nhead=2, num_layers=1, dim_feedforward=64).eval()
    short = collate([("45", "54")], tok)
    padded = collate([("45", "54"), ("12345", "54321")], tok)
    padded_row = {name: t[:1] for name, t in padded.items()}  # "45" padded to length 5
    torch.testing.assert_close(seq2seq_loss(model, short), seq2seq_loss(model, padded_row))


def test_training_learns_to_reverse_short_strings():
    model, tok, metrics = train_seq2seq(steps=300, seed=0, quick=True, max_minutes=1.0,
                                        progress=False, eval_size=300)
    losses = [loss for _, loss in metrics["losses"]]
    assert losses[0] > 1.0 and losses[-1] < 0.1  # the loss falls
    assert metrics["exact_match"] >= 0.9, metrics["exact_match"]
    held_out = make_examples(100, seed=1, min_len=3, max_len=6)
    assert evaluate_exact_match(model, tok, held_out, strategy="beam", num_beams=3) >= 0.9
    assert predict(model, tok, ["1234"]) == ["4321"]


def test_bad_overrides_are_refused():
    with pytest.raises(ValueError, match="overrides"):
        train_seq2seq(steps=1, quick=True, progress=False, learning_rate=1.0)
    with pytest.raises(ValueError, match="examples"):
        evaluate_exact_match(None, make_tokenizer(), [])


def test_run_demo_prints_and_saves(tmp_path, capsys, monkeypatch):
    import minitransformer.examples.digit_reversal as task

    monkeypatch.setitem(task.QUICK_SETTINGS, "steps", 20)  # the plumbing, not the learning
    metrics = run_demo(quick=True, seed=0, out=tmp_path / "demo", threads=None)
    printed = capsys.readouterr().out
    assert "held-out exact match" in printed and "loss" in printed and "beam" in printed
    assert {"exact_match", "train_seconds", "losses"} <= set(metrics)
    assert (tmp_path / "demo" / "config.json").is_file()
    assert (tmp_path / "demo" / "tokenizer.json").is_file()
    assert (tmp_path / "demo" / "metrics.json").is_file()
