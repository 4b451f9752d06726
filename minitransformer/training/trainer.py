"""The training loop, :class:`Trainer` (its settings and result are in :mod:`.config`).

A task head plugs in with four things: the model, a ``loss_fn(model, batch) -> scalar tensor``,
map-style datasets, and optionally an ``evaluate_fn(model, data) -> {"name": float}`` for
validation metrics. The trainer owns everything else: batching, the device, AdamW with
warm-up + cosine decay, gradient accumulation and clipping, early stopping on a validation
metric, a time budget, checkpoints and exact resume, progress output, ``metrics.jsonl``, and
DistributedDataParallel under ``torchrun``. See the package docstring
(:mod:`minitransformer.training`) for a complete example.

One optimizer step, in order::

    for each of the grad_accum_steps micro-batches of the step:
        batch = move_to_device(batch)                   # tensors in dicts/lists/tuples
        loss = loss_fn(model, batch)                    # bf16 autocast on CUDA if asked
        stop with NonFiniteLossError if loss is nan/inf # (averaged over ranks under DDP)
        (loss / micro_batches_in_this_step).backward()  # DDP averages gradients over ranks
    clip_grad_norm(max_norm=grad_clip)                  # hand-written, refuses nan/inf norms
    optimizer.step(); scheduler.step(); optimizer.zero_grad()

At the end of each epoch: evaluate on ``valid_data``, keep the best weights (by ``monitor``),
append to ``metrics.jsonl``, print one line, write a checkpoint, and stop early after
``patience`` epochs without improvement. At the end of :meth:`Trainer.fit` the model holds the
best weights, so ``trainer.evaluate(test_data)`` reports test metrics at the best epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn
from torch.utils.data import DataLoader

from minitransformer.errors import NonFiniteGradientError, NonFiniteLossError
from minitransformer.files.run_folder import claim_run_folder
from minitransformer.nn.io import WEIGHTS_NAME, save_json
from minitransformer.training.checkpoint import (
    CHECKPOINTS_DIR,
    LATEST_NAME,
    STATE_FORMAT,
    TRAIN_CONFIG_NAME,
    TRAIN_STATE_NAME,
    CheckpointError,
    find_checkpoint,
    load_checkpoint,
    model_config_dict,
    save_checkpoint,
    save_model,
)
from minitransformer.training.config import FitResult, TrainConfig
from minitransformer.training.devices import move_to_device, resolve_device
from minitransformer.training.distributed import (
    all_reduce_sum,
    barrier,
    gather_objects,
    init_distributed,
)
from minitransformer.training.progress import (
    METRICS_NAME,
    MetricsLog,
    format_epoch_line,
    make_bar,
    progress_enabled,
)
from minitransformer.training.sampler import EpochSampler, batch_len
from minitransformer.training.schedule import make_scheduler
from minitransformer.training.seeding import get_rng_state, seed_everything, set_rng_state
from minitransformer.training.step import clip_grad_norm

__all__ = ["Trainer", "LossFn", "EvaluateFn"]

LossFn = Callable[[nn.Module, Any], torch.Tensor]
EvaluateFn = Callable[[nn.Module, Any], Mapping[str, float]]

# Settings that fix the data order and the learning-rate curve: a resumed run must keep them.
_RESUME_KEYS = ("epochs", "batch_size", "grad_accum_steps", "seed", "lr", "weight_decay",
                "warmup_steps", "warmup_fraction", "min_lr_ratio", "shuffle", "drop_last")


def _check_arguments(config, loss_fn, evaluate_fn, train_data) -> int:
    """Refuse arguments of the wrong kind, naming them; return the number of training examples."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
    if not callable(loss_fn):
        raise TypeError("loss_fn: expected a callable loss_fn(model, batch) -> tensor")
    if evaluate_fn is not None and not callable(evaluate_fn):
        raise TypeError("evaluate_fn: expected a callable evaluate_fn(model, data) -> dict")
    try:
        n_train = len(train_data)
    except TypeError:
        raise TypeError("train_data: expected a map-style dataset with __len__ and __getitem__, "
                        f"got {type(train_data).__name__}") from None
    if n_train == 0:
        raise ValueError("train_data: the dataset is empty")
    return n_train


