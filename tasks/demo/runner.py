"""Running the demo: the four use cases in turn, the results table, the report, what to try next.

:func:`run_demo` is ``minitransformer demo``'s work (:func:`tasks.demo.cli.run` reads the command's
options). Each use case module (``recommend``, ``qa``, ``forecast``, ``risk`` in this package)
has ``run(ctx) -> UseCaseResult``: it writes its built-in data, trains and evaluates through the
head's own commands, and draws its pictures. A use case that fails is reported (with its log)
and the others still run; the exit status is then 1.

**Threads.** Unless ``OMP_NUM_THREADS`` is set, torch runs on one thread: the demo's models are
small, so a second thread gains little, and on a machine busy with other work threads that wait
for each other can make every step several times slower.

**The report folder** (``--out``, default ``demo-report/``) is the demo's own: a folder that
already holds a demo report is cleared (its ``data/``, ``runs/``, ``pictures/``, ``logs/`` and
report files) before the run; any other non-empty folder is refused.
"""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path

from minitransformer.errors import UsageError
from tasks.demo.context import DemoContext, UseCaseResult
from tasks.demo.pictures import INSTALL_HINT, matplotlib_missing
from tasks.demo.report import command_line, markdown_table, table_rows, write_report

__all__ = ["run_demo", "prepare_folder", "USE_CASES", "DEFAULT_OUT"]

#: (name, module with run(ctx)) in the order they run
USE_CASES = (("recommendation", "tasks.demo.recommend"), ("customer-service QA", "tasks.demo.qa"),
             ("sales forecasting", "tasks.demo.forecast"), ("risk control", "tasks.demo.risk"))
DEFAULT_OUT = Path("demo-report")
#: what a demo writes into its folder (cleared before a new run)
OWN_ENTRIES = ("data", "runs", "pictures", "logs", "README.md", "index.html", "results.json",
               "risk_scores.csv")


def prepare_folder(out: Path) -> None:
    """Create ``out``, or clear a previous demo report there (see the module docstring)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "results.json").is_file():
            raise UsageError(f"--out {out}: the folder is not empty and holds no demo report; "
                             "choose a new or empty folder")
        for name in OWN_ENTRIES:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _set_threads() -> str:
    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    return f"{torch.get_num_threads()} torch thread(s)"


def _about(ctx: DemoContext, threads: str, seconds: float) -> list[str]:
    import torch

    load = f", load average {os.getloadavg()[0]:.2f} at the end" if hasattr(os, "getloadavg") else ""
    command = command_line(["demo", *(["--quick"] if ctx.quick else []), "--seed", str(ctx.seed)])
    about = [f"command: `{command}` ({'quick' if ctx.quick else 'full'} setting), "
             f"{seconds / 60:.1f} minutes in all",
             f"{datetime.datetime.now():%Y-%m-%d %H:%M}, {platform.system()} {platform.machine()}, "
             f"{os.cpu_count()} CPU cores{load}, {threads}, Python {platform.python_version()}, "
             f"torch {torch.__version__}",
             "every number is on held-out data of the built-in, seeded simulators; the baselines are "
             "trained on the same rows as the model"]
    if not ctx.draw:
        about.append(f"pictures skipped: matplotlib is not installed ({INSTALL_HINT})")
    return about + ctx.messages


def _check_commands(ctx: DemoContext, results: list[UseCaseResult]) -> dict[str, bool]:
    """Run every command to try next once, in its own process as a reader would (printout in
    ``logs/next.log``); ``{name: worked}``."""
    worked = {}
    for result in results:
        try:
            ctx.run_command(result.next_command, log="next")
            worked[result.name] = True
        except Exception as err:  # reported, not fatal: the trained models are there
            print(f"warning: {command_line(result.next_command)} failed: {err}", file=sys.stderr)
            worked[result.name] = False
    return worked


def run_demo(out: Path | None = None, quick: bool = False, seed: int = 0, device: str = "auto",
             max_minutes: float | None = None, debug: bool = False) -> tuple[list[UseCaseResult], list[str]]:
    """Run the four use cases into ``out``; print the table and the commands to try next.

    Returns ``(results, failures)``: the use cases that finished, and a line per one that failed.
    """
    from tqdm.auto import tqdm

    from minitransformer.training import progress_enabled

    start = time.monotonic()
    out = Path(out) if out is not None else DEFAULT_OUT
    prepare_folder(out)
    threads = _set_threads()
    ctx = DemoContext(out=out, quick=quick, seed=seed, device=device, max_minutes=max_minutes,
                      draw=not matplotlib_missing())
    say = tqdm.write
    setting = ("quick: under a minute" if quick
               else "full: a few minutes on 2 CPU cores; --quick: under a minute")
    say(f"minitransformer demo ({setting}); {threads}; report folder {out}/ (each step's log in {out}/logs/)")
    if not ctx.draw:
        say(f"note: matplotlib is not installed, so the report will have no pictures ({INSTALL_HINT})")
    results: list[UseCaseResult] = []
    failures: list[str] = []
    bar = tqdm(total=len(USE_CASES), desc="demo", unit="use case", disable=not progress_enabled(None))
    for k, (name, module) in enumerate(USE_CASES, start=1):
        bar.set_postfix_str(name)
        say(f"\n[{k}/{len(USE_CASES)}] {name}")
        try:
            result = importlib.import_module(module).run(ctx)
        except Exception as err:
            # an unfinished course exercise stops the demo with its own message (and the test
            # suite reports the demo test as blocked by that exercise, not as failed)
            if debug or isinstance(err, NotImplementedError):
                raise
            failures.append(f"{name}: {type(err).__name__}: {err} (logs in {ctx.out / 'logs'})")
            say(f"  FAILED: {failures[-1]}")
            traceback.print_exc(file=sys.stderr)
        else:
            results.append(result)
            say(f"  data: {result.data}")
            for score in result.scores:
                best, value = score.best
                say(f"  {score.metric}: model {score.model:.3f}, best baseline {best} {value:.3f}")
            say(f"  {result.seconds:.0f} s")
        bar.update(1)
    bar.close()
    worked = _check_commands(ctx, results)
    seconds = time.monotonic() - start
    about = _about(ctx, threads, seconds)
    paths = write_report(out, results, about, failures)
    print("\nResults (held-out data; 'model wins' = better than the best baseline):\n")
    print(markdown_table(table_rows(results)))
    print(f"\nReport: {paths['html']} and {paths['markdown']} (pictures in {out / 'pictures'}); "
          f"total {seconds / 60:.1f} min")
    if not ctx.draw:
        print(f"No pictures: matplotlib is not installed. Install the plot extra: {INSTALL_HINT}")
    print("\nTry the trained models next (each command was run once on these folders; "
          f"output in {out / 'logs' / 'next.log'}):")
    for result in results:
        mark = "" if worked.get(result.name) else "   # FAILED in the check, see the log"
        print(f"  {command_line(result.next_command)}{mark}")
    return results, failures
