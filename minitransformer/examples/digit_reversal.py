"""A built-in sequence-to-sequence task that shows the encoder–decoder learning: reversing digits.

    source  "20381"   ->   target  "18302"

Why this task? It is tiny (a 17-token vocabulary, seconds to generate any amount of data), its
answer is exactly checkable, and it cannot be solved token by token: output position t must copy
source position L − 1 − t, so the decoder has to *find* the right source token through
cross-attention, using the positional encodings of both sides. A model that has not learned
alignment gets close to 0 % exact match; a small ``Transformer`` (d_model 64, 2 + 2 layers) gets
≥ 99 % on held-out strings within a couple of CPU minutes.

The pieces, each usable on its own:

* :func:`make_examples` — seeded ``(source, target)`` string pairs;
* :func:`make_tokenizer` — a :class:`~minitransformer.tokenizers.CharTokenizer` over the digits;
* :func:`collate` — examples to tensors: ``src (B, S)``, ``tgt_in = <bos> y (B, T)``,
  ``tgt_out = y <eos> (B, T)`` (teacher forcing: the decoder reads the target shifted right);
* :func:`seq2seq_loss` — ``loss_fn(model, batch)``: cross-entropy over ``tgt_out`` ignoring pad;
* :func:`train_seq2seq` — all of the above with the shared
  :class:`~minitransformer.training.Trainer`, then the held-out exact match;
* :func:`predict` / :func:`evaluate_exact_match` — decoding with
  :func:`~minitransformer.generation.generate` (greedy or beam);
* :func:`run_demo` — prints the loss falling, the accuracy and a few predictions
  (``python -m minitransformer.examples.digit_reversal [--quick]``).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from minitransformer.generation import generate
from minitransformer.nn.transformer import Transformer
from minitransformer.tokenizers import CharTokenizer
from minitransformer.training.seq2seq import build_model, collate, seq2seq_loss

__all__ = ["ALPHABET", "make_examples", "make_tokenizer", "build_model", "collate", "seq2seq_loss",
           "train_seq2seq", "predict", "evaluate_exact_match", "run_demo",
           "FULL_SETTINGS", "QUICK_SETTINGS"]

ALPHABET = "0123456789"
Example = tuple[str, str]

# The demo's two settings. "full": ≥ 99 % exact match on held-out strings of 3–10 digits in well
# under 2 minutes on 2 CPU cores; "quick": 3–6 digits, for tests and `--quick`. Strings shorter than
# 3 digits are left out: there are so few of them (110) that a held-out set would take them all.
FULL_SETTINGS: dict[str, Any] = dict(steps=600, epochs=4, batch_size=128, min_len=3, max_len=10,
                                     lr=2e-3, warmup_steps=100, d_model=64, nhead=4, num_layers=2,
                                     dim_feedforward=256)
QUICK_SETTINGS: dict[str, Any] = dict(steps=400, epochs=4, batch_size=64, min_len=3, max_len=6,
                                      lr=2e-3, warmup_steps=50, d_model=64, nhead=4, num_layers=2,
                                      dim_feedforward=128)


# --------------------------------------------------------------------------- data
def make_examples(n: int, seed: int = 0, min_len: int = 1, max_len: int = 10,
                  alphabet: str = ALPHABET, exclude: Iterable[str] = ()) -> list[Example]:
    """``n`` pairs ``(s, reversed(s))`` of random strings over ``alphabet``, lengths uniform in
    ``[min_len, max_len]``. Deterministic for a given ``seed``; sources in ``exclude`` are
    skipped (to keep a held-out set out of the training data)."""
    if not 1 <= min_len <= max_len:
        raise ValueError(f"min_len/max_len: expected 1 <= min_len <= max_len, got {min_len}, {max_len}")
    exclude = set(exclude)
    rng = random.Random(seed)
    examples: list[Example] = []
    attempts = 0
    while len(examples) < n:
        attempts += 1
        if attempts > 1000 * (n + 10):
            raise ValueError("exclude: (almost) every possible source string is excluded")
        length = rng.randint(min_len, max_len)
        source = "".join(rng.choice(alphabet) for _ in range(length))
        if source not in exclude:
            examples.append((source, source[::-1]))
    return examples


def make_tokenizer(alphabet: str = ALPHABET) -> CharTokenizer:
    """A character tokenizer: ids 0–6 are the specials (pad, bos, eos, ...), then ``alphabet``."""
    return CharTokenizer(list(alphabet))


# --------------------------------------------------------------------------- training
def train_seq2seq(steps: int | None = None, seed: int = 0, device: str | torch.device = "cpu",
                  max_minutes: float | None = 2.0, progress: bool = True, *, quick: bool = False,
                  eval_size: int = 1000, **overrides) -> tuple[Transformer, CharTokenizer, dict]:
    """Train a small encoder–decoder to reverse digit strings; return ``(model, tokenizer, metrics)``.

    The loop is the shared :class:`~minitransformer.training.Trainer` (AdamW, linear warm-up +
    cosine decay, gradient clipping, a time budget), with :func:`seq2seq_loss` as its
    ``loss_fn`` and :func:`collate` as its ``collate_fn``. The training set holds
    ``steps / epochs`` batches of examples, seen ``epochs`` times; after every epoch the loss on
    a small validation set is measured and the best weights are kept.

    Args:
        steps: optimizer steps (default from the setting: 600 full, 400 quick).
        seed: seeds the weights, the data and the data order.
        device: where to train (``"cpu"``, ``"cuda"``, ...).
        max_minutes: time budget of the training loop (``None``: no limit).
        progress: print one line per epoch (train loss, validation loss, time).
        quick: use :data:`QUICK_SETTINGS` (strings of 3–6 digits) instead of
            :data:`FULL_SETTINGS` (3–10 digits).
        eval_size: held-out test examples (their sources never occur in the training data).
        **overrides: any key of the settings (``batch_size``, ``lr``, ``epochs``, ``d_model``...).

    ``metrics``: ``losses`` [(step, mean train loss of the epoch)], ``valid_losses``, ``steps``,
    ``train_seconds``, ``stop_reason``, ``exact_match`` (greedy, held-out), ``eval_size`` and
    the ``settings`` used.
    """
    settings = _settings(quick, steps, overrides)
    torch.manual_seed(seed)
    tokenizer = make_tokenizer()
    train, valid, held_out = _datasets(settings, seed, eval_size)
    model = build_model(tokenizer, settings["d_model"], settings["nhead"], settings["num_layers"],
                        settings["dim_feedforward"], max_len=settings["max_len"] + 2)
    result = _fit(model, tokenizer, train, valid, settings, seed, device, max_minutes, progress)
    model = model.eval()  # with the weights of the best validation epoch
    accuracy = evaluate_exact_match(model, tokenizer, held_out)
    metrics = {"losses": [(r["step"], r["train_loss"]) for r in result.history],
               "valid_losses": [(r["step"], r["valid_loss"]) for r in result.history],
               "steps": result.steps, "train_seconds": result.elapsed_s,
               "stop_reason": result.stop_reason, "exact_match": accuracy,
               "eval_size": len(held_out), "settings": settings}
    return model, tokenizer, metrics


def _settings(quick: bool, steps: int | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """:data:`QUICK_SETTINGS` or :data:`FULL_SETTINGS` with ``overrides`` (known keys only) and ``steps``."""
    settings = dict(QUICK_SETTINGS if quick else FULL_SETTINGS)
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ValueError(f"overrides: unknown setting(s) {unknown}; known: {sorted(settings)}")
    settings.update(overrides)
    if steps is not None:
        settings["steps"] = steps
    return settings


def _datasets(settings: dict[str, Any], seed: int, eval_size: int) -> tuple[list[Example], ...]:
    """``(train, valid, held_out)``: no training source occurs in the other two.

    The training set holds ``⌈steps / epochs⌉ · batch_size`` examples, so that ``epochs`` passes
    over it make ``steps`` optimizer steps; 200 validation examples pick the best epoch.
    """
    lengths = {"min_len": settings["min_len"], "max_len": settings["max_len"]}
    held_out = make_examples(eval_size, seed=seed + 1, **lengths)  # the test set
    valid = make_examples(200, seed=seed + 2, **lengths)  # picks the best epoch
    unseen = {s for s, _ in held_out + valid}
    steps_per_epoch = math.ceil(settings["steps"] / settings["epochs"])
    train = make_examples(steps_per_epoch * settings["batch_size"], seed=seed, exclude=unseen, **lengths)
    return train, valid, held_out


def _fit(model: Transformer, tokenizer: CharTokenizer, train: list[Example], valid: list[Example],
         settings: dict[str, Any], seed: int, device: str | torch.device, max_minutes: float | None,
         progress: bool):
    """Train ``model`` with the shared :class:`~minitransformer.training.Trainer`; its
    :class:`~minitransformer.training.FitResult`. The model ends with its best validation weights."""
    from minitransformer.training import TrainConfig, Trainer  # the shared training engine

    config = TrainConfig(epochs=settings["epochs"], batch_size=settings["batch_size"],
                         lr=settings["lr"], warmup_steps=settings["warmup_steps"], min_lr_ratio=0.1,
                         grad_clip=1.0, max_minutes=max_minutes, seed=seed, device=str(device),
                         log_every=0, progress=False, verbose=progress)
    trainer = Trainer(model, config, loss_fn=seq2seq_loss, train_data=train, valid_data=valid,
                      collate_fn=functools.partial(collate, tokenizer=tokenizer))
    return trainer.fit()


# --------------------------------------------------------------------------- decoding and scoring
def predict(model: Transformer, tokenizer: CharTokenizer, sources: Sequence[str],
            strategy: str = "greedy", batch_size: int = 500, **generate_kwargs) -> list[str]:
    """Decode each source string with :func:`~minitransformer.generation.generate`."""
    device = next(model.parameters()).device
    predictions: list[str] = []
    for i in range(0, len(sources), batch_size):
        chunk = list(sources[i : i + batch_size])
        src = tokenizer.encode_batch(chunk).ids.to(device)  # (B, S), right-padded
        longest = max(len(s) for s in chunk)
        max_new = min(longest + 2, model.config.max_len - 1)  # the answer, <eos>, one spare
        out = generate(model, src=src, max_new_tokens=max_new, strategy=strategy,
                       **generate_kwargs)  # (B, T): <bos> y … <eos> <pad> …
        predictions.extend(tokenizer.decode_batch(out.cpu()))  # special tokens dropped
    return predictions


def evaluate_exact_match(model: Transformer, tokenizer: CharTokenizer, examples: Sequence[Example],
                         strategy: str = "greedy", **generate_kwargs) -> float:
    """The fraction of ``examples`` whose decoded output equals the target exactly."""
    if not examples:
        raise ValueError("examples: empty; nothing to evaluate")
    predictions = predict(model, tokenizer, [s for s, _ in examples], strategy, **generate_kwargs)
    return sum(p == t for p, (_, t) in zip(predictions, examples, strict=True)) / len(examples)


# --------------------------------------------------------------------------- the demo
def run_demo(quick: bool = False, seed: int = 0, out: str | Path | None = None,
             device: str = "cpu", max_minutes: float | None = 2.0,
             threads: int | None = 1) -> dict[str, Any]:
    """Train on the reversal task, printing the falling loss, the held-out exact match and a few
    predictions (greedy and beam search). Returns the metrics.

    ``out``: a directory to save the model (``save_pretrained``), the tokenizer and
    ``metrics.json`` into. ``threads``: ``torch.set_num_threads`` for the run (``None``: leave it).
    The default is one thread: the tensors are tiny, so a second thread gains little, and on a
    busy machine extra threads that wait for each other can make a step ten times slower.
    """
    setting = "quick" if quick else "full"
    print(f"Reversing digit strings with an encoder–decoder Transformer ({setting} setting, "
          f"seed {seed})", flush=True)
    if threads is not None:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    model, tokenizer, metrics = train_seq2seq(seed=seed, device=device, max_minutes=max_minutes,
                                              progress=True, quick=quick)
    settings = metrics["settings"]
    if metrics["losses"]:
        first, last = metrics["losses"][0][1], metrics["losses"][-1][1]
        print(f"train loss (epoch mean) {first:.3f} -> {last:.3f} in {metrics['steps']} steps, "
              f"{metrics['train_seconds']:.1f}s of training ({metrics['stop_reason']})")
    else:
        print(f"the time budget ended training within the first epoch ({metrics['steps']} steps)")
    print(f"held-out exact match (greedy, {metrics['eval_size']} strings of "
          f"{settings['min_len']}-{settings['max_len']} digits): {100 * metrics['exact_match']:.1f}%")
    samples = make_examples(5, seed=seed + 2, min_len=settings["min_len"], max_len=settings["max_len"])
    sources = [s for s, _ in samples]
    greedy = predict(model, tokenizer, sources)
    beam = predict(model, tokenizer, sources, strategy="beam", num_beams=4)
    print(f"{'source':>14}  {'greedy':>14}  {'beam (4)':>14}  ok")
    for (source, target), g, b in zip(samples, greedy, beam, strict=True):
        print(f"{source:>14}  {g:>14}  {b:>14}  {'yes' if g == target else 'NO'}")
    metrics["total_seconds"] = time.perf_counter() - start
    print(f"total {metrics['total_seconds']:.1f}s")
    if out is not None:
        out = Path(out)
        model.save_pretrained(out)
        tokenizer.save(out)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        print(f"saved model, tokenizer and metrics to {out}")
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=run_demo.__doc__)
    parser.add_argument("--quick", action="store_true", help="short strings, a few seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="directory to save the trained model into")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    run_demo(quick=args.quick, seed=args.seed, out=args.out, device=args.device, threads=args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
