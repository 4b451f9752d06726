"""The classifier: an input adapter, the core ``Encoder``, and a small head.

    x = Embed(ids) + PosEnc                          (B, T, D)
    h = Encoder(x, key_padding_mask = ids == pad)    (B, T, D)
    z = mean of h over the words that are not padding (B, D)
    logits = W z + b                                 (B, 2)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from minitransformer.nn import Encoder, PretrainedMixin, SinusoidalPositionalEncoding, TokenEmbedding
from minitransformer.nn.io import atomic_write_text

from .config import ReviewConfig
from .data import PAD

VOCAB_FILE = "vocab.json"


class ReviewClassifier(PretrainedMixin, nn.Module):
    config_class = ReviewConfig

    def __init__(self, config: ReviewConfig):
        super().__init__()
        self.config = config
        d_model = config.encoder.d_model
        self.embed = TokenEmbedding(config.vocab_size, d_model, padding_idx=PAD)
        self.positions = SinusoidalPositionalEncoding(d_model, max_len=config.max_len)
        self.encoder = Encoder.from_config(config.encoder)
        self.head = nn.Linear(d_model, 2)
        self.vocab: dict[str, int] = {}

    @classmethod
    def from_config(cls, config: ReviewConfig) -> ReviewClassifier:
        return cls(config)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, 2)
        padding = ids == PAD                                                   # (B, T)
        hidden = self.encoder(self.positions(self.embed(ids)), key_padding_mask=padding)  # (B, T, D)
        keep = (~padding).unsqueeze(-1).float()                                # (B, T, 1)
        pooled = (hidden * keep).sum(1) / keep.sum(1).clamp(min=1.0)           # (B, D)
        return self.head(pooled)


def save(model: ReviewClassifier, model_dir: str | Path) -> Path:
    """The weights and config (``save_pretrained``) plus the vocabulary, ``vocab.json``."""
    model_dir = model.save_pretrained(model_dir)
    atomic_write_text(model_dir / VOCAB_FILE, json.dumps(model.vocab, ensure_ascii=False))
    return model_dir


def load(model_dir: str | Path) -> ReviewClassifier:
    """The model saved in ``model_dir`` by :func:`~.train.train`, in eval mode.

    >>> import tempfile
    >>> from tests.heads.reviews import train, load
    >>> from tests.heads.reviews.synthetic import write_reviews
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_reviews(f"{folder}/reviews.csv", n=64)
    >>> run = train(f"{folder}/reviews.csv", f"{folder}/model", epochs=1, progress=False)
    >>> load(run.model_dir).config.encoder.d_model
    32
    """
    model_dir = Path(model_dir)
    model = ReviewClassifier.from_pretrained(model_dir)
    vocab_path = model_dir / VOCAB_FILE
    if not vocab_path.is_file():
        raise FileNotFoundError(f"{vocab_path}: vocabulary not found; is {model_dir} a reviews model?")
    model.vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    return model.eval()
