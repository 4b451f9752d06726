"""Training engine: one hand-written loop that every task head plugs into.

What a head provides, and what it gets:

* ``model`` -- any ``nn.Module`` (a ``PretrainedMixin`` model also gets ``config.json``);
* ``loss_fn(model, batch) -> scalar tensor`` -- the head computes its own loss, so the trainer
  needs no knowledge of the task; ``batch`` is whatever the ``DataLoader`` (with your
  ``collate_fn``) yields, already moved to the device;
* ``train_data`` -- a map-style dataset (``len`` + indexing); batches come from a
  ``DataLoader`` whose shuffling is seeded (and sharded under ``torchrun``);
* ``valid_data`` + ``evaluate_fn(model, data) -> {"metric": float}`` -- validation metrics,
  computed at the end of every epoch (model in eval mode, no gradients).

:meth:`Trainer.fit` then runs AdamW with linear warm-up and cosine decay, gradient accumulation
and clipping, early stopping on ``TrainConfig.monitor``, an optional time budget, progress bars
and a summary line per epoch, ``metrics.jsonl``, checkpoints with exact resume, and data
parallelism under ``torchrun``; it returns a :class:`FitResult` and leaves the **best**
validation weights in the model.

A complete example (a classifier that finds a planted token)::

    import torch
    from torch import nn
    from torch.utils.data import TensorDataset
    from minitransformer import Encoder
    from minitransformer.training import TrainConfig, Trainer, seed_everything

    class Classifier(nn.Module):
        def __init__(self, vocab=16, d=32):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.encoder = Encoder(d_model=d, nhead=4, num_layers=1, dim_feedforward=64, dropout=0.0)
            self.head = nn.Linear(d, 2)

        def forward(self, ids):                                   # (B, T) -> (B, 2)
            return self.head(self.encoder(self.embed(ids)).mean(dim=1))

    def loss_fn(model, batch):                                    # batch: (ids, labels)
        ids, labels = batch
        return nn.functional.cross_entropy(model(ids), labels)

    def evaluate_fn(model, data):                                 # data: a TensorDataset
        ids, labels = data.tensors
        device = next(model.parameters()).device
        logits = model(ids.to(device))
        return {"acc": (logits.argmax(-1).cpu() == labels).float().mean().item(),
                "loss": nn.functional.cross_entropy(logits.cpu(), labels).item()}

    seed_everything(0)                                            # reproducible initialisation
    model = Classifier()
    config = TrainConfig(epochs=5, batch_size=32, lr=3e-3, monitor="acc", mode="max", patience=2)
    trainer = Trainer(model, config, loss_fn=loss_fn, train_data=TensorDataset(x_train, y_train),
                      valid_data=TensorDataset(x_valid, y_valid), evaluate_fn=evaluate_fn,
                      out_dir="runs/planted", task_config={"vocab": 16})
    result = trainer.fit()                                        # best weights restored
    print(result.best_epoch, result.best_metric)
    test = trainer.evaluate(TensorDataset(x_test, y_test))        # test at the best epoch

    # interrupted? continue exactly where the last checkpoint left off:
    result = Trainer(Classifier(), config, loss_fn=loss_fn, ...).fit(resume="runs/planted")

The run directory layout and the checkpoint format are described in
:mod:`minitransformer.training.checkpoint`; the schedule in
:mod:`minitransformer.training.schedule`; multi-process and multi-node training (``torchrun
--nproc_per_node N train.py``, ``torchrun --nnodes ...``) in
:mod:`minitransformer.training.distributed`; what is printed and logged in
:mod:`minitransformer.training.progress`; seeding in :mod:`minitransformer.training.seeding`.

Reproducibility: ``fit`` calls ``seed_everything(config.seed + rank)``; call
:func:`seed_everything` yourself before building the model so the initial weights are
reproducible too. On the CPU the same seed gives the same loss curve, bit for bit.
"""

from minitransformer.errors import CheckpointError, NonFiniteLossError
from minitransformer.training.checkpoint import (
    find_checkpoint,
    load_checkpoint,
    load_train_state,
    save_checkpoint,
    save_model,
)
from minitransformer.training.config import FitResult, TrainConfig
from minitransformer.training.devices import move_to_device, resolve_device
from minitransformer.training.distributed import (
    DistInfo,
    barrier,
    dist_info,
    init_distributed,
    is_main_process,
    unwrap_model,
)
from minitransformer.training.progress import MetricsLog, progress_enabled
from minitransformer.training.run import Run
from minitransformer.training.schedule import WarmupCosine, make_scheduler, warmup_cosine
from minitransformer.training.seeding import get_rng_state, seed_everything, set_rng_state
from minitransformer.training.trainer import Trainer

__all__ = [
    "CheckpointError", "DistInfo", "FitResult", "MetricsLog", "NonFiniteLossError", "Run", "TrainConfig",
    "Trainer", "WarmupCosine", "barrier", "dist_info", "find_checkpoint", "get_rng_state",
    "init_distributed", "is_main_process", "load_checkpoint", "load_train_state", "make_scheduler",
    "move_to_device", "progress_enabled", "resolve_device", "save_checkpoint", "save_model",
    "seed_everything", "set_rng_state", "unwrap_model", "warmup_cosine",
]
