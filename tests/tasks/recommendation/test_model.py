"""The sequential recommender: saved and read back, its config with the nested encoder."""

from __future__ import annotations

import json

import pytest
import torch

from tasks.recommendation.config import RecommenderConfig, encoder_config
from tasks.recommendation.model import SequentialRecommender


def test_save_load_round_trip(tmp_path):
    config = RecommenderConfig(num_items=12, max_len=8,
                               encoder=encoder_config(d_model=16, dim_feedforward=32))
    model = SequentialRecommender(config)
    model.save_pretrained(tmp_path / "m")
    loaded = SequentialRecommender.from_pretrained(tmp_path / "m").eval()
    model.eval()
    assert loaded.config == config
    histories = [[1, 2, 3], list(range(1, 13))]  # the second is truncated to max_len
    assert torch.allclose(model.next_item_scores(histories), loaded.next_item_scores(histories))


def test_config_json_nests_the_core_encoder_config(tmp_path):
    config = RecommenderConfig(num_items=5, kind="bert4rec", max_len=7,
                               encoder=encoder_config(d_model=8, nhead=2, dropout=0.1))
    config.to_json_file(tmp_path / "config.json")
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["encoder"]["d_model"] == 8 and "d_model" not in saved
    assert saved["encoder"]["norm_first"] is True and saved["encoder"]["activation"] == "gelu"
    assert RecommenderConfig.from_json_file(tmp_path / "config.json") == config
    model = SequentialRecommender(config)
    assert model.encoder.config == config.encoder and len(model.encoder.layers) == 2


def test_the_encoder_is_the_one_of_before_the_move():
    """Pre-norm with a final norm, GELU, 4 x d_model wide by default: the default config holds
    the sizes the head always had (d_model 64, 1 head, 2 layers, dropout 0.3)."""
    encoder = RecommenderConfig().encoder
    assert (encoder.d_model, encoder.nhead, encoder.num_layers, encoder.dim_feedforward,
            encoder.dropout) == (64, 1, 2, 256, 0.3)
    model = SequentialRecommender(RecommenderConfig(num_items=3, encoder=encoder_config(d_model=8)))
    assert model.encoder.norm is not None and model.positions.dropout.p == 0.3


def test_a_folder_of_the_old_layout_is_refused_by_name(tmp_path):
    """Before the encoder was nested its sizes stood at the top of config.json."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "sequential_recommender", "num_items": 3,
                                                      "d_model": 16}))
    with pytest.raises(ValueError, match=r"config.json: unknown config key\(s\) \['d_model'\]"):
        SequentialRecommender.from_pretrained(tmp_path)


def test_bad_configs_name_the_field():
    with pytest.raises(ValueError, match="kind"):
        RecommenderConfig(kind="gru4rec")
    with pytest.raises(ValueError, match="max_len"):
        RecommenderConfig(max_len=0)
    with pytest.raises(ValueError, match="encoder: expected an EncoderConfig"):
        RecommenderConfig(encoder={"d_model": 8})
