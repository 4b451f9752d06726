"""Small CSV tables the risk tests share: a writer, a table with a planted rule, and a snapshot
of a folder (to prove that a refused command changed nothing)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header), *(",".join(map(str, r)) for r in rows)]) + "\n")
    return path


def planted_table(path, n=1600, seed=0):
    """y = 1 when a > 1, or when the shop is 'z' and b > 0 (about 26% positives)."""
    rng = np.random.default_rng(seed)
    a, b, noise = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    shop = rng.choice(["x", "y", "z"], n)
    y = ((a > 1) | ((shop == "z") & (b > 0))).astype(int)
    rows = [(f"{a[i]:.4f}", f"{b[i]:.4f}", f"{noise[i]:.4f}", shop[i], y[i]) for i in range(n)]
    return write_csv(path, ["a", "b", "noise", "shop", "label"], rows)


def snapshot(folder) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
