"""The shop simulator of the recommendation head: seeded, its planted patterns there, learnable."""

from __future__ import annotations

from collections import Counter

import pytest

from tasks.recommendation.baselines import most_popular_scorer, transition_scorer
from tasks.recommendation.config import RecommenderConfig, TrainSettings, encoder_config
from tasks.recommendation.data import leave_one_out, load_split
from tasks.recommendation.evaluate import evaluate_ranking, model_scorer
from tasks.recommendation.synthetic import (
    DEPARTMENTS,
    ShopConfig,
    bundle_partner,
    catalogue,
    simulate_purchases,
    write_purchases,
)
from tasks.recommendation.train import train_recommender

DEPARTMENT_OF = {category: department for department, chain in DEPARTMENTS.items() for category in chain}


def _department(item: str) -> str:
    return DEPARTMENT_OF[item.rpartition("-")[0]]


def test_same_seed_same_log_other_seed_other_log():
    config = ShopConfig(users=50)
    assert simulate_purchases(config) == simulate_purchases(ShopConfig(users=50))
    assert simulate_purchases(config) != simulate_purchases(ShopConfig(users=50, seed=1))


def test_histories_have_the_documented_shape():
    config = ShopConfig(users=300, seed=3)
    histories = simulate_purchases(config)
    items = {item for names in catalogue(config).values() for item in names}
    assert len(items) == 24 * config.items_per_category
    for history in histories.values():
        assert config.min_len <= len(history) <= config.max_len
        assert len(set(history)) == len(history)              # each item bought once
        assert set(history) <= items


def test_shoppers_keep_to_their_taste():
    """About taste_strength (+ chance) of the browsing lands in two departments per shopper."""
    histories = simulate_purchases(ShopConfig(users=400, seed=1))
    shares = []
    for history in histories.values():
        top_two = Counter(_department(item) for item in history).most_common(2)
        shares.append(sum(n for _, n in top_two) / len(history))
    assert sum(shares) / len(shares) > 0.85                   # uniform over 8 departments: ~0.4


def test_bundles_follow_their_first_item_two_steps_on():
    """After phone-k comes case-(k mod 2) with probability bundle_prob, then charger-k with
    bundle_prob again (counted where the shopper did not own that item yet and bought more)."""
    config = ShopConfig(users=1000, seed=2)
    starts = followed = chances = completed = 0
    for history in simulate_purchases(config).values():
        for i, item in enumerate(history[:-1]):
            partner = bundle_partner(item, config)
            if partner is None or partner[0] in history[:i]:
                continue
            starts += 1
            if history[i + 1] == partner[0]:
                followed += 1
                if i + 2 < len(history) and partner[1] not in history[:i]:
                    chances += 1
                    completed += history[i + 2] == partner[1]
    assert starts > 1000 and chances > 500
    assert abs(followed / starts - config.bundle_prob) < 0.04
    assert abs(completed / chances - config.bundle_prob) < 0.04
    assert bundle_partner("phone-07", config) == ("case-01", "charger-07")
    assert bundle_partner("case-01", config) is None


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="max_len"):
        ShopConfig(items_per_category=2, max_len=25)
    with pytest.raises(ValueError, match="taste_strength"):
        ShopConfig(taste_strength=1.5)
    assert ShopConfig.for_items(48).max_len == 12              # 2 models per category: capped


def test_written_csv_is_read_by_the_loader(tmp_path):
    path = tmp_path / "shop.csv"
    counts = write_purchases(path, ShopConfig(users=40, seed=5))
    assert path.read_text().splitlines()[0] == "user_id,item_id,category,timestamp"
    split = load_split(path)                                    # --format auto -> csv
    assert split.format == "csv" and split.num_items == counts["items"]
    histories = simulate_purchases(ShopConfig(users=40, seed=5))
    first = next(iter(histories))
    assert [split.item_map.token(i) for i in split.test.inputs[0]] == histories[first][:-1]


def test_sasrec_learns_the_tastes_and_beats_item_to_item_within_seconds():
    """The last item alone (item-to-item) cannot know a shopper's two departments; the whole
    history can. A small catalogue (120 items) makes the taste worth most."""
    config = ShopConfig(users=600, items_per_category=5, max_len=20, seed=1)
    split = leave_one_out(simulate_purchases(config), "sequence")
    model_config = RecommenderConfig(num_items=split.num_items, max_len=20,
                                     encoder=encoder_config(d_model=32, dim_feedforward=64, num_layers=2,
                                                            nhead=2, dropout=0.1))
    settings = TrainSettings(epochs=12, lr=5e-3, warmup_steps=10, patience=12, batch_size=32, eval_users=100)
    model = train_recommender(split, model_config, settings, device="cpu", verbose=False).model

    def score(scorer):
        return evaluate_ranking(scorer, split.test.inputs, split.test.targets, split.num_items)

    ours = score(model_scorer(model))
    item_to_item = score(transition_scorer(split.train, split.num_items))
    popular = score(most_popular_scorer(split.train, split.num_items))
    assert ours["NDCG@10"] > item_to_item["NDCG@10"] + 0.03, (ours, item_to_item)
    assert ours["HR@10"] > item_to_item["HR@10"] + 0.08, (ours, item_to_item)
    assert ours["HR@10"] > 2 * popular["HR@10"], (ours, popular)
