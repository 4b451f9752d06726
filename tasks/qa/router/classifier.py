"""The intent classifier: a question -> scores for N intents (the router's Transformer).

    pooled = SentenceEncoder(ids, grams)           (B, D)   (mean pooling + n-gram bag, tasks/qa/model.py)
    logits = W · Dropout(pooled) + b               (B, C)   the "deep" part
           + mean_g U[g]                           (B, C)   the "wide" part (``wide_ngrams``)
    loss   = CE_ε(logits, y)                       label smoothing ε (Szegedy et al. 2016)

The **wide part** (wide & deep, Cheng et al. 2016) is a linear classifier on the hashed n-grams:
``U`` has one row of C class scores per n-gram bucket, so it is a full-rank linear model on the
same features TF-IDF + logistic regression reads (the strong baseline of intent detection),
while the Transformer adds word order and context on top. ``U`` starts at zero, so the model
starts as the deep part alone.

Trained from scratch in two stages: (1) optional masked-token pretraining of the encoder on the
unlabelled question text (:mod:`tasks.qa.pretrain`), then (2) supervised fine-tuning with the
:class:`~minitransformer.training.Trainer` (AdamW, warm-up + cosine, early stopping on validation
accuracy, the best epoch's weights kept). During fine-tuning each ordinary token is replaced by
``[MASK]`` with probability ``token_dropout`` -- a cheap augmentation that makes the classifier
rely on more than one keyword and helps with typos.

The run directory holds the trainer's files (``config.json`` + ``model.safetensors`` = the best
model, ``metrics.jsonl``, ``checkpoints/``), the tokenizer and ``qa.json`` (see
:mod:`tasks.qa.bundle`). The settings are
:class:`~tasks.qa.config.IntentConfig` (the model) and :class:`~tasks.qa.config.IntentSettings`
(its training).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from minitransformer import PretrainedMixin
from minitransformer.files.run_folder import claim_run_folder
from minitransformer.metrics.classification import accuracy, macro_f1
from minitransformer.training import TrainConfig, Trainer

from ..config import IntentConfig, IntentSettings
from ..encoding import CLS_ID, MASK_ID, Encoded, encode_questions, pad_ids
from ..model import SentenceEncoder
from ..pretrain import pretrain_mlm

__all__ = ["IntentClassifier", "fit_intent_classifier", "predict_proba", "intent_batches"]


class IntentClassifier(PretrainedMixin, nn.Module):
    """``(B, T)`` ids -> ``(B, C)`` intent logits."""

    config_class = IntentConfig

    def __init__(self, config: IntentConfig):
        super().__init__()
        self.config = config
        self.sentence = SentenceEncoder(config.sentence_config())
        self.dropout = nn.Dropout(config.encoder.dropout)
        self.head = nn.Linear(config.encoder.d_model, config.num_labels)
        if config.wide_ngrams and config.ngram_buckets:
            self.wide = nn.EmbeddingBag(config.ngram_buckets + 1, config.num_labels, mode="sum",
                                        padding_idx=0)
            nn.init.zeros_(self.wide.weight)

    @classmethod
    def from_config(cls, config: IntentConfig) -> IntentClassifier:
        return cls(config)

    def forward(self, ids: torch.Tensor, grams: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T)`` token ids, ``(B, G)`` n-gram ids -> ``(B, C)`` logits."""
        logits = self.head(self.dropout(self.sentence(ids, grams)))  # (B, C)
        if hasattr(self, "wide") and grams is not None:
            logits = logits + self.wide(grams)  # (B, C): sum of the n-grams' class scores
        return logits


def _token_dropout(ids: torch.Tensor, p: float) -> torch.Tensor:
    """Replace each ordinary token by [MASK] with probability ``p`` (training only)."""
    if p <= 0:
        return ids
    ordinary = ids > CLS_ID  # pad, specials and [CLS] stay
    drop = (torch.rand(ids.shape, device=ids.device) < p) & ordinary
    return torch.where(drop, torch.full_like(ids, MASK_ID), ids)


