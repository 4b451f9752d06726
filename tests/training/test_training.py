"""The training engine: schedule, clipping, accumulation, early stopping, seeding, NaN, time budget."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from minitransformer import Encoder
from minitransformer.training import (
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    WarmupCosine,
    get_rng_state,
    load_checkpoint,
    make_scheduler,
    move_to_device,
    progress_enabled,
    seed_everything,
    set_rng_state,
    warmup_cosine,
)


def planted_data(n: int, seed: int, vocab: int = 16, length: int = 12, planted: int = 7) -> TensorDataset:
    """Token sequences; label 1 iff the sequence contains the planted token."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (n, length), generator=g)
    ids[ids == planted] = planted + 1
    labels = torch.randint(0, 2, (n,), generator=g)
    where = torch.randint(0, length, (n,), generator=g)
    rows = labels.bool()
    ids[rows, where[rows]] = planted
    return TensorDataset(ids, labels)


class Classifier(nn.Module):
    def __init__(self, vocab: int = 16, d: int = 32, dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.encoder = Encoder(d_model=d, nhead=4, num_layers=1, dim_feedforward=64, dropout=dropout)
        self.head = nn.Linear(d, 2)

    def forward(self, ids):  # (B, T) -> (B, 2)
        return self.head(self.encoder(self.embed(ids)).max(dim=1).values)


def ce_loss(model, batch):
    ids, labels = batch
    return nn.functional.cross_entropy(model(ids), labels)


def evaluate(model, data):
    ids, labels = data.tensors
    logits = model(ids)
    return {"acc": (logits.argmax(-1) == labels).float().mean().item(),
            "loss": nn.functional.cross_entropy(logits, labels).item()}


class Regressor(nn.Module):
    def __init__(self, dim: int = 6):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def mse_loss(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def regression_data(n: int = 64, dim: int = 6, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    return TensorDataset(x, x.sum(-1).sin())


def quiet(**overrides) -> TrainConfig:
    settings = dict(epochs=2, batch_size=8, lr=1e-2, device="cpu", progress=False, verbose=False)
    settings.update(overrides)
    return TrainConfig(**settings)


def params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# ---------------------------------------------------------------------------- schedule
def test_warmup_is_linear_and_cosine_reaches_the_floor():
    total, warmup, floor = 100, 10, 0.1
    assert [warmup_cosine(s, total, warmup, floor) for s in range(warmup)] == pytest.approx(
        [(s + 1) / warmup for s in range(warmup)])
    assert warmup_cosine(warmup, total, warmup, floor) == pytest.approx(1.0)
    mid = warmup + (total - warmup) // 2
    assert warmup_cosine(mid, total, warmup, floor) == pytest.approx(floor + (1 - floor) / 2)
    assert warmup_cosine(total, total, warmup, floor) == pytest.approx(floor)
    assert warmup_cosine(total + 50, total, warmup, floor) == pytest.approx(floor)
    after = [warmup_cosine(s, total, warmup, floor) for s in range(warmup, total + 1)]
    assert all(a >= b for a, b in zip(after, after[1:]))  # monotone decay


def test_schedule_without_warmup_starts_at_peak():
    assert warmup_cosine(0, 10, 0, 0.0) == 1.0
    assert warmup_cosine(10, 10, 0, 0.0) == pytest.approx(0.0, abs=1e-12)


def test_lambdalr_follows_schedule_and_round_trips_state():
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=0.5)
    sched = make_scheduler(opt, total_steps=20, warmup_steps=4, min_lr_ratio=0.2)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.5 * warmup_cosine(s, 20, 4, 0.2) for s in range(20)])
    state = sched.state_dict()
    assert state["lr_lambdas"][0] == {"total_steps": 20, "warmup_steps": 4, "min_lr_ratio": 0.2}
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosine(10, 11)


def test_trainer_learning_rate_curve():
    data = regression_data(32)
    trainer = Trainer(Regressor(), quiet(epochs=3, batch_size=8, lr=0.01, warmup_steps=3, min_lr_ratio=0.0),
                      loss_fn=mse_loss, train_data=data)
    seen = []
    trainer.optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: seen.append(opt.param_groups[0]["lr"]))
    trainer.fit()
    assert trainer.total_steps == 12
    assert seen == pytest.approx([0.01 * warmup_cosine(s, 12, 3, 0.0) for s in range(12)])


