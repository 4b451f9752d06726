"""Data with a planted pattern for the recommendation tests, in one place."""

from __future__ import annotations

import random

from tasks.recommendation.config import RecommenderConfig, TrainSettings, encoder_config


def planted_sequences(num_users: int = 300, num_items: int = 40, seed: int = 0) -> list[list[int]]:
    """Item i is followed by i + 1 (mod N) 90% of the time; popularity is flat. Ids 1..N."""
    rng = random.Random(seed)
    seqs = []
    for _ in range(num_users):
        item = rng.randrange(num_items)
        seq = [item]
        for _ in range(rng.randint(6, 12)):
            item = (item + 1) % num_items if rng.random() < 0.9 else rng.randrange(num_items)
            seq.append(item)
        seqs.append([i + 1 for i in seq])
    return seqs


def tiny_config(max_len: int = 12, d_model: int = 16, **encoder) -> RecommenderConfig:
    """A recommender small enough to train in a second (one layer)."""
    encoder.setdefault("num_layers", 1)
    return RecommenderConfig(max_len=max_len, encoder=encoder_config(d_model=d_model, **encoder))


def tiny_settings(**changes) -> TrainSettings:
    """Two epochs, no final fit, every validation user scored; ``changes`` override."""
    return TrainSettings(**{"epochs": 2, "eval_users": None, "final_epochs": 0, "warmup_steps": 5, **changes})
