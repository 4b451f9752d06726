"""``minitransformer demo``: the quick demo end to end, and its report and folder rules.

The end-to-end test trains all four use cases (about half a minute); it is marked ``slow`` so
``pytest -m "not slow"`` skips it, and ``make test`` runs it.
"""

from __future__ import annotations

import json
import shlex
import sys
import types

import pytest

from minitransformer.cli.main import main
from minitransformer.errors import UsageError
from tasks.demo import runner
from tasks.demo.context import Score, UseCaseResult
from tasks.demo.report import markdown_table, table_rows

USE_CASES = ("recommendation", "customer-service QA", "sales forecasting", "risk control")


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["demo", "--quick", "--out", str(out), "--device", "cpu", "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    table = printed[printed.index("| use case"):printed.index("Report:")]
    for name in USE_CASES:
        assert f"| {name} " in table
    for metric in ("HR@10", "NDCG@10", "accuracy", "MASE", "AUPRC"):
        assert metric in table
    assert table.count("\n|") == 6                              # header rule + 5 metric rows
    results = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in results["use_cases"]] == list(USE_CASES) and not results["failures"]
    page = (out / "index.html").read_text()
    markdown = (out / "README.md").read_text()
    for name in USE_CASES:
        assert name in page and f"## {name}" in markdown
    for marker in ("runs/recommend/item_map.json", "runs/qa/qa.json", "runs/forecast/forecast.json",
                   "runs/risk/risk.json", "data/shop_purchases.csv", "data/weekly_sales_test.csv"):
        assert (out / marker).is_file(), marker
    pictures = [p for r in results["use_cases"] for p in r["pictures"]]
    assert len(pictures) >= 12                                  # a picture, curves and attention per head
    for picture in pictures:
        assert (out / picture).read_bytes()[:4] == b"\x89PNG", picture
        assert f'src="{picture}"' in page and f"]({picture})" in markdown
    # the commands printed at the end work on the folders (the demo ran each once; again here)
    commands = [line.strip() for line in printed[printed.index("Try the trained models next"):].splitlines()
                if line.strip().startswith("minitransformer ")]
    assert [shlex.split(c)[1] for c in commands] == ["recommend", "qa", "forecast", "risk"]
    for command in commands:
        assert "FAILED" not in command
        assert main(shlex.split(command)[1:]) == 0, command
    answer = capsys.readouterr().out
    assert "top-10 next items" in answer and "My Orders" in answer and "scores written" in answer


def _fake_result(out, name="toy"):
    score = Score("MASE", 0.5, {"naive": 0.4, "mean": 0.9}, higher_is_better=False)
    return UseCaseResult(name=name, data="made up", scores=[score], seconds=1.0, run_dir=out / "runs" / name,
                         next_command=["info"], next_note="versions")


def test_without_matplotlib_the_demo_finishes_and_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    fake = types.ModuleType("fake_use_case")
    fake.run = lambda ctx: _fake_result(ctx.out) if not ctx.draw else pytest.fail("drew without matplotlib")
    monkeypatch.setitem(sys.modules, "fake_use_case", fake)
    monkeypatch.setattr(runner, "USE_CASES", (("toy", "fake_use_case"),))
    monkeypatch.setattr(runner, "matplotlib_missing", lambda: True)
    results, failures = runner.run_demo(out=tmp_path / "r", quick=True)
    printed = capsys.readouterr().out
    assert not failures and len(results) == 1
    assert "pip install minitransformer[plot]" in printed
    assert "pip install minitransformer[plot]" in (tmp_path / "r" / "README.md").read_text()
    assert "minitransformer info" in printed                    # the command to try, checked


def test_a_failing_use_case_is_reported_and_the_others_still_run(tmp_path, capsys, monkeypatch):
    broken = types.ModuleType("broken_use_case")
    broken.run = lambda ctx: (_ for _ in ()).throw(RuntimeError("no data"))
    fine = types.ModuleType("fine_use_case")
    fine.run = lambda ctx: _fake_result(ctx.out)
    monkeypatch.setitem(sys.modules, "broken_use_case", broken)
    monkeypatch.setitem(sys.modules, "fine_use_case", fine)
    monkeypatch.setattr(runner, "USE_CASES", (("broken", "broken_use_case"), ("toy", "fine_use_case")))
    results, failures = runner.run_demo(out=tmp_path / "r")
    assert [r.name for r in results] == ["toy"]
    assert len(failures) == 1 and "broken: RuntimeError: no data" in failures[0]
    assert "no data" in (tmp_path / "r" / "index.html").read_text()
    capsys.readouterr()


def test_an_unfinished_exercise_stops_the_demo_with_its_own_error(tmp_path, monkeypatch):
    unfinished = types.ModuleType("unfinished_use_case")

    def run(ctx):
        raise NotImplementedError("Exercise 1.1: stable softmax")

    unfinished.run = run
    monkeypatch.setitem(sys.modules, "unfinished_use_case", unfinished)
    monkeypatch.setattr(runner, "USE_CASES", (("unfinished", "unfinished_use_case"),))
    with pytest.raises(NotImplementedError, match="Exercise 1.1"):
        runner.run_demo(out=tmp_path / "r")


def test_report_folder_rules(tmp_path):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.txt").write_text("keep me")
    with pytest.raises(UsageError, match="holds no demo report"):
        runner.prepare_folder(other)
    assert (other / "thesis.txt").read_text() == "keep me"
    previous = tmp_path / "demo-report"
    (previous / "runs" / "qa").mkdir(parents=True)
    (previous / "results.json").write_text("{}")
    (previous / "notes.txt").write_text("not the demo's")
    runner.prepare_folder(previous)
    assert sorted(p.name for p in previous.iterdir()) == ["notes.txt"]


def test_best_baseline_and_the_table():
    lower = Score("MASE", 0.5, {"naive": 0.4, "mean": 0.9}, higher_is_better=False)
    assert lower.best == ("naive", 0.4) and not lower.model_wins
    higher = Score("AUPRC", 0.9, {"prior": 0.03, "logistic regression": 0.85})
    assert higher.best == ("logistic regression", 0.85) and higher.model_wins
    result = UseCaseResult(name="risk", data="", scores=[higher, lower], seconds=75.0, run_dir=None,
                           next_command=[])
    rows = table_rows([result])
    assert rows[0] == ("risk", "AUPRC", "0.900", "logistic regression", "0.850", "yes", "75 s")
    assert rows[1][0] == "" and rows[1][-1] == ""                # the use case and time once
    lines = markdown_table(rows).splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1   # columns line up


def test_the_html_report_shows_code_spans_as_code_not_backticks(tmp_path):
    """The report's header line ``command: `minitransformer demo ...` `` showed its backticks."""
    import re

    from tasks.demo.report import write_report

    result = _fake_result(tmp_path)
    result.notes = ["the model attended to `amount` most"]
    about = ["command: `minitransformer demo --quick --seed 0` (quick setting), 0.5 minutes in all"]
    page = write_report(tmp_path, [result], about)["html"].read_text(encoding="utf-8")
    assert "<code>minitransformer demo --quick --seed 0</code>" in page
    assert "<code>amount</code>" in page
    shown = re.sub(r"<(pre|code|style)>.*?</\1>|<[^>]+>", "", page, flags=re.DOTALL)
    assert "`" not in shown
    assert "`minitransformer demo" in (tmp_path / "README.md").read_text(encoding="utf-8")  # Markdown: kept

