"""Training a risk model: split, baselines, (pretraining), fine-tuning, pseudo-labels, threshold.

The stages of :func:`train_risk_model`, each one a :class:`~minitransformer.training.Trainer`
run (so each gets early stopping, the time budget, checkpoints and ``metrics.jsonl``)::

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

Imbalance: ranking metrics (ROC-AUC, AUPRC) do not need class weights, and the threshold of
step 5 adapts the decisions to the costs, so plain BCE is the default; ``loss="balanced"``
weights positives by ``n_neg / n_pos``, ``loss="focal"`` (Lin et al. 2017) scales each term
by ``(1 - p_t)^2`` so easy negatives count less.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from minitransformer.metrics.classification import average_precision, choose_threshold, roc_auc
from minitransformer.training import TrainConfig, Trainer, seed_everything
from minitransformer.training.semi_supervised import distill, select_top_fraction, self_train
from tasks.risk.baselines import LogisticRegression
from tasks.risk.data import Encoded, Table, encode, infer_schema, stratified_folds, stratified_split
from tasks.risk.model import RiskModelConfig, TabularTransformer
from tasks.risk.pretrain import MaskedFeatureModel, masked_reconstruction_loss

__all__ = ["RiskSettings", "train_risk_model", "RISK_INFO", "BASELINE_WEIGHTS"]

RISK_INFO = "risk.json"
BASELINE_WEIGHTS = "baseline_logreg.safetensors"
SMALL_VALID_POSITIVES = 50


@dataclass
class RiskSettings:
    """Every option of ``minitransformer risk train`` (the CLI defaults)."""

    target: str
    positive: str | None = None
    drop: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    impute: str = "error"
    history: bool = True
    label_fraction: float = 1.0
    valid_fraction: float = 0.15
    epochs: int = 30                     # a cap: early stopping usually ends sooner
    batch_size: int = 256
    lr: float = 3e-4
    weight_decay: float = 1e-5
    patience: int = 4
    d_model: int = 64
    nhead: int = 8
    num_layers: int = 3
    dropout: float = 0.1
    loss: str = "bce"
    pretrain_epochs: int | None = None   # None: 30 when there are unlabelled rows, else 0
    pseudo_rounds: int | None = None     # None: 2 when there are unlabelled rows, else 0
    pseudo_labels: str = "soft"          # soft: teacher probabilities on every unlabelled row
    pseudo_fraction: float = 0.3         # hard: the most confident share, as 0/1 labels
    pseudo_teachers: int = 4             # soft: the first teacher averages this many cross-fitted models
    pseudo_epochs: int = 5               # epochs of each student (it sees every unlabelled row)
    pseudo_temperature: float = 1.0      # soft: sharpen the teacher's probabilities (< 1: surer)
    cost_fn: float | None = None
    cost_fp: float | None = None
    target_precision: float | None = None
    seed: int = 0
    device: str = "auto"
    max_minutes: float | None = None
    verbose: bool = True

    def __post_init__(self):
        if not 0.0 < self.label_fraction <= 1.0:
            raise ValueError(f"--label-fraction: expected a value in (0, 1], got {self.label_fraction}")
        if self.loss not in ("bce", "balanced", "focal"):
            raise ValueError(f"--loss: expected bce, balanced or focal, got {self.loss!r}")
        if self.pseudo_labels not in ("soft", "hard"):
            raise ValueError(f"--pseudo-labels: expected soft or hard, got {self.pseudo_labels!r}")
        if (self.cost_fn is None) != (self.cost_fp is None):
            raise ValueError("--cost-fn and --cost-fp: give both or neither")
        if self.cost_fn is not None and self.target_precision is not None:
            raise ValueError("--target-precision cannot be combined with --cost-fn/--cost-fp")


def binary_loss(kind: str, logits: torch.Tensor, labels: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """Mean BCE, positive-weighted BCE or focal loss (gamma = 2) over a batch."""
    if kind == "balanced":
        return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=logits.new_tensor(pos_weight))
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    if kind == "focal":
        p_true = torch.exp(-bce)                                   # p_t, probability of the label
        return ((1 - p_true) ** 2 * bce).mean()
    return bce.mean()


def _tensors(data: Encoded, rows: np.ndarray, labels: np.ndarray | None = None):
    numeric = torch.from_numpy(data.numeric[rows])
    categorical = torch.from_numpy(data.categorical[rows])
    if labels is None:
        return numeric, categorical
    return numeric, categorical, torch.as_tensor(labels, dtype=torch.float32)


def _valid_metrics(model: TabularTransformer, valid) -> dict[str, float]:
    numeric, categorical, labels = valid
    probs = model.predict_proba(numeric, categorical).numpy()
    truth = labels.numpy().astype(int)
    loss = F.binary_cross_entropy(torch.from_numpy(probs).clamp(1e-7, 1 - 1e-7), labels).item()
    return {"roc_auc": roc_auc(truth, probs), "auprc": average_precision(truth, probs), "loss": loss}


PRETRAIN_HOLDOUT = 0.05  # share of all rows held out to validate the pretraining (at least 500)


def _pretrain_holdout(rows: np.ndarray, valid_rows: np.ndarray, seed: int) -> np.ndarray:
    """Rows that validate the pretraining: the labelled validation rows plus a seeded sample of
    the others, so that the reconstruction loss is measured on enough rows to be steady."""
    rest = np.setdiff1d(rows, valid_rows)
    extra = min(len(rest) // 2, max(500, int(PRETRAIN_HOLDOUT * len(rows))) - len(valid_rows))
    picked = np.random.default_rng(seed).choice(rest, size=max(extra, 0), replace=False)
    return np.sort(np.concatenate([valid_rows, picked]))


class _FixedMaskBatches:
    """Validation batches of the pretraining with masks drawn once (seeded): the same cells are
    hidden at every epoch, so the loss changes only when the model does."""

    def __init__(self, numeric: torch.Tensor, categorical: torch.Tensor, wrapper: MaskedFeatureModel,
                 seed: int, batch_size: int = 1024):
        generator = torch.Generator().manual_seed(seed)
        cells = wrapper.model.num_numeric + wrapper.model.num_categorical
        mask = torch.rand(len(numeric), cells, generator=generator) < wrapper.mask_rate
        mask[torch.arange(len(numeric)), torch.randint(cells, (len(numeric),), generator=generator)] = True
        self.batches = [(numeric[i:i + batch_size], categorical[i:i + batch_size], mask[i:i + batch_size])
                        for i in range(0, len(numeric), batch_size)]


def _reconstruction_metrics(wrapper: MaskedFeatureModel, data: _FixedMaskBatches) -> dict[str, float]:
    device = next(wrapper.parameters()).device
    total = count = 0.0
    for numeric, categorical, mask in data.batches:
        numeric, categorical, mask = numeric.to(device), categorical.to(device), mask.to(device)
        cells = float(mask.sum())
        total += float(masked_reconstruction_loss(wrapper, numeric, categorical, mask)) * cells
        count += cells
    return {"loss": total / max(count, 1.0)}


def _monitor(truth: np.ndarray) -> tuple[str, str]:
    """What early stopping and model choice watch on a labelled set: ROC-AUC, or the log-loss when
    the set has fewer than ``SMALL_VALID_POSITIVES`` positives (an AUC from a handful of
    positives jumps by chance between epochs; its standard error is ~0.04 with 40 positives)."""
    return ("loss", "min") if truth.sum() < SMALL_VALID_POSITIVES else ("roc_auc", "max")


class _Budget:
    """What is left of ``--max-minutes`` for the next stage."""

    def __init__(self, minutes: float | None):
        self.end = None if minutes is None else time.monotonic() + 60 * minutes

    def left(self) -> float | None:
        return None if self.end is None else max(0.05, (self.end - time.monotonic()) / 60)


def train_risk_model(table: Table, settings: RiskSettings, out_dir: str | Path,
                     resume: str | Path | None = None) -> dict:
    """Train on ``table`` and write the run directory; returns the contents of ``risk.json``."""
    s, out = settings, Path(out_dir)
    started, budget = time.monotonic(), _Budget(s.max_minutes)
    schema = infer_schema(table, s.target, positive=s.positive, drop=s.drop, categorical=s.categorical,
                          impute=s.impute, history=s.history)
    data = encode(table, schema)
    labels = data.labels
    rows = np.arange(len(labels))
    if s.label_fraction < 1.0:
        unlabelled, labelled = stratified_split(labels, s.label_fraction, s.seed)
    else:
        unlabelled, labelled = rows[:0], rows
    train_pos, valid_pos = stratified_split(labels[labelled], s.valid_fraction, s.seed + 1)
    train_rows, valid_rows = labelled[train_pos], labelled[valid_pos]
    for name, part in (("training", train_rows), ("validation", valid_rows)):
        if len(np.unique(labels[part])) < 2:
            raise ValueError(f"the {name} split has only one class ({len(part)} rows); "
                             "use more data or a larger --label-fraction")
    valid = _tensors(data, valid_rows, labels[valid_rows])
    prior = float(labels[train_rows].mean())
    pos_weight = (1 - prior) / prior
    pretrain_epochs = s.pretrain_epochs if s.pretrain_epochs is not None else (30 if len(unlabelled) else 0)
    pseudo_rounds = s.pseudo_rounds if s.pseudo_rounds is not None else (2 if len(unlabelled) else 0)
    out.mkdir(parents=True, exist_ok=True)
    say = print if s.verbose else (lambda *a, **k: None)

    # 1. baselines
    cardinalities = [len(schema.vocab[name]) + 1 for name in schema.categorical]
    logreg = LogisticRegression(cardinalities).fit(data.numeric[train_rows], data.categorical[train_rows],
                                                   labels[train_rows])
    logreg.save(out / BASELINE_WEIGHTS)
    logreg_valid = logreg.predict_proba(data.numeric[valid_rows], data.categorical[valid_rows])
    truth_valid = labels[valid_rows]
    baselines = {"class_prior": {"roc_auc": 0.5, "auprc": float(truth_valid.mean())},
                 "logistic_regression": {"roc_auc": roc_auc(truth_valid, logreg_valid),
                                         "auprc": average_precision(truth_valid, logreg_valid)}}
    logreg_scores = baselines["logistic_regression"]
    say(f"baselines on validation: logistic regression ROC-AUC {logreg_scores['roc_auc']:.4f} "
        f"AUPRC {logreg_scores['auprc']:.4f}; prior AUPRC {truth_valid.mean():.4f}")

    seed_everything(s.seed)
    config = RiskModelConfig(schema=schema.to_dict(), d_model=s.d_model, nhead=s.nhead,
                             num_layers=s.num_layers, dim_feedforward=2 * s.d_model, dropout=s.dropout)
    model = TabularTransformer(config)
    model.normalizer.fit(data.numeric[np.concatenate([train_rows, unlabelled])])

    def train_config(epochs: int, monitor: str, mode: str, seed: int = s.seed) -> TrainConfig:
        return TrainConfig(epochs=epochs, batch_size=s.batch_size, lr=s.lr, weight_decay=s.weight_decay,
                           patience=s.patience, monitor=monitor, mode=mode, seed=seed, device=s.device,
                           max_minutes=budget.left(), progress=False, verbose=s.verbose, log_every=0)

    # 2. masked-feature pretraining on every row of the file (no labels used)
    stages = []
    if pretrain_epochs:
        say(f"pretraining (masked-feature reconstruction) on {len(rows)} rows")
        wrapper = MaskedFeatureModel(model)
        pretrain_valid = _pretrain_holdout(rows, valid_rows, s.seed)
        trainer = Trainer(wrapper, train_config(pretrain_epochs, "loss", "min"),
                          loss_fn=lambda m, b: masked_reconstruction_loss(m, b[0], b[1]),
                          train_data=TensorDataset(*_tensors(data, np.setdiff1d(rows, pretrain_valid))),
                          valid_data=_FixedMaskBatches(*_tensors(data, pretrain_valid), wrapper, s.seed),
                          evaluate_fn=_reconstruction_metrics, out_dir=out / "pretrain")
        result = trainer.fit()
        stages.append({"stage": "pretrain", "best_loss": result.best_metric, "epochs": result.epochs_run})
        model = wrapper.model.cpu()
    initial_state = copy.deepcopy(model.state_dict())
    candidates: list[tuple[float, TabularTransformer, str]] = []   # (score, model, stage name)
    monitor, mode = _monitor(truth_valid)                  # early stopping and model choice
    # The first teacher's members are cross-fitted: with a few hundred labels, one validation
    # split of ~40 positives stops every member at the same noisy epoch and they all see the same
    # rows, so their mean is hardly an ensemble. Member j instead trains on the labelled train
    # rows outside fold j and early-stops on fold j (a bigger stopping set, different rows per
    # member). ``valid`` stays untouched: it scores every candidate and sets the threshold.
    soft = s.pseudo_labels == "soft" and len(unlabelled) > 0 and pseudo_rounds > 0
    teachers = s.pseudo_teachers if soft else 1
    folds = stratified_folds(labels[train_rows], teachers, s.seed + 2) if teachers > 1 else None

    # 3 + 4. fine-tuning, then pseudo-labelling rounds (each from the same initial weights)
    def train_fn(row_idx: torch.Tensor, row_labels: torch.Tensor, previous) -> TabularTransformer:
        """Train from the pretrained weights; ``row_labels``: (N,) 0/1 or (N, 2) soft targets."""
        if row_labels.ndim == 2:
            row_labels = row_labels[:, 1]                                        # P(positive)
        seed = s.seed + len(candidates)                                          # one per model
        seed_everything(seed)
        net = TabularTransformer(config)
        net.load_state_dict(initial_state)
        net.init_prior(prior)
        if previous is not None:
            name = f"pseudo_{sum(c[2].startswith('pseudo') for c in candidates) + 1}"
        else:
            name = f"teacher_{len(candidates) + 1}" if candidates else "finetune"
        idx, row_labels = row_idx.numpy(), row_labels.numpy()
        epochs = s.epochs if previous is None else s.pseudo_epochs
        stop_set, stop_data, stop_monitor, stop_mode = "validation", valid, monitor, mode
        if previous is None and folds is not None:                               # teacher member j
            stop_set, fold = f"fold {len(candidates)}", folds == len(candidates)  # (N_L,) as idx
            stop_data = _tensors(data, idx[fold], row_labels[fold])
            stop_monitor, stop_mode = _monitor(row_labels[fold])
            idx, row_labels = idx[~fold], row_labels[~fold]
        trainer = Trainer(net, train_config(epochs, stop_monitor, stop_mode, seed),
                          loss_fn=lambda m, b: binary_loss(s.loss, m(b[0], b[1]), b[2], pos_weight),
                          train_data=TensorDataset(*_tensors(data, idx, row_labels)),
                          valid_data=stop_data, evaluate_fn=_valid_metrics,
                          out_dir=out if name == "finetune" else out / name, task_config=asdict(s))
        say(f"{name}: {len(idx)} rows ({float(row_labels.sum()):.0f} positive)")
        result = trainer.fit(resume=resume if name == "finetune" else None)
        net = net.cpu()
        score = _valid_metrics(net, valid)[monitor] * (1 if mode == "max" else -1)
        candidates.append((score, net, name))
        stages.append({"stage": name, "rows": len(idx), f"valid_{monitor}": abs(score),
                       "early_stopping_set": stop_set,
                       f"best_stop_{stop_monitor}": result.best_metric,
                       "epochs": result.epochs_run, "stop_reason": result.stop_reason})
        return net

    def predict_fn(net: TabularTransformer, row_idx: torch.Tensor) -> torch.Tensor:
        p = net.predict_proba(*_tensors(data, row_idx.numpy()))
        return torch.stack([1 - p, p], dim=1)                                    # (N, 2)

    labelled_idx, labelled_y = torch.from_numpy(train_rows), torch.from_numpy(labels[train_rows])
    if s.pseudo_labels == "soft":
        distill(train_fn, predict_fn, labelled_idx, labelled_y, torch.from_numpy(unlabelled), num_classes=2,
                rounds=pseudo_rounds, teachers=teachers, temperature=s.pseudo_temperature)
    else:
        self_train(train_fn, predict_fn, labelled_idx, labelled_y, torch.from_numpy(unlabelled),
                   rounds=pseudo_rounds, select_fn=lambda p: select_top_fraction(
                       p, s.pseudo_fraction, torch.tensor([1 - prior, prior])))
    # With ~40 validation positives, a choice among the teachers and the students would mostly
    # pick noise; a student has learnt from the whole ensemble and the unlabelled rows, a
    # teacher member from all but one fold of the labels, so only the students compete.
    students = [c for c in candidates if c[2].startswith("pseudo")]
    _, model, chosen = max(students or candidates, key=lambda c: c[0])
    model.save_pretrained(out)

    # 5. decision threshold on validation
    valid_probs = model.predict_proba(valid[0], valid[1]).numpy()
    threshold = choose_threshold(truth_valid, valid_probs, s.cost_fn, s.cost_fp, s.target_precision)
    rule = ("min expected cost" if s.cost_fn is not None else
            "target precision" if s.target_precision is not None else "max F1")
    info = {"threshold": threshold, "threshold_rule": rule, "cost_fn": s.cost_fn, "cost_fp": s.cost_fp,
            "target_precision": s.target_precision, "chosen_model": chosen, "train_positive_rate": prior,
            "rows": {"total": len(rows), "labelled_train": len(train_rows), "valid": len(valid_rows),
                     "unlabelled": len(unlabelled)},
            "valid": _valid_metrics(model, valid), "baselines_valid": baselines, "stages": stages,
            "imputed": data.imputed, "train_seconds": time.monotonic() - started, "settings": asdict(s)}
    (out / RISK_INFO).write_text(json.dumps(info, indent=2) + "\n")
    say(f"chose {chosen} (best validation {monitor}: {info['valid'][monitor]:.4f}); "
        f"threshold {threshold:.4f} ({rule})")
    return info
