"""``qa train --init-from DIR``: QA models that start from a GPT-2 or BERT checkpoint.

The checkpoints are tiny random ones built by :mod:`tests.interop.hf_checkpoints` (no download);
training is one epoch on a slice of the built-in FAQ, so the tests check the plumbing (the start
weights, the saved folder, loading without the checkpoint, the refusals), not the accuracy.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from minitransformer.cli.main import main  # noqa: E402
from minitransformer.interop import from_hf  # noqa: E402
from tasks.qa import evaluate, load, predict, train  # noqa: E402
from tasks.qa.bundle import read_info  # noqa: E402
from tasks.qa.config import pretrained_settings  # noqa: E402
from tasks.qa.data import read_faq  # noqa: E402
from tests.interop.hf_checkpoints import load_reference, write_bert, write_gpt2  # noqa: E402


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    return {"bert": write_bert(root / "bert", lowercase=False), "gpt2": write_gpt2(root / "gpt2")}


def _copy(folder, tmp_path):
    """A copy of a checkpoint folder that a test may delete after training."""
    return shutil.copytree(folder, tmp_path / f"copy-{folder.name}")


def _faq_slice(n=40):
    questions, answers = read_faq("builtin")
    step = max(len(questions) // n, 1)
    return questions[::step][:n], answers[::step][:n]


def _intent_settings(**changes):
    settings = pretrained_settings("intent", builtin=True)
    return dataclasses.replace(settings, train=dataclasses.replace(settings.train, epochs=1, lr=1e-3),
                               **changes)


# ----------------------------------------------------------------------------- start weights
def test_intent_encoder_starts_as_the_checkpoint(checkpoints):
    """Before fine-tuning, the classifier's pooled vector is the reference BERT's masked mean of
    its last hidden states (so every weight was copied, and pooling skips the padding)."""
    from tasks.qa.encoding import encode_questions, pad_ids
    from tasks.qa.router.ensemble import build_classifier
    from tasks.qa.router.training import _from_checkpoint

    tokenizer, config, state = _from_checkpoint(checkpoints["bert"], _intent_settings(), num_labels=3)
    model = build_classifier(config)
    model.sentence.bert.load_state_dict(state)
    model.eval()
    texts = ["where is my order?", "我想退款，尺寸不合适。"]
    ids = pad_ids([row for row, _ in encode_questions(tokenizer, texts, config)])  # (2, T)
    reference, reference_tokenizer = load_reference(checkpoints["bert"])
    batch = reference_tokenizer(texts, return_tensors="pt", padding=True)
    assert ids.tolist() == batch["input_ids"].tolist()  # [CLS] … [SEP] [PAD] …, the checkpoint's ids
    with torch.no_grad():
        hidden = reference.bert(**batch).last_hidden_state  # (2, T, D)
        keep = batch["attention_mask"].unsqueeze(-1).float()
        expected = (hidden * keep).sum(1) / keep.sum(1)
        torch.testing.assert_close(model.sentence(ids), expected, atol=1e-5, rtol=1e-5)


def test_matcher_encoder_starts_as_the_checkpoint(checkpoints):
    from tasks.qa.config import MatchSettings
    from tasks.qa.matching.training import _from_checkpoint

    model, _ = _from_checkpoint(checkpoints["bert"], MatchSettings())
    loaded, _ = from_hf(checkpoints["bert"])
    ours = model.sentence.bert.state_dict()
    for name, tensor in loaded.state_dict().items():
        if not name.startswith(("mlm_head.", "pooler.")):
            assert torch.equal(ours[name], tensor), name


def test_reply_example_puts_the_loss_on_the_answer_only(checkpoints):
    from tasks.qa.pretrained.checkpoint import load_gpt2
    from tasks.qa.pretrained.replies import IGNORE, GPT2ReplyGenerator

    model, tokenizer = load_gpt2(checkpoints["gpt2"])
    generator = GPT2ReplyGenerator(model, tokenizer, max_new_tokens=16)
    ids, labels = generator.example("where is my order?", "It ships today.")
    prompt = generator.prompt("where is my order?")
    assert ids[:len(prompt)] == prompt and labels[:len(prompt)] == [IGNORE] * len(prompt)
    assert labels[len(prompt):] == ids[len(prompt):] and ids[-1] == model.config.eos_id
    assert tokenizer.decode(ids[len(prompt):-1]).strip() == "It ships today."


# ----------------------------------------------------------------------------- round trips
def test_intent_from_bert_round_trip_with_the_linear_expert(checkpoints, tmp_path):
    folder = _copy(checkpoints["bert"], tmp_path)
    out = tmp_path / "intent"
    run = train("builtin", out, _intent_settings(linear_expert=True), device="cpu", verbose=False,
                init_from=folder)
    shutil.rmtree(folder)  # the model folder answers without the checkpoint
    assert json.loads((out / "config.json").read_text())["model_type"] == "qa_bert_intent"
    assert (out / "vocab.txt").is_file() and (out / "model.safetensors").is_file()
    router = load(out)
    assert router.expert is not None and 0.0 <= router.mix_weight <= 1.0
    question = "where is my order?"
    assert router.tokenizer.encode(question) == run.model.tokenizer.encode(question)
    reply = predict(router, ["where is my order?", "我的订单什么时候发货？"])
    assert [sorted(r) for r in reply] == [["answer", "confidence", "handoff", "intent", "top_intent"]] * 2
    assert router.probs(["where is my order?"]).tolist() == run.model.probs(["where is my order?"]).tolist()
    assert 0.0 <= evaluate(router, "builtin")["accuracy"] <= 1.0
    from tasks.qa.plot import attention_views

    assert len(attention_views(out, "where is my order?")) == 1


def test_match_from_bert_round_trip(checkpoints, tmp_path):
    from tasks.qa.config import MatchSettings

    folder = _copy(checkpoints["bert"], tmp_path)
    out = tmp_path / "match"
    settings = dataclasses.replace(pretrained_settings("match", fmt="faq"), epochs=1, lr=1e-3)
    assert isinstance(settings, MatchSettings)
    questions, answers = read_faq("builtin")
    run = train((questions[:120], answers[:120]), out, settings, task="match", fmt="faq", device="cpu",
                verbose=False, init_from=folder)
    shutil.rmtree(folder)
    matcher = load(out)
    assert json.loads((out / "config.json").read_text())["model_type"] == "qa_bert_match"
    pairs = [("where is my order?", "where is my parcel?"), ("refund please", "change my address")]
    assert matcher.scores(pairs).tolist() == run.model.scores(pairs).tolist()
    answer = predict(matcher, "where is my order?")[0]
    assert {"matched_question", "score", "handoff", "answer"} <= set(answer)
    scores = evaluate(matcher, [(a, b, y) for (a, b), y in zip(pairs, [1, 0])])
    assert set(scores) == {"accuracy", "roc_auc", "majority_class_accuracy"}


def test_reply_from_gpt2_round_trip(checkpoints, tmp_path):
    folder = _copy(checkpoints["gpt2"], tmp_path)
    out = tmp_path / "reply"
    questions, answers = _faq_slice(12)
    settings = dataclasses.replace(pretrained_settings("reply"), epochs=1, lr=1e-3)
    run = train((questions, answers), out, settings, task="reply", device="cpu", verbose=False,
                init_from=folder)
    shutil.rmtree(folder)
    assert read_info(out)["model"] == "causal_lm"
    assert json.loads((out / "config.json").read_text())["model_type"] == "causal_lm"
    generator = load(out)
    replies = generator.reply(questions[:2])
    assert replies == run.model.reply(questions[:2]) and all(isinstance(r, str) for r in replies)
    assert predict(generator, questions[0])[0]["handoff"] is False
    assert 0.0 <= evaluate(generator, (questions[:3], answers[:3]))["exact_match"] <= 1.0
    from tasks.qa.plot import attention_views

    (view,) = attention_views(out, questions[0])  # the causal self-attention over the prompt
    assert view.name == "self" and len(view.query_labels) == len(generator.prompt(questions[0]))


def test_cli_train_ask_evaluate_predict_from_bert(checkpoints, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["qa", "train", "--data", "builtin", "--init-from", str(checkpoints["bert"]),
                 "--out", str(out), "--epochs", "1", "--lr", "1e-3", "--device", "cpu"]) == 0
    assert "saved to" in capsys.readouterr().out
    assert main(["qa", "ask", "--model", str(out), "where is my order?"]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["qa", "evaluate", "--model", str(out), "--data", "builtin"]) == 0
    questions = tmp_path / "questions.csv"
    questions.write_text("text\nwhere is my order?\nrefund please\n")
    assert main(["qa", "predict", "--model", str(out), "--data", str(questions)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) >= 2


# ----------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("task, family, words", [("intent", "gpt2", "use a BERT folder"),
                                                 ("match", "gpt2", "use a BERT folder"),
                                                 ("reply", "bert", "use a GPT-2 folder")])
def test_wrong_family_is_refused_before_training(checkpoints, tmp_path, task, family, words):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=words) as err:
        train("builtin", out, task=task, fmt="faq" if task == "match" else None, device="cpu",
              verbose=False, init_from=checkpoints[family])
    assert str(checkpoints[family]) in str(err.value) and "\n" not in str(err.value)
    assert not out.exists()


def test_other_architecture_is_refused_with_exit_2(tmp_path, capsys):
    other = tmp_path / "t5"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"architectures": ["T5ForConditionalGeneration"],
                                                   "model_type": "t5"}))
    out = tmp_path / "out"
    assert main(["qa", "train", "--data", "builtin", "--init-from", str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(other) in err and "T5ForConditionalGeneration" in err
    assert not out.exists()
    assert main(["qa", "train", "--data", "builtin", "--init-from", str(tmp_path / "missing"),
                 "--out", str(out)]) == 2
    assert "checkpoint folder not found" in capsys.readouterr().err and not out.exists()


def test_bert_for_replies_is_refused_on_the_command_line(checkpoints, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["qa", "train", "--data", "builtin", "--task", "reply",
                 "--init-from", str(checkpoints["bert"]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "use a GPT-2 folder" in err and str(checkpoints["bert"]) in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
