"""DistributedDataParallel: 2 CPU processes (gloo, loopback) equal one process with the same global batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn

from minitransformer.training import dist_info, init_distributed, unwrap_model
from minitransformer.training.distributed import all_reduce_sum, gather_objects

SCRIPT = r'''
import json, sys
import torch
from torch import nn
from torch.utils.data import TensorDataset
from minitransformer.training import TrainConfig, Trainer, dist_info, seed_everything

torch.set_num_threads(1)


def run(out, batch_size, result_file):
    seed_everything(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 6, generator=g)
    y = x[:, :3].sum(-1).sin()
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))

    def loss_fn(m, batch):
        return nn.functional.mse_loss(m(batch[0]).squeeze(-1), batch[1])

    def evaluate_fn(m, data):
        xs, ys = data.tensors
        return {"mse": nn.functional.mse_loss(m(xs).squeeze(-1), ys).item()}

    config = TrainConfig(epochs=3, batch_size=batch_size, lr=1e-2, warmup_steps=2, device="cpu",
                         progress=False, verbose=False, monitor="mse", seed=0)
    trainer = Trainer(model, config, loss_fn=loss_fn, train_data=TensorDataset(x, y),
                      valid_data=TensorDataset(x[:16], y[:16]), evaluate_fn=evaluate_fn, out_dir=out)
    result = trainer.fit()
    info = dist_info()
    with open(f"{result_file}.rank{info.rank}.json", "w") as handle:
        json.dump({"rank": info.rank, "world_size": info.world_size, "steps": result.steps,
                   "params": torch.cat([p.detach().flatten() for p in model.parameters()]).tolist(),
                   "losses": [r["train_loss"] for r in result.history],
                   "valid": [r["valid_mse"] for r in result.history],
                   "lr": trainer.optimizer.param_groups[0]["lr"]}, handle)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3])
'''


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_single_process_helpers():
    assert dist_info().world_size == 1 and dist_info().is_main and not dist_info().enabled
    assert init_distributed().world_size == 1  # no WORLD_SIZE in the environment: nothing to do
    values = torch.tensor([1.0, 2.0])
    assert torch.equal(all_reduce_sum(values), torch.tensor([1.0, 2.0]))
    assert gather_objects({"a": 1}) == [{"a": 1}]
    layer = nn.Linear(2, 2)
    assert unwrap_model(layer) is layer and unwrap_model(nn.DataParallel(layer)) is layer


@pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()), reason="needs gloo")
def test_two_gloo_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    script = tmp_path / "ddp_script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo"),
           "OMP_NUM_THREADS": "1"}
    if not Path("/sys/class/net/lo").exists():  # not Linux: let gloo pick the interface
        env.pop("GLOO_SOCKET_IFNAME")
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
               str(script), str(tmp_path / "ddp"), "4", str(tmp_path / "ddp-result")]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:  # the same script in this process: world size 1, batch 8 = 2 ranks x 4
        namespace: dict = {"__name__": "ddp_single"}
        exec(compile(SCRIPT, str(script), "exec"), namespace)
        namespace["run"](str(tmp_path / "single"), 8, str(tmp_path / "single-result"))
    finally:
        torch.set_num_threads(before)

    single = json.loads((tmp_path / "single-result.rank0.json").read_text())
    ranks = [json.loads((tmp_path / f"ddp-result.rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2] and single["world_size"] == 1
    assert ranks[0]["params"] == ranks[1]["params"]  # every replica took the same steps
    for ddp in ranks:
        assert ddp["steps"] == single["steps"] == 24
        assert ddp["lr"] == pytest.approx(single["lr"], rel=1e-12)
        torch.testing.assert_close(torch.tensor(ddp["params"]), torch.tensor(single["params"]),
                                   rtol=0, atol=1e-5)
        assert ddp["losses"] == pytest.approx(single["losses"], abs=1e-5)
        assert ddp["valid"] == pytest.approx(single["valid"], abs=1e-5)
    # only rank 0 wrote: one metrics line per epoch, one checkpoint, RNG states of both ranks in it
    records = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["epoch"] * 3 + ["final"]
    state = torch.load(tmp_path / "ddp" / "checkpoints" / "step-00000024" / "train_state.pt",
                       weights_only=True)
    assert state["world_size"] == 2 and len(state["rng"]) == 2
