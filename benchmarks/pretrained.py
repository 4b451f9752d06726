"""A GPT-2-sized checkpoint in our code: load time, and generation speed beside ``transformers``.

Builds a random checkpoint of GPT-2 small's size with the ``transformers`` library (12 layers,
768 dimensions, 12 heads, 1,024 positions, 50,257 tokens: 124,439,808 parameters), saves it as
the hub stores GPT-2 (``config.json``, ``model.safetensors``, ``vocab.json`` and ``merges.txt`` with
50,000 made-up merges over the 256 byte tokens), then measures:

* **load**: :func:`minitransformer.interop.from_hf` on the folder (config, weights, tokenizer),
  median of ``--repeats`` loads; ``AutoModelForCausalLM.from_pretrained`` beside it;
* **generate**: ``--tokens`` (64) new tokens, greedy with the KV cache, batch 1, from a
  16-token prompt: our :func:`~minitransformer.generation.generate` on the loaded ``CausalLM``
  (hand-written attention and layer norm, and with ``set_attention_backend(model, "sdpa")``) and
  ``transformers``' own ``model.generate`` on the same weights, taking turns; median of
  ``--repeats`` runs of each after a warm-up; the generated tokens are compared.

Targets: load under 10 s; our generation within 1.5x of ``transformers``' time.

Needs ``transformers`` and ``tokenizers`` (the ``dev`` extra). It is heavy (two 0.5 GB models):
run it alone. Usage: python benchmarks/pretrained.py [--quick] [--threads 2] [--tokens 64]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from minitransformer.generation import generate
from minitransformer.interop import from_hf
from minitransformer.nn.backend import set_attention_backend
from minitransformer.tokenizers.gpt2 import byte_to_char

TARGET_LOAD_S = 10.0
TARGET_RATIO = 1.5
PROMPT_LEN = 16


def _unshadow_tokenizers_library() -> None:
    """``benchmarks/tokenizers.py`` (the benchmark of our tokenizers) has the name of the
    ``tokenizers`` library that ``transformers`` imports: take this folder off the import path,
    and forget that module if ``run_all.py`` has imported it, before ``transformers`` is loaded."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    module = sys.modules.get("tokenizers")
    if module is not None and Path(getattr(module, "__file__", "") or "").resolve().parent == here:
        del sys.modules["tokenizers"]


def write_checkpoint(folder: Path, layers: int, merges: int = 50_000, seed: int = 0) -> int:
    """A random GPT-2 (``layers`` layers, GPT-2 small otherwise) with GPT-2's file layout; returns
    its parameter count."""
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    logging.disable_progress_bar()
    rng = random.Random(seed)
    tokens = [byte_to_char()[b] for b in range(256)]
    known, lines = set(tokens), ["#version: 0.2"]
    while len(lines) <= merges:  # made-up merges of existing tokens, in rank order
        left, right = rng.choice(tokens), rng.choice(tokens)
        if left + right not in known and len(left + right) <= 16:
            known.add(left + right)
            tokens.append(left + right)
            lines.append(f"{left} {right}")
    vocab = {token: i for i, token in enumerate(tokens)}
    vocab["<|endoftext|>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(vocab), n_layer=layers)).eval()
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def _median_time(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run(layers: int = 12, tokens: int = 64, repeats: int = 5, threads: int = 2) -> dict:
    _unshadow_tokenizers_library()
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(threads)
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="gpt2-bench-") as tmp:
        folder = Path(tmp) / "gpt2"
        parameters = write_checkpoint(folder, layers)
        load_s, (model, tokenizer) = _median_time(lambda: from_hf(folder), repeats)
        hf_load_s, reference = _median_time(lambda: AutoModelForCausalLM.from_pretrained(folder).eval(),
                                            repeats)
    prompt = torch.randint(0, 50_000, (1, PROMPT_LEN), generator=torch.Generator().manual_seed(1))
    eos = tokenizer.eos_id

    def ours(backend: str, n: int = tokens):
        set_attention_backend(model, backend)
        return generate(model, input_ids=prompt, max_new_tokens=n, min_new_tokens=n)

    @torch.no_grad()
    def theirs(n: int = tokens):
        return reference.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n,
                                  min_new_tokens=n, do_sample=False, pad_token_id=eos)

    contenders = {"ours": lambda **kw: ours("manual", **kw), "sdpa": lambda **kw: ours("sdpa", **kw),
                  "theirs": theirs}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    outputs = {}
    for fn in contenders.values():
        fn(n=4)  # warm-up
    for _ in range(repeats):  # taking turns, so that a busy moment of the machine hits all three
        for name, fn in contenders.items():
            start = time.perf_counter()
            outputs[name] = fn()
            times[name].append(time.perf_counter() - start)
    ours_s, sdpa_s, theirs_s = (statistics.median(times[name]) for name in ("ours", "sdpa", "theirs"))
    ours_out, sdpa_out, theirs_out = (outputs[name] for name in ("ours", "sdpa", "theirs"))
    return {"parameters": parameters, "layers": layers, "tokens": tokens, "threads": threads,
            "load_average": load_average,
            "load_s": load_s, "hf_load_s": hf_load_s, "ours_s": ours_s, "sdpa_s": sdpa_s,
            "theirs_s": theirs_s, "same_tokens": ours_out.tolist() == theirs_out.tolist(),
            "same_tokens_sdpa": sdpa_out.tolist() == theirs_out.tolist()}


