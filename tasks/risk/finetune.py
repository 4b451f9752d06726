"""Fine-tuning and pseudo-labelling: every classifier of a training, each from the same weights.

:class:`FineTuning` trains the models that the semi-supervised loop
(:func:`~minitransformer.training.semi_supervised.distill` or ``self_train``) asks for, and
keeps them as candidates::

    finetune, teacher_2..K   the first teacher: cross-fitted on K folds of the labelled train
                             rows (member j trains on the other folds, stops early on fold j);
                             one model on every labelled train row when K = 1
    pseudo_1, pseudo_2, ...  students: the labelled rows plus the unlabelled rows with the
                             teacher's probabilities as targets, stopped on the validation rows

Every model starts from the pretrained weights (or the fresh ones) with the output bias at
``logit(prior)``, and gets its own seed (``seed + number of models before it``). Early stopping
and the model choice watch the validation ROC-AUC, or the log-loss when the stopping set has
fewer than ``SMALL_VALID_POSITIVES`` positives (an AUC from a handful of positives jumps by
chance between epochs; its standard error is ~0.04 with 40 positives).

Losses (imbalance): plain BCE by default (ranking metrics need no class weights and the
threshold adapts the decisions to the costs); ``"balanced"`` weights positives by
``n_neg / n_pos``; ``"focal"`` (Lin et al. 2017) scales each term by ``(1 - p_t)^2`` so easy
negatives count less.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from minitransformer.metrics.classification import average_precision, roc_auc
from minitransformer.training import Trainer, seed_everything
from tasks.risk.config import RiskModelConfig
from tasks.risk.model import TabularTransformer
from tasks.risk.session import Session

__all__ = ["FineTuning", "binary_loss", "valid_metrics", "monitor_for", "SMALL_VALID_POSITIVES"]

SMALL_VALID_POSITIVES = 50
# the progress bar of each stage: "fine-tuning", "teacher 2", "student 1"
STAGE_LABELS = {"finetune": "fine-tuning", "teacher": "teacher", "pseudo": "student"}


def binary_loss(kind: str, logits: torch.Tensor, labels: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """Mean BCE, positive-weighted BCE or focal loss (gamma = 2) over a batch; ``logits``,
    ``labels``: ``(B,)``."""
    if kind == "balanced":
        return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=logits.new_tensor(pos_weight))
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    if kind == "focal":
        p_true = torch.exp(-bce)                                   # p_t, probability of the label
        return ((1 - p_true) ** 2 * bce).mean()
    return bce.mean()


def valid_metrics(model: TabularTransformer, valid) -> dict[str, float]:
    """ROC-AUC, AUPRC and log-loss of ``model`` on ``valid = (numeric, categorical, labels)``."""
    numeric, categorical, labels = valid
    probs = model.predict_proba(numeric, categorical).numpy()
    truth = labels.numpy().astype(int)
    loss = F.binary_cross_entropy(torch.from_numpy(probs).clamp(1e-7, 1 - 1e-7), labels).item()
    return {"roc_auc": roc_auc(truth, probs), "auprc": average_precision(truth, probs), "loss": loss}


def monitor_for(truth: np.ndarray) -> tuple[str, str]:
    """What early stopping and model choice watch on a labelled set: ``("roc_auc", "max")``, or
    ``("loss", "min")`` when the set has fewer than ``SMALL_VALID_POSITIVES`` positives."""
    return ("loss", "min") if truth.sum() < SMALL_VALID_POSITIVES else ("roc_auc", "max")


class FineTuning:
    """The candidates of one training (see the module docstring).

    Args:
        session: the training's shared state.
        model_config: the model to build for each candidate.
        initial_state: the weights every candidate starts from (``state_dict``).
        folds: ``(N_train,)`` fold ids of the labelled train rows for the cross-fitted first
            teacher, or ``None`` for a single first model.
    """

    def __init__(self, session: Session, model_config: RiskModelConfig, initial_state: dict[str, Any],
                 folds: np.ndarray | None = None):
        self.session, self.model_config, self.initial_state = session, model_config, initial_state
        self.folds = folds
        labels, rows = session.labels, session.rows
        self.prior = float(labels[rows.train].mean())
        self.pos_weight = (1 - self.prior) / self.prior
        self.valid = session.tensors(rows.valid, labels[rows.valid])
        self.monitor, self.mode = monitor_for(labels[rows.valid])         # the model choice
        self.candidates: list[tuple[float, TabularTransformer, str]] = []  # (score, model, stage name)
        self.stages: list[dict[str, Any]] = []

    def _name(self, previous) -> str:
        if previous is not None:
            return f"pseudo_{sum(c[2].startswith('pseudo') for c in self.candidates) + 1}"
        return f"teacher_{len(self.candidates) + 1}" if self.candidates else "finetune"

    def _stopping(self, idx: np.ndarray, row_labels: np.ndarray, previous):
        """``(set name, stopping data, monitor, mode, training idx, training labels)``: a teacher
        member j of a cross-fitted first teacher stops on fold j and trains on the others."""
        if previous is None and self.folds is not None:
            member = len(self.candidates)
            fold = self.folds == member                                        # (N_L,) as idx
            stop_data = self.session.tensors(idx[fold], row_labels[fold])
            monitor, mode = monitor_for(row_labels[fold])
            return f"fold {member}", stop_data, monitor, mode, idx[~fold], row_labels[~fold]
        return "validation", self.valid, self.monitor, self.mode, idx, row_labels

    def _fresh_model(self, seed: int) -> TabularTransformer:
        seed_everything(seed)
        net = TabularTransformer(self.model_config)
        net.load_state_dict(self.initial_state)
        net.init_prior(self.prior)
        return net

    def train_one(self, row_idx: torch.Tensor, row_labels: torch.Tensor, previous) -> TabularTransformer:
        """Train from the initial weights; ``row_labels``: (N,) 0/1 or (N, 2) soft targets."""
        s, c = self.session, self.session.config
        if row_labels.ndim == 2:
            row_labels = row_labels[:, 1]                                        # P(positive)
        seed = s.seed + len(self.candidates)                                     # one per model
        net = self._fresh_model(seed)
        name = self._name(previous)
        epochs = c.epochs if previous is None else c.pseudo_epochs
        stop_set, stop_data, stop_monitor, stop_mode, idx, row_labels = self._stopping(
            row_idx.numpy(), row_labels.numpy(), previous)
        s.say(f"{name}: {len(idx)} rows ({float(row_labels.sum()):.0f} positive)")
        kind, _, number = name.partition("_")
        with s.stage_bar(f"{STAGE_LABELS[kind]} {number}".strip(), epochs, valid_metrics) as evaluate_fn:
            trainer = Trainer(net, s.trainer_config(epochs, stop_monitor, stop_mode, seed),
                              loss_fn=lambda m, b: binary_loss(c.loss, m(b[0], b[1]), b[2], self.pos_weight),
                              train_data=TensorDataset(*s.tensors(idx, row_labels)),
                              valid_data=stop_data, evaluate_fn=evaluate_fn,
                              out_dir=s.out if name == "finetune" else s.out / name, task_config=s.settings)
            result = trainer.fit()
        net = net.cpu()
        score = valid_metrics(net, self.valid)[self.monitor] * (1 if self.mode == "max" else -1)
        self.candidates.append((score, net, name))
        self.stages.append({"stage": name, "rows": len(idx), f"valid_{self.monitor}": abs(score),
                            "early_stopping_set": stop_set, f"best_stop_{stop_monitor}": result.best_metric,
                            "epochs": result.epochs_run, "stop_reason": result.stop_reason})
        return net

    def predict(self, net: TabularTransformer, row_idx: torch.Tensor) -> torch.Tensor:
        """``(N, 2)`` class probabilities of ``row_idx`` (the teacher's view of them)."""
        p = net.predict_proba(*self.session.tensors(row_idx.numpy()))
        return torch.stack([1 - p, p], dim=1)                                    # (N, 2)

    def kept(self) -> tuple[TabularTransformer, str]:
        """The student with the best validation score, or the best model when there is none.

        With ~40 validation positives, a choice among the teachers and the students would mostly
        pick noise; a student has learnt from the whole ensemble and the unlabelled rows, a
        teacher member from all but one fold of the labels, so only the students compete."""
        students = [c for c in self.candidates if c[2].startswith("pseudo")]
        _, model, name = max(students or self.candidates, key=lambda c: c[0])
        return model, name
