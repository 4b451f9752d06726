"""Tests for minitransformer.nn.language_model: CausalLM, its config, cache and next-token loss."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from minitransformer.nn.language_model import CausalLM, CausalLMCache, CausalLMConfig, next_token_loss

VOCAB = 30



def _model(positional: str = "learned", **options) -> CausalLM:
    return CausalLM(VOCAB, d_model=32, nhead=4, num_layers=2, dim_feedforward=64, dropout=0.1,
                    max_len=48, positional=positional, **options).eval()


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "rope"])
def test_shapes_and_causality(positional):
    model = _model(positional)
    ids = torch.randint(7, VOCAB, (2, 10))
    logits = model(ids)
    assert logits.shape == (2, 10, VOCAB)
    changed = ids.clone()
    changed[:, 6:] = torch.randint(7, VOCAB, (2, 4))  # rewrite the future
    new = model(changed)
    torch.testing.assert_close(new[:, :6], logits[:, :6])  # the past cannot see it
    assert not torch.allclose(new[:, 6:], logits[:, 6:])


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "rope"])
def test_cached_forward_equals_full_forward(positional):
    model = _model(positional)
    ids = torch.randint(7, VOCAB, (3, 9))
    full = model(ids)
    cache = model.new_cache()
    assert isinstance(cache, CausalLMCache) and len(cache) == 0
    parts = [model(ids[:, :4], cache=cache)]  # a prefix, then one token at a time
    for t in range(4, 9):
        parts.append(model(ids[:, t : t + 1], cache=cache))
    assert len(cache) == 9
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=0)


def test_cache_reorder_selects_rows():
    model = _model()
    ids = torch.randint(7, VOCAB, (3, 5))
    cache = model.new_cache()
    model(ids, cache=cache)
    cache.reorder(torch.tensor([2, 2, 0]))
    step = torch.randint(7, VOCAB, (3, 1))
    out = model(step, cache=cache)[:, -1]
    reordered = ids[[2, 2, 0]]
    expected = model(torch.cat([reordered, step], dim=1))[:, -1]
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_right_padding_does_not_change_real_positions():
    model = _model()
    ids = torch.randint(7, VOCAB, (1, 6))
    padded = torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    mask = padded == 0
    torch.testing.assert_close(model(padded, key_padding_mask=mask)[:, :6], model(ids))


def test_output_head_is_tied_to_the_embedding():
    model = _model()
    assert model.lm_head.weight is model.embedding.embedding.weight
    untied = _model(tie_embeddings=False)
    assert untied.lm_head.weight is not untied.embedding.embedding.weight
    n_tied = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for p in untied.parameters()) == n_tied + VOCAB * 32


def test_save_and_load_round_trip(tmp_path):
    model = _model("sinusoidal")
    with torch.no_grad():
        model.embedding.embedding.weight.add_(0.1)  # not the initial weights
    model.save_pretrained(tmp_path / "lm")
    config = json.loads((tmp_path / "lm" / "config.json").read_text())
    assert config["model_type"] == "causal_lm" and config["positional"] == "sinusoidal"
    loaded = CausalLM.from_pretrained(tmp_path / "lm").eval()
    assert loaded.config == model.config
    assert loaded.lm_head.weight is loaded.embedding.embedding.weight  # still tied
    ids = torch.randint(7, VOCAB, (2, 7))
    torch.testing.assert_close(loaded(ids), model(ids))


def test_config_validation_and_json(tmp_path):
    config = CausalLMConfig(vocab_size=50, d_model=16, nhead=2)
    path = tmp_path / "config.json"
    config.to_json_file(path)
    assert CausalLMConfig.from_json_file(path) == config
    with pytest.raises(ValueError, match="positional"):
        CausalLMConfig(positional="alibi")
    with pytest.raises(ValueError, match="nhead"):
        CausalLMConfig(d_model=30, nhead=4)
    with pytest.raises(ValueError, match="eos_id"):
        CausalLMConfig(vocab_size=2, eos_id=2)
    with pytest.raises(ValueError, match="unknown config key"):
        CausalLMConfig.from_dict({"n_head": 4})
    with pytest.raises(ValueError, match="'transformer' model"):
        CausalLMConfig.from_dict({"model_type": "transformer"})


def test_too_long_input_is_refused():
    model = _model()
    with pytest.raises(ValueError, match="max_len=48"):
        model(torch.ones(1, 49, dtype=torch.long))
    with pytest.raises(ValueError, match="input_ids"):
        model(torch.full((1, 3), VOCAB))


def test_next_token_loss_is_shifted_cross_entropy_ignoring_pad():
    logits = torch.randn(2, 5, VOCAB)
    ids = torch.randint(7, VOCAB, (2, 5))
    ids[1, 3:] = 0
    loss = next_token_loss(logits, ids, pad_id=0)
    rows = [(0, t) for t in range(4)] + [(1, 0), (1, 1)]  # predictions with a real next token
    expected = torch.stack([F.cross_entropy(logits[b, t], ids[b, t + 1]) for b, t in rows]).mean()
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ValueError, match="logits"):
        next_token_loss(logits[:, :4], ids)
    with pytest.raises(ValueError, match="at least 2"):
        next_token_loss(logits[:, :1], ids[:, :1])


def test_next_token_loss_learns_a_planted_pattern():
    """Sequences count upward modulo 10 from a random start: each token fixes the next one."""
    torch.manual_seed(0)
    model = CausalLM(17, d_model=32, nhead=4, num_layers=1, dim_feedforward=64, dropout=0.0,
                     max_len=16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    steps = torch.arange(12)

    def batch(n: int) -> torch.Tensor:
        start = torch.randint(0, 10, (n, 1))
        return 7 + (start + steps) % 10  # (n, 12) ids 7..16

    first = None
    for _ in range(60):
        ids = batch(32)
        loss = next_token_loss(model(ids), ids)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
    assert first > 2.0 and loss.item() < 0.1
    model.eval()
    ids = torch.tensor([[7 + 3, 7 + 4]])
    with torch.no_grad():
        for _ in range(8):  # continue the count greedily, one token at a time
            ids = torch.cat([ids, model(ids)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert ids[0].tolist() == [7 + (3 + i) % 10 for i in range(10)]