def intent_batches(rows: Sequence[tuple[Encoded, int | Sequence[float]]]
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """collate_fn: ``[((ids, grams), label)]`` -> ``(ids (B, T), grams (B, G), labels)``.

    ``labels`` is ``(B,)`` long when each label is an intent id, ``(B, C)`` float when each is a
    list of C probabilities (soft targets, as the few-label recipe's distillation step gives).
    """
    labels = [r[1] for r in rows]
    soft = bool(labels) and isinstance(labels[0], (list, tuple))  # (B, C) probabilities, not ids
    return (pad_ids([r[0][0] for r in rows]), pad_ids([r[0][1] for r in rows]),
            torch.tensor(labels, dtype=torch.float if soft else torch.long))


@torch.no_grad()
def predict_proba(model: IntentClassifier, questions: Sequence[Encoded],
                  batch_size: int = 256) -> torch.Tensor:
    """``(N, C)`` softmax probabilities for encoded questions (model put in eval mode)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    order = sorted(range(len(questions)), key=lambda i: len(questions[i][0]))  # less padding
    for start in range(0, len(order), batch_size):
        chunk = [questions[i] for i in order[start:start + batch_size]]
        ids, grams = pad_ids([c[0] for c in chunk]).to(device), pad_ids([c[1] for c in chunk]).to(device)
        out.append(F.softmax(model(ids, grams).float(), dim=-1).cpu())
    probs = torch.cat(out) if out else torch.zeros(0, model.config.num_labels)
    result = torch.empty_like(probs)
    result[torch.tensor(order, dtype=torch.long)] = probs
    return result


def fit_intent_classifier(model: IntentClassifier, tokenizer, train_texts: Sequence[str],
                          train_labels: Sequence[int], valid_texts: Sequence[str],
                          valid_labels: Sequence[int], settings: IntentSettings, *,
                          unlabelled_texts: Sequence[str] = (), seed: int = 0, device: str = "auto",
                          out_dir=None, max_minutes: float | None = None, verbose: bool = True):
    """Pretrain (if ``settings.pretrain_epochs``) then fine-tune ``model``; return the FitResult.

    Labels are integer ids ``0..C-1``. The model ends with the best validation weights.
    ``out_dir`` (the run folder, with the pretraining's in ``out_dir/pretrain``) is claimed for
    the whole of it (:func:`~minitransformer.files.run_folder.claim_run_folder`).
    """
    with claim_run_folder(out_dir, option="out_dir"):
        return _fit(model, tokenizer, train_texts, train_labels, valid_texts, valid_labels, settings,
                    unlabelled_texts=unlabelled_texts, seed=seed, device=device, out_dir=out_dir,
                    max_minutes=max_minutes, verbose=verbose)


def _fit(model, tokenizer, train_texts, train_labels, valid_texts, valid_labels, settings, *,
         unlabelled_texts, seed, device, out_dir, max_minutes, verbose):
    """:func:`fit_intent_classifier` with its run folder held."""
    train_ids = encode_questions(tokenizer, train_texts, model.config)
    valid_ids = encode_questions(tokenizer, valid_texts, model.config)
    if settings.pretrain_epochs > 0:
        unlabelled = encode_questions(tokenizer, unlabelled_texts, model.config)
        corpus = [ids for ids, _ in train_ids + unlabelled]
        pretrain_dir = None if out_dir is None else Path(out_dir) / "pretrain"
        pretrain_mlm(model.sentence, corpus, epochs=settings.pretrain_epochs,
                     batch_size=settings.batch_size, lr=settings.pretrain_lr, seed=seed,
                     device=device, out_dir=pretrain_dir, verbose=verbose,
                     max_minutes=None if max_minutes is None else max_minutes / 3)

    def loss_fn(m, batch):
        ids, grams, labels = batch
        logits = m(_token_dropout(ids, settings.token_dropout), grams)  # (B, C)
        return F.cross_entropy(logits, labels, label_smoothing=settings.label_smoothing)

    def evaluate_fn(m, data):
        probs = predict_proba(m, [ids for ids, _ in data])
        truth = [label for _, label in data]
        pred = probs.argmax(-1).tolist()
        return {"accuracy": accuracy(truth, pred),
                "macro_f1": macro_f1(truth, pred, num_classes=m.config.num_labels)}

    config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                         weight_decay=settings.weight_decay, warmup_fraction=0.06,
                         patience=settings.patience, monitor="accuracy", mode="max", seed=seed,
                         device=device, max_minutes=max_minutes, verbose=verbose,
                         progress=None if verbose else False, log_every=0)  # bars on a terminal
    trainer = Trainer(model, config, loss_fn=loss_fn, train_data=list(zip(train_ids, train_labels)),
                      valid_data=list(zip(valid_ids, valid_labels)), evaluate_fn=evaluate_fn,
                      collate_fn=intent_batches, out_dir=out_dir,
                      task_config={"task": "qa_intent", **dataclasses.asdict(settings)})
    return trainer.fit()