# ---------------------------------------------------------------------------- learning
def test_encoder_learns_planted_token_quickly():
    seed_everything(0)
    model = Classifier()
    train, valid = planted_data(384, seed=1), planted_data(256, seed=2)
    config = quiet(epochs=6, batch_size=32, lr=3e-3, warmup_steps=5, monitor="loss", mode="min")
    trainer = Trainer(model, config, loss_fn=ce_loss, train_data=train, valid_data=valid,
                      evaluate_fn=evaluate)
    before = trainer.evaluate()
    result = trainer.fit()
    after = trainer.evaluate()
    assert after["loss"] < before["loss"] / 5, (before, after)  # stated factor: 5x
    assert after["acc"] > 0.95
    assert result.best_metric == pytest.approx(after["loss"])  # the best weights are in the model


# ---------------------------------------------------------------------------- clipping
def test_gradient_clipping_bounds_the_norm():
    def huge_loss(model, batch):
        return 1e4 * mse_loss(model, batch)

    norms = {}
    for clip in (0.5, None):
        seed_everything(0)
        trainer = Trainer(Regressor(), quiet(epochs=1, grad_clip=clip), loss_fn=huge_loss,
                          train_data=regression_data(32))
        seen = norms[clip] = []

        def record_norm(opt, args, kwargs, _seen=seen, _model=trainer.model):
            _seen.append(torch.linalg.vector_norm(
                torch.stack([p.grad.norm() for p in _model.parameters()])).item())

        trainer.optimizer.register_step_pre_hook(record_norm)
        trainer.fit()
    assert max(norms[0.5]) <= 0.5 + 1e-4
    assert min(norms[None]) > 10  # without clipping the norms are large


# ---------------------------------------------------------------------------- accumulation
def test_gradient_accumulation_equals_the_larger_batch():
    data = regression_data(64)
    finals = []
    for batch_size, accum in ((8, 1), (4, 2)):
        seed_everything(3)
        trainer = Trainer(Regressor(), quiet(epochs=2, batch_size=batch_size, grad_accum_steps=accum,
                                             warmup_steps=2), loss_fn=mse_loss, train_data=data)
        assert trainer.steps_per_epoch == 8
        trainer.fit()
        finals.append(params(trainer.model))
    torch.testing.assert_close(finals[0], finals[1], rtol=0, atol=1e-6)


def test_accumulation_with_a_partial_last_group():
    trainer = Trainer(Regressor(), quiet(epochs=1, batch_size=4, grad_accum_steps=3),
                      loss_fn=mse_loss, train_data=regression_data(20))
    assert (trainer.micro_per_epoch, trainer.steps_per_epoch) == (5, 2)
    assert trainer.fit().steps == 2


# ---------------------------------------------------------------------------- early stopping
def test_early_stopping_keeps_the_best_epoch_weights():
    scores = iter([0.5, 0.7, 0.6, 0.65, 0.99, 0.99])
    snapshots = {}

    def scripted(model, data):
        snapshots[len(snapshots) + 1] = params(model).clone()
        return {"acc": next(scores)}

    config = quiet(epochs=6, monitor="acc", mode="max", patience=2)
    trainer = Trainer(Regressor(), config, loss_fn=mse_loss, train_data=regression_data(32),
                      valid_data=[0], evaluate_fn=scripted)
    result = trainer.fit()
    assert result.stop_reason == "early_stopping"
    assert (result.epochs_run, result.best_epoch, result.best_metric) == (4, 2, 0.7)
    assert [r["improved"] for r in result.history] == [True, True, False, False]
    assert torch.equal(params(trainer.model), snapshots[2])


def test_min_mode_and_min_delta():
    scores = iter([1.0, 0.95, 0.5])
    config = quiet(epochs=3, monitor="loss", mode="min", min_delta=0.1, patience=5)
    trainer = Trainer(Regressor(), config, loss_fn=mse_loss, train_data=regression_data(16),
                      valid_data=[0], evaluate_fn=lambda m, d: {"loss": next(scores)})
    result = trainer.fit()
    assert [r["improved"] for r in result.history] == [True, False, True]
    assert result.best_epoch == 3


def test_default_validation_metric_is_the_mean_loss():
    trainer = Trainer(Regressor(), quiet(epochs=1), loss_fn=mse_loss, train_data=regression_data(16),
                      valid_data=regression_data(12, seed=5))
    result = trainer.fit()
    expected = mse_loss(trainer.model, regression_data(12, seed=5).tensors).item()
    assert result.history[0]["valid_loss"] == pytest.approx(expected, rel=1e-5)


