"""Positional information: sinusoidal table, learned positions and rotary embeddings (3.1, 3.2)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minitransformer import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding
from minitransformer.nn.positional import sinusoidal_table
from tests.strategies import seeds

ex31 = pytest.mark.exercise("3.1")
ex32 = pytest.mark.exercise("3.2")

head_dims = st.sampled_from([2, 4, 6, 8, 16])
positions = st.integers(0, 200)


# --------------------------------------------------------------------------- sinusoidal


@ex31
@pytest.mark.parametrize("d_model", [2, 6, 7, 16])
def test_sinusoidal_table_matches_formula(d_model):
    """PE(pos, 2i) = sin(pos / 10000^(2i/D)) and PE(pos, 2i+1) = cos(same), odd D included."""
    table = sinusoidal_table(50, d_model)
    assert table.shape == (50, d_model)
    for pos in (0, 1, 2, 7, 49):
        for j in range(d_model):
            angle = pos / 10000 ** ((j - j % 2) / d_model)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert table[pos, j].item() == pytest.approx(expected, abs=1e-6)


@ex31
def test_sinusoidal_known_values():
    """Position 0 is (0, 1, 0, 1, ...); position 1 starts with (sin 1, cos 1)."""
    table = sinusoidal_table(3, 8)
    assert torch.equal(table[0], torch.tensor([0.0, 1.0] * 4))
    assert table[1, 0].item() == pytest.approx(math.sin(1.0))
    assert table[1, 1].item() == pytest.approx(math.cos(1.0))
    assert table[2, 6].item() == pytest.approx(math.sin(2 / 10000 ** 0.75))


@ex31
@given(t=st.integers(1, 8), offset=st.integers(0, 20), seed=seeds)
def test_sinusoidal_encoding_adds_rows_from_offset(t, offset, seed):
    """forward(x, offset) = x + PE[offset : offset + T], the same rows a full pass would add."""
    torch.manual_seed(seed)
    pe = SinusoidalPositionalEncoding(d_model=12, max_len=32)
    x = torch.randn(2, t, 12)
    torch.testing.assert_close(pe(x, offset), x + sinusoidal_table(32, 12)[offset : offset + t])
    full = torch.randn(2, offset + t, 12)
    torch.testing.assert_close(pe(full[:, offset:], offset), pe(full)[:, offset:])


def test_sinusoidal_table_is_a_buffer_not_a_saved_parameter():
    """The fixed table is neither trained nor written to checkpoints."""
    pe = SinusoidalPositionalEncoding(d_model=8, max_len=16)
    assert list(pe.parameters()) == []
    assert "table" not in pe.state_dict()


@pytest.mark.parametrize("make", [lambda: SinusoidalPositionalEncoding(8, max_len=5),
                                  lambda: LearnedPositionalEmbedding(5, 8)])
def test_positions_beyond_max_len_are_rejected(make):
    """A sequence running past max_len fails with its length, the offset and max_len."""
    module = make()  # built inside the test, so a missing exercise cannot break collection
    with pytest.raises(ValueError, match=r"length 3 at offset 4 exceeds max_len=5"):
        module(torch.randn(1, 3, 8), offset=4)


# --------------------------------------------------------------------------- learned


@given(t=st.integers(1, 6), offset=st.integers(0, 4), seed=seeds)
def test_learned_positions_add_one_vector_per_position(t, offset, seed):
    """forward(x, offset) = x + E[offset + i] at position i, and only those rows get gradient."""
    torch.manual_seed(seed)
    pe = LearnedPositionalEmbedding(max_len=10, d_model=4)
    x = torch.randn(3, t, 4)
    out = pe(x, offset)
    torch.testing.assert_close(out, x + pe.embedding.weight[offset : offset + t])
    out.sum().backward()
    used = torch.zeros(10, dtype=torch.bool)
    used[offset : offset + t] = True
    assert (pe.embedding.weight.grad[used] == 3).all()  # one per batch row
    assert (pe.embedding.weight.grad[~used] == 0).all()


# --------------------------------------------------------------------------- rotary


def rotate_at(rope: RotaryEmbedding, v: torch.Tensor, position: int) -> torch.Tensor:
    """Rotate a single head vector ``(Dh,)`` as if it stood at ``position``."""
    return rope(v.view(1, 1, 1, -1), offset=position).view(-1)


@ex32
@given(hd=head_dims, p=positions, seed=seeds)
def test_rope_matches_pairwise_rotation_formula(hd, p, seed):
    """Pair i of the vector at position p is rotated by p·θ_i with θ_i = 10000^(-2i/Dh)."""
    torch.manual_seed(seed)
    v = torch.randn(hd, dtype=torch.float64)
    out = rotate_at(RotaryEmbedding(hd), v, p).tolist()
    v = v.tolist()
    for i in range(hd // 2):
        angle = p * 10000 ** (-2 * i / hd)
        c, s = math.cos(angle), math.sin(angle)
        assert out[2 * i] == pytest.approx(v[2 * i] * c - v[2 * i + 1] * s, abs=1e-5)
        assert out[2 * i + 1] == pytest.approx(v[2 * i] * s + v[2 * i + 1] * c, abs=1e-5)


@ex32
@given(hd=head_dims, p=positions, p2=positions, shift=st.integers(-50, 50), seed=seeds)
def test_rope_scores_depend_only_on_relative_position(hd, p, p2, shift, seed):
    """q(p)·k(p') == q(p+s)·k(p'+s): rotary scores see p − p', not absolute positions."""
    torch.manual_seed(seed)
    rope = RotaryEmbedding(hd)
    q, k = torch.randn(hd, dtype=torch.float64), torch.randn(hd, dtype=torch.float64)
    shift = max(shift, -min(p, p2))  # positions stay >= 0
    score = rotate_at(rope, q, p) @ rotate_at(rope, k, p2)
    shifted = rotate_at(rope, q, p + shift) @ rotate_at(rope, k, p2 + shift)
    assert shifted.item() == pytest.approx(score.item(), abs=1e-4)


@ex32
@given(hd=head_dims, p=positions, seed=seeds)
def test_rope_same_position_keeps_dot_product_and_norm(hd, p, seed):
    """A rotation preserves lengths, and q(p)·k(p) equals the unrotated q·k."""
    torch.manual_seed(seed)
    rope = RotaryEmbedding(hd)
    q, k = torch.randn(hd, dtype=torch.float64), torch.randn(hd, dtype=torch.float64)
    rq, rk = rotate_at(rope, q, p), rotate_at(rope, k, p)
    assert rq.norm().item() == pytest.approx(q.norm().item(), rel=1e-5)
    assert (rq @ rk).item() == pytest.approx((q @ k).item(), abs=1e-4)


@ex32
@given(hd=head_dims, t=st.integers(1, 8), offset=st.integers(0, 8), seed=seeds)
def test_rope_offset_is_consistent_with_full_sequence(hd, t, offset, seed):
    """Rotating positions offset..offset+T-1 alone equals the same slice of a full rotation."""
    torch.manual_seed(seed)
    rope = RotaryEmbedding(hd)
    x = torch.randn(2, 3, offset + t, hd, dtype=torch.float64)
    torch.testing.assert_close(rope(x[:, :, offset:], offset), rope(x)[:, :, offset:])
    torch.testing.assert_close(rope(x[:, :, :1]), x[:, :, :1])  # position 0: no rotation


def test_rope_rejects_odd_head_dim():
    """Rotations act on feature pairs, so an odd head size is an error naming head_dim."""
    with pytest.raises(ValueError, match="head_dim.*even.*got 5"):
        RotaryEmbedding(5)
