"""``minitransformer qa`` end to end: train, evaluate, predict, ask, chat, and bad input."""

from __future__ import annotations

import json
import re

import pytest

from minitransformer.cli.main import main
from tasks.qa.bundle import read_info
from tests.tasks.qa.conftest import TINY_ARGV


def _tiny_csv(path):
    rows = ["text,category"]
    for label, words in {"refund": ["refund", "money back"], "card": ["card", "my card"],
                         "oos": ["weather", "joke"]}.items():
        for i in range(6):
            rows.append(f"\"{words[i % 2]} {['please', 'now', 'today'][i % 3]}, thanks\",{label}")
    path.write_text("\n".join(rows) + "\n")


def test_cli_end_to_end(tmp_path, capsys):
    data = tmp_path / "train.csv"
    _tiny_csv(data)
    out = tmp_path / "model"
    assert main(["qa", "train", "--data", str(data), "--out", str(out), "--epochs", "3", "--device", "cpu",
                 "--d-model", "32", "--pretrain-epochs", "1"]) == 0
    assert read_info(out)["task"] == "intent"
    assert (out / "ngrams.json").is_file() and (out / "linear.safetensors").is_file()  # the default expert
    assert read_info(out)["ensemble"] == 2 and (out / "member1" / "model.safetensors").is_file()
    assert main(["qa", "evaluate", "--model", str(out), "--data", str(data), "--json",
                 str(tmp_path / "m.json")]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert {"accuracy", "macro_f1", "in_scope_accuracy", "oos_recall"} <= set(metrics)
    capsys.readouterr()
    assert main(["qa", "ask", "--model", str(out), "where is my refund?"]) == 0
    assert capsys.readouterr().out.strip()


def test_cli_bad_inputs_exit_2(tmp_path, capsys):
    data = tmp_path / "train.csv"
    _tiny_csv(data)
    assert main(["qa", "train", "--data", str(data), "--out", str(tmp_path / "x"),
                 "--label-col", "intent"]) == 2
    assert "the header has text, category" in capsys.readouterr().err
    once = tmp_path / "once.csv"
    once.write_text("text,category\nhello there,a\nhi,a\nbye,b\n")
    assert main(["qa", "train", "--data", str(once), "--out", str(tmp_path / "y")]) == 2
    assert "'b'" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "sasrec"}))
    assert main(["qa", "ask", "--model", str(other), "hello"]) == 2
    assert "not a QA model directory" in capsys.readouterr().err
    assert main(["qa", "evaluate", "--model", str(tmp_path / "missing"), "--data", str(data)]) == 2


