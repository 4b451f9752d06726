"""A fifth head, written in the tests, plugs into the command line without touching the core.

The head (``tests/heads/reviews``) is announced the way any package announces one: an entry
point in the group ``minitransformer.commands``. Here the package metadata is written by hand
into a folder on ``PYTHONPATH`` (what ``pip install`` would write), and the command line is run
in a fresh process: it lists the head, and the head trains, evaluates and predicts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installed(tmp_path) -> dict[str, str]:
    """An environment in which a package 'reviews-head' declares the command ``reviews``."""
    dist = tmp_path / "site" / "reviews_head-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: reviews-head\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[minitransformer.commands]\nreviews = tests.heads.reviews.cli\n")
    path = os.pathsep.join([str(dist.parent), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``minitransformer ARGS``; in a student copy of the course, a run that stopped at an
    unsolved exercise raises that exercise's error here (the exercise plugin reports it as blocked)."""
    done = subprocess.run([sys.executable, "-m", "minitransformer", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    unsolved = re.search(r"NotImplementedError: (Exercise \d+\.\d+.*)", done.stderr)
    if done.returncode != 0 and unsolved:
        raise NotImplementedError(unsolved[1])
    return done


def test_the_command_line_finds_trains_evaluates_and_predicts_with_a_new_head(installed, tmp_path):
    listing = cli(installed, "--help", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "reviews" in listing.stdout and "is a product review a complaint?" in listing.stdout

    steps = [("simulate", "--out", "train.csv"), ("simulate", "--out", "test.csv", "--seed", "1"),
             ("train", "--data", "train.csv", "--out", "model")]
    for step in steps:
        done = cli(installed, "reviews", *step, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "model" / "model.safetensors").is_file()

    scored = cli(installed, "reviews", "evaluate", "--model", "model", "--data", "test.csv", "--json", "-",
                 cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    scores = json.loads(scored.stdout[scored.stdout.index("{"):])
    assert scores["accuracy"] > 0.9 > scores["baseline_accuracy"]

    answered = cli(installed, "reviews", "predict", "--model", "model", "--text", "my parcel came damaged",
                   "--text", "the colour looks as pictured", cwd=tmp_path)
    assert answered.returncode == 0, answered.stderr
    first, second = (float(line.split()[0]) for line in answered.stdout.splitlines())
    assert first > 0.5 > second


def test_the_new_heads_bad_input_gets_one_line_and_status_2(installed, tmp_path):
    done = cli(installed, "reviews", "train", "--data", "missing.csv", "--out", "model", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "minitransformer: error: missing.csv: data file not found (--data)"
    assert not (tmp_path / "model").exists()
