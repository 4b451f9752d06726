"""Training a risk model: split, baselines, (pretraining), fine-tuning, pseudo-labels, threshold.

The stages of :func:`train`, each one a :class:`~minitransformer.training.Trainer` run (so each
gets early stopping, the time budget, checkpoints and ``metrics.jsonl``)::

    rows  --label_fraction-->  labelled | unlabelled   (stratified, seeded; labels of the
                                                        unlabelled rows are never read)
    labelled  --valid_fraction-->  train | valid        (validation is truly labelled)
    1. baselines      class prior, logistic regression on the labelled train rows
    2. pretraining    masked-feature reconstruction on all rows      (when unlabelled rows exist)
    3. fine-tuning    BCE (or balanced / focal) on the labelled rows, early stopping on
                      validation ROC-AUC (on the log-loss when validation has fewer than
                      ``SMALL_VALID_POSITIVES`` positives: AUC from a few positives is noise)
    4. pseudo-labels  a teacher (first: the mean of ``pseudo_teachers`` models cross-fitted
                      on as many folds of the labelled train rows -- model j trains on the
                      other folds and early-stops on fold j; later: the previous student)
                      scores every unlabelled row; a student retrains from the pretrained
                      weights on the labelled rows plus the unlabelled rows with the teacher's
                      probability as a soft target (``pseudo_labels="soft"``, the default;
                      ``"hard"``: the most confident ``pseudo_fraction`` as 0/1 labels). The
                      model kept is the student with the best validation score: the teachers
                      only teach (when unlabelled rows exist)
    5. threshold      chosen on validation: min expected cost (cost_fn, cost_fp), or the
                      target precision, or max F1

Stages 3 and 4 are :class:`tasks.risk.finetune.FineTuning`; the pretraining objective is
:mod:`tasks.risk.pretrain`. The model folder it writes is read back by :func:`tasks.risk.load`.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from minitransformer.errors import UsageError
from minitransformer.files.model_folder import check_fits_in_memory, memory_bytes
from minitransformer.files.run_folder import claim_run_folder, holds_files
from minitransformer.metrics.classification import average_precision, choose_threshold, roc_auc
from minitransformer.nn.io import save_json
from minitransformer.training import Run, Trainer, seed_everything
from minitransformer.training.devices import resolve_device
from minitransformer.training.semi_supervised import distill, select_top_fraction, self_train
from tasks.risk.baselines import LogisticRegression
from tasks.risk.config import RiskModelConfig, RiskTrainConfig
from tasks.risk.data import Schema, Table, as_table, encode, infer_schema, resolve_target, stratified_folds
from tasks.risk.finetune import FineTuning, monitor_for, valid_metrics
from tasks.risk.model import TabularTransformer, approximate_parameters
from tasks.risk.pretrain import (
    FixedMaskBatches,
    MaskedFeatureModel,
    masked_reconstruction_loss,
    pretrain_holdout,
    reconstruction_metrics,
)
from tasks.risk.scorer import BASELINE_WEIGHTS, RISK_INFO, load
from tasks.risk.session import Session, split_rows

__all__ = ["train"]

MAX_SEED = 2**32 - 1      # NumPy's seeds stop here


def train(data: str | Path | Table, out_dir: str | Path, config: RiskTrainConfig | None = None, *,
          target: str | None = None, positive: str | None = None, drop=(), categorical=(),
          impute: str = "error", history: bool = True, time_columns=(), keep=(), seed: int = 0,
          device: str = "auto", max_minutes: float | None = None, verbose: bool = True) -> Run:
    """Train a risk model on a labelled table and write its folder (what :func:`load` reads).

    **Check first, write after.** The arguments, the whole table and the splits are checked
    before anything is written; a refused training leaves ``out_dir`` as it was. The writing
    happens inside :func:`~minitransformer.files.run_folder.claim_run_folder`: a folder that
    already holds files is refused, and two trainings cannot write into one folder at once.

    Args:
        data: a CSV path, or a :class:`~tasks.risk.data.Table`.
        out_dir: the model folder to write, new or empty (``config.json``,
            ``model.safetensors``, ``risk.json``, ``baseline_logreg.safetensors``,
            ``metrics.jsonl``).
        config: the training settings (:class:`~tasks.risk.config.RiskTrainConfig`; defaults
            when ``None``), the encoder's size among them.
        target: the label column (``None``: found for the two known layouts, see
            :func:`~tasks.risk.data.resolve_target`); ``positive``: the value meaning fraud or
            default (default: 1 for 0/1 targets, else the rarer value).
        drop, categorical, impute, history, time_columns, keep: how to read the table (columns
            to ignore, columns to treat as categories, ``"error"`` or ``"median"`` for missing
            numbers and times, whether column families become time-step tokens, columns holding
            times, columns to use even if they look like ids; see :mod:`tasks.risk.columns`).
            A column that looks like an id is left out with a warning on stderr.
        seed, device, max_minutes: the random seed (0 to 2**32 - 1), ``"auto"|"cpu"|"cuda"|...``,
            a time budget in minutes.
        verbose: print what each stage does (with progress bars on a terminal).

    Returns:
        a :class:`~minitransformer.training.Run`: ``model`` is the loaded model folder,
        ``metrics`` the kept model's validation ROC-AUC, AUPRC and log-loss.

    Raises:
        ValueError: a bad argument, table or option, naming it (nothing written).
        UsageError: ``out_dir`` already holds files, or another training writes to it.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from tasks.risk import train
        >>> from tasks.risk.config import RiskTrainConfig, risk_encoder
        >>> from tasks.risk.synthetic import SimulatorConfig, write_transactions
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_transactions(folder / "tx.csv", SimulatorConfig(customers=40, days=20))
        >>> config = RiskTrainConfig(encoder=risk_encoder(d_model=16, nhead=2, num_layers=1), epochs=1)
        >>> run = train(folder / "tx.csv", folder / "run", config, device="cpu", verbose=False)
        >>> sorted(run.metrics), run.model.info["chosen_model"]
        (['auprc', 'loss', 'roc_auc'], 'finetune')
    """
    started = time.monotonic()
    config = config if config is not None else RiskTrainConfig()
    out = _check_arguments(config, out_dir, impute, history, seed, device, max_minutes)
    categorical, time_columns, keep = (_names(names) for names in (categorical, time_columns, keep))
    table = as_table(data)
    target, drop = resolve_target(table, target, drop)
    schema = infer_schema(table, target, positive=positive, drop=drop, categorical=categorical,
                          impute=impute, history=history, time_columns=time_columns, keep=keep)
    encoded = encode(table, schema)
    rows = split_rows(encoded.labels, config.label_fraction, config.valid_fraction, seed)
    model_config = RiskModelConfig(schema=schema.to_dict(), encoder=config.encoder)
    check_fits_in_memory(approximate_parameters(model_config), "--d-model/--layers")
    _check_baseline_fits(table, schema, len(rows.train))
    _warn_id_like(table, schema)
    settings = {"config": config.to_dict(), "target": target, "positive": positive, "drop": drop,
                "categorical": categorical, "impute": impute, "history": history,
                "time_columns": time_columns, "keep": keep, "seed": seed, "device": device,
                "max_minutes": max_minutes}
    session = Session(encoded, rows, config, out, seed, device, max_minutes, verbose, settings, started)
    _check_teachers(session, table)
    with claim_run_folder(out, option="--out"):          # everything checked: now write
        baselines = _fit_baselines(session, schema)
        model = _new_model(session, model_config)
        stages = []
        if _pretrain_epochs(session):
            model, stage = _pretrain(session, model)
            stages.append(stage)
        tuning = _fine_tune(session, model)
        model, chosen = tuning.kept()
        model.save_pretrained(session.out)
        info = _decide_and_record(session, model, chosen, baselines, stages + tuning.stages)
    return Run(session.out, load(session.out), info["valid"], info["train_seconds"])


def _check_arguments(config, out_dir, impute, history, seed, device, max_minutes) -> Path:
    """Refuse bad arguments before the table is read, naming them; the run folder as a path."""
    if not isinstance(config, RiskTrainConfig):
        raise ValueError(f"config: expected a RiskTrainConfig, got {type(config).__name__}")
    if not isinstance(out_dir, str | Path) or not str(out_dir):
        raise ValueError(f"out_dir: expected a folder path, got {out_dir!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: expected a folder, got a file")
    held = holds_files(out)
    if held:  # refused now, before the table is read (claim_run_folder checks again)
        raise UsageError(f"--out {out}: already holds files ({', '.join(held[:4])}"
                         f"{' ...' if len(held) > 4 else ''}); choose a new folder (a training never "
                         "overwrites one)")
    if impute not in ("error", "median"):
        raise ValueError(f"impute (--impute): expected 'error' or 'median', got {impute!r}")
    if not isinstance(history, bool):
        raise ValueError(f"history: expected True or False, got {history!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed (--seed): expected an integer in [0, {MAX_SEED}], got {seed!r}")
    if max_minutes is not None and (isinstance(max_minutes, bool) or not isinstance(max_minutes, int | float)
                                    or not math.isfinite(max_minutes) or max_minutes <= 0):
        raise ValueError(f"max_minutes (--max-minutes): expected a positive number, got {max_minutes!r}")
    resolve_device(device)
    return out


def _check_teachers(session: Session, table: Table) -> None:
    """The cross-fitted teachers stop early on their own fold of the labelled training rows, so
    each fold needs both classes: refuse now rather than half-way through the training."""
    config, rows = session.config, session.rows
    soft = config.pseudo_labels == "soft" and len(rows.unlabelled) > 0 and _pseudo_rounds(session) > 0
    if not soft or config.pseudo_teachers < 2:
        return
    positives = int(session.labels[rows.train].sum())
    fewest = min(positives, len(rows.train) - positives)
    if fewest < config.pseudo_teachers:
        raise ValueError(f"{table.path}: the labelled training rows hold {fewest} of one class, too few "
                         f"for {config.pseudo_teachers} cross-fitted teachers (each needs both classes); use "
                         "more data, a larger --label-fraction, or --pseudo-rounds 0")


def _names(names) -> list:
    """Column names as a list; a bare string is one name (``drop="ID"`` means ``["ID"]``)."""
    return [names] if isinstance(names, str) else list(names)


def _check_baseline_fits(table: Table, schema: Schema, rows: int) -> None:
    """The logistic-regression baseline builds a dense one-hot matrix, ``rows x (F_num + sum K_j)``
    float64: refuse a table whose categories would not fit in memory, naming the widest columns."""
    width = len(schema.numeric) + sum(len(schema.vocab[name]) + 1 for name in schema.categorical)
    available = memory_bytes()
    needed = 3 * 8 * rows * width                 # the matrix and two temporaries of the fit
    if available is not None and needed > available:
        widest = sorted(schema.categorical, key=lambda name: -len(schema.vocab[name]))[:3]
        raise ValueError(f"{table.path}: the categorical columns have too many values for the "
                         f"logistic-regression baseline ({needed / 2**30:.1f} GiB for {rows} rows x {width} "
                         f"one-hot columns); the widest: "
                         + ", ".join(f"{name} ({len(schema.vocab[name])} values)" for name in widest)
                         + "; drop some with --drop")


def _warn_id_like(table: Table, schema: Schema) -> None:
    """One warning line on stderr per column left out as an id (see :mod:`tasks.risk.columns`)."""
    for name, reason in schema.id_like.items():
        print(f"minitransformer: warning: {table.path}: column {name!r} looks like an id ({reason}); it is "
              f"not used as a feature (--keep {name} uses it)", file=sys.stderr)


def _fit_baselines(session: Session, schema: Schema) -> dict[str, dict[str, float]]:
    """Stage 1: fit and save the logistic regression; both baselines' scores on validation."""
    data, rows, labels = session.data, session.rows, session.labels
    cardinalities = [len(schema.vocab[name]) + 1 for name in schema.categorical]
    logreg = LogisticRegression(cardinalities).fit(data.numeric[rows.train], data.categorical[rows.train],
                                                   labels[rows.train])
    logreg.save(session.out / BASELINE_WEIGHTS)
    scores = logreg.predict_proba(data.numeric[rows.valid], data.categorical[rows.valid])
    truth = labels[rows.valid]
    baselines = {"class_prior": {"roc_auc": 0.5, "auprc": float(truth.mean())},
                 "logistic_regression": {"roc_auc": roc_auc(truth, scores),
                                         "auprc": average_precision(truth, scores)}}
    logreg_scores = baselines["logistic_regression"]
    session.say(f"baselines on validation: logistic regression ROC-AUC {logreg_scores['roc_auc']:.4f} "
                f"AUPRC {logreg_scores['auprc']:.4f}; prior AUPRC {truth.mean():.4f}")
    return baselines