def test_unknown_monitor_is_a_clear_error():
    trainer = Trainer(Regressor(), quiet(epochs=1, monitor="ndcg"), loss_fn=mse_loss,
                      train_data=regression_data(16), valid_data=[0],
                      evaluate_fn=lambda m, d: {"acc": 1.0})
    with pytest.raises(ValueError, match=r"'ndcg' is not among the validation metrics \['acc'\]"):
        trainer.fit()


# ---------------------------------------------------------------------------- seeding
def test_seed_everything_seeds_python_numpy_and_torch():
    seed_everything(11)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(11)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    state = get_rng_state()
    drawn = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == drawn
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


def _loss_curve(seed: int) -> list[float]:
    seed_everything(seed)
    model = Classifier(dropout=0.1)
    trainer = Trainer(model, quiet(epochs=2, batch_size=16, seed=seed, log_every=1), loss_fn=ce_loss,
                      train_data=planted_data(64, seed=1))
    losses = []

    def recording_loss(model, batch):
        loss = ce_loss(model, batch)
        losses.append(loss.item())
        return loss

    trainer.loss_fn = recording_loss
    trainer.fit()
    return losses


def test_same_seed_same_loss_curve_different_seed_different():
    a, b, c = _loss_curve(5), _loss_curve(5), _loss_curve(6)
    assert len(a) == 8
    assert a == b  # bit for bit
    assert a != c


# ---------------------------------------------------------------------------- failures
def test_nan_loss_names_the_step_and_keeps_the_last_finite_checkpoint(tmp_path):
    calls = {"n": 0}

    def exploding(model, batch):
        calls["n"] += 1
        loss = mse_loss(model, batch)
        return loss * float("nan") if calls["n"] == 7 else loss

    model = Regressor()
    trainer = Trainer(model, quiet(epochs=3, batch_size=8, save_every=2), loss_fn=exploding,
                      train_data=regression_data(32), out_dir=tmp_path / "run")
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss \(nan\) at step 7 \(epoch 2") as info:
        trainer.fit()
    assert info.value.step == 7
    assert info.value.checkpoint is not None and info.value.checkpoint.name == "step-00000006"
    assert str(info.value.checkpoint) in str(info.value)
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the bad update never happened
    state = load_checkpoint(tmp_path / "run", Regressor())
    assert state["step"] == 6


def test_nonfinite_gradient_is_reported():
    def bad_grad(model, batch):  # value 0, gradient nan (sqrt at 0 times 0)
        out = model(batch[0])
        return torch.sqrt((out - out.detach()).pow(2).sum())

    trainer = Trainer(Regressor(), quiet(epochs=1), loss_fn=bad_grad, train_data=regression_data(16))
    with pytest.raises(NonFiniteLossError, match="non-finite gradient norm .* at step 1"):
        trainer.fit()


def test_loss_must_be_a_scalar_tensor():
    trainer = Trainer(Regressor(), quiet(epochs=1), loss_fn=lambda m, b: 1.0,
                      train_data=regression_data(16))
    with pytest.raises(TypeError, match="loss_fn: expected a scalar tensor"):
        trainer.fit()


def test_max_minutes_stops_cleanly_and_keeps_the_best_model(tmp_path):
    import time

    def slow_loss(model, batch):
        time.sleep(0.01)
        return mse_loss(model, batch)

    config = quiet(epochs=50, batch_size=8, max_minutes=1.0 / 60)
    trainer = Trainer(Regressor(), config, loss_fn=slow_loss, train_data=regression_data(32),
                      valid_data=regression_data(16, seed=1), out_dir=tmp_path / "run")
    start = time.monotonic()
    result = trainer.fit()
    assert time.monotonic() - start < 10
    assert result.stop_reason == "time_budget"
    assert 0 < result.steps < trainer.total_steps
    assert result.best_epoch is not None and result.best_epoch <= result.epochs_run
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["event"] == "final" and records[-1]["stop_reason"] == "time_budget"
    assert (tmp_path / "run" / "checkpoints" / "latest").is_file()
    assert records[-1]["best_epoch"] == result.best_epoch


# ---------------------------------------------------------------------------- logging and plumbing
def test_metrics_jsonl_and_summary_lines(tmp_path, capsys):
    config = quiet(epochs=2, verbose=True, monitor="acc", mode="max")
    trainer = Trainer(Classifier(), config, loss_fn=ce_loss, train_data=planted_data(32, 1),
                      valid_data=planted_data(16, 2), evaluate_fn=evaluate, out_dir=tmp_path / "run",
                      task_config={"task": "planted"})
    trainer.fit()
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["event"] for r in records] == ["epoch", "epoch", "final"]
    assert {"epoch", "step", "train_loss", "lr", "valid_acc", "valid_loss", "elapsed_s",
            "examples_per_s"} <= set(records[0])
    printed = capsys.readouterr().out.splitlines()
    summary = [line for line in printed if line.startswith("epoch ")]
    assert len(summary) == 2 and "valid_acc" in summary[0] and "ex/s" in summary[0]
    saved = json.loads((tmp_path / "run" / "train_config.json").read_text())
    assert saved["train"]["epochs"] == 2 and saved["task"] == {"task": "planted"}
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_progress_is_off_in_ci_and_when_not_a_terminal(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert progress_enabled(None) is False
    assert progress_enabled(True) is True
    monkeypatch.delenv("CI")
    assert progress_enabled(None) is False  # pytest captures stderr: not a terminal


def test_move_to_device_handles_nested_batches():
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    batch = {"x": torch.ones(2), "rest": [Pair(torch.zeros(1), "label"), (torch.ones(1),)], "n": 3}
    moved = move_to_device(batch, "cpu")
    assert isinstance(moved["rest"][0], Pair) and moved["rest"][0].b == "label"
    assert moved["n"] == 3 and torch.equal(moved["x"], batch["x"])


@pytest.mark.parametrize("overrides, message", [
    (dict(epochs=0), "epochs"), (dict(lr=-1.0), "lr"), (dict(mode="best"), "mode"),
    (dict(device="tpu"), "device"), (dict(grad_accum_steps=0), "grad_accum_steps"),
    (dict(max_minutes=0), "max_minutes"), (dict(patience=0), "patience"),
])
def test_train_config_rejects_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**overrides)


