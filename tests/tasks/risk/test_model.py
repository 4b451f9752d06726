"""The risk model: normalisation, tokens, its nested config, and the two attention back-ends."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minitransformer import EncoderConfig, set_attention_backend
from tasks.risk.config import RiskModelConfig, RiskTrainConfig, risk_encoder
from tasks.risk.data import encode, infer_schema, read_table
from tasks.risk.model import TabularTransformer
from tasks.risk.normalize import NumericNormalizer
from tasks.risk.pretrain import MaskedFeatureModel, masked_reconstruction_loss
from tests.tasks.risk.tables import planted_table, write_csv


def test_quantile_normaliser_makes_skewed_columns_standard_normal():
    rng = np.random.default_rng(0)
    values = np.stack([rng.lognormal(0, 2, 5000), rng.integers(0, 3, 5000) * 1.0], axis=1)
    norm = NumericNormalizer(2, 256).fit(values)
    z = norm(torch.tensor(values, dtype=torch.float32))
    assert abs(z[:, 0].mean()) < 0.05 and abs(z[:, 0].std() - 1) < 0.05
    # a tie block gets the middle of its range: about a third of the rows are 0 -> u ~ 1/6
    assert z[values[:, 1] == 0, 1].unique().numel() == 1
    assert float(z[values[:, 1] == 0, 1][0]) == pytest.approx(float(torch.special.ndtri(torch.tensor(1 / 6))),
                                                               abs=0.05)


def test_both_views_keep_how_extreme_a_tail_value_is():
    values = np.concatenate([np.arange(1000.0), [5000.0, 50000.0]])[:, None]      # two outliers
    norm = NumericNormalizer(1, 64, method="both").fit(values)
    views = norm.views(torch.tensor([[999.0], [5000.0], [50000.0]]))
    assert views.shape == (3, 1, 2)
    rank, standard = views[..., 0].flatten(), views[..., 1].flatten()
    assert rank[1] - rank[0] < 0.5                              # the rank barely tells them apart
    expected = (5000 - values.mean()) / values.std()
    assert standard[1].item() == pytest.approx(expected, rel=1e-4) and standard[2].item() == 10.0  # clipped


def _model(table, attention_backend="manual", **kwargs):
    schema = infer_schema(table, "label")
    encoder = risk_encoder(d_model=16, nhead=2, num_layers=1, attention_backend=attention_backend)
    model = TabularTransformer(RiskModelConfig(schema=schema.to_dict(), encoder=encoder, **kwargs))
    data = encode(table, schema)
    model.normalizer.fit(data.numeric)
    return model, torch.from_numpy(data.numeric), torch.from_numpy(data.categorical)


def test_history_columns_become_step_tokens(tmp_path):
    header = ["age", *(f"bill{k}" for k in range(1, 4)), *(f"paid{k}" for k in range(1, 4)), "label"]
    rows = [(20 + i, *range(i, i + 3), *range(i, i + 3), i % 2) for i in range(8)]
    table = read_table(write_csv(tmp_path / "h.csv", header, rows))
    model, numeric, categorical = _model(table)
    assert model.num_tokens == 1 + 1 + 3          # [CLS], age, 3 months
    assert model(numeric, categorical).shape == (8,)
    flat, _, _ = _model(table, sequence_view=False)
    assert flat.num_tokens == 1 + 7
    wrapper = MaskedFeatureModel(model)
    loss = masked_reconstruction_loss(wrapper, numeric, categorical)
    loss.backward()
    assert torch.isfinite(loss) and model.numeric_mask.grad is not None


def test_the_model_config_nests_the_core_encoder_config_and_round_trips(tmp_path):
    table = read_table(planted_table(tmp_path / "p.csv", n=200))
    encoder = risk_encoder(d_model=32, nhead=4, num_layers=2, attention_backend="sdpa")
    config = RiskModelConfig(schema=infer_schema(table, "label").to_dict(), encoder=encoder)
    data = config.to_dict()
    assert data["encoder"]["d_model"] == 32 and "d_model" not in data       # not re-declared
    again = RiskModelConfig.from_dict(data)
    assert isinstance(again.encoder, EncoderConfig) and again == config
    with pytest.raises(ValueError, match="unknown config key"):
        RiskModelConfig.from_dict({**data, "encoder": {**data["encoder"], "n_head": 2}})


def test_the_encoder_is_built_from_the_nested_config_and_is_hand_written_by_default(tmp_path):
    table = read_table(planted_table(tmp_path / "p.csv", n=200))
    model, _, _ = _model(table)
    assert model.encoder.config == model.config.encoder
    assert RiskModelConfig(schema=model.config.schema).encoder.attention_backend == "manual"
    assert RiskTrainConfig().encoder.attention_backend == "manual"
    attention = model.encoder.layers[0].self_attn
    assert attention.attention_backend == "manual" and not model.encoder.norm.fused


def test_manual_and_sdpa_compute_the_same_function(tmp_path):
    """The opt-in fast path changes the kernels, not the model: same weights, same logits."""
    table = read_table(planted_table(tmp_path / "p.csv", n=300))
    manual, numeric, categorical = _model(table)
    fast, _, _ = _model(table, attention_backend="sdpa")
    fast.load_state_dict(manual.state_dict())
    manual.eval()
    fast.eval()
    with torch.no_grad():
        expected = manual(numeric, categorical)
        assert torch.allclose(fast(numeric, categorical), expected, atol=1e-5)
        set_attention_backend(manual, "sdpa")
        assert torch.allclose(manual(numeric, categorical), expected, atol=1e-5)


def test_bad_configs_name_the_field(tmp_path):
    table = read_table(planted_table(tmp_path / "p.csv", n=100))
    schema = infer_schema(table, "label").to_dict()
    with pytest.raises(ValueError, match="numeric_transform"):
        RiskModelConfig(schema=schema, numeric_transform="log")
    with pytest.raises(ValueError, match="schema: missing key 'numeric'"):
        RiskModelConfig(schema={"categorical": []})
    with pytest.raises(ValueError, match="attention_backend"):
        risk_encoder(attention_backend="flash")
    with pytest.raises(ValueError, match="--cost-fn and --cost-fp"):
        RiskTrainConfig(cost_fn=5.0)
    with pytest.raises(ValueError, match="epochs"):
        RiskTrainConfig(epochs=0)
