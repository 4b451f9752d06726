"""The n-gram vocabulary of the linear expert, and the router's product of two experts."""

import pytest
import torch
import torch.nn.functional as F

from tasks.qa.config import RouterSettings, qa_encoder
from tasks.qa.encoding import iter_ngrams, pad_ids
from tasks.qa.router.linear import LinearNgramExpert
from tasks.qa.router.ngram_vocab import NGRAMS_FILE, NgramVocabulary
from tasks.qa.router.router import IntentRouter
from tasks.qa.router.training import train_router

QUESTIONS = ["Where is my card?", "I want a refund", "my card is lost"]


def test_iter_ngrams_reads_words_pairs_and_characters():
    grams = list(iter_ngrams("My card"))
    assert grams[:3] == ["w my", "w card", "b my card"]
    assert {" c", "ca", " card", "card "} <= set(grams)  # character 1..5-grams of " card "
    assert " card " not in grams  # 6 characters: too long
    assert " " not in grams  # blank n-grams are skipped


def test_vocabulary_keeps_training_ngrams_and_drops_unseen_ones():
    vocab = NgramVocabulary.fit(QUESTIONS)
    assert len(vocab) == len({g for q in QUESTIONS for g in iter_ngrams(q)})
    ids = vocab.encode("my card, zzz")
    assert len(ids) == len(set(ids)) and min(ids) >= 1 and max(ids) <= len(vocab)
    assert vocab.index["w card"] in ids and vocab.index["b my card"] in ids
    assert "w zzz" not in vocab.index and vocab.encode("qqq") == []  # unseen: dropped
    assert len(vocab.encode("card " * 2000 + "lost refund", max_grams=8)) == 8  # the first n-grams


def test_vocabulary_ids_do_not_depend_on_the_order_of_the_questions():
    assert NgramVocabulary.fit(QUESTIONS).grams == NgramVocabulary.fit(QUESTIONS[::-1]).grams


def test_vocabulary_batch_is_padded_with_zero():
    vocab = NgramVocabulary.fit(QUESTIONS)
    batch = vocab.encode_batch(["card", "I want a refund"])  # (2, G)
    assert batch.shape == (2, len(vocab.encode("I want a refund")))
    assert (batch[0, len(vocab.encode("card")):] == 0).all()


def test_vocabulary_save_load_round_trip_and_clear_errors(tmp_path):
    vocab = NgramVocabulary.fit(["退款了吗", *QUESTIONS])
    vocab.save(tmp_path)
    assert NgramVocabulary.load(tmp_path).grams == vocab.grams
    (tmp_path / NGRAMS_FILE).write_text('{"grams": 3}')
    with pytest.raises(ValueError, match="expected"):
        NgramVocabulary.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="n-gram vocabulary not found"):
        NgramVocabulary.load(tmp_path / "missing")
    with pytest.raises(ValueError, match="at least one question"):
        NgramVocabulary.fit([])


def test_router_probabilities_are_the_weighted_product_of_the_two_experts():
    texts = [f"{key} please {i}" for i in range(6) for key in ("card", "refund", "invoice")]
    labels = [key for _ in range(6) for key in ("card", "refund", "invoice")]
    settings = RouterSettings(vocab_size=300, encoder=qa_encoder(d_model=16, nhead=2, num_layers=1,
                                                                  dim_feedforward=32), ensemble=1)
    settings.train.epochs, settings.train.pretrain_epochs, settings.train.patience = 2, 0, None
    router = train_router(texts, labels, settings=settings, device="cpu", verbose=False,
                          valid=(texts, labels))
    assert isinstance(router.expert, LinearNgramExpert) and 0.0 <= router.mix_weight <= 1.0
    assert router.evaluate(texts, labels)["accuracy"] == 1.0  # the linear expert alone fits these
    probs = router.probs(texts)  # (N, C)
    assert torch.allclose(probs.sum(-1), torch.ones(len(texts)), atol=1e-5)
    router.mix_weight = 0.3
    deep = router.model(*_batch(router, texts)).log_softmax(-1)
    linear = router.linear_logits(texts).log_softmax(-1)
    expected = F.softmax(0.3 * deep + 0.7 * linear, -1)
    assert torch.allclose(router.probs(texts), expected, atol=1e-5)


def _batch(router, texts):
    encoded = router.encode(texts)
    router.model.eval()
    return pad_ids([ids for ids, _ in encoded]), pad_ids([grams for _, grams in encoded])


def test_router_refuses_an_expert_without_its_vocabulary():
    with pytest.raises(ValueError, match="expert and ngrams"):
        IntentRouter(None, None, ["a", "b"], expert=LinearNgramExpert(4, 2))
