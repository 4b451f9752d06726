"""A second process that holds a claim on a run folder, for the tests of the lock."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["Holder", "holder"]

# A second process that claims FOLDER, says so on stdout and waits to be told to go (or killed).
HOLDER = """
import sys
from minitransformer.files.run_folder import claim_run_folder
with claim_run_folder(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


class Holder:
    """A process holding a claim on ``folder`` until :meth:`release` or :meth:`kill`."""

    def __init__(self, folder: Path):
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], cwd=root, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.process.stdout.readline()
        if line.strip() != "held":
            self.process.kill()
            raise AssertionError(f"the holder did not claim {folder}: {line!r} {self.process.stderr.read()}")

    def release(self) -> int:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return self.process.wait(timeout=30)

    def kill(self) -> int:
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()


@pytest.fixture
def holder():
    """``holder(folder)``: start a process holding ``folder``; every one is ended after the test."""
    started = []

    def start(folder: Path) -> Holder:
        started.append(Holder(folder))
        return started[-1]

    yield start
    for one in started:
        one.close()