def test_train_config_round_trip_rejects_unknown_keys():
    config = TrainConfig(epochs=3)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown setting"):
        TrainConfig.from_dict({"epoch": 3})


def test_trainer_rejects_iterable_datasets_and_empty_data():
    with pytest.raises(TypeError, match="map-style"):
        Trainer(Regressor(), quiet(), loss_fn=mse_loss, train_data=iter([1, 2]))
    with pytest.raises(ValueError, match="empty"):
        Trainer(Regressor(), quiet(), loss_fn=mse_loss, train_data=[])


def test_history_records_are_finite_numbers():
    result = Trainer(Regressor(), quiet(epochs=2), loss_fn=mse_loss, train_data=regression_data(16)).fit()
    assert result.best_epoch == 2 and result.best_metric is None and result.stop_reason == "completed"
    assert all(math.isfinite(r["train_loss"]) for r in result.history)
    assert json.loads(json.dumps(result.to_dict()))["steps"] == 4


@pytest.mark.exercise("6.1")
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    """Our global-norm clipping returns the same norm and leaves the same gradients as torch's."""
    from minitransformer.training.step import clip_grad_norm

    torch.manual_seed(0)
    ours, theirs = nn.Linear(4, 3), nn.Linear(4, 3)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 4)
    for model in (ours, theirs):
        model(x).pow(2).sum().backward()
    norm = clip_grad_norm(ours.parameters(), max_norm)
    expected = nn.utils.clip_grad_norm_(theirs.parameters(), max_norm)
    torch.testing.assert_close(norm, expected)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(a.grad, b.grad)
    clipped = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in ours.parameters()]))
    assert clipped <= max_norm * (1 + 1e-5) or torch.isclose(clipped, norm)


@pytest.mark.exercise("6.1")
def test_clip_grad_norm_refuses_nonfinite_gradients():
    """A NaN gradient raises NonFiniteGradientError and leaves the gradients untouched."""
    from minitransformer.training.step import NonFiniteGradientError, clip_grad_norm

    model = nn.Linear(2, 1)
    model(torch.ones(1, 2)).sum().backward()
    model.weight.grad[0, 0] = float("nan")
    bias_grad = model.bias.grad.clone()
    with pytest.raises(NonFiniteGradientError, match="nan"):
        clip_grad_norm(model.parameters(), 1.0)
    torch.testing.assert_close(model.bias.grad, bias_grad)
