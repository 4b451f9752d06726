"""Training: the shared ``Trainer`` with a cross-entropy loss and validation accuracy."""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F

from minitransformer.training import Run, TrainConfig, Trainer, seed_everything

from .config import ReviewConfig, TrainSettings
from .data import PAD, build_vocab, encode, read_reviews
from .model import ReviewClassifier, save


def collate(rows: list[tuple[list[int], int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad the word ids of a batch: ``ids (B, T)``, ``labels (B,)``."""
    longest = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), longest), PAD, dtype=torch.long)
    for i, (row, _) in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
    return ids, torch.tensor([label for _, label in rows])


def loss_fn(model: ReviewClassifier, batch) -> torch.Tensor:
    ids, labels = batch
    return F.cross_entropy(model(ids), labels)


def accuracy_fn(model: ReviewClassifier, rows) -> dict[str, float]:
    ids, labels = collate(list(rows))
    with torch.no_grad():
        return {"accuracy": (model(ids).argmax(-1) == labels).float().mean().item()}


def train(data: str | Path, out_dir: str | Path, config: ReviewConfig | None = None,
          settings: TrainSettings | None = None, *, seed: int = 0, epochs: int | None = None,
          progress: bool | None = None) -> Run:
    """Train a review classifier on the CSV ``data`` (one review in five held out for validation)
    and save it in ``out_dir``; returns the :class:`~minitransformer.training.Run`.

    >>> import tempfile
    >>> from tests.heads.reviews import train
    >>> from tests.heads.reviews.synthetic import write_reviews
    >>> folder = tempfile.mkdtemp()
    >>> run = train(write_reviews(f"{folder}/reviews.csv"), f"{folder}/model", progress=False)
    >>> run.metrics["accuracy"] > 0.9
    True
    """
    start = time.perf_counter()
    settings = settings or TrainSettings()
    texts, labels = read_reviews(data)
    n_valid = max(1, len(texts) // 5)
    vocab = build_vocab(texts[n_valid:])
    config = config or ReviewConfig()
    config.vocab_size = len(vocab) + 2
    rows = list(zip(encode(texts, vocab, config.max_len), labels))
    seed_everything(seed)
    model = ReviewClassifier(config)
    model.vocab = vocab
    train_config = TrainConfig(epochs=epochs or settings.epochs, batch_size=settings.batch_size,
                               lr=settings.lr, monitor="accuracy", mode="max", seed=seed, device="cpu",
                               progress=progress, verbose=False)
    result = Trainer(model, train_config, loss_fn=loss_fn, train_data=rows[n_valid:],
                     valid_data=rows[:n_valid], evaluate_fn=accuracy_fn, collate_fn=collate).fit()
    save(model, out_dir)
    return Run(Path(out_dir), model.eval(), {"accuracy": result.best_metric},
               time.perf_counter() - start)
