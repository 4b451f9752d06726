"""Training the intent router, step by step.

:func:`train_router` runs these steps, each a function below:

1. **split** -- a stratified validation split (10 %) of the labelled questions
   (:func:`split_validation`);
2. **the linear expert** -- the n-gram vocabulary and a TF-IDF logistic regression fitted to
   convergence on the training questions (:func:`fit_router_expert`; convex and quick, so it
   goes first and its minutes leave the time budget);
3. **the tokenizer** -- byte-level BPE (or characters) on the training and unlabelled
   questions, lower-cased by default (:func:`~tasks.qa.encoding.build_tokenizer`);
4. **the Transformers** -- ``ensemble`` members trained side by side with seeds ``seed``,
   ``seed + 1``, ... (:mod:`.ensemble`), each with optional masked-token pretraining on the
   training + unlabelled questions, then fine-tuning with early stopping on validation accuracy
   (:func:`train_transformers`);
5. **the mix weight** ``w`` of the two experts' product, the maximum-likelihood one on
   validation, and 6. **the hand-off threshold** on validation (:mod:`.oos`) (:func:`calibrate`);
7. **the expert refitted** on the training and validation questions together: it has no early
   stopping to feed, and a tenth more data helps it (BANKING77, five splits: the expert alone
   +0.8 points, the product +0.1 on average).

The settings are a :class:`~tasks.qa.config.RouterSettings`; :func:`tasks.qa.train` calls
:func:`train_router` for ``task="intent"``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from minitransformer.files.run_folder import claim_run_folder
from minitransformer.metrics.classification import accuracy
from minitransformer.training import seed_everything

from ..config import IntentConfig, RouterSettings
from ..data import check_label_counts, stratified_split
from ..encoding import build_tokenizer
from .ensemble import MemberJob, member_dir, train_members
from .linear import LinearNgramExpert, choose_mix_weight, fit_linear_expert
from .ngram_vocab import NgramVocabulary
from .oos import choose_handoff_threshold
from .router import IntentRouter

__all__ = ["train_router", "split_validation", "fit_router_expert", "train_transformers", "calibrate"]

Rows = tuple[Sequence[str], Sequence[str]]  # (questions, intent names)


def train_router(texts: Sequence[str], labels: Sequence[str], *, out_dir: str | Path | None = None,
                 settings: RouterSettings | None = None, oos_label: str = "oos",
                 unlabelled: Sequence[str] = (), answers: dict | None = None, seed: int = 0,
                 device: str = "auto", max_minutes: float | None = None, verbose: bool = True,
                 valid: Rows | None = None, init_from: str | Path | None = None,
                 columns: Sequence[str] | None = None) -> IntentRouter:
    """Split, fit the expert, build the tokenizer, train the Transformers, choose the weight and
    the threshold; save to ``out_dir`` (when given) and return the router.

    ``valid``: a validation set of its own (then ``texts`` are all for training); ``unlabelled``:
    questions without labels, read by the tokenizer and the masked-token pretraining;
    ``answers``: the canned answer of each intent (a string, or ``{"en": ..., "zh": ...}``);
    ``columns``: the intent CSV's ``(question, label)`` columns, saved with the router.

    ``init_from``: a BERT checkpoint folder; then step 3 is the checkpoint's own WordPiece
    tokenizer and step 4 fine-tunes a :class:`~tasks.qa.pretrained.intent.BertIntentClassifier`
    that starts from its weights (every member from the same weights, its head from its seed).
    Masked-token pretraining, token dropout and lower-casing are off then: the checkpoint is
    pretrained, and its tokenizer has its own special ids and casing. The linear expert, the
    ensemble, the mix weight and the threshold are as without it.

    ``out_dir`` is claimed for the whole training
    (:func:`~minitransformer.files.run_folder.claim_run_folder`): the members, trained side by
    side, write into it and its ``member{k}/`` folders under one claim.
    """
    with claim_run_folder(out_dir, option="out_dir"):
        return _train_router(texts, labels, out_dir=out_dir, settings=settings, oos_label=oos_label,
                             unlabelled=unlabelled, answers=answers, seed=seed, device=device,
                             max_minutes=max_minutes, verbose=verbose, valid=valid, init_from=init_from,
                             columns=columns)


def _train_router(texts, labels, *, out_dir, settings, oos_label, unlabelled, answers, seed, device,
                  max_minutes, verbose, valid, init_from, columns) -> IntentRouter:
    """:func:`train_router` with its run folder held."""
    settings = settings or RouterSettings()
    if init_from is not None:
        settings = dataclasses.replace(settings, lowercase=False, train=dataclasses.replace(
            settings.train, pretrain_epochs=0, token_dropout=0.0))
    (texts, labels), valid = split_validation(texts, labels, valid, settings.valid_fraction, seed)
    names = sorted(set(labels) | set(valid[1]))
    expert = ngrams = None
    if settings.linear_expert:
        start = time.monotonic()
        expert, ngrams = fit_router_expert(texts, labels, names, settings.linear_c)
        minutes = (time.monotonic() - start) / 60
        # twice: the refit on training + validation questions at the end takes as long again
        max_minutes = None if max_minutes is None else max(max_minutes - 2 * minutes, 0.5)
        if verbose:
            _report_expert(expert, ngrams, valid, names, minutes)
    seed_everything(seed)
    encoder_state = None
    if init_from is not None:
        tokenizer, config, encoder_state = _from_checkpoint(init_from, settings, len(names))
    else:
        fold = _folder(settings.lowercase)
        tokenizer = build_tokenizer(settings.tokenizer, [fold(t) for t in [*texts, *unlabelled]],
                                    settings.vocab_size)
        config = settings.model_config(tokenizer.vocab_size, len(names))
    trained = train_transformers(config, tokenizer, (texts, labels), valid, names, settings,
                                 unlabelled=unlabelled, seed=seed, device=device, out_dir=out_dir,
                                 max_minutes=max_minutes, verbose=verbose, encoder_state=encoder_state)
    router = IntentRouter(trained[0][0], tokenizer, names, 0.0, oos_label, answers, settings.lowercase,
                          expert, ngrams, members=[m for m, _ in trained[1:]],
                          **({"columns": tuple(columns)} if columns is not None else {}))
    calibrate(router, valid)
    if verbose:
        _report_calibration(router, [r for _, r in trained], seed)
    if expert is not None:
        router.expert, router.ngrams = fit_router_expert([*texts, *valid[0]], [*labels, *valid[1]],
                                                         names, settings.linear_c)
    router.fit_result = trained[0][1]
    router.member_results = [r for _, r in trained]
    if out_dir is not None:
        router.save(out_dir, extra={"settings": dataclasses.asdict(settings),
                                    "best_epoch": router.fit_result.best_epoch,
                                    "member_valid_accuracies": [r.best_metric for r in router.member_results],
                                    "transformer_valid_accuracy": router.transformer_valid_accuracy,
                                    "valid_accuracy": router.valid_accuracy})
    return router


def _from_checkpoint(folder, settings: RouterSettings, num_labels: int):
    """``(tokenizer, BertIntentConfig, encoder weights)`` of a BERT checkpoint folder."""
    from ..pretrained.checkpoint import load_bert
    from ..pretrained.intent import BertIntentConfig

    bert, tokenizer = load_bert(folder)
    config = BertIntentConfig(text_encoder=bert.config, max_len=min(settings.max_len, bert.config.max_len),
                              pooling=settings.pooling, num_labels=num_labels)
    return tokenizer, config, {name: t.detach().clone() for name, t in bert.state_dict().items()}


def split_validation(texts: Sequence[str], labels: Sequence[str], valid: Rows | None,
                     valid_fraction: float, seed: int) -> tuple[Rows, Rows]:
    """``((train texts, train labels), (valid texts, valid labels))``: a stratified split of the
    rows, or the rows as they are beside a given ``valid``."""
    if len(texts) != len(labels):
        raise ValueError(f"texts and labels differ in length ({len(texts)} vs {len(labels)})")
    if valid is not None:
        return (texts, labels), valid
    check_label_counts(labels)
    train_idx, valid_idx = stratified_split(labels, valid_fraction, seed)
    return (([texts[i] for i in train_idx], [labels[i] for i in train_idx]),
            ([texts[i] for i in valid_idx], [labels[i] for i in valid_idx]))


def fit_router_expert(texts: Sequence[str], labels: Sequence[str], names: list[str],
                      c: float) -> tuple[LinearNgramExpert, NgramVocabulary]:
    """The linear n-gram expert on the training questions: vocabulary, then L-BFGS to convergence
    with ``l2 = 1 / (c N)`` (scikit-learn's ``C = c``)."""
    if not c > 0:
        raise ValueError(f"linear_c: expected a positive number, got {c}")
    ngrams = NgramVocabulary.fit(list(texts))
    expert = LinearNgramExpert(len(ngrams), len(names))
    label_id = {name: i for i, name in enumerate(names)}
    targets = torch.tensor([label_id[y] for y in labels], dtype=torch.long)
    fit_linear_expert(expert, ngrams.encode_batch(list(texts)), targets, l2=1.0 / (c * len(texts)))
    return expert.eval(), ngrams


def train_transformers(config: IntentConfig, tokenizer, train: Rows, valid: Rows, names: list[str],
                       settings: RouterSettings, *, unlabelled: Sequence[str] = (), seed: int = 0,
                       device: str = "auto", out_dir: str | Path | None = None,
                       max_minutes: float | None = None, verbose: bool = True,
                       encoder_state: dict | None = None) -> list[tuple]:
    """The ``settings.ensemble`` Transformers, member ``k`` with seed ``seed + k`` and its run
    folder :func:`~.ensemble.member_dir` ``(out_dir, k)``: ``[(model in eval mode, FitResult)]``.
    Only member 0 prints its epochs. ``encoder_state``: the BERT weights every member starts from
    (``config`` a :class:`~tasks.qa.pretrained.intent.BertIntentConfig`)."""
    fold = _folder(settings.lowercase)
    ids = {name: i for i, name in enumerate(names)}
    train_rows = ([fold(t) for t in train[0]], [ids[y] for y in train[1]])
    valid_rows = ([fold(t) for t in valid[0]], [ids[y] for y in valid[1]])
    jobs = [MemberJob(config, tokenizer, train_rows, valid_rows, [fold(t) for t in unlabelled],
                      settings.train, seed + k, device, member_dir(out_dir, k), max_minutes,
                      verbose and k == 0, encoder_state=encoder_state)
            for k in range(settings.ensemble)]
    return train_members(jobs)


def calibrate(router: IntentRouter, valid: Rows) -> None:
    """Choose the router's mix weight (when it has a linear expert) and its hand-off threshold on
    the validation questions; keep the validation accuracy of the Transformer(s) alone
    (``transformer_valid_accuracy``) and of the router (``valid_accuracy``) on it."""
    truth = [router.label_to_id[y] for y in valid[1]]
    deep = router.transformer_log_probs(valid[0])  # (N, C)
    router.transformer_valid_accuracy = _accuracy(deep, truth)
    if router.expert is not None:
        router.mix_weight = choose_mix_weight(deep, router.linear_logits(valid[0]), truth, grid=20,
                                              by="log_loss")
    valid_probs = router.probs(valid[0])  # (N, C)
    router.valid_accuracy = _accuracy(valid_probs, truth)
    router.threshold = choose_handoff_threshold(valid_probs, truth, router.oos_index)


def _report_calibration(router: IntentRouter, member_results: Sequence, seed: int) -> None:
    """Each member's and the ensemble's validation accuracy, and the product's."""
    if len(member_results) > 1:
        for k, r in enumerate(member_results):
            best = "none" if r.best_metric is None else f"{r.best_metric:.4f}"
            print(f"Transformer {k + 1} of {len(member_results)} (seed {seed + k}): validation accuracy "
                  f"{best} at epoch {r.best_epoch}, {r.elapsed_s / 60:.1f} min")
        print(f"the {len(member_results)} Transformers together: validation accuracy "
              f"{router.transformer_valid_accuracy:.4f}")
    if router.expert is not None:
        print(f"Transformer x linear expert, weight {router.mix_weight:.2f} on the Transformer: "
              f"validation accuracy {router.valid_accuracy:.4f}")


def _report_expert(expert: LinearNgramExpert, ngrams: NgramVocabulary, valid: Rows, names: list[str],
                   minutes: float) -> None:
    with torch.no_grad():
        scores = expert(ngrams.encode_batch(list(valid[0])))  # (N, C)
    label_id = {name: i for i, name in enumerate(names)}
    print(f"linear n-gram expert: {len(ngrams):,} n-grams, validation accuracy "
          f"{_accuracy(scores, [label_id[y] for y in valid[1]]):.4f} ({60 * minutes:.0f} s)")


def _accuracy(scores: torch.Tensor, truth: Sequence[int]) -> float:
    """Share of rows whose top score ``(N, C)`` is the true class id."""
    return accuracy(list(truth), scores.argmax(-1).tolist())


def _folder(lowercase: bool):
    """The text folding of the settings: lower-casing, or none."""
    return (lambda t: t.lower()) if lowercase else (lambda t: t)
