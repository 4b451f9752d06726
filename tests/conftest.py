"""Shared test configuration: Hypothesis profiles and a seeded torch RNG.

Profiles (choose with the environment variable ``HYPOTHESIS_PROFILE``, default ``ci``):

* ``ci``  – deterministic (``derandomize=True``), ~25 examples per property, no deadline, and a
  reproduction blob printed on failure. The same examples run on every machine.
* ``dev`` – random, 200 examples per property: use it locally to hunt for new counterexamples.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import Phase, settings

# Grading of course exercises: blocked / not-started reporting, --exercise ID, --exercise-report.
pytest_plugins = ["minitransformer.exercises.pytest_plugin"]

settings.register_profile(
    "ci", derandomize=True, max_examples=25, deadline=None, print_blob=True, database=None
)
settings.register_profile("dev", max_examples=200, deadline=None, print_blob=True)
# In a generated student tree most properties stop at a NotImplementedError on every example:
# shrinking those failures would only waste the student's time.
settings.register_profile("student", parent=settings.get_profile("ci"), max_examples=5,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
_STUDENT_TREE = (Path(__file__).resolve().parents[1] / ".student-tree").exists()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "student" if _STUDENT_TREE else "ci"))


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Test tensors are tiny: one thread is as fast, makes results bit-exact across runs, and
    keeps the suite quick on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def seed_torch():
    """Every test starts from the same torch RNG state, so random weights are reproducible."""
    torch.manual_seed(0)
    yield