def _new_model(session: Session, config: RiskModelConfig) -> TabularTransformer:
    """A seeded model, its normalisation fitted on the train and unlabelled rows."""
    seed_everything(session.seed)
    model = TabularTransformer(config)
    rows = session.rows
    model.normalizer.fit(session.data.numeric[np.concatenate([rows.train, rows.unlabelled])])
    return model


def _pretrain_epochs(session: Session) -> int:
    epochs = session.config.pretrain_epochs
    return epochs if epochs is not None else (30 if len(session.rows.unlabelled) else 0)


def _pseudo_rounds(session: Session) -> int:
    rounds = session.config.pseudo_rounds
    return rounds if rounds is not None else (2 if len(session.rows.unlabelled) else 0)


def _pretrain(session: Session, model: TabularTransformer) -> tuple[TabularTransformer, dict]:
    """Stage 2: masked-feature reconstruction on every row of the file (no labels used)."""
    rows = session.rows
    session.say(f"pretraining (masked-feature reconstruction) on {len(rows.all)} rows")
    wrapper = MaskedFeatureModel(model)
    held_out = pretrain_holdout(rows.all, rows.valid, session.seed)
    epochs = _pretrain_epochs(session)
    with session.stage_bar("pretraining", epochs, reconstruction_metrics) as evaluate_fn:
        trainer = Trainer(wrapper, session.trainer_config(epochs, "loss", "min"),
                          loss_fn=lambda m, b: masked_reconstruction_loss(m, b[0], b[1]),
                          train_data=TensorDataset(*session.tensors(np.setdiff1d(rows.all, held_out))),
                          valid_data=FixedMaskBatches(*session.tensors(held_out), wrapper, session.seed),
                          evaluate_fn=evaluate_fn, out_dir=session.out / "pretrain")
        result = trainer.fit()
    return wrapper.model.cpu(), {"stage": "pretrain", "best_loss": result.best_metric,
                                 "epochs": result.epochs_run}


