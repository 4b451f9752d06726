"""The command line: fast help, lazy task loading, exit codes and one-line errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import minitransformer
from minitransformer.cli import main as cli
from minitransformer.cli import options as cli_options
from minitransformer.cli import registry

PACKAGE_DIR = Path(minitransformer.__file__).parent

FAKE_TASK = '''
from minitransformer.cli.options import add_task_actions
from minitransformer.errors import UsageError

HELP = "a fake task for tests"
CALLS = []


def add_arguments(parser):
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "export"), resume=True)
    actions["train"].add_argument("--max-len", type=int, default=50)


def run(args):
    CALLS.append(args)
    if args.action == "train":
        return 0
    if args.action == "evaluate":
        raise FileNotFoundError(f"{args.data}: data file not found")
    if args.action == "predict":
        raise ValueError(f"{args.data}: line 3: expected 5 columns, got 4\\nsecond line")
    if args.action == "export":
        from minitransformer.training import NonFiniteLossError
        raise NonFiniteLossError("non-finite loss (nan) at step 7", step=7, epoch=1, checkpoint=None)
'''


def register(monkeypatch, name: str, module: str) -> None:
    """Make ``name`` a registered command implemented by ``module``, as an entry point would."""
    found = registry.find_commands()
    found[name] = registry.Command(name, module)
    monkeypatch.setattr(cli, "find_commands", lambda: dict(found))


@pytest.fixture
def fake_task(tmp_path, monkeypatch):
    package = tmp_path / "fake_task_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(FAKE_TASK)
    monkeypatch.syspath_prepend(str(tmp_path))
    register(monkeypatch, "fake", "fake_task_pkg.cli")
    yield
    for name in ("fake_task_pkg.cli", "fake_task_pkg"):
        sys.modules.pop(name, None)


def run_main(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_error_line(err: str, *fragments: str):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("minitransformer: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err


# ---------------------------------------------------------------------------- fast help
def test_cli_module_does_not_import_torch_for_help():
    """--help imports neither torch nor any head: each head's HELP line is read from its source."""
    code = textwrap.dedent(f"""
        import sys, types
        package = types.ModuleType("minitransformer")      # skip the package's heavy __init__
        package.__path__ = [{str(PACKAGE_DIR)!r}]
        sys.modules["minitransformer"] = package
        from minitransformer.cli.main import main
        status = main(["--help"])
        print("STATUS", status, "TORCH", "torch" in sys.modules,
              "TASKS", any(m.startswith("tasks") for m in sys.modules))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "recommend" in proc.stdout and "forecast" in proc.stdout
    assert "STATUS 0 TORCH False TASKS False" in proc.stdout


def test_python_dash_m_help_is_fast_and_lists_the_commands():
    code = textwrap.dedent("""
        import runpy, sys
        import minitransformer
        eager = "torch" in sys.modules
        sys.argv = ["minitransformer", "--help"]
        try:
            runpy.run_module("minitransformer", run_name="__main__", alter_sys=True)
        except SystemExit as exit_:
            status = exit_.code
        print("STATUS", status, "EAGER", eager, "TORCH", "torch" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for command in ("info", "demo", "recommend", "qa", "forecast", "risk"):
        assert command in proc.stdout
    assert "STATUS 0" in proc.stdout
    assert "EAGER False" in proc.stdout, "importing the minitransformer package must not load torch"
    assert "TORCH False" in proc.stdout


def test_unknown_subcommand_exits_2_with_one_line():
    proc = subprocess.run([sys.executable, "-m", "minitransformer", "frobnicate"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_error_line(proc.stderr, "invalid choice: 'frobnicate'")


def test_help_lists_every_task(capsys):
    status, out, _ = run_main(capsys, "--help")
    assert status == 0
    for command in ("demo", "recommend", "qa", "forecast", "risk", "exercises", "plot"):
        assert command in out


# ---------------------------------------------------------------------------- info and demo
def test_info_prints_versions_device_and_threads(capsys):
    import torch

    status, out, _ = run_main(capsys, "info")
    assert status == 0
    assert torch.__version__ in out and "threads" in out and "device" in out
    status, out, _ = run_main(capsys, "info", "--json")
    data = json.loads(out)
    assert data["torch"] == torch.__version__ and data["threads"] == torch.get_num_threads()
    assert data["device"] in ("cpu", "cuda", "mps")


def test_demo_passes_its_options_to_the_demo_runner(capsys, monkeypatch, tmp_path):
    import tasks.demo.runner

    seen = []
    monkeypatch.setattr(tasks.demo.runner, "run_demo", lambda **kwargs: seen.append(kwargs) or ({}, []))
    status, _, _ = run_main(capsys, "demo", "--quick", "--out", str(tmp_path), "--seed", "3",
                            "--device", "cpu", "--max-minutes", "1.5")
    assert status == 0
    args = seen[0]
    assert (args["quick"], args["out"], args["seed"], args["device"], args["max_minutes"]) == (
        True, tmp_path, 3, "cpu", 1.5)
    status, _, _ = run_main(capsys, "demo")
    assert status == 0
    assert seen[1]["quick"] is False and seen[1]["out"] is None and seen[1]["device"] == "auto"


# ---------------------------------------------------------------------------- task protocol
def test_missing_task_module_exits_2_with_one_line(capsys, monkeypatch):
    register(monkeypatch, "ghost", "tasks.ghost_task_that_does_not_exist.cli")
    status, out, err = run_main(capsys, "ghost", "train", "--epochs", "3")
    assert status == 2 and out == ""
    assert_one_error_line(err, "'ghost' is registered but its module",
                          "tasks.ghost_task_that_does_not_exist.cli")


def test_task_module_without_the_protocol_is_named(capsys, monkeypatch, tmp_path):
    (tmp_path / "half_head.py").write_text("def run(args):\n    return 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    register(monkeypatch, "half", "half_head")
    status, _, err = run_main(capsys, "--help")
    assert status == 2
    assert_one_error_line(err, "'half': half_head lacks HELP, add_arguments")


def test_task_needing_a_missing_dependency(capsys, monkeypatch, tmp_path):
    (tmp_path / "needs_dep_pkg.py").write_text("import a_dependency_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    register(monkeypatch, "needy", "needs_dep_pkg")
    status, _, err = run_main(capsys, "needy", "train")
    assert status == 2
    assert_one_error_line(err, "needs the package 'a_dependency_that_is_not_installed'")


def test_task_module_gets_its_parser_and_runs(capsys, fake_task):
    status, _, _ = run_main(capsys, "fake", "train", "--data", "d.csv", "--out", "runs/x", "--epochs", "3",
                            "--batch-size", "16", "--lr", "0.001", "--seed", "7", "--device", "cpu",
                            "--max-minutes", "2", "--resume", "runs/old", "--json", "-", "--max-len", "20")
    assert status == 0
    args = sys.modules["fake_task_pkg.cli"].CALLS[-1]
    assert (args.command, args.action) == ("fake", "train")
    assert (args.data, args.out, args.resume) == (Path("d.csv"), Path("runs/x"), Path("runs/old"))
    assert (args.epochs, args.batch_size, args.lr, args.seed, args.device) == (3, 16, 0.001, 7, "cpu")
    assert (args.max_minutes, args.json, args.max_len, args.model, args.debug) == (2.0, "-", 20, None, False)


def test_task_action_help_shows_the_common_options(capsys, fake_task):
    status, out, _ = run_main(capsys, "fake", "train", "--help")
    assert status == 0
    for option in ("--data", "--out", "--model", "--epochs", "--batch-size", "--lr", "--seed", "--device",
                   "--max-minutes", "--resume", "--json", "--debug", "--max-len"):
        assert option in out


@pytest.mark.parametrize("action", ["evaluate", "predict", "export"])
def test_actions_using_a_model_list_only_their_own_options(capsys, fake_task, action):
    """No training options where nothing is trained: a reader of ``predict --help`` sees what
    ``predict`` takes."""
    status, out, _ = run_main(capsys, "fake", action, "--help")
    assert status == 0
    for option in ("--data", "--model", "--batch-size", "--seed", "--device", "--json", "--debug"):
        assert option in out
    for option in ("--epochs", "--lr", "--max-minutes", "--resume", "--out"):
        assert option not in out


def test_resume_is_offered_only_by_heads_that_can_resume():
    parser = argparse.ArgumentParser()
    actions = cli_options.add_task_actions(parser, actions=("train",))
    assert "--resume" not in actions["train"].format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--resume", "runs/old"])


@pytest.mark.parametrize("argv, fragment", [
    (["fake"], "the following arguments are required: ACTION"),
    (["fake", "train", "--epochs", "-1"], "argument --epochs: expected a positive integer, got '-1'"),
    (["fake", "train", "--lr", "fast"], "argument --lr: expected a positive number, got 'fast'"),
    (["fake", "train", "--device", "tpu"], "argument --device: expected auto, cpu, cuda"),
    (["fake", "train", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["fake", "fly"], "invalid choice: 'fly'"),
])
def test_bad_options_exit_2_with_one_line(capsys, fake_task, argv, fragment):
    status, out, err = run_main(capsys, *argv)
    assert status == 2 and out == ""
    assert_one_error_line(err, fragment)


def test_errors_from_task_code_become_one_line(capsys, fake_task):
    status, _, err = run_main(capsys, "fake", "evaluate", "--data", "missing.csv")
    assert status == 2
    assert_one_error_line(err, "missing.csv: data file not found")
    status, _, err = run_main(capsys, "fake", "predict", "--data", "bad.csv")
    assert status == 2
    assert_one_error_line(err, "bad.csv: line 3: expected 5 columns, got 4")
    assert "Traceback" not in err


def test_debug_shows_the_traceback(capsys, fake_task):
    status, _, err = run_main(capsys, "fake", "predict", "--data", "bad.csv", "--debug")
    assert status == 2
    assert "Traceback (most recent call last)" in err and "ValueError" in err
    assert err.strip().splitlines()[-1].startswith("minitransformer: error: bad.csv: line 3")


def test_diverged_training_exits_1_with_one_line(capsys, fake_task):
    status, _, err = run_main(capsys, "fake", "export")
    assert status == 1
    assert_one_error_line(err, "non-finite loss (nan) at step 7")


def test_add_common_options_can_skip_options():
    parser = argparse.ArgumentParser()
    cli_options.add_common_options(parser, skip=("resume", "max_minutes"))
    options = {a.dest for a in parser._actions}
    assert "resume" not in options and "max_minutes" not in options and "data" in options
    args = parser.parse_args([])
    assert (args.seed, args.device, args.epochs) == (0, "auto", None)