def _make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices only: biases and norm gains (1-D) are not decayed."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    if not decay and not no_decay:
        raise ValueError("model: has no trainable parameters")
    groups = [g for g in ({"params": decay, "weight_decay": cfg.weight_decay},
                          {"params": no_decay, "weight_decay": 0.0}) if g["params"]]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def _run_dir_of(resume: str | Path | None) -> Path | None:
    """The run folder that ``resume`` (a run folder or one of its checkpoints) belongs to."""
    if resume is None:
        return None
    path = Path(resume)
    return path.parent.parent if path.parent.name == CHECKPOINTS_DIR else path


class Trainer:
    """Train ``model`` with AdamW, warm-up + cosine, early stopping, checkpoints and resume.

    Args:
        model: any ``nn.Module``; moved to the configured device. Models with
            ``save_pretrained`` (``PretrainedMixin``) also get ``config.json`` saved.
        config: a :class:`TrainConfig` (defaults when ``None``).
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; ``batch`` is already on the device.
            Under DDP ``model`` is the ``DistributedDataParallel`` wrapper: *call* it
            (``model(x)``) so gradients are synchronised; reach attributes through
            :func:`~minitransformer.training.unwrap_model`. Use a mean over the batch so that
            accumulation and DDP average correctly.
        train_data: a map-style dataset (``__len__`` and ``__getitem__``), e.g.
            ``TensorDataset`` or a list of examples.
        valid_data: anything your ``evaluate_fn`` accepts (a dataset when ``evaluate_fn`` is
            ``None``: then the metric is ``{"loss": mean loss_fn}``).
        evaluate_fn: ``evaluate_fn(model, valid_data) -> {"metric": float}``; called on the
            unwrapped model in eval mode under ``torch.no_grad()``. Find the device with
            ``next(model.parameters()).device``.
        collate_fn: passed to the ``DataLoader`` (default: PyTorch's stacking collate).
        out_dir: the run directory for checkpoints, the best model and ``metrics.jsonl``
            (see :mod:`minitransformer.training.checkpoint`); ``None``: keep nothing on disk.
        task_config: the head's own settings (JSON-ready), saved in ``train_config.json``.

    A ``Trainer`` runs one training: call :meth:`fit` once (build a new ``Trainer`` to resume).

    Attributes:
        model: the unwrapped model on ``device``.
        device: the ``torch.device`` in use.
        optimizer, scheduler: AdamW and its ``LambdaLR``.
        steps_per_epoch, total_steps: optimizer steps.
        rank, world_size: this process's place under torchrun (0 and 1 otherwise).
    """

    def __init__(self, model: nn.Module, config: TrainConfig | None = None, *, loss_fn: LossFn,
                 train_data, valid_data=None, evaluate_fn: EvaluateFn | None = None,
                 collate_fn: Callable | None = None, out_dir: str | Path | None = None,
                 task_config: Mapping[str, Any] | None = None):
        self.config = cfg = config if config is not None else TrainConfig()
        n_train = _check_arguments(cfg, loss_fn, evaluate_fn, train_data)
        self.dist = init_distributed()
        self.rank, self.world_size = self.dist.rank, self.dist.world_size
        self.is_main = self.dist.is_main
        self.device = resolve_device(cfg.device, self.dist.local_rank)
        self.model = model.to(self.device)
        self.loss_fn, self.evaluate_fn = loss_fn, evaluate_fn
        self.train_data, self.valid_data = train_data, valid_data
        self.collate_fn = collate_fn
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.task_config = dict(task_config) if task_config is not None else None
        self.use_bf16 = bool(cfg.bf16 and self.device.type == "cuda")

        self.sampler = EpochSampler(train_data, self.world_size, self.rank, cfg.shuffle, cfg.seed)
        self._plan_steps(n_train)
        self.optimizer = _make_optimizer(self.model, cfg)
        self.scheduler = make_scheduler(self.optimizer, self.total_steps, self.warmup_steps,
                                        cfg.min_lr_ratio)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        else:
            self.train_model = self.model
        self._loader_gen = torch.Generator()
        self.loader = DataLoader(train_data, batch_size=cfg.batch_size, sampler=self.sampler,
                                 collate_fn=collate_fn, num_workers=cfg.num_workers,
                                 drop_last=cfg.drop_last, generator=self._loader_gen,
                                 pin_memory=self.device.type == "cuda")
        self._reset_state()

    def _plan_steps(self, n_train: int) -> None:
        """Micro-batches per epoch (on this process), optimizer steps and warm-up steps.

        ``micro_per_epoch = ⌈N_proc / batch_size⌉`` (``⌊·⌋`` with ``drop_last``),
        ``steps_per_epoch = ⌈micro_per_epoch / grad_accum_steps⌉``,
        ``total_steps = epochs · steps_per_epoch``; the warm-up is ``warmup_steps`` or
        ``round(warmup_fraction · total_steps)``, at most ``total_steps``.
        """
        cfg = self.config
        n_samples = self.sampler.num_samples
        self.micro_per_epoch = n_samples // cfg.batch_size if cfg.drop_last \
            else math.ceil(n_samples / cfg.batch_size)
        if self.micro_per_epoch == 0:
            raise ValueError(f"train_data: {n_train} examples give no full batch of {cfg.batch_size} "
                             "per process with drop_last=True")
        self.steps_per_epoch = math.ceil(self.micro_per_epoch / cfg.grad_accum_steps)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        warmup = cfg.warmup_steps if cfg.warmup_steps is not None \
            else round(cfg.warmup_fraction * self.total_steps)
        self.warmup_steps = min(warmup, self.total_steps)

    # ------------------------------------------------------------------ state
    def _reset_state(self) -> None:
        self.step = 0                 # optimizer steps done
        self.epoch = 0                # epochs finished
        self._batches_done = 0        # micro-batches done in the current epoch
        self._epoch_loss_sum = 0.0
        self._epoch_loss_count = 0
        self._epoch_examples = 0
        self.best_metric: float | None = None
        self.best_epoch: int | None = None
        self._bad_epochs = 0
        self._stop_reason: str | None = None
        self.history: list[dict[str, Any]] = []
        self._best_state: dict[str, torch.Tensor] | None = None
        self._epoch_gen_state = self._loader_gen.get_state()
        self._last_checkpoint: Path | None = None
        self._saved_at: tuple[int, int] | None = None
        self._last_lr = self.optimizer.param_groups[0]["lr"]

    def _state_dict(self, mid_epoch: bool, rng_states: list) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "step": self.step, "epoch": self.epoch, "batches_done": self._batches_done,
            "epoch_loss_sum": self._epoch_loss_sum, "epoch_loss_count": self._epoch_loss_count,
            "epoch_examples": self._epoch_examples,
            "best_metric": self.best_metric, "best_epoch": self.best_epoch,
            "bad_epochs": self._bad_epochs, "stop_reason": self._stop_reason,
            "history": self.history, "last_lr": self._last_lr,
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "rng": rng_states,
            "loader_generator": self._epoch_gen_state if mid_epoch else self._loader_gen.get_state(),
            "train_config": self.config.to_dict(), "model_config": model_config_dict(self.model),
            "world_size": self.world_size, "total_steps": self.total_steps,
        }

    def _save_checkpoint(self, mid_epoch: bool) -> None:
        """Collective under DDP (every rank sends its RNG states); only rank 0 writes."""
        if self.out_dir is None:
            return
        if mid_epoch and self._saved_at == (self.epoch, self.step):
            return  # this very state is already on disk (save_every just wrote it)
        rng_states = gather_objects(get_rng_state())
        self._saved_at = (self.epoch, self.step)
        if not self.is_main:
            return
        state = self._state_dict(mid_epoch, rng_states)
        self._last_checkpoint = save_checkpoint(self.out_dir, self.model, state,
                                                keep=self.config.keep_checkpoints)

    def _resume(self, resume: str | Path) -> None:
        folder = find_checkpoint(resume)
        state_path = folder / TRAIN_STATE_NAME
        state = load_checkpoint(folder, self.model)
        saved_cfg = state.get("train_config") or {}
        for key in _RESUME_KEYS:
            now = getattr(self.config, key)
            if key in saved_cfg and saved_cfg[key] != now:
                raise CheckpointError(f"{state_path}: resume needs the same {key} as the interrupted "
                                      f"run (checkpoint {saved_cfg[key]!r}, now {now!r})")
        if state.get("world_size", 1) != self.world_size:
            raise CheckpointError(f"{state_path}: written by {state.get('world_size')} process(es), "
                                  f"resumed with {self.world_size}; use the same number")
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.step, self.epoch = int(state["step"]), int(state["epoch"])
            self._batches_done = int(state["batches_done"])
            self._epoch_loss_sum = float(state["epoch_loss_sum"])
            self._epoch_loss_count = int(state["epoch_loss_count"])
            self._epoch_examples = int(state["epoch_examples"])
            self.best_metric, self.best_epoch = state["best_metric"], state["best_epoch"]
            self._bad_epochs = int(state["bad_epochs"])
            self._stop_reason = state["stop_reason"]
            self.history = list(state["history"])
            self._last_lr = float(state["last_lr"])
            rng = state["rng"]
            set_rng_state(rng[self.rank] if len(rng) == self.world_size else rng[0])
            self._loader_gen.set_state(state["loader_generator"])
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as err:
            msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"{state_path}: training state does not fit this run ({msg})") from None
        self._last_checkpoint = folder
        run_dir = folder.parent.parent if folder.parent.name == CHECKPOINTS_DIR else None
        if self.out_dir is None:
            self.out_dir = run_dir
        best_file = run_dir / WEIGHTS_NAME if run_dir is not None else None
        if self.best_epoch is not None and best_file is not None and best_file.is_file():
            try:
                self._best_state = load_file(str(best_file))
            except (SafetensorError, OSError, ValueError) as err:
                raise CheckpointError(f"{best_file}: best-model weights unreadable ({err})") from None

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, data=None) -> dict[str, float]:
        """Metrics of the current model on ``data`` (default ``valid_data``).

        Runs ``evaluate_fn`` (or the mean ``loss_fn``) on the unwrapped model in eval mode
        under ``torch.no_grad()``; after :meth:`fit` the model holds the best weights, so
        ``trainer.evaluate(test_data)`` gives the test metrics at the best validation epoch.
        """
        data = self.valid_data if data is None else data
        if data is None:
            raise ValueError("evaluate: no data given and the trainer has no valid_data")
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                raw = self.evaluate_fn(self.model, data) if self.evaluate_fn is not None \
                    else {"loss": self._mean_loss(data)}
        finally:
            self.model.train(was_training)
        if not isinstance(raw, Mapping):
            raise TypeError(f"evaluate_fn: expected a dict of metrics, got {type(raw).__name__}")
        try:
            return {str(k): float(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise TypeError(f"evaluate_fn: every metric must be a number, got {dict(raw)!r}") from None

    def _mean_loss(self, data) -> float:
        loader = DataLoader(data, batch_size=self.config.batch_size, shuffle=False,
                            collate_fn=self.collate_fn)
        total, count = 0.0, 0
        for batch in loader:
            batch = move_to_device(batch, self.device)
            n = batch_len(batch) or 1
            with self._autocast():
                total += float(self.loss_fn(self.model, batch)) * n
            count += n
        return total / max(count, 1)

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.use_bf16 else nullcontext()

    def _is_better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_metric is None:
            return True
        delta = self.config.min_delta
        if self.config.mode == "max":
            return value > self.best_metric + delta
        return value < self.best_metric - delta

    # ------------------------------------------------------------------ training
    def _nonfinite(self, what: str, value: float) -> NonFiniteLossError:
        epoch, batch = self.epoch + 1, self._batches_done
        where = (f"the last finite checkpoint is {self._last_checkpoint}" if self._last_checkpoint
                 else "no checkpoint was written")
        return NonFiniteLossError(
            f"non-finite {what} ({value}) at step {self.step + 1} (epoch {epoch}, micro-batch "
            f"{batch + 1}); training stopped before the update, {where}",
            step=self.step + 1, epoch=epoch, checkpoint=self._last_checkpoint)

    def _out_of_time(self, start: float) -> bool:
        if self.config.max_minutes is None:
            return False
        over = time.monotonic() - start > self.config.max_minutes * 60.0
        if self.dist.enabled:  # rank 0's clock decides for everyone
            flag = torch.tensor([1.0 if (over and self.is_main) else 0.0], device=self._reduce_device)
            over = all_reduce_sum(flag).item() > 0
        return over

    @property
    def _reduce_device(self) -> torch.device:
        return self.device if self.device.type == "cuda" else torch.device("cpu")

    def _train_epoch(self, start: float, bars) -> bool:
        """Train until the end of the epoch (True) or until the time budget is spent (False)."""
        cfg = self.config
        accum, n_micro = cfg.grad_accum_steps, self.micro_per_epoch
        self._epoch_gen_state = self._loader_gen.get_state()
        self.sampler.set_position(self.epoch, self._batches_done * cfg.batch_size)
        step_bar = bars(total=self.steps_per_epoch, initial=self._batches_done // accum,
                        desc=f"epoch {self.epoch + 1}", unit="step", leave=False)
        self.train_model.train()
        self.optimizer.zero_grad(set_to_none=True)
        try:
            for i, batch in enumerate(self.loader, start=self._batches_done):
                group_start = (i // accum) * accum
                group_len = min(accum, n_micro - group_start)
                last_in_group = i - group_start == group_len - 1
                batch = move_to_device(batch, self.device)
                value = self._forward_backward(batch, group_len, last_in_group)
                self._epoch_loss_sum += value
                self._epoch_loss_count += 1
                self._epoch_examples += (batch_len(batch) or cfg.batch_size) * self.world_size
                self._batches_done = i + 1
                if not last_in_group:
                    continue
                norm = self._optimizer_step(group_start)
                step_bar.update(1)
                if cfg.log_every and self.step % cfg.log_every == 0:
                    self._log_step(step_bar, float(norm))
                end_of_epoch = i + 1 >= n_micro
                if cfg.save_every and self.step % cfg.save_every == 0 and not end_of_epoch:
                    self._save_checkpoint(mid_epoch=True)
                if not end_of_epoch and self._out_of_time(start):
                    return False
        finally:
            step_bar.close()
        return True

    def _forward_backward(self, batch, group_len: int, last_in_group: bool) -> float:
        """The loss of one micro-batch and its gradient, scaled by ``1 / group_len``.

        Returns the loss averaged over the processes; a nan/inf loss stops training before any
        gradient of it is kept. Under DDP gradients are averaged over the ranks only on the last
        micro-batch of the step (``no_sync`` before it).
        """
        sync = nullcontext() if last_in_group or not self.dist.enabled else self.train_model.no_sync()
        with sync:
            with self._autocast():
                loss = self.loss_fn(self.train_model, batch)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise TypeError("loss_fn: expected a scalar tensor, got "
                                f"{type(loss).__name__}{tuple(getattr(loss, 'shape', ()))}")
            value = all_reduce_sum(loss.detach().reshape(1).to(self._reduce_device).double())
            value = value.item() / self.world_size
            if not math.isfinite(value):
                raise self._nonfinite("loss", value)
            (loss / group_len).backward()
        return value

    def _optimizer_step(self, group_start: int) -> torch.Tensor:
        """Clip the global gradient norm, step AdamW and the schedule; return the norm before
        clipping (0-d). A nan/inf norm rewinds the epoch position to the step's first micro-batch."""
        try:
            norm = clip_grad_norm(self.model.parameters(), self.config.grad_clip or float("inf"))
        except NonFiniteGradientError:
            self._batches_done = group_start
            raise self._nonfinite("gradient norm", float("nan")) from None
        self._last_lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return norm

    def _log_step(self, step_bar, grad_norm: float) -> None:
        avg = self._epoch_loss_sum / max(1, self._epoch_loss_count)
        if not step_bar.disable:
            step_bar.set_postfix(loss=f"{avg:.4f}", lr=f"{self._last_lr:.2e}", refresh=False)
        elif self.config.verbose and self.is_main:
            print(f"  step {self.step}/{self.total_steps}  loss {avg:.4f}  lr {self._last_lr:.2e}  "
                  f"grad_norm {grad_norm:.3g}", flush=True)

    def _end_epoch(self, epoch_start: float, fit_start: float) -> dict[str, Any]:
        cfg = self.config
        self.epoch += 1
        self._batches_done = 0
        record: dict[str, Any] = {
            "event": "epoch", "epoch": self.epoch, "step": self.step,
            "train_loss": self._epoch_loss_sum / max(1, self._epoch_loss_count), "lr": self._last_lr,
        }
        examples = self._epoch_examples
        self._epoch_loss_sum, self._epoch_loss_count, self._epoch_examples = 0.0, 0, 0
        if self.valid_data is not None:
            metrics = self.evaluate()
            if cfg.monitor not in metrics:
                raise ValueError(f"monitor: {cfg.monitor!r} is not among the validation metrics "
                                 f"{sorted(metrics)}; set TrainConfig.monitor to one of them")
            record.update({f"valid_{k}": v for k, v in metrics.items()})
            improved = self._is_better(metrics[cfg.monitor])
            if improved:
                self.best_metric, self.best_epoch, self._bad_epochs = metrics[cfg.monitor], self.epoch, 0
            else:
                self._bad_epochs += 1
        else:  # without validation data the latest model is the best one
            improved, self.best_epoch = True, self.epoch
        if improved:
            self._best_state = {k: v.detach().to("cpu", copy=True)
                                for k, v in self.model.state_dict().items()}
        now = time.monotonic()
        record.update({"improved": improved, "best_epoch": self.best_epoch, "best_metric": self.best_metric,
                       "epoch_s": round(now - epoch_start, 3), "elapsed_s": round(now - fit_start, 3),
                       "examples_per_s": round(examples / max(now - epoch_start, 1e-9), 1)})
        if self.epoch >= cfg.epochs:
            self._stop_reason = "completed"
        elif cfg.patience is not None and self._bad_epochs >= cfg.patience:
            self._stop_reason = "early_stopping"
        self.history.append(record)
        if self.is_main and self.out_dir is not None:
            if improved:
                save_model(self.model, self.out_dir)
            MetricsLog(self.out_dir / METRICS_NAME).write(record)
        return record

    def _prepare_run_dir(self, resume) -> None:
        if self.out_dir is None:
            return
        if resume is None and (self.out_dir / CHECKPOINTS_DIR / LATEST_NAME).exists():
            raise ValueError(f"{self.out_dir}: already holds a training run; resume it "
                             f"(resume={str(self.out_dir)!r}) or choose another out_dir")
        if not self.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        info = {"train": self.config.to_dict(), "task": self.task_config,
                "model_class": type(self.model).__name__, "model_config": model_config_dict(self.model),
                "world_size": self.world_size, "steps_per_epoch": self.steps_per_epoch,
                "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}
        save_json(self.out_dir / TRAIN_CONFIG_NAME, info)
        # a fresh log, or the resumed run's history (drops lines written after its checkpoint)
        MetricsLog(self.out_dir / METRICS_NAME).rewrite(self.history)

    def fit(self, resume: str | Path | None = None) -> FitResult:
        """Train, then leave the best weights in ``self.model``.

        Args:
            resume: a run directory (or checkpoint folder) to continue from. The model must have
                the same configuration and the data order/schedule settings (epochs,
                batch_size, grad_accum_steps, seed, lr, ...) must be unchanged; the continued
                run then ends with exactly the weights of an uninterrupted one (same device
                and thread count). ``out_dir`` defaults to that run directory.

        Returns:
            A :class:`FitResult`.

        Raises:
            NonFiniteLossError: the loss or gradient norm became nan/inf.
            CheckpointError: ``resume`` is unusable (missing, corrupt, other model, other
                settings).
            ValueError: ``out_dir`` already holds a run and ``resume`` is not given; the
                ``monitor`` is not among the validation metrics.
        """
        folder = self.out_dir if self.out_dir is not None else _run_dir_of(resume)
        folder = folder if self.is_main else None
        with claim_run_folder(folder, resume=resume is not None, option="out_dir"):
            return self._fit(resume)

    def _fit(self, resume: str | Path | None) -> FitResult:
        """:meth:`fit`, with the run folder held by this process."""
        cfg = self.config
        fit_start = time.monotonic()
        seed_everything(cfg.seed + self.rank)
        self._loader_gen.manual_seed(cfg.seed)
        self._reset_state()
        if resume is not None:
            self._resume(resume)
        self._prepare_run_dir(resume)
        show = progress_enabled(cfg.progress) and self.is_main

        def bars(**kwargs):
            return make_bar(show, **kwargs)

        if self._stop_reason in ("completed", "early_stopping"):
            return self._finish(fit_start)
        self._stop_reason = None
        epoch_bar = bars(total=cfg.epochs, initial=self.epoch, desc="training", unit="epoch")
        try:
            while self.epoch < cfg.epochs and self._stop_reason is None:
                epoch_start = time.monotonic()
                if not self._train_epoch(fit_start, bars):
                    self._stop_reason = "time_budget"
                    self._save_checkpoint(mid_epoch=True)
                    break
                record = self._end_epoch(epoch_start, fit_start)
                if self._stop_reason is None and self._out_of_time(fit_start):
                    self._stop_reason = "time_budget"
                self._save_checkpoint(mid_epoch=False)
                epoch_bar.update(1)
                if cfg.verbose and self.is_main:
                    line = format_epoch_line(record, cfg.epochs, monitor_key=f"valid_{cfg.monitor}")
                    (epoch_bar.write if show else print)(line)
        finally:
            epoch_bar.close()
        return self._finish(fit_start)

    def _finish(self, fit_start: float) -> FitResult:
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state, strict=False)
        result = FitResult(best_epoch=self.best_epoch, best_metric=self.best_metric,
                           monitor=self.config.monitor, mode=self.config.mode, history=list(self.history),
                           stop_reason=self._stop_reason or "completed", epochs_run=self.epoch,
                           steps=self.step, elapsed_s=round(time.monotonic() - fit_start, 3),
                           run_dir=self.out_dir)
        if self.is_main and self.out_dir is not None:
            final = {"event": "final", **{k: v for k, v in result.to_dict().items() if k != "history"}}
            MetricsLog(self.out_dir / METRICS_NAME).write(final)
            if self.step > 0 and not (self.out_dir / WEIGHTS_NAME).exists():
                save_model(self.model, self.out_dir)  # no epoch finished, or resumed into a new dir
        barrier()
        return result