def _fine_tune(session: Session, model: TabularTransformer) -> FineTuning:
    """Stages 3 and 4: the first model (or cross-fitted teachers), then the pseudo-label rounds."""
    config, rows, labels = session.config, session.rows, session.labels
    rounds = _pseudo_rounds(session)
    soft = config.pseudo_labels == "soft" and len(rows.unlabelled) > 0 and rounds > 0
    teachers = config.pseudo_teachers if soft else 1
    folds = stratified_folds(labels[rows.train], teachers, session.seed + 2) if teachers > 1 else None
    tuning = FineTuning(session, model.config, copy.deepcopy(model.state_dict()), folds)
    labelled_idx, labelled_y = torch.from_numpy(rows.train), torch.from_numpy(labels[rows.train])
    unlabelled = torch.from_numpy(rows.unlabelled)
    if config.pseudo_labels == "soft":
        distill(tuning.train_one, tuning.predict, labelled_idx, labelled_y, unlabelled, num_classes=2,
                rounds=rounds, teachers=teachers, temperature=config.pseudo_temperature)
    else:
        share = torch.tensor([1 - tuning.prior, tuning.prior])
        self_train(tuning.train_one, tuning.predict, labelled_idx, labelled_y, unlabelled, rounds=rounds,
                   select_fn=lambda p: select_top_fraction(p, config.pseudo_fraction, share))
    return tuning


