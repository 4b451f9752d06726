"""Speed of generation with and without the KV cache.

Generates ``--tokens`` (64) new tokens for a batch of ``--batch`` (16) with greedy decoding, for
two untrained models of the same size (d_model 128, 4 heads, feed-forward 512, vocabulary 1000):

* the encoder–decoder ``Transformer`` (2 + 2 layers) from a source of 32 tokens;
* the decoder-only ``CausalLM`` (2 layers) from a prefix of 16 tokens.

"cached" feeds one new token per step and keeps keys/values in the cache; "recompute" runs the
decoder over the whole prefix at every step (``use_cache=False``). Both produce the same tokens
(checked). ``min_new_tokens`` is set to the token count so every row generates all of them. Times
are the median of 3 runs (1 with ``--quick``) after a short warm-up, with
``torch.set_num_threads(--threads)``.

Target: cached decoding at least 3× faster than recomputing the prefix.

Usage: python benchmarks/generation.py [--quick] [--threads 2] [--tokens 64] [--batch 16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from minitransformer import Transformer
from minitransformer.generation import generate
from minitransformer.nn.language_model import CausalLM

VOCAB, D_MODEL, NHEAD, FFN, LAYERS = 1000, 128, 4, 512, 2
SRC_LEN, PREFIX_LEN = 32, 16
TARGET_SPEEDUP = 3.0


def _models() -> dict[str, tuple[torch.nn.Module, dict]]:
    torch.manual_seed(0)
    seq2seq = Transformer(VOCAB, VOCAB, D_MODEL, NHEAD, LAYERS, LAYERS, FFN, max_len=256).eval()
    lm = CausalLM(VOCAB, D_MODEL, NHEAD, LAYERS, FFN, max_len=256).eval()
    return {"encoder–decoder Transformer (2+2 layers)": (seq2seq, {"src": SRC_LEN}),
            "decoder-only CausalLM (2 layers)": (lm, {"input_ids": PREFIX_LEN})}


def _time(fn, repeats: int) -> tuple[float, torch.Tensor]:
    fn(warm_up=True)  # a few steps, to get allocations and lazy initialisation out of the way
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run(batch: int = 16, tokens: int = 64, repeats: int = 3, threads: int = 2) -> dict[str, dict]:
    torch.set_num_threads(threads)
    results = {}
    for name, (model, spec) in _models().items():
        generator = torch.Generator().manual_seed(1)
        (arg, length), = spec.items()
        inputs = {arg: torch.randint(7, VOCAB, (batch, length), generator=generator)}

        def decode(use_cache: bool, warm_up: bool = False, model=model, inputs=inputs):
            n = 4 if warm_up else tokens
            return generate(model, **inputs, max_new_tokens=n, min_new_tokens=n, use_cache=use_cache)

        cached_s, cached = _time(lambda warm_up=False: decode(True, warm_up), repeats)
        uncached_s, uncached = _time(lambda warm_up=False: decode(False, warm_up), repeats)
        if not torch.equal(cached, uncached):
            raise AssertionError(f"{name}: cached and uncached decoding disagree")
        results[name] = {"cached_s": cached_s, "uncached_s": uncached_s,
                         "speedup": uncached_s / cached_s,
                         "tokens_per_s": batch * tokens / cached_s,
                         "generated": cached.size(1) - (length if arg == "input_ids" else 1)}
    return results


def markdown(results: dict[str, dict], batch: int, tokens: int, threads: int) -> str:
    lines = [f"Greedy generation of {tokens} tokens for a batch of {batch} "
             f"(d_model {D_MODEL}, {threads} threads, median time):", "",
             "| model | cached | recompute prefix | speed-up | cached tokens/s |",
             "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        ok = "" if r["speedup"] >= TARGET_SPEEDUP else f" (below the {TARGET_SPEEDUP:.0f}× target)"
        lines.append(f"| {name} | {r['cached_s']:.3f} s | {r['uncached_s']:.3f} s | "
                     f"{r['speedup']:.1f}×{ok} | {r['tokens_per_s']:.0f} |")
    met = all(r["speedup"] >= TARGET_SPEEDUP for r in results.values())
    lines += ["", f"Target: the KV cache at least {TARGET_SPEEDUP:.0f}× faster than recomputing the prefix: "
              f"{'**met**' if met else '**not met**'}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timed run instead of three")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args(argv)
    results = run(args.batch, args.tokens, 1 if args.quick else 3, args.threads)
    print(markdown(results, args.batch, args.tokens, args.threads))
    return results


if __name__ == "__main__":
    main()
