"""The reply generator (tasks/qa/replies/generator.py): learns canned answers, beam search."""

from __future__ import annotations

import pytest

from tasks.qa.bundle import read_info
from tasks.qa.config import ReplySettings
from tasks.qa.replies.generator import ReplyGenerator, train_reply_generator
from tasks.qa.synthetic import FAQ, INTENTS


def test_reply_generator_learns_canned_answers_with_beam_search(tmp_path):
    rows = [(FAQ[i][2][0], FAQ[i][0][:40]) for i in INTENTS[:4]]
    questions, answers = [q for q, _ in rows], [a for _, a in rows]
    settings = ReplySettings(epochs=250, batch_size=4, d_model=32, num_layers=1, vocab_size=300, lr=3e-3)
    generator = train_reply_generator(questions, answers, settings=settings, device="cpu", verbose=False)
    assert generator.evaluate(questions, answers)["exact_match"] == 1.0
    generator.save(tmp_path / "r")
    again = ReplyGenerator.load(tmp_path / "r")
    assert again.reply(questions[:1]) == generator.reply(questions[:1]) == answers[:1]
    assert read_info(tmp_path / "r")["task"] == "reply"
    with pytest.raises(ValueError, match="empty question"):
        generator.reply(["  "])