def markdown(r: dict) -> str:
    def verdict(ok: bool) -> str:
        return "yes" if ok else "**no**"

    per_token = r["tokens"] / 1000
    size = "; the size of GPT-2 small" if r["layers"] == 12 else ""
    lines = [f"A random GPT-2 with {r['layers']} layers ({r['parameters']:,} parameters{size}), saved as the "
             f"hub stores it; {r['threads']} threads, median of the timed runs; load average "
             f"{r['load_average']:.1f} at the start.", "",
             "| measure | ours | transformers | ratio | target | met |", "|---|---:|---:|---:|---|---|",
             f"| load the folder (`from_hf`) | {r['load_s']:.2f} s | {r['hf_load_s']:.2f} s | "
             f"{r['load_s'] / r['hf_load_s']:.2f} | < {TARGET_LOAD_S:.0f} s | "
             f"{verdict(r['load_s'] < TARGET_LOAD_S)} |",
             f"| {r['tokens']} tokens, greedy, KV cache (hand-written kernels) | {r['ours_s']:.2f} s "
             f"({r['ours_s'] / per_token:.0f} ms/token) | {r['theirs_s']:.2f} s "
             f"({r['theirs_s'] / per_token:.0f} ms/token) | {r['ours_s'] / r['theirs_s']:.2f} | "
             f"≤ {TARGET_RATIO}x | {verdict(r['ours_s'] / r['theirs_s'] <= TARGET_RATIO)} |",
             f"| the same, `set_attention_backend(model, \"sdpa\")` | {r['sdpa_s']:.2f} s "
             f"({r['sdpa_s'] / per_token:.0f} ms/token) | {r['theirs_s']:.2f} s | "
             f"{r['sdpa_s'] / r['theirs_s']:.2f} | ≤ {TARGET_RATIO}x | "
             f"{verdict(r['sdpa_s'] / r['theirs_s'] <= TARGET_RATIO)} |", "",
             f"Generated tokens identical to `transformers`' greedy output: "
             f"{'yes' if r['same_tokens'] else 'no'} (hand-written), "
             f"{'yes' if r['same_tokens_sdpa'] else 'no'} (sdpa). `from_hf` builds the model and copies "
             "every tensor into it; `transformers` takes its tensors from a memory map of the file (pages "
             "are read when first used), hence its near-zero load time on a file already in the page cache."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 layers, 16 tokens, one timed run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.quick:
        result = run(layers=2, tokens=16, repeats=1, threads=args.threads)
    else:
        result = run(tokens=args.tokens, repeats=args.repeats, threads=args.threads)
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
