"""The question matcher (tasks/qa/matching/): FAQ pairs, training, retrieval, save and load."""

from __future__ import annotations

import torch

from tasks.qa.config import MatchSettings, qa_encoder
from tasks.qa.matching.matcher import QuestionMatcher
from tasks.qa.matching.pairs import pairs_from_faq
from tasks.qa.matching.training import train_matcher
from tasks.qa.synthetic import FAQ, INTENTS


def _faq_table(intents, rows):
    questions = [q for i in intents for q in FAQ[i][2][rows]]
    return questions, [FAQ[i][0] for i in intents for _ in FAQ[i][2][rows]]


def test_matcher_learns_faq_pairs_and_retrieves_unseen_paraphrases(tmp_path):
    intents = INTENTS[:6]
    questions, answers = _faq_table(intents, slice(0, 12))
    pairs = pairs_from_faq(questions, answers, negatives=3, seed=0)
    assert {y for *_, y in pairs} == {0, 1} and all(a != b for a, b, _ in pairs)
    settings = MatchSettings(tokenizer="bpe", vocab_size=400,
                             encoder=qa_encoder(d_model=32, nhead=2, num_layers=1, dim_feedforward=64),
                             ngram_buckets=2048, epochs=4, batch_size=32, lr=3e-3, patience=None)
    matcher = train_matcher(pairs, settings=settings, faq=list(zip(questions, answers)), device="cpu",
                            verbose=False)
    held_q, held_a = _faq_table(intents, slice(12, None))  # paraphrases the matcher never saw
    test_pairs = pairs_from_faq(held_q + questions[:12], held_a + answers[:12], negatives=3, seed=1)
    metrics = matcher.evaluate(test_pairs)
    assert metrics["roc_auc"] > 0.9, metrics  # chance is 0.5
    hits = [matcher.retrieve(q) for q in held_q]
    right = sum(answers[questions.index(h["matched_question"])] == a for h, a in zip(hits, held_a))
    assert right / len(held_q) >= 0.7, right  # chance is 1/6
    matcher.save(tmp_path / "m")
    again = QuestionMatcher.load(tmp_path / "m")
    assert again.threshold == matcher.threshold and again.faq == matcher.faq
    pair = [(held_q[0], questions[0])]
    assert torch.allclose(again.scores(pair), matcher.scores(pair))
