"""Training the question matcher, step by step.

:func:`train_matcher` runs:

1. **split** -- a validation split stratified by the pair label (10 %);
2. **the tokenizer** -- characters by default (Chinese pairs), byte-level BPE for an FAQ table,
   fitted to every question of the training pairs;
3. **the model** -- on labelled pairs a :class:`~.cross_encoder.CrossPairMatcher` (both
   questions in one sequence), on an FAQ table a :class:`~.matcher.PairMatcher` (the bi-encoder,
   which retrieval needs); optionally pretrained with masked tokens (:mod:`tasks.qa.pretrain`):
   the cross-encoder on whole training pairs ``[CLS] a [SEP] b [SEP]``, the bi-encoder on the
   training questions;
4. **the lexical baseline** -- on labelled pairs, character TF-IDF + logistic regression
   (:class:`~tasks.qa.baselines.TfidfPairBaseline`) fitted on the same training pairs and kept
   in the model folder, so that ``evaluate`` scores it beside the model on any data;
5. **fitting** -- binary cross-entropy on the pair labels in the core
   :class:`~minitransformer.training.Trainer`, the epoch chosen by validation ROC-AUC
   (:func:`fit_pairs`); a cross-encoder reads each pair in both orders, each with its own dropout,
   and a consistency term pulls the two predictions together (R-Drop; ``consistency=0``: one
   random order per draw);
6. **the blend** -- a cross-encoder's logit and the baseline's, combined by three weights fitted
   on the validation pairs (:mod:`.blend`);
7. **the threshold** -- the accuracy threshold on validation (fewest errors), since the share of
   positives differs between data sets.

The settings are a :class:`~tasks.qa.config.MatchSettings`; :func:`tasks.qa.train` calls
:func:`train_matcher` for ``task="match"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from minitransformer.files.run_folder import claim_run_folder
from minitransformer.metrics.classification import accuracy, choose_threshold, roc_auc
from minitransformer.training import TrainConfig, Trainer, seed_everything

from ..baselines import TfidfPairBaseline
from ..config import CrossMatchConfig, MatchSettings
from ..data import stratified_split
from ..encoding import CLS_ID, PAD_ID, build_tokenizer
from ..pretrain import pretrain_mlm
from ..words import pair_word_ids
from .blend import blend_logits, fit_blend
from .cross_encoder import SEP_ID, CrossPairMatcher, cross_batches, pair_sequence
from .matcher import PairMatcher, QuestionMatcher, pair_batches

__all__ = ["train_matcher", "fit_pairs"]

Pair = tuple[str, str, int]


def train_matcher(pairs: Sequence[Pair], *, out_dir: str | Path | None = None,
                  settings: MatchSettings | None = None, valid: Sequence[Pair] | None = None,
                  faq: Sequence[tuple[str, str]] | None = None, seed: int = 0, device: str = "auto",
                  max_minutes: float | None = None, verbose: bool = True,
                  init_from: str | Path | None = None,
                  unlabelled: Sequence[tuple[str, str]] = ()) -> QuestionMatcher:
    """Split, build the tokenizer and the model, (pre)train, choose the threshold; save to
    ``out_dir`` (when given). ``faq``: ``(question, answer)`` rows the matcher retrieves from.

    ``init_from``: a BERT checkpoint folder; then the tokenizer is the checkpoint's WordPiece and
    the model a :class:`~tasks.qa.pretrained.matcher.BertPairMatcher` whose encoder starts from
    its weights (no masked-token pretraining: the checkpoint is pretrained). ``out_dir`` (with the
    pretraining's run in ``out_dir/pretrain``) is claimed for the whole of it.

    ``unlabelled``: question pairs without labels; the masked-token pretraining reads them beside
    the labelled training pairs (and the tokenizer learns their characters), nothing else does."""
    with claim_run_folder(out_dir, option="out_dir"):
        return _train(pairs, out_dir=out_dir, settings=settings, valid=valid, faq=faq, seed=seed,
                      device=device, max_minutes=max_minutes, verbose=verbose, init_from=init_from,
                      unlabelled=[(a, b) for a, b, *_ in unlabelled])


def _train(pairs, *, out_dir, settings, valid, faq, seed, device, max_minutes, verbose, init_from,
           unlabelled):
    """:func:`train_matcher` with its run folder held."""
    s = settings or MatchSettings()
    if init_from is not None:
        s = dataclasses.replace(s, pretrain_epochs=0)
    if valid is None:
        tr, va = stratified_split([y for _, _, y in pairs], s.valid_fraction, seed)
        pairs, valid = [pairs[i] for i in tr], [pairs[i] for i in va]
    seed_everything(seed)
    text_pairs = [(a, b) for a, b, _ in pairs] + unlabelled  # what the pretraining reads
    texts = sorted({t for a, b in text_pairs for t in (a, b)})
    if init_from is not None:
        model, tokenizer = _from_checkpoint(init_from, s)
    else:
        tokenizer = build_tokenizer(s.tokenizer, texts, s.vocab_size)
        config = s.model_config(tokenizer.vocab_size, faq=faq is not None)
        model = CrossPairMatcher(config) if isinstance(config, CrossMatchConfig) else PairMatcher(config)
    matcher = QuestionMatcher(model, tokenizer, 0.5, faq)
    if s.pretrain_epochs:
        pretrain_dir = None if out_dir is None else Path(out_dir) / "pretrain"
        words = s.whole_words and s.tokenizer == "char"  # see ..words: jieba's words of Chinese text
        if matcher.cross:  # whole pairs: a masked character of one question is often in the other
            keep = (model.config.max_len - 3) // 2  # tokens of each question, as encode_cross cuts them
            rows = [pair_sequence(a, b) for a, b in matcher.encode_pairs(text_pairs)]
            pretrain_mlm(model, rows, epochs=s.pretrain_epochs, batch_size=s.batch_size, seed=seed,
                         device=device, verbose=verbose, out_dir=pretrain_dir,
                         special_ids=(PAD_ID, CLS_ID, SEP_ID), what="question pairs",
                         words=pair_word_ids(tokenizer, text_pairs, keep) if words else None)
        else:
            pretrain_mlm(model.sentence, [ids for ids, _ in matcher.encode(texts)], epochs=s.pretrain_epochs,
                         batch_size=s.batch_size, seed=seed, device=device, verbose=verbose,
                         out_dir=pretrain_dir)
    if faq is None:  # labelled pairs: the lexical baseline on the same rows, kept beside the model
        matcher.baseline = TfidfPairBaseline().fit(pairs)
    result = fit_pairs(matcher, pairs, valid, s, seed=seed, device=device, out_dir=out_dir,
                       max_minutes=max_minutes, verbose=verbose)
    model.eval()
    matcher.fit_result = result
    truth = [y for _, _, y in valid]
    extra = {"settings": dataclasses.asdict(s), "best_epoch": result.best_epoch,
             "valid_roc_auc": result.best_metric}
    if matcher.baseline is not None:
        valid_pairs = [(a, b) for a, b, _ in valid]
        lexical_logits = matcher.baseline.logits(valid_pairs)  # (N,)
        matcher.baseline_threshold = choose_threshold(truth, 1 / (1 + np.exp(-lexical_logits)),
                                                      cost_fn=1.0, cost_fp=1.0)
        extra["baseline_valid_roc_auc"] = roc_auc(truth, lexical_logits)
        extra["baseline_name"] = matcher.baseline.name
        if matcher.cross and s.blend:  # see .blend: three weights fitted on the validation pairs
            model_logits = matcher.model_logits(valid_pairs).numpy()
            extra["transformer_valid_roc_auc"] = roc_auc(truth, model_logits)
            matcher.blend = fit_blend(model_logits, lexical_logits, truth)
            extra["valid_roc_auc"] = roc_auc(truth, blend_logits(matcher.blend, model_logits, lexical_logits))
    valid_scores = matcher.scores([(a, b) for a, b, _ in valid])
    matcher.threshold = choose_threshold(truth, valid_scores.numpy(), cost_fn=1.0, cost_fp=1.0)
    matcher.valid_report = extra
    if out_dir is not None:
        matcher.save(out_dir, extra=extra)
    return matcher


def _from_checkpoint(folder, s: MatchSettings):
    """``(BertPairMatcher with the checkpoint's encoder weights, its WordPiece tokenizer)``."""
    from ..pretrained.checkpoint import load_bert
    from ..pretrained.matcher import BertMatchConfig, BertPairMatcher

    bert, tokenizer = load_bert(folder)
    config = BertMatchConfig(text_encoder=bert.config, max_len=min(s.max_len, bert.config.max_len))
    model = BertPairMatcher(config)
    model.sentence.bert.load_state_dict(bert.state_dict())
    return model, tokenizer


def fit_pairs(matcher: QuestionMatcher, pairs: Sequence[Pair], valid: Sequence[Pair], s: MatchSettings, *,
              seed: int = 0, device: str = "auto", out_dir: str | Path | None = None,
              max_minutes: float | None = None, verbose: bool = True):
    """Fit ``matcher.model`` on the labelled pairs with the Trainer; return its FitResult."""

    if matcher.cross:
        return _fit_cross(matcher, pairs, valid, s, seed=seed, device=device, out_dir=out_dir,
                          max_minutes=max_minutes, verbose=verbose)

    def encode_pairs(rows):
        a, b = matcher.encode([r[0] for r in rows]), matcher.encode([r[1] for r in rows])
        return [(x, y, r[2]) for x, y, r in zip(a, b, rows)]

    def loss_fn(m, batch):
        return F.binary_cross_entropy_with_logits(m(*batch[:4]), batch[4])

    def evaluate_fn(m, data):
        device_ = next(m.parameters()).device
        logits = torch.cat([m(*[t.to(device_) for t in pair_batches(data[i:i + 256])[:4]]).cpu()
                            for i in range(0, len(data), 256)])  # (N,)
        return _validation_scores([r[2] for r in data], logits)

    config = _train_config(s, seed=seed, device=device, max_minutes=max_minutes, verbose=verbose)
    return Trainer(matcher.model, config, loss_fn=loss_fn, train_data=encode_pairs(pairs),
                   valid_data=encode_pairs(valid), evaluate_fn=evaluate_fn, collate_fn=pair_batches,
                   out_dir=out_dir, task_config={"task": "qa_match"}).fit()


def _fit_cross(matcher: QuestionMatcher, pairs, valid, s: MatchSettings, *, seed, device, out_dir,
               max_minutes, verbose):
    """:func:`fit_pairs` for a cross-encoder: each training pair in a random order every time it
    is drawn (symmetry as augmentation), validation on the mean logit of both orders.

    With ``s.consistency`` ``α > 0`` each pair is read in both orders, each with its own dropout,
    and the two predictions are pulled together (R-Drop, Liang et al. 2021, with the second pass
    reading the pair the other way round). For two Bernoulli predictions ``p = σ(z₁)``,
    ``q = σ(z₂)`` the symmetric KL divergence has a closed form::

        KL(p‖q) + KL(q‖p) = (p - q) (z₁ - z₂)   ≥ 0
        loss = ½ [BCE(z₁, y) + BCE(z₂, y)] + α · mean((p - q)(z₁ - z₂))
    """

    def encode(rows):
        return [(x, r[2]) for x, r in zip(matcher.encode_pairs([(r[0], r[1]) for r in rows]), rows)]

    def loss_fn(m, batch):
        if not s.consistency:
            ids, y = batch  # (B, T), (B,)
            return F.binary_cross_entropy_with_logits(m(ids), y)
        ids, flipped, y = batch  # (B, T), (B, T), (B,)
        z1, z2 = m(ids), m(flipped)  # (B,) each, two dropout draws
        fit = (F.binary_cross_entropy_with_logits(z1, y) + F.binary_cross_entropy_with_logits(z2, y)) / 2
        agreement = ((torch.sigmoid(z1) - torch.sigmoid(z2)) * (z1 - z2)).mean()
        return fit + s.consistency * agreement

    def collate(rows):
        if not s.consistency:
            return cross_batches(rows, swap=True)  # (B, T), (B,): each pair in a random order
        forward, y = cross_batches(rows)  # (B, T), (B,)
        backward, _ = cross_batches(rows, flip=True)  # (B, T): the same width, b before a
        return forward, backward, y

    def evaluate_fn(m, data):
        logits = torch.cat([m.symmetric_logits(data[i:i + 256]).cpu() for i in range(0, len(data), 256)])
        return _validation_scores([y for _, y in data], logits)

    config = _train_config(s, seed=seed, device=device, max_minutes=max_minutes, verbose=verbose)
    return Trainer(matcher.model, config, loss_fn=loss_fn, train_data=encode(pairs), valid_data=encode(valid),
                   evaluate_fn=evaluate_fn, collate_fn=collate,
                   out_dir=out_dir, task_config={"task": "qa_cross_match"}).fit()


def _train_config(s: MatchSettings, *, seed, device, max_minutes, verbose) -> TrainConfig:
    """The Trainer's settings for fine-tuning a matcher: the epoch kept is the best validation ROC-AUC."""
    return TrainConfig(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, patience=s.patience,
                       monitor="roc_auc", mode="max", seed=seed, device=device, max_minutes=max_minutes,
                       verbose=verbose, progress=None if verbose else False, log_every=0)


def _validation_scores(truth: Sequence[int], logits: torch.Tensor) -> dict[str, float]:
    """ROC-AUC and accuracy (at logit 0) of ``(N,)`` validation logits."""
    return {"roc_auc": roc_auc(truth, logits.numpy()),
            "accuracy": accuracy(truth, (logits >= 0).long().tolist())}

