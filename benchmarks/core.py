"""Speed of our hand-written Encoder against nn.TransformerEncoder holding the same weights.

For each size (batch, seq, d_model, heads, ffn) we time, in one process with the same number of
threads, the median of repeated runs after warm-up:

* a training step: forward + backward + AdamW step (train mode, dropout 0.1);
* inference: eval mode under ``torch.no_grad()``.

Ours is run with the default hand-written attention and with ``attention_backend="sdpa"``.
Ratios are ours / torch (lower is better). The CPU allocator keeps no peak counter, so the peak
memory of the largest training step is replayed from ``torch.profiler``'s allocation events.

Usage:  python benchmarks/core.py [--quick] [--threads 2] [--layers 2] [--write]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import torch
from torch import nn

from minitransformer import set_attention_backend
from minitransformer.interop import from_torch

SIZES = [(128, 50, 64, 2, 256), (64, 200, 128, 4, 512), (32, 512, 256, 8, 1024)]
TARGETS = {"manual": (1.3, 1.8), "sdpa": (1.05, 1.1)}


def _torch_encoder(d_model, nhead, ffn, layers, norm_first=True):
    layer = nn.TransformerEncoderLayer(d_model, nhead, ffn, dropout=0.1, batch_first=True,
                                       norm_first=norm_first)
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model) if norm_first else None,
                                 enable_nested_tensor=False)


def _ours(reference: nn.Module, backend: str) -> nn.Module:
    return set_attention_backend(from_torch(reference), backend)


def _train_step_fn(model, x):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        model(x).square().mean().backward()
        optimizer.step()

    return step


def _infer_fn(model, x):
    def step():
        model.eval()
        with torch.no_grad():
            model(x)

    return step


def _median_time(step, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _interleaved(steps: dict, repeats: int) -> dict:
    """Time several candidates in alternation so machine noise hits them alike."""
    for step in steps.values():
        step(), step()  # warm-up
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _peak_memory(step) -> int:
    """Peak bytes allocated by torch's CPU allocator during ``step`` (profiler accounting)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    current = peak = 0
    # Self usage only: a parent op's total would count its children's allocations twice.
    events = [e for e in prof.events() if e.self_cpu_memory_usage]
    for event in sorted(events, key=lambda e: e.time_range.start):
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def run(quick: bool = False, threads: int = 2, layers: int = 2) -> list[dict]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rows = []
    sizes = [(b // 4, s, d, h, f) for b, s, d, h, f in SIZES[:2]] if quick else SIZES
    for batch, seq, d_model, nhead, ffn in sizes:
        reference = _torch_encoder(d_model, nhead, ffn, layers)
        models = {"torch": reference, "manual": _ours(reference, "manual"),
                  "sdpa": _ours(reference, "sdpa")}
        x = torch.randn(batch, seq, d_model)
        repeats = 3 if quick else (5 if seq >= 512 else 10)
        train = _interleaved({k: _train_step_fn(m, x) for k, m in models.items()}, repeats)
        infer = _interleaved({k: _infer_fn(m, x) for k, m in models.items()}, repeats)
        row = {"size": (batch, seq, d_model, nhead, ffn), "train": train, "infer": infer}
        if not quick and seq >= 512:
            row["memory"] = {k: _peak_memory(_train_step_fn(m, x)) for k, m in models.items()}
        rows.append(row)
        print(_format_row(row), file=sys.stderr, flush=True)
    return rows


def _format_row(row: dict) -> str:
    t, i = row["train"], row["infer"]
    parts = [f"size={row['size']}",
             f"train torch {t['torch'] * 1e3:.1f} ms, manual {t['manual'] / t['torch']:.2f}x, "
             f"sdpa {t['sdpa'] / t['torch']:.2f}x",
             f"infer torch {i['torch'] * 1e3:.1f} ms, manual {i['manual'] / i['torch']:.2f}x, "
             f"sdpa {i['sdpa'] / i['torch']:.2f}x"]
    if "memory" in row:
        m = row["memory"]
        parts.append(f"peak mem torch {m['torch'] / 2**20:.0f} MiB, sdpa {m['sdpa'] / m['torch']:.2f}x, "
                     f"manual {m['manual'] / m['torch']:.2f}x")
    return " | ".join(parts)


def _verdict(rows: list[dict]) -> str:
    """``**met** at every size``, or the (size, path, mode) ratios over their target."""
    missed = [f"{kind} {mode} {row[mode][kind] / row[mode]['torch']:.2f}× at {row['size']}"
              for row in rows for kind, limits in TARGETS.items()
              for mode, limit in zip(("train", "infer"), limits)
              if row[mode][kind] / row[mode]["torch"] > limit]
    return "**met** at every size" if not missed else "**not met**: " + "; ".join(missed)


def markdown(rows: list[dict], threads: int, layers: int) -> str:
    lines = [
        f"Encoder speed, ours / `nn.TransformerEncoder` with the same weights ({layers} pre-norm "
        f"layers, {threads} threads, torch {torch.__version__}, {platform.machine()}).",
        f"Targets: manual ≤ 1.3× (train) and ≤ 1.8× (inference); sdpa ≤ 1.05× and ≤ 1.1×: {_verdict(rows)}.",
        "",
        "| (B, T, D, H, F) | torch train ms | manual train | sdpa train | torch infer ms "
        "| manual infer | sdpa infer | peak mem sdpa / torch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        t, i = row["train"], row["infer"]
        mem = row.get("memory")
        mem_text = f"{mem['sdpa'] / mem['torch']:.2f}×" if mem else "–"
        lines.append(
            f"| {row['size']} | {t['torch'] * 1e3:.1f} | {t['manual'] / t['torch']:.2f}× "
            f"| {t['sdpa'] / t['torch']:.2f}× | {i['torch'] * 1e3:.1f} | {i['manual'] / i['torch']:.2f}× "
            f"| {i['sdpa'] / i['torch']:.2f}× | {mem_text} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args(argv)
    rows = run(args.quick, args.threads, args.layers)
    print(markdown(rows, args.threads, args.layers))


if __name__ == "__main__":
    main()