def _decide_and_record(session: Session, model: TabularTransformer, chosen: str,
                       baselines: dict, stages: list[dict]) -> dict:
    """Stage 5: the decision threshold on validation; writes and returns ``risk.json``."""
    config, rows, labels = session.config, session.rows, session.labels
    valid = session.tensors(rows.valid, labels[rows.valid])
    truth = labels[rows.valid]
    probs = model.predict_proba(valid[0], valid[1]).numpy()
    threshold = choose_threshold(truth, probs, config.cost_fn, config.cost_fp, config.target_precision)
    prior = float(labels[rows.train].mean())
    info = {"threshold": threshold, "threshold_rule": config.threshold_rule, "cost_fn": config.cost_fn,
            "cost_fp": config.cost_fp, "target_precision": config.target_precision, "chosen_model": chosen,
            "train_positive_rate": prior,
            "rows": {"total": len(rows.all), "labelled_train": len(rows.train), "valid": len(rows.valid),
                     "unlabelled": len(rows.unlabelled)},
            "valid": valid_metrics(model, valid), "baselines_valid": baselines, "stages": stages,
            "imputed": session.data.imputed, "train_seconds": time.monotonic() - session.started,
            "settings": session.settings}
    save_json(session.out / RISK_INFO, info)
    monitor, _ = monitor_for(truth)
    session.say(f"chose {chosen} (best validation {monitor}: {info['valid'][monitor]:.4f}); "
                f"threshold {threshold:.4f} ({config.threshold_rule})")
    return info
