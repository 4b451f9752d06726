"""Benchmark the hand-written BPE tokenizer: training time and encoding speed.

Builds about 1 MB of mixed English / Chinese text, trains a byte-level BPE to
``vocab_size`` merges and times encoding the same text twice (once with an
empty chunk cache, once warm). Real text is used when the shared data files
are present (banking77 for English, ATEC for Chinese); otherwise, or to fill
up, a seeded generator makes English-like and Chinese-like sentences. No
network access, no downloads.

Targets (one CPU core): training on 1 MB in under 30 s, encoding >= 1 MB/s.

Run: ``python benchmarks/tokenizers.py [--mb 1.0] [--vocab-size 8000]``.
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

from _common import shared_data  # benchmarks/ is on sys.path when run as a script

from minitransformer.tokenizers import BPETokenizer

DATA = shared_data("qa")
BANKING77 = DATA / "banking77" / "train.csv"
ATEC = DATA / "afqmc_atec" / "atec_nlp_sim_train.csv"

TRAIN_SECONDS_TARGET = 30.0
ENCODE_MBPS_TARGET = 1.0


# ------------------------------------------------------------------ real text
def read_banking77(path: Path = BANKING77) -> list[str]:
    """English customer-service questions (the ``text`` column); [] if absent."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f) if row.get("text")]


def read_atec(path: Path = ATEC) -> list[str]:
    """Chinese questions from the ATEC pairs file (both sentences); [] if absent."""
    if not path.is_file():
        return []
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = [f.replace("\ufeff", "") for f in line.split("\t")]
        if len(fields) == 4:
            lines.extend(s for s in fields[1:3] if s)
    return lines


# ------------------------------------------------------------- synthetic text
def _zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(n)]


def synthetic_english(rng: random.Random, n_words: int = 3000) -> list[str]:
    """An endless-enough supply of English-like sentences (one per call batch)."""
    syllables = [c + v for c in "bcdfghklmnprstvw" for v in ("a", "e", "i", "o", "u", "ou")]
    words = sorted({"".join(rng.choices(syllables, k=rng.randint(1, 3))) for _ in range(n_words)})
    rng.shuffle(words)
    weights = _zipf_weights(len(words))
    sentences = []
    for _ in range(2000):
        chosen = rng.choices(words, weights, k=rng.randint(4, 14))
        if rng.random() < 0.2:
            chosen.insert(rng.randrange(len(chosen)), str(rng.randint(1, 5000)))
        sentence = " ".join(chosen).capitalize()
        sentences.append(sentence + rng.choice([".", "?", "!", ","]))
    return sentences


def synthetic_chinese(rng: random.Random, n_chars: int = 2500) -> list[str]:
    """Chinese-like sentences: Han characters grouped into 1-3 character 'words'."""
    chars = [chr(0x4E00 + i) for i in rng.sample(range(0x5000), n_chars)]
    char_weights = _zipf_weights(n_chars)
    words = ["".join(rng.choices(chars, char_weights, k=rng.choice([1, 2, 2, 3]))) for _ in range(6000)]
    weights = _zipf_weights(len(words))
    return [
        "".join(rng.choices(words, weights, k=rng.randint(4, 12))) + rng.choice("。？！，")
        for _ in range(2000)
    ]


def take_bytes(lines: list[str], budget: int) -> list[str]:
    """The first lines of ``lines`` whose UTF-8 size adds up to about ``budget`` bytes."""
    out, size = [], 0
    for line in lines:
        if size >= budget:
            break
        out.append(line)
        size += len(line.encode("utf-8")) + 1
    return out


def build_corpus(mb: float = 1.0, seed: int = 0) -> tuple[list[str], str]:
    """About ``mb`` megabytes of lines, half English and half Chinese, shuffled."""
    rng = random.Random(seed)
    half = int(mb * 1_000_000) // 2
    corpus, sources = [], []
    for name, real, fake in (
        ("banking77", read_banking77(), synthetic_english),
        ("ATEC", read_atec(), synthetic_chinese),
    ):
        rng.shuffle(real)
        lines = take_bytes(real, half)
        sources.append(name if lines else f"synthetic({fake.__name__})")
        while sum(len(s.encode("utf-8")) + 1 for s in lines) < half:
            lines += take_bytes(fake(rng), half - sum(len(s.encode("utf-8")) + 1 for s in lines))
        corpus += lines
    rng.shuffle(corpus)
    return corpus, " + ".join(sources)


# ------------------------------------------------------------------ benchmark
def run_benchmark(mb: float = 1.0, vocab_size: int = 8000, seed: int = 0) -> dict[str, float | str]:
    """Train and encode; return the measurements as a dict."""
    corpus, source = build_corpus(mb, seed)
    n_bytes = sum(len(s.encode("utf-8")) + 1 for s in corpus)
    megabytes = n_bytes / 1e6

    start = time.perf_counter()
    tok = BPETokenizer().train(corpus, vocab_size=vocab_size)
    train_s = time.perf_counter() - start

    timings = []
    for _ in range(2):  # cold cache, then warm cache
        start = time.perf_counter()
        encoded = [tok.encode(line) for line in corpus]
        timings.append(time.perf_counter() - start)
    n_tokens = sum(len(ids) for ids in encoded)
    assert all(tok.decode(ids) == line for ids, line in zip(encoded, corpus)), "round trip"

    return {
        "source": source,
        "corpus_mb": megabytes,
        "vocab_size": tok.vocab_size,
        "train_s": train_s,
        "encode_cold_mb_s": megabytes / timings[0],
        "encode_warm_mb_s": megabytes / timings[1],
        "bytes_per_token": n_bytes / n_tokens,
    }


def main(argv: list[str] | None = None) -> dict[str, float | str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=1.0, help="corpus size in MB")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    r = run_benchmark(args.mb, args.vocab_size, args.seed)
    train_ok = r["train_s"] * (1.0 / r["corpus_mb"]) < TRAIN_SECONDS_TARGET
    encode_ok = r["encode_cold_mb_s"] >= ENCODE_MBPS_TARGET
    print(f"BPE tokenizer benchmark, text: {r['source']}\n")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| corpus | {r['corpus_mb']:.2f} MB | |")
    print(f"| vocab size | {r['vocab_size']} | |")
    print(
        f"| training | {r['train_s']:.1f} s | < {TRAIN_SECONDS_TARGET:.0f} s per MB "
        f"({'met' if train_ok else 'not met'}) |"
    )
    print(
        f"| encoding, cold cache | {r['encode_cold_mb_s']:.2f} MB/s | >= "
        f"{ENCODE_MBPS_TARGET:.0f} MB/s ({'met' if encode_ok else 'not met'}) |"
    )
    print(f"| encoding, warm cache | {r['encode_warm_mb_s']:.2f} MB/s | |")
    print(f"| bytes per token | {r['bytes_per_token']:.2f} | |")
    return r


if __name__ == "__main__":
    main()