def test_cli_predict_and_chat_print_the_decisions(tmp_path, capsys, monkeypatch):
    import io

    data = tmp_path / "train.csv"
    _tiny_csv(data)
    out = tmp_path / "model"
    assert main(["qa", "train", "--data", str(data), "--out", str(out), "--epochs", "1", "--device", "cpu",
                 "--d-model", "16", "--layers", "1", "--ensemble", "1", "--pretrain-epochs", "0"]) == 0
    assert read_info(out)["ensemble"] == 1 and read_info(out)["settings"]["encoder"]["d_model"] == 16
    capsys.readouterr()
    assert main(["qa", "predict", "--model", str(out), "--data", str(data), "--json", "-"]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(printed[printed.index("["):])
    assert len(rows) == 18 and set(rows[0]) == {"text", "intent", "top_intent", "confidence", "handoff"}
    monkeypatch.setattr("sys.stdin", io.StringIO("refund please\n\nmy card\n"))
    assert main(["qa", "chat", "--model", str(out)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2  # one answer per question, blanks skipped
    assert main(["qa", "ask", "--model", str(out), " "]) == 2
    assert "qa ask: the question is empty" in capsys.readouterr().err
    assert main(["qa", "train", "--data", str(data), "--out", str(out)]) == 2
    assert "already holds files" in capsys.readouterr().err


# ---------------------------------------------------------------------------- each action's options
@pytest.mark.parametrize("action, has, lacks", [
    ("evaluate", ["--data", "--model", "--batch-size", "--device", "--json", "--text-col", "--label-col",
                  "--format"],
     ["--epochs", "--lr", "--out", "--resume", "--max-minutes", "--oos-label", "--lang"]),
    ("predict", ["--data", "--model", "--batch-size", "--text-col"], ["--epochs", "--out", "--label-col",
                                                                       "--format", "--oos-label"]),
    ("ask", ["--model", "--lang", "--json"], ["--data", "--batch-size", "--epochs", "--text-col"]),
    ("chat", ["--model", "--lang"], ["--data", "--json", "--epochs"]),
    ("train", ["--data", "--out", "--answers", "--task", "--oos-label"], ["--resume", "--model", "--lang"]),
])
def test_each_action_lists_only_its_own_options(action, has, lacks, capsys):
    assert main(["qa", action, "--help"]) == 0
    out = capsys.readouterr().out
    for option in has:
        assert option in out, option
    for option in lacks:
        assert option not in out, option
    assert "see above" not in out


def test_train_help_names_the_layout_it_reads_and_the_page_that_describes_it(capsys):
    assert main(["qa", "train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "text,category" in text and "question,answer" in text
    assert "docs/tasks/qa.md, section 'Your own data'" in text


@pytest.mark.parametrize("argv, fragment", [
    (["--data", "builtin", "--text-col", "q"], "--text-col and --label-col name the columns of your CSV"),
    (["--data", "builtin", "--init-from", "ckpt", "--d-model", "64"],
     "--d-model cannot be combined with --init-from"),
    (["--data", "builtin", "--d-model", "30"],
     "--d-model: expected a multiple of the 4 attention heads, got 30"),
    (["--data", "builtin", "--task", "match", "--oos-label", "x"], "--oos-label applies to --task intent"),
    (["--data", "builtin", "--task", "reply", "--pretrain-epochs", "2"],
     "--pretrain-epochs applies to --task"),
    (["--data", "builtin", "--exclude", "dev.json"], "--exclude applies to --task match"),
    (["--data", "builtin", "--unlabelled", "more.tsv"], "--unlabelled applies to --task match"),
    (["--data", "builtin", "--task", "match", "--format", "faq", "--unlabelled", "more.tsv"],
     "unlabelled: only a matcher trained on question pairs"),
    (["--data", "builtin", "--pretrain-epochs", "-1"], "--pretrain-epochs: expected a non-negative integer"),
    (["--data", "builtin", "--oos-label", ""], "argument --oos-label: expected a non-empty name, got ''"),
    (["--data", "builtin", "--task", "reply", "--format", "atec"],
     "format 'atec': task 'reply' reads faq data"),
    (["--data", "builtin", "--resume", "runs/old"], "unrecognized arguments: --resume"),
])
def test_train_refuses_an_option_it_would_ignore_or_a_value_out_of_range(argv, fragment, tmp_path, capsys):
    assert main(["qa", "train", *argv, "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and fragment in err, err
    assert not (tmp_path / "m").exists()


def test_evaluate_and_predict_read_the_columns_the_model_was_trained_with(tmp_path, capsys):
    from tests.tasks.qa.conftest import QUESTIONS

    data = tmp_path / "mine.csv"  # the shop's own column names, extra columns and a byte-order mark
    rows = ["question,intent,received"] + [f'"{q}",{label},2024-03-01 14:05:00'
                                           for label, qs in QUESTIONS.items() for q in qs]
    data.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    assert main(["qa", "train", "--data", str(data), "--text-col", "question", "--label-col", "intent",
                 "--out", str(out), "--json", str(tmp_path / "train.json"), *TINY_ARGV]) == 0
    assert read_info(out)["columns"] == ["question", "intent"]
    assert json.loads((tmp_path / "train.json").read_text())["model_dir"] == str(out)
    capsys.readouterr()
    assert main(["qa", "evaluate", "--model", str(out), "--data", str(data)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"accuracy  \d\.\d{4}\n", printed) and not re.search(r"\d\.\d{5}", printed)
    assert main(["qa", "predict", "--model", str(out), "--data", str(data), "--batch-size", "4"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 18
    other = tmp_path / "other.csv"
    other.write_text("text,category\nwhere is my refund,refund\n", encoding="utf-8")
    for action in ("evaluate", "predict"):
        assert main(["qa", action, "--model", str(out), "--data", str(other)]) == 2
        err = capsys.readouterr().err
        assert (f"{other}: the columns differ from those the model was trained with: missing question"
                in err), err
        assert "extra text" in err
    assert main(["qa", "predict", "--model", str(out), "--data", str(other), "--text-col", " "]) == 2
    assert "argument --text-col: expected a non-empty name, got ' '" in capsys.readouterr().err
    assert main(["qa", "predict", "--model", str(out), "--data", str(other), "--text-col", "text"]) == 0


def _pairs_file(path, rows, fields=4):
    path.write_text("".join(f"{i}\t{a}\t{b}" + (f"\t{y}" if fields == 4 else "") + "\n"
                            for i, (a, b, y) in enumerate(rows, start=1)), encoding="utf-8")


def test_a_matcher_pretrains_on_unlabelled_pairs_and_a_bad_file_is_refused_before_any_write(tmp_path, capsys):
    from tests.tasks.qa.test_cross_encoder import _same_set_pairs

    data, more = tmp_path / "pairs.tsv", tmp_path / "more.tsv"
    _pairs_file(data, _same_set_pairs(40, 0))
    _pairs_file(more, _same_set_pairs(30, 1), fields=3)  # id, question, question: no label column
    tiny = ["--epochs", "1", "--d-model", "16", "--layers", "1", "--device", "cpu", "--pretrain-epochs", "1"]
    out = tmp_path / "m"
    assert main(["qa", "train", "--data", str(data), "--task", "match", "--unlabelled", str(more),
                 "--out", str(out), "--json", str(tmp_path / "run.json"), *tiny]) == 0
    assert "on 66 question pairs" in capsys.readouterr().out  # 36 training pairs + 30 unlabelled
    assert json.loads((tmp_path / "run.json").read_text())["unlabelled_pairs"] == 30
    more.write_text("1\tonly one question\n", encoding="utf-8")
    assert main(["qa", "train", "--data", str(data), "--task", "match", "--unlabelled", str(more),
                 "--out", str(tmp_path / "n"), *tiny]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"{more}, line 1: expected 3 or 4 tab-separated fields" in err
    assert not (tmp_path / "n").exists()
    assert main(["qa", "train", "--data", str(data), "--task", "match", "--unlabelled", str(more),
                 "--out", str(tmp_path / "n"), *tiny[:-1], "0"]) == 2
    assert "pretrain_epochs 0 (--pretrain-epochs)" in capsys.readouterr().err
