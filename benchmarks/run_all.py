"""Run every benchmark and write its section of ``benchmarks/RESULTS.md``.

Each benchmark module has ``main(argv)`` that prints a Markdown report: a table of the headline
numbers (ours, the baselines, the published anchors, the target and whether it is met) and a link
to the benchmark's entry in ``benchmarks/LOG.md``, where the histories of the experiments are
kept by hand. This script runs the ones asked for, captures what they print, and replaces the
matching section of RESULTS.md (between ``<!-- BEGIN name -->`` and ``<!-- END name -->``),
stamping the date, machine, threads and command. Sections of benchmarks not run this time are
kept as they were.

Usage: python benchmarks/run_all.py [--quick] [--only core,tokenizers,...] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import io
import os
import platform
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
# name -> (module, argv of the benchmark, argv for --quick)
BENCHMARKS = {
    "core": ("core", [], ["--quick"]),
    "tokenizers": ("tokenizers", [], ["--mb", "0.25"]),
    "generation": ("generation", [], ["--quick"]),
    "recommendation": ("recommendation", ["--bert4rec", "--ml1m"], ["--quick"]),
    "qa": ("qa", [], ["--quick"]),
    "forecasting": ("forecasting", [], ["--quick"]),
    "risk": ("risk", [], ["--quick"]),
    "pretrained": ("pretrained", [], ["--quick"]),
}
HEADER = """# Benchmark results

One section per benchmark: a table of the headline numbers (ours, the baselines, the published
anchors with their sources, the target and whether it is met), then the command, date, machine
and threads it was measured with. `make bench` (`python benchmarks/run_all.py`) rewrites a
section from what `benchmarks/<name>.py` prints; `make bench-quick` runs reduced versions and
writes nothing. The task sections read `../shared/data` and are skipped without it. How the
numbers were reached (the variants tried, dated notes) is in [LOG.md](LOG.md).
"""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def command(module_name: str, argv: list[str]) -> str:
    """The benchmark's command as typed from the repository root (with ``OMP_NUM_THREADS`` when set)."""
    threads = os.environ.get("OMP_NUM_THREADS")
    return " ".join([*([f"OMP_NUM_THREADS={threads}"] if threads else []), "python",
                     f"benchmarks/{module_name}.py", *argv])


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run_one(name: str, quick: bool) -> str:
    module_name, full_args, quick_args = BENCHMARKS[name]
    argv = quick_args if quick else full_args
    sys.path.insert(0, str(HERE))
    module = importlib.import_module(module_name)
    buffer = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(buffer):
        module.main(list(argv))
    seconds = time.perf_counter() - start
    torch = sys.modules.get("torch")  # the threads the benchmark ran with, once it has set them
    software = f", torch {torch.__version__}; {torch.get_num_threads()} thread(s)" if torch else ""
    stamp = (f"_Measured {datetime.date.today().isoformat()} on {machine()}{software}; "
             f"command `{command(module_name, argv)}`; took {duration(seconds)}._")
    return f"## {name}\n\n{buffer.getvalue().strip()}\n\n{stamp}\n"


def write_section(name: str, body: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    block = f"<!-- BEGIN {name} -->\n{body}<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes; RESULTS.md untouched")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    parser.add_argument("--no-write", action="store_true", help="print the sections; RESULTS.md untouched")
    args = parser.parse_args(argv)
    for name in args.only.split(","):
        if name not in BENCHMARKS:
            parser.error(f"--only: unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
        print(f"== {name}", flush=True)
        body = run_one(name, args.quick)
        print(body, flush=True)
        if not (args.quick or args.no_write):
            write_section(name, body)


if __name__ == "__main__":
    main()
