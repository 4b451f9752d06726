"""Training examples, batching and the training run (through the core ``Trainer``).

SASRec examples (next-item prediction at every position): from a training sequence, keep the
last ``max_len + 1`` items ``s``; input ``s[:-1]``, labels ``s[1:]``::

    input   a b c d            (left-padded to the batch's longest row)
    labels  b c d e            the loss is taken at every position

BERT4Rec examples (masked item modelling): input = the last ``max_len`` items; a share
``mask_prob`` of them becomes [MASK] (``minitransformer.training.masking.mask_tokens`` with
``random_prob = keep_prob = 0``) and is predicted. With probability ``last_item_prob`` (default
one half) an example is instead a **masked prefix**: the history is cut after a random item
``s_c`` and only that last item is masked::

    cloze   a [M] c d [M]          labels at the masked positions (b and e)
    prefix  a b [M]                label c: the inference situation, at a random point in time

The prefix rows are the inference situation ([MASK] appended after the history), and the random
cut makes every item of a history such a target in turn, as SASRec's causal loss does at every
position. On Amazon Beauty (dropout 0.3, SASRec's time budget) masking only the whole
history's last item reached test NDCG@10 0.0377 and stopped early after 30 epochs; with the cuts
it kept improving for 66 epochs (validation NDCG@10 0.0358 -> 0.0468) and reached 0.0416; with
the CLI's BERT4Rec dropout of 0.1, 0.0469, and with its patience of 16, 0.0486. Masks and cuts
are redrawn every epoch (in the collate function).

Batches are built once by length (users shuffled with the seed, then stably sorted by length
and cut into chunks of ``batch_size`` sequences and at most ``max_tokens`` positions), and the
trainer shuffles the order of these batches every epoch. Most histories are short (Beauty:
median 6 items) but a few reach ``max_len``; without bucketing most of every batch would be
padding. The token cap keeps the number of updates per pass sensible for long histories:
128 x 50 = 6,400 positions leaves Beauty's batches as they are, while MovieLens-1M (200 items
per user, only 6,040 users) gets 32 sequences a batch -- 189 updates per epoch instead of 48.

Validation during training: full-ranking NDCG@10 on (a seeded sample of) ``eval_users``
validation users, the early-stopping metric.

The transition prior (a config with ``prior_items`` > 0, the command line's default): after
early stopping, the item-to-item counts of the training sequences are taken and the mix of the
Transformer and the counts is fitted on the validation items
(:func:`~tasks.recommendation.mixing.fit_mix`); then the counts are taken again from the
sequences with the validation items put back (:meth:`Split.refit_sequences`), so that the saved
model counts everything before the test items, as the item-to-item baseline does. The training
itself never sees the counts.

Final fit (``final_epochs``, default 5): once early stopping has picked the best epoch, the model
trains that many more epochs on :meth:`Split.refit_sequences` -- the same sequences with each
user's validation item put back, so that the most recent interaction before the test item is
learnt too (a deployed model is likewise retrained on everything it has). Amazon Beauty, one
extra target per user: full HR@10 0.0783 -> 0.0876 and NDCG@10 0.0472 -> 0.0518 (the CLI
defaults), while more epochs on the training sequences alone gave nothing. With the ml1m folder
only its 512 validation users have an item to put back, so the CLI's ml1m defaults skip it.
BERT4Rec's final fit keeps whole histories (no cuts), so that its last-item rows all target the
item just put back. Checked on Beauty without the test split (every history one item shorter,
so the real validation item plays the test item; dropout 0.3): the final fit without cuts gave
NDCG@10 0.0471 on it, with cuts 0.0413, from 0.0380 before the final fit.

The test item is never trained on; validation scores printed or saved by the run are from
before the final fit (afterwards the validation items are no longer held out). Its checkpoints
and log go to ``OUT/final_fit``; the model in ``OUT`` is the final one.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import NamedTuple

import torch

from minitransformer.errors import UsageError
from minitransformer.files.model_folder import check_fits_in_memory
from minitransformer.files.run_folder import claim_run_folder
from minitransformer.training import FitResult, Run, TrainConfig, Trainer, save_model, seed_everything
from minitransformer.training.checkpoint import CHECKPOINTS_DIR, find_checkpoint
from minitransformer.training.masking import IGNORE_INDEX, mask_tokens
from tasks.recommendation.config import (
    MODEL_KINDS,
    RecommenderConfig,
    TrainSettings,
    default_config,
    default_settings,
    epoch_cost,
)
from tasks.recommendation.data import ITEM_MAP_NAME, EvalSet, ItemMap, Split, load_split
from tasks.recommendation.evaluate import evaluate_ranking, model_scorer
from tasks.recommendation.losses import sequence_loss
from tasks.recommendation.mixing import fit_mix
from tasks.recommendation.model import SequentialRecommender, left_pad, parameter_count

__all__ = ["train", "train_recommender", "Fitted", "sasrec_collate", "MaskedItemCollate", "bucketed_batches",
           "FINAL_FIT_DIR"]

FINAL_FIT_DIR = "final_fit"  # the final fit's run folder inside the model directory


def _sasrec_example(seq: list[int], max_len: int) -> tuple[list[int], list[int]]:
    window = seq[-(max_len + 1):]
    return window[:-1], window[1:]


def sasrec_collate(batch: list[tuple[list[int], list[int]]]) -> dict[str, torch.Tensor]:
    length = max(len(x) for x, _ in batch)
    return {"inputs": left_pad([x for x, _ in batch], length),  # (B, T)
            "labels": left_pad([y for _, y in batch], length)}  # (B, T), 0 = no label


class MaskedItemCollate:
    """Collate for BERT4Rec: pad, then mask (mask-only) -- a fresh draw every call.

    A share ``last_item_prob`` of the rows instead masks only the last item. With
    ``cut_prefixes`` that row is first cut to a random *prefix*: the cut ``c`` is drawn uniformly
    from 2..len (a history of one item keeps it), the input is ``s_1 .. s_{c-1} [MASK]`` and the
    label ``s_c``; without, the whole row is kept and its last item is the label. ``rng`` draws
    the cuts (seed it for a reproducible run; the masks come from torch's generator)."""

    def __init__(self, mask_id: int, vocab_size: int, mask_prob: float, last_item_prob: float,
                 cut_prefixes: bool = True, rng: random.Random | None = None):
        self.mask_id, self.vocab_size = mask_id, vocab_size
        self.mask_prob, self.last_item_prob = mask_prob, last_item_prob
        self.cut_prefixes, self.rng = cut_prefixes, rng or random.Random()

    def __call__(self, batch: list[list[int]]) -> dict[str, torch.Tensor]:
        items = left_pad(batch, max(len(x) for x in batch))  # (B, T)
        inputs, labels = mask_tokens(items, self.mask_id, self.vocab_size, self.mask_prob,
                                     special_ids=(0,), random_prob=0.0, keep_prob=0.0)
        # some rows: a prefix with its last item masked (the inference situation); rows with no mask: too
        last_only = (torch.rand(len(batch)) < self.last_item_prob) | ((labels != IGNORE_INDEX).sum(1) == 0)
        for row in torch.nonzero(last_only).flatten().tolist():
            seq = batch[row]
            cut = self.rng.randint(min(2, len(seq)), len(seq)) if self.cut_prefixes else len(seq)
            prefix = left_pad([seq[:cut - 1] + [self.mask_id]], items.size(1))[0]  # (T,)
            inputs[row], labels[row] = prefix, IGNORE_INDEX
            labels[row, -1] = seq[cut - 1]
        return {"inputs": inputs, "labels": labels.clamp_min(0)}  # 0 = no label for the loss


def bucketed_batches(examples: list, batch_size: int, seed: int, length=len,
                     max_tokens: int | None = None) -> list[list]:
    """Group ``examples`` into batches of similar length (fixed composition, see above): at most
    ``batch_size`` examples and, with ``max_tokens``, at most that many padded positions each."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda i: length(examples[i]))  # stable: equal lengths stay shuffled
    batches, current = [], []
    for i in order:  # ascending length: the newest example is the batch's longest
        if current and (len(current) == batch_size
                        or (max_tokens and (len(current) + 1) * length(examples[i]) > max_tokens)):
            batches.append(current)
            current = []
        current.append(examples[i])
    return batches + [current] if current else batches


def _unwrap(collate):
    """The trainer's DataLoader yields lists of one pre-built batch: collate that batch."""
    return lambda items: collate(items[0])


def _eval_subset(evalset: EvalSet, n: int | None, seed: int) -> EvalSet:
    if n is None or n >= len(evalset):
        return evalset
    pick = sorted(random.Random(seed).sample(range(len(evalset)), n))
    return EvalSet([evalset.users[i] for i in pick], [evalset.inputs[i] for i in pick],
                   [evalset.targets[i] for i in pick])


def _training_batches(sequences: list[list[int]], config: RecommenderConfig, settings: TrainSettings,
                       seed: int) -> list:
    """The examples of ``sequences`` for the model's kind, cut into pre-built batches."""
    max_len = config.max_len
    if config.kind == "sasrec":
        examples = [_sasrec_example(s, max_len) for s in sequences if len(s) >= 2]
        length = lambda ex: len(ex[0])  # noqa: E731
    else:
        examples, length = [s[-max_len:] for s in sequences if s], len
    if not examples:
        raise ValueError("--data: no user has 2 or more training items; nothing to train on")
    return bucketed_batches(examples, settings.batch_size, seed, length, settings.max_tokens)


def _collate(config: RecommenderConfig, settings: TrainSettings, seed: int, cut_prefixes: bool):
    """The batch function for the model's kind (BERT4Rec: masks, prefixes cut or not)."""
    if config.kind == "sasrec":
        return sasrec_collate
    return MaskedItemCollate(config.mask_id, config.vocab_size, settings.mask_prob,
                             settings.last_item_prob, cut_prefixes, random.Random(seed))


def _final_resume(resume) -> Path | None:
    """The final fit's own run folder inside a resumed run, when it got that far."""
    folder = Path(resume) / FINAL_FIT_DIR
    return folder if (folder / CHECKPOINTS_DIR).is_dir() else None


def _trainer_config(settings: TrainSettings, seed: int = 0, device: str = "auto",
                   max_minutes: float | None = None, verbose: bool = True) -> TrainConfig:
    """The core trainer's settings for the recipe: early stopping on validation NDCG@10, no
    step log (an epoch line each epoch when ``verbose``, progress bars only on a terminal)."""
    return TrainConfig(epochs=settings.epochs, lr=settings.lr, seed=seed, device=device,
                       max_minutes=max_minutes, patience=settings.patience, monitor="NDCG@10", mode="max",
                       warmup_steps=settings.warmup_steps, min_lr_ratio=settings.min_lr_ratio, log_every=0,
                       verbose=verbose, progress=None if verbose else False)


class Fitted(NamedTuple):
    """What :func:`train_recommender` returns: the final model, the main fit's result, the
    final fit's (``None`` when there was none), the training examples of one epoch, and the
    fitted mix of the transition prior (:func:`~tasks.recommendation.mixing.fit_mix`'s report;
    ``None`` without the prior)."""

    model: SequentialRecommender
    fit: FitResult
    final_fit: FitResult | None
    examples: int
    mix: dict | None = None


def _main_fit(model, split: Split, settings: TrainSettings, train_config: TrainConfig, loss_fn,
              out_dir, resume) -> tuple[Trainer, FitResult]:
    """Step 1: train on ``split.train``, early stopping on (a sample of) the validation users."""
    collate = _collate(model.config, settings, train_config.seed, cut_prefixes=True)
    train_data = _training_batches(split.train, model.config, settings, train_config.seed)
    valid = _eval_subset(split.valid, settings.eval_users, train_config.seed)

    def evaluate_fn(model, data: EvalSet):
        report = evaluate_ranking(model_scorer(model), data.inputs, data.targets, split.num_items)
        return {k: v for k, v in report.items() if isinstance(v, float)}

    trainer = Trainer(model, train_config, loss_fn=loss_fn, train_data=train_data,
                      valid_data=valid if len(valid) else None,
                      evaluate_fn=evaluate_fn if len(valid) else None, collate_fn=_unwrap(collate),
                      out_dir=out_dir, task_config=_task_config(model.config, settings, split))
    return trainer, trainer.fit(resume=resume)


def _final_fit(model, split: Split, settings: TrainSettings, train_config: TrainConfig, loss_fn,
               main: FitResult, out_dir, resume) -> tuple[SequentialRecommender, FitResult]:
    """Step 2: ``settings.final_epochs`` more epochs on the sequences with the validation items
    put back, in what the main fit left of ``max_minutes`` (at least one minute)."""
    refit = _training_batches(split.refit_sequences(), model.config, settings, train_config.seed + 1)
    minutes = train_config.max_minutes
    if minutes is not None:
        minutes = max(1.0, minutes - main.elapsed_s / 60)
    # BERT4Rec: to learn the item put back, the last-item rows are whole histories
    collate = _collate(model.config, settings, train_config.seed + 1, cut_prefixes=False)
    final_config = replace(train_config, epochs=settings.final_epochs, patience=None, max_minutes=minutes)
    final = Trainer(model, final_config, loss_fn=loss_fn, train_data=refit, collate_fn=_unwrap(collate),
                    out_dir=None if out_dir is None else Path(out_dir) / FINAL_FIT_DIR,
                    task_config={**_task_config(model.config, settings, split), "stage": "final_fit"})
    result = final.fit(resume=None if resume is None else _final_resume(resume))
    if out_dir is not None:
        save_model(final.model, out_dir)
    return final.model, result


def _task_config(config: RecommenderConfig, settings: TrainSettings, split: Split) -> dict:
    return {**asdict(settings), "kind": config.kind, "format": split.format}


def train_recommender(split: Split, config: RecommenderConfig, settings: TrainSettings, *, seed: int = 0,
                      device: str = "auto", max_minutes: float | None = None, out_dir=None, resume=None,
                      verbose: bool = True) -> Fitted:
    """Build a model from ``config`` and train it on ``split.train``, then the final fit (see the
    module docstring). ``config.num_items`` must be ``split.num_items``.

    A training item of the core ``Trainer`` is one pre-built batch (its ``batch_size`` is 1);
    ``settings.batch_size`` sequences make a batch."""
    if config.num_items != split.num_items:
        raise ValueError(f"config: num_items={config.num_items}, but the data has {split.num_items} items")
    train_config = replace(_trainer_config(settings, seed, device, max_minutes, verbose), batch_size=1)
    seed_everything(seed)
    model = SequentialRecommender(config)

    def loss_fn(model, batch):
        return sequence_loss(model, batch, settings.loss, settings.negatives)

    trainer, main = _main_fit(model, split, settings, train_config, loss_fn, out_dir, resume)
    model, final, mix = trainer.model, None, None
    if config.prior_items and len(split.valid):
        model.set_transitions(split.train)  # the counts the validation items are not in
        mix = fit_mix(model, split.valid, split.num_items, seed=seed)
    model.set_transitions(split.refit_sequences())  # from now on, every item before the test items
    if settings.final_epochs > 0 and len(split.valid):
        model, final = _final_fit(model, split, settings, train_config, loss_fn, main, out_dir, resume)
    elif config.prior_items and out_dir is not None:
        save_model(model, out_dir)  # the fitted mix and the counts
    return Fitted(model, main, final, sum(len(batch) for batch in trainer.train_data), mix)


def train(data, out_dir, config: RecommenderConfig | None = None, *, model: str = "sasrec",
          format: str = "auto", settings: TrainSettings | None = None, seed: int = 0, device: str = "auto",
          max_minutes: float | None = None, resume=None, verbose: bool = True) -> Run:
    """Train a recommender on ``data`` and save it in ``out_dir``; returns the
    :class:`~minitransformer.training.Run`.

    Args:
        data: an interaction file or the ml1m folder (any format of
            :mod:`tasks.recommendation.data`, read in ``format``), or a loaded
            :class:`~tasks.recommendation.data.Split`.
        out_dir: the model folder (``config.json``, ``model.safetensors``, ``item_map.json``,
            the trainer's ``metrics.jsonl`` and ``checkpoints/``, ``final_fit/``).
        config: the model's sizes (defaults: :func:`~tasks.recommendation.config.default_config`
            for the data's format); its ``num_items`` and ``kind`` are set from ``data`` and
            ``model``.
        model: ``"sasrec"`` (causal) or ``"bert4rec"`` (bidirectional, masked items).
        settings: the training recipe (defaults:
            :func:`~tasks.recommendation.config.default_settings` for the format and model).
        seed, device, max_minutes: the core trainer's; ``max_minutes`` covers both fits.
        resume: a model folder of an interrupted run to continue (``out_dir`` itself, or a new
            folder to continue it in); its item map must be the one ``data`` gives.
        verbose: print a line per epoch (and show progress bars on a terminal).

    Everything is checked before anything is written: the settings, the data, the model's size
    and ``out_dir``, which must be new or empty unless ``resume`` is that folder (a training
    never overwrites a model); while it runs, ``out_dir`` is held by this process
    (:func:`~minitransformer.files.run_folder.claim_run_folder`: a second training into it is
    refused at once).

    ``run.metrics``: ``"valid"`` (the best epoch's validation metrics, from before the final
    fit), ``"fit"`` and ``"final_fit"`` (the core's ``FitResult`` of each, as dicts; ``None``
    without a final fit) and ``"examples"`` (training examples per epoch).

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> import tasks.recommendation as rec
        >>> from tasks.recommendation.synthetic import ShopConfig, write_purchases
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_purchases(folder / "shop.csv", ShopConfig.for_items(48, users=150))
        {'users': 150, 'items': 48, 'purchases': ...}
        >>> config = rec.RecommenderConfig(max_len=12, encoder=rec.encoder_config(d_model=16, num_layers=1))
        >>> settings = rec.TrainSettings(epochs=2, eval_users=50, final_epochs=1)
        >>> run = rec.train(folder / "shop.csv", folder / "model", config, settings=settings, verbose=False)
        >>> fit, final_fit = run.metrics["fit"], run.metrics["final_fit"]
        >>> run.model.config.num_items, fit["epochs_run"], final_fit["epochs_run"]
        (48, 2, 1)
        >>> sorted(path.name for path in run.model_dir.iterdir())
        ['checkpoints', 'config.json', 'final_fit', 'item_map.json', 'metrics.jsonl',
         'model.safetensors', ...]
    """
    start = time.monotonic()
    if model not in MODEL_KINDS:
        raise ValueError(f"model: expected one of {MODEL_KINDS}, got {model!r}")
    if config is not None and not isinstance(config, RecommenderConfig):
        raise ValueError(f"config: expected a RecommenderConfig, got {type(config).__name__}")
    if settings is not None and not isinstance(settings, TrainSettings):
        raise ValueError(f"settings: expected a TrainSettings, got {type(settings).__name__}")
    if out_dir is None:
        raise ValueError("out_dir: expected a folder to save the model in, got None")
    # check first, write after: the options, the data, the sizes and the folder, before any write
    _trainer_config(settings or TrainSettings(), seed, device, max_minutes, verbose)
    split = data if isinstance(data, Split) else load_split(data, format)
    config = default_config(split.format, model) if config is None else config
    config = replace(config, num_items=split.num_items, kind=model)
    if settings is None:
        cost = epoch_cost(split.train, split.num_items, config.max_len)
        settings = default_settings(split.format, model, cost)
    check_fits_in_memory(parameter_count(config), "the model's size (d_model, num_layers, max_len, items)")
    _training_batches(split.train, config, settings, seed)  # refuses data with nothing to train on
    out_dir = Path(out_dir)
    if resume is not None:
        find_checkpoint(resume)  # refuses a folder with no checkpoint to resume from
    resume_here = resume is not None and _same_folder(resume, out_dir)
    if resume_here:
        _check_same_items(out_dir, split.item_map)
    with claim_run_folder(out_dir, resume=resume_here):
        if not (resume_here and (out_dir / ITEM_MAP_NAME).is_file()):
            split.item_map.save(out_dir / ITEM_MAP_NAME)
        fitted = train_recommender(split, config, settings, seed=seed, device=device, max_minutes=max_minutes,
                                   out_dir=out_dir, resume=resume, verbose=verbose)
    fitted.model.item_map = split.item_map
    return Run(out_dir, fitted.model.eval(), _run_metrics(fitted), time.monotonic() - start)


def _same_folder(resume, out_dir: Path) -> bool:
    """``resume`` (a run folder or one of its checkpoints) continues the run in ``out_dir``."""
    folder = Path(resume)
    folder = folder.parent.parent if folder.parent.name == CHECKPOINTS_DIR else folder
    return folder.resolve() == out_dir.resolve()


def _check_same_items(out_dir: Path, item_map: ItemMap) -> None:
    """A resumed run must read the same items as the run it continues (its ``item_map.json``):
    other data would give the saved weights other items."""
    saved_path = out_dir / ITEM_MAP_NAME
    if saved_path.is_file() and ItemMap.load(saved_path).tokens != item_map.tokens:
        raise UsageError(f"--resume {out_dir}: the data's items differ from the run's {ITEM_MAP_NAME}; "
                         "resume with the data the run was started with")


def _run_metrics(fitted: Fitted) -> dict:
    """``run.metrics`` of :func:`train` (see there)."""
    best = [r for r in fitted.fit.history if r.get("epoch") == fitted.fit.best_epoch]
    valid = {key.removeprefix("valid_"): value for key, value in (best[0] if best else {}).items()
             if key.startswith("valid_")}
    return {"valid": valid, "fit": fitted.fit.to_dict(),
            "final_fit": None if fitted.final_fit is None else fitted.final_fit.to_dict(),
            "examples": fitted.examples, "mix": fitted.mix}
