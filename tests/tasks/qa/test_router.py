"""The intent router (tasks/qa/router/): the hand-off threshold, routing metrics, learning the
built-in FAQ in seconds, saving and loading."""

from __future__ import annotations

import pytest
import torch

from tasks.qa.config import IntentSettings, RouterSettings, qa_encoder
from tasks.qa.router.oos import HUMAN, choose_handoff_threshold, route, routing_metrics
from tasks.qa.router.router import IntentRouter
from tasks.qa.router.training import train_router
from tasks.qa.synthetic import ANSWERS, faq_split, language_of

TINY = RouterSettings(vocab_size=600,
                      encoder=qa_encoder(d_model=48, nhead=4, num_layers=1, dim_feedforward=96),
                      ngram_buckets=4096, ensemble=1,
                      train=IntentSettings(epochs=12, batch_size=32, lr=3e-3, patience=None,
                                           token_dropout=0.0, label_smoothing=0.0, pretrain_epochs=0))


def test_handoff_threshold_hand_computed():
    # rows: (confidence of the argmax, right?) ; two confident right, one unsure wrong, one oos
    probs = torch.tensor([[0.95, 0.05, 0.0], [0.1, 0.9, 0.0], [0.55, 0.45, 0.0], [0.6, 0.4, 0.0]])
    truth = [0, 1, 1, 2]  # class 2 = oos (never predicted here)
    tau = choose_handoff_threshold(probs, truth, oos_index=2)
    assert 0.6 <= tau < 0.9  # hand off the two unsure rows, answer the two confident ones
    decisions = route(probs, tau, oos_index=2)
    assert decisions == [0, 1, HUMAN, HUMAN]
    m = routing_metrics(decisions, truth, 2, 3)
    assert m["in_scope_accuracy"] == pytest.approx(2 / 3) and m["oos_recall"] == 1.0
    assert m["accuracy"] == pytest.approx(3 / 4)


def test_macro_f1_counts_the_human_class_only_when_it_occurs():
    # no oos intent, every question answered and right: macro-F1 is 1, not 3/4 (an empty HUMAN class)
    assert routing_metrics([0, 1, 2], [0, 1, 2], None, 3)["macro_f1"] == pytest.approx(1.0)
    # one question handed off (HUMAN lands on class 3): now the class exists and scores F1 = 0
    m = routing_metrics([0, 1, HUMAN], [0, 1, 2], None, 3)
    assert m["macro_f1"] == pytest.approx((1 + 1 + 0 + 0) / 4) and m["accuracy"] == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def faq_router():
    train, _ = faq_split()
    torch.manual_seed(0)
    return train_router([q for q, _ in train], [y for _, y in train], settings=TINY, device="cpu",
                        verbose=False, answers=ANSWERS)


def test_builtin_faq_learnable_in_seconds(faq_router):
    _, test = faq_split()
    in_scope = [(q, y) for q, y in test if y != "oos"]
    pred = faq_router.probs([q for q, _ in in_scope]).argmax(-1).tolist()
    right = [faq_router.labels[p] == y for p, (_, y) in zip(pred, in_scope)]
    en = [r for r, (q, _) in zip(right, in_scope) if language_of(q) == "en"]
    zh = [r for r, (q, _) in zip(right, in_scope) if language_of(q) == "zh"]
    # chance is 1/33; a dozen epochs of a 1-layer d=48 model get ~95% (en) and ~90% (zh)
    assert sum(en) / len(en) >= 0.8 and sum(zh) / len(zh) >= 0.75, (sum(en), sum(zh))


def test_router_save_load_round_trip(faq_router, tmp_path):
    faq_router.save(tmp_path / "m")
    again = IntentRouter.load(tmp_path / "m")
    texts = ["where is my order?", "怎么退货"]
    assert torch.allclose(faq_router.probs(texts), again.probs(texts), atol=1e-6)
    assert again.labels == faq_router.labels and again.threshold == faq_router.threshold
    assert again.expert is not None and again.mix_weight == faq_router.mix_weight  # TINY: two experts
