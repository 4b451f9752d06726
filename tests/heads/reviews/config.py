"""The reviews head's settings: the model's (saved as ``config.json``) and the training's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from minitransformer.nn.config import ConfigBase, EncoderConfig


def _small_encoder() -> EncoderConfig:
    return EncoderConfig(d_model=32, nhead=2, num_layers=1, dim_feedforward=64, dropout=0.0)


@dataclass
class ReviewConfig(ConfigBase):
    """Vocabulary size, longest review (in words) and the core encoder's own config."""

    model_type: ClassVar[str] = "review_classifier"
    vocab_size: int = 2
    max_len: int = 32
    encoder: EncoderConfig = field(default_factory=_small_encoder)

    def __post_init__(self):
        self._check_positive("vocab_size", "max_len")


@dataclass
class TrainSettings:
    """How long and how fast to train (the defaults learn the built-in reviews in seconds)."""

    epochs: int = 8
    batch_size: int = 32
    lr: float = 3e-3
