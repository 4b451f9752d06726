"""``minitransformer qa`` end to end: train, evaluate, predict, ask, chat, and bad input."""

from __future__ import annotations

import json

from minitransformer.cli.main import main
from tasks.qa.bundle import read_info


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
    assert "['text', 'category']" in capsys.readouterr().err
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
    assert "exists and is not an empty folder" in capsys.readouterr().err
