"""Your own intents answer in words: ``qa train --answers FILE`` (an ``intent,answer`` CSV) stores
each intent's reply in the model folder, ``qa ask``/``chat`` and ``predict`` reply with it, and an
intent without one replies with its name (``ask`` and ``chat`` say so once)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

import tasks.qa as qa
from minitransformer.cli.main import main
from tasks.qa.data import read_answers
from tests.tasks.qa.conftest import ANSWERS, TINY, write_answers

INTENTS = ["card", "oos", "refund"]


def test_ask_and_predict_reply_with_the_answers_file(own_model, capsys):
    router = qa.load(own_model.model_dir)
    assert router.answers == ANSWERS
    assert json.loads((own_model.model_dir / "qa.json").read_text(encoding="utf-8"))["answers"] == ANSWERS
    replies = qa.predict(router, ["退款什么时候到", "card stolen"])
    assert [r["intent"] for r in replies] == ["refund", "card"]
    assert [r["answer"] for r in replies] == [ANSWERS["refund"], ANSWERS["card"]]
    assert main(["qa", "ask", "--model", str(own_model.model_dir), "退款什么时候到"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == ANSWERS["refund"] and err == ""


def test_an_intent_without_an_answer_replies_with_its_name_and_ask_says_so_once(own_model, tmp_path, capsys,
                                                                                 monkeypatch):
    folder = Path(shutil.copytree(own_model.model_dir, tmp_path / "model"))
    info = json.loads((folder / "qa.json").read_text(encoding="utf-8"))
    info["answers"] = {"refund": ANSWERS["refund"]}
    (folder / "qa.json").write_text(json.dumps(info), encoding="utf-8")
    assert main(["qa", "ask", "--model", str(folder), "card stolen"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "card"
    assert len(err.strip().splitlines()) == 1 and "no answer for intent 'card'" in err and "--answers" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("card stolen\nblock my card\nwhere is my refund\n"))
    assert main(["qa", "chat", "--model", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines() == ["card", "card", ANSWERS["refund"]]
    assert err.count("no answer for intent") == 1  # once a conversation


def test_training_says_which_intents_have_no_answer(own_model, tmp_path, capsys):
    partial = write_answers(tmp_path / "partial.csv", {"refund": "退款三到五天到账"})
    with pytest.raises(ValueError, match="already holds files"):  # a refused training says nothing more
        qa.train(own_model.data, own_model.model_dir, TINY, device="cpu", answers=partial)
    assert capsys.readouterr().out == ""
    run = qa.train(own_model.data, tmp_path / "model", TINY, device="cpu", answers=partial)
    assert "1 of 2 intents have no answer (card)" in capsys.readouterr().out
    assert qa.load(run.model_dir).answers == {"refund": "退款三到五天到账"}


@pytest.mark.parametrize("content, fragment", [
    ("intent,answer\nrefunds,typo\n",
     "line 2: intent 'refunds' is not an intent of the training data (card, refund)"),
    ("intent,answer\nrefund,a\ncard,b\noos,c\n", "line 4: 'oos' is the out-of-scope label"),
    ("intent,answer\nrefund,a\n\nrefund,b\n", "line 4: intent 'refund' has a second answer"),
    ("intent,answer\nrefund,\n", "line 2: column 'answer' is empty"),
    ("intent,reply\nrefund,a\n", "missing column(s) answer"),
    ("intent,answer,intent\nrefund,a,b\n", "column 'intent' appears 2 times"),
    ("intent,answer\nrefund,a,extra\n", "line 2: expected 2 fields"),
])
def test_a_bad_answers_file_is_refused_naming_the_line(content, fragment, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as refused:
        read_answers(path, INTENTS)
    assert str(path) in str(refused.value) and fragment in str(refused.value)


def test_an_answers_file_with_a_byte_order_mark_long_answers_and_other_bytes(tmp_path):
    path = tmp_path / "answers.csv"
    long = "请联系客服。" * 30000  # 180,000 characters: more than Python's csv takes by default
    text = "\ufeffintent,answer\nrefund," + long + "\r\ncard,\"Call us, any time\"\r\n"  # BOM, CRLF
    path.write_bytes(text.encode("utf-8"))
    assert read_answers(path, INTENTS) == {"refund": long, "card": "Call us, any time"}
    path.write_bytes("intent,answer\nrefund,ok\ncard,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"answers.csv, line 3: not UTF-8 text \(byte 0xe9\)"):
        read_answers(path, INTENTS)


def test_answers_belong_to_an_intent_router_only(own_model, tmp_path, capsys):
    assert main(["qa", "train", "--data", str(own_model.data), "--task", "reply", "--answers",
                 str(own_model.answers), "--out", str(tmp_path / "m")]) == 2
    assert "--answers applies to --task intent, not --task reply" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
