"""The head's Python API: ``tasks.qa.train``, ``load``, ``evaluate``, ``predict``.

A save/load round trip through the verbs, their docstring examples, the three kinds of model,
the refusals, and ``import tasks.qa`` without torch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import tasks.qa as qa
from tasks.qa.config import MatchSettings, ReplySettings, RouterSettings, qa_encoder, tiny_settings
from tasks.qa.synthetic import FAQ, HANDOFF, INTENTS

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def faq_run(tmp_path_factory):
    return qa.train("builtin", tmp_path_factory.mktemp("faq") / "run", tiny_settings(), device="cpu",
                    verbose=False)


def test_train_load_evaluate_predict_round_trip(faq_run):
    assert faq_run.model_dir.is_dir() and faq_run.seconds > 0
    again = qa.load(faq_run.model_dir)
    questions = ["where is my parcel?", "我想退货", "tell me a joke"]
    assert torch.allclose(again.probs(questions), faq_run.model.probs(questions), atol=1e-6)
    assert qa.predict(again, questions) == qa.predict(faq_run.model, questions)
    assert qa.evaluate(again, "builtin") == qa.evaluate(faq_run.model, "builtin")
    assert qa.evaluate(faq_run.model_dir, "builtin") == qa.evaluate(again, "builtin")  # a folder works too
    # the saved metrics are the kept model's own
    assert faq_run.metrics["threshold"] == again.threshold
    assert faq_run.metrics["valid_accuracy"] == pytest.approx(faq_run.model.valid_accuracy)


def test_predict_answers_in_the_question_language_or_hands_off(faq_run):
    router = faq_run.model
    for reply, lang in zip(qa.predict(router, ["where is my parcel?", "我的快递到哪了"]), ("en", "zh")):
        expected = HANDOFF[lang] if reply["handoff"] else router.answers[reply["intent"]][lang]
        assert reply["answer"] == expected and reply["handoff"] == (reply["intent"] is None)
        assert 0.0 <= reply["confidence"] <= 1.0
    english = qa.predict(router, "我的快递到哪了", lang="en")[0]  # one question: a list of one
    assert english["answer"] in (HANDOFF["en"], *(a["en"] for a in router.answers.values()))
    with pytest.raises(ValueError, match="question 1 is empty"):
        qa.predict(router, ["  "])


def test_evaluate_puts_the_baselines_beside_the_router(faq_run, tmp_path):
    scores = qa.evaluate(faq_run.model, "builtin")
    assert {"accuracy", "in_scope_accuracy", "oos_recall", "macro_f1"} <= set(scores)
    # the baselines' held-out accuracy on the built-in FAQ (benchmarks/RESULTS.md, the demo's table)
    assert scores["baselines"]["TF-IDF nearest centroid"]["accuracy"] == pytest.approx(0.8694, abs=1e-4)
    texts, labels = ["where is my parcel?", "tell me a joke"], ["track_order", "oos"]
    assert "baselines" not in qa.evaluate(faq_run.model, (texts, labels))
    with_baselines = qa.evaluate(faq_run.model, (texts, labels), baseline_data="builtin")
    assert set(with_baselines["baselines"]) == {"TF-IDF nearest centroid", "TF-IDF nearest neighbour"}


def test_a_matcher_and_a_reply_generator_through_the_same_verbs(tmp_path):
    questions = [q for i in INTENTS[:3] for q in FAQ[i][2][:6]]
    answers = [FAQ[i][0] for i in INTENTS[:3] for _ in range(6)]
    small = MatchSettings(tokenizer="bpe", vocab_size=300, ngram_buckets=512, epochs=1, batch_size=16,
                          encoder=qa_encoder(d_model=16, nhead=2, num_layers=1, dim_feedforward=32))
    match = qa.train((questions, answers), tmp_path / "match", small, task="match", fmt="faq", device="cpu",
                     verbose=False)
    assert match.metrics["pairs"] > len(questions) and qa.load(match.model_dir).faq == match.model.faq
    hit = qa.predict(qa.load(match.model_dir), "where is my order")[0]
    assert set(hit) == {"matched_question", "score", "handoff", "answer"}
    assert hit["answer"] in (HANDOFF["en"], *answers)
    scores = qa.evaluate(match.model, [(questions[0], questions[1], 1), (questions[0], questions[-1], 0)],
                         fmt="csv")
    assert set(scores) == {"accuracy", "roc_auc", "majority_class_accuracy"}
    reply = qa.train((questions[:2], answers[:2]), tmp_path / "reply",
                     ReplySettings(epochs=1, d_model=16, num_layers=1, vocab_size=300), task="reply",
                     device="cpu", verbose=False)
    written = qa.predict(qa.load(reply.model_dir), questions[:1])[0]
    assert isinstance(written["answer"], str) and written["handoff"] is False
    assert set(qa.evaluate(reply.model, (questions[:2], answers[:2]))) == {"exact_match"}


def test_train_refuses_a_used_folder_the_wrong_settings_and_format(faq_run, tmp_path):
    with pytest.raises(ValueError, match="already holds files"):
        qa.train("builtin", faq_run.model_dir, tiny_settings())
    with pytest.raises(ValueError, match="config: task 'match' takes a MatchSettings, got RouterSettings"):
        qa.train("builtin", tmp_path / "m", RouterSettings(), task="match")
    with pytest.raises(ValueError, match="task: expected one of"):
        qa.train("builtin", tmp_path / "m", task="chat")
    with pytest.raises(ValueError, match="format 'atec': task 'intent' reads intent data"):
        qa.train("builtin", tmp_path / "m", tiny_settings(), fmt="atec")
    with pytest.raises(ValueError, match="format 'faq': a matcher is evaluated on question pairs"):
        match = type("Matcher", (), {"task": "match"})()
        qa.evaluate(match, "pairs.tsv", fmt="faq")


def test_importing_a_verbs_module_leaves_the_verb_in_place():
    code = ("from tasks.qa.train import SETTINGS_OF; from tasks.qa.evaluate import evaluate as e; "
            "import tasks.qa as qa; "
            "assert callable(qa.train) and qa.train.__module__ == 'tasks.qa.train', qa.train; "
            "assert qa.evaluate is e; from tasks.qa import train; assert callable(train)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with pytest.raises(AttributeError, match="has no attribute 'fit'"):
        qa.fit  # noqa: B018


def test_the_use_verbs_check_their_arguments(own_model):
    router = qa.load(own_model.model_dir)
    for kwargs, message in [({"batch_size": 0}, "batch_size: expected a positive integer or None"),
                            ({"batch_size": 2.5}, "batch_size"), ({"lang": "fr"}, "lang: expected one of")]:
        with pytest.raises(ValueError, match=message):
            qa.predict(router, ["where is my refund"], **kwargs)
    with pytest.raises(ValueError, match="question 2 is empty or not text"):
        qa.predict(router, ["where is my refund", None])
    five = ["where is my refund", "card stolen", "sing a song", "my money back", "new card please"]
    batched, whole = qa.predict(router, five, batch_size=2), qa.predict(router, five)
    assert [r["intent"] for r in batched] == [r["intent"] for r in whole]
    assert [r["confidence"] for r in batched] == pytest.approx([r["confidence"] for r in whole], abs=1e-5)
    with pytest.raises(ValueError, match="device: expected"):
        qa.load(own_model.model_dir, device="tpu")
    with pytest.raises(ValueError, match="format 'csv': an intent router is evaluated on an intent CSV"):
        qa.evaluate(router, own_model.data, fmt="csv")
    with pytest.raises(ValueError, match="oos_label: the model's out-of-scope label is 'oos', got 'other'"):
        qa.evaluate(router, own_model.data, oos_label="other")
    with pytest.raises(ValueError, match="batch_size"):
        qa.evaluate(router, own_model.data, batch_size=-1)
    whole = qa.evaluate(router, own_model.data)
    assert qa.evaluate(router, own_model.data, batch_size=4) == pytest.approx(whole)


def test_pretraining_shows_a_bar_of_its_own_labelled_pretraining(monkeypatch, capsys):
    from tasks.qa import pretrain
    from tasks.qa.config import SentenceConfig
    from tasks.qa.model import SentenceEncoder

    monkeypatch.setattr(pretrain, "progress_enabled", lambda setting: True)  # as on a terminal
    shape = qa_encoder(d_model=8, nhead=2, num_layers=1, dim_feedforward=16)
    encoder = SentenceEncoder(SentenceConfig(vocab_size=40, encoder=shape))
    pretrain.pretrain_mlm(encoder, [[2, 7, 9, 11]] * 6, epochs=2, batch_size=4, device="cpu")
    out, err = capsys.readouterr()
    assert "pretraining the encoder (masked tokens) on 6 questions, 2 epochs" in out
    assert "pretraining:" in err and "/4 " in err  # the bar: 2 epochs of 2 steps
