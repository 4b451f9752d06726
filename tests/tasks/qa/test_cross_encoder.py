"""The cross-encoder matcher (tasks/qa/matching/cross_encoder.py) and the lexical pair baseline
kept beside it (tasks/qa/baselines.py): symmetry, segments, learning a task only a model that
reads both questions together can learn, save and load, damaged folders."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minitransformer.errors import CheckpointError
from minitransformer.tokenizers import CharTokenizer
from tasks.qa.baselines import TfidfPairBaseline
from tasks.qa.config import CrossMatchConfig, MatchSettings, default_settings, qa_encoder
from tasks.qa.matching.cross_encoder import (
    SEP_ID,
    CrossPairMatcher,
    cross_batches,
    encode_cross,
    pair_sequence,
    segments_of,
    shared_of,
)
from tasks.qa.matching.matcher import BASELINE_FILE, QuestionMatcher
from tasks.qa.matching.training import train_matcher
from tasks.qa.pretrain import mlm_loss

HANZI = st.text(alphabet="花呗借还款怎么开通额度用不了", min_size=1, max_size=12)
SMALL = qa_encoder(d_model=32, nhead=2, num_layers=1, dim_feedforward=64)


def _matcher(seed=0, shared_tokens=True):
    torch.manual_seed(seed)
    tokenizer = CharTokenizer().fit(["花呗借还款怎么开通额度用不了"])
    config = CrossMatchConfig(vocab_size=tokenizer.vocab_size, encoder=SMALL, max_len=32,
                              shared_tokens=shared_tokens)
    return QuestionMatcher(CrossPairMatcher(config).eval(), tokenizer)


@settings(max_examples=30, deadline=None)
@given(HANZI, HANZI)
def test_a_score_does_not_depend_on_which_question_comes_first(a, b):
    matcher = _matcher()
    forward, backward = matcher.scores([(a, b)]), matcher.scores([(b, a)])
    assert torch.allclose(forward, backward, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(HANZI, HANZI)
def test_the_shared_flag_marks_exactly_the_characters_of_one_question_found_in_the_other(a, b):
    matcher = _matcher()
    (ids_a, ids_b), = encode_cross(matcher.tokenizer, [(a, b)], matcher.model.config)
    flags = shared_of(torch.tensor([pair_sequence(ids_a, ids_b)]))[0].tolist()  # (T,)
    expected = [0] + [int(t in ids_b) for t in ids_a] + [0] + [int(t in ids_a) for t in ids_b] + [0]
    assert flags == expected


def test_one_order_alone_is_not_symmetric_so_the_average_is_what_makes_it():
    matcher = _matcher()
    rows = [(x, 0) for x in matcher.encode_pairs([("花呗怎么还款", "借呗额度")])]
    one = matcher.model(cross_batches(rows)[0])
    other = matcher.model(cross_batches(rows, flip=True)[0])
    assert not torch.allclose(one, other)


def test_segments_start_after_the_first_separator_and_padding_is_ignored():
    ids = torch.tensor([pair_sequence([10, 11], [12]) + [0, 0]])  # (1, 8)
    assert segments_of(ids).tolist() == [[0, 0, 0, 0, 1, 1, 1, 1]]
    matcher = _matcher()
    short = matcher.model(ids[:, :6])
    assert torch.allclose(matcher.model(ids), short, atol=1e-5)  # padding changes nothing


def test_each_question_is_cut_to_half_the_positions():
    matcher = _matcher()
    (a, b), = encode_cross(matcher.tokenizer, [("花" * 40, "呗" * 3)], matcher.model.config)
    assert len(a) == (32 - 3) // 2 and len(b) == 3
    ids, _ = cross_batches([((a, b), 1)])
    assert ids.shape[1] <= 32
    with pytest.raises(ValueError, match="pair 1: empty question"):
        encode_cross(matcher.tokenizer, [("  ", "花呗")], matcher.model.config)


def test_masked_pretraining_never_masks_the_separators():
    matcher = _matcher()
    ids = torch.tensor([pair_sequence([10, 11, 12, 13], [14, 15, 16])] * 64)
    seen = []
    original = matcher.model.mlm_logits

    def spy(masked, select=None):
        seen.append(masked)
        return original(masked, select)

    matcher.model.mlm_logits = spy
    torch.manual_seed(0)
    loss = mlm_loss(matcher.model, ids, mask_prob=0.9, special_ids=(0, 5, SEP_ID))
    assert torch.isfinite(loss)
    assert bool((seen[0][ids == SEP_ID] == SEP_ID).all())


def _same_set_pairs(n, seed):
    """Pairs of 3-character strings; same meaning = the same characters in any order. The
    character counts of a and b say nothing alone (every character is equally common on both
    sides); only comparing the two questions does."""
    rng = random.Random(seed)
    chars = "花呗借还款怎么开通额度用不了"
    pairs = []
    for i in range(n):
        a = rng.sample(chars, 3)
        if i % 2:
            b = rng.sample(a, 3)
        else:
            b = a[:2] + [rng.choice([c for c in chars if c not in a])]
            rng.shuffle(b)
        pairs.append(("".join(a), "".join(b), i % 2))
    return pairs


def test_the_cross_encoder_learns_to_compare_the_two_questions_helped_by_the_shared_flag():
    scores = {}
    for shared in (True, False):
        s = MatchSettings(architecture="cross", vocab_size=300, encoder=SMALL, max_len=16, epochs=12,
                          batch_size=32, lr=3e-3, patience=None, pretrain_epochs=0, shared_tokens=shared,
                          blend=False)
        matcher = train_matcher(_same_set_pairs(800, 0), settings=s, device="cpu", verbose=False)
        scores[shared] = metrics = matcher.evaluate(_same_set_pairs(300, 1))
    assert scores[True]["roc_auc"] > 0.9, scores  # chance is 0.5
    assert scores[False]["roc_auc"] < scores[True]["roc_auc"] - 0.1, scores  # the module docstring's 0.73
    assert "char TF-IDF + LR" in metrics["baselines"]
    assert metrics["majority_class_accuracy"] == pytest.approx(0.5, abs=0.01)


def test_the_pair_baseline_matches_scikit_learn_and_is_symmetric():
    sklearn = pytest.importorskip("sklearn")
    del sklearn
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = random.Random(0)
    words = ["花呗", "借呗", "还款", "额度", "开通", "怎么", "用不了", "逾期", "提前"]
    pairs = []
    for i in range(600):
        a = rng.sample(words, 3)
        b = a[:2] + rng.sample(words, 1) if i % 2 else rng.sample(words, 3)
        pairs.append(("".join(a), "".join(b), int(i % 2 == 1 and len(set(a) & set(b)) >= 2)))
    train, test = pairs[:450], pairs[450:]
    ours = TfidfPairBaseline().fit(train, steps=600).scores([(a, b) for a, b, _ in test])
    assert np.allclose(ours, TfidfPairBaseline().fit(train, steps=600).scores([(b, a) for a, b, _ in test]))
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit(
        [t for a, b, _ in train for t in (a, b)])

    def feats(rows):
        a, b = vec.transform([r[0] for r in rows]), vec.transform([r[1] for r in rows])
        return hstack([abs(a - b), a.multiply(b), np.asarray(a.multiply(b).sum(1))]).tocsr()

    theirs = LogisticRegression(max_iter=3000).fit(feats(train), [y for *_, y in train])
    truth = [y for *_, y in test]
    ref = roc_auc_score(truth, theirs.predict_proba(feats(test))[:, 1])
    assert abs(roc_auc_score(truth, ours) - ref) < 0.02, (roc_auc_score(truth, ours), ref)


def test_a_matcher_saves_and_loads_its_baseline_and_refuses_a_damaged_one(tmp_path):
    s = MatchSettings(architecture="cross", vocab_size=300, encoder=SMALL, max_len=16, epochs=1,
                      batch_size=32, pretrain_epochs=1, patience=None)
    pairs = _same_set_pairs(120, 0)
    matcher = train_matcher(pairs, settings=s, device="cpu", verbose=False)
    matcher.save(tmp_path / "m")
    again = QuestionMatcher.load(tmp_path / "m")
    test = [(a, b) for a, b, _ in _same_set_pairs(20, 1)]
    assert torch.allclose(again.scores(test), matcher.scores(test), atol=1e-6)
    labelled = _same_set_pairs(20, 1)
    assert again.evaluate(labelled)["baselines"] == matcher.evaluate(labelled)["baselines"]
    path = tmp_path / "m" / BASELINE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    nan_idf = [float("nan")] * len(data["idf"])
    for damaged in ("{", json.dumps({**data, "weights": data["weights"][:-1]}), json.dumps([1, 2]),
                    json.dumps({**data, "threshold": "high"}), json.dumps({**data, "idf": nan_idf})):
        path.write_text(damaged, encoding="utf-8")
        with pytest.raises(CheckpointError, match=str(path).replace("\\", "\\\\")) as err:
            QuestionMatcher.load(tmp_path / "m")
        assert "\n" not in str(err.value)
    path.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        QuestionMatcher.load(tmp_path / "m")


def test_the_blend_is_fitted_on_validation_saved_and_checked_when_loaded(tmp_path):
    s = MatchSettings(architecture="cross", vocab_size=300, encoder=SMALL, max_len=16, epochs=2,
                      batch_size=32, patience=None, pretrain_epochs=0)
    matcher = train_matcher(_same_set_pairs(200, 0), settings=s, device="cpu", verbose=False)
    assert matcher.blend is not None and len(matcher.blend) == 3
    report = matcher.valid_report
    assert {"transformer_valid_roc_auc", "baseline_valid_roc_auc", "valid_roc_auc"} <= set(report)
    metrics = matcher.evaluate(_same_set_pairs(60, 1))
    assert {"roc_auc", "transformer_roc_auc", "accuracy", "majority_class_accuracy", "baselines"} <= set(
        metrics)
    matcher.save(tmp_path / "m")
    again = QuestionMatcher.load(tmp_path / "m")
    assert again.blend == pytest.approx(matcher.blend)
    info_path = tmp_path / "m" / "qa.json"
    info = json.loads(info_path.read_text(encoding="utf-8"))
    for bad in ([1.0, 2.0], [1.0, "x", 0.0], "blend", [1.0, 2.0, float("inf")]):
        info_path.write_text(json.dumps({**info, "blend": bad}), encoding="utf-8")
        with pytest.raises(CheckpointError, match="blend: expected three finite numbers"):
            QuestionMatcher.load(tmp_path / "m")


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([1.0, 5.0, 20.0, 60.0]), st.integers(0, 10_000))
def test_the_blend_reaches_the_minimum_even_when_the_transformer_is_confidently_wrong(scale, seed):
    """Large logits, a quarter of them on the wrong side: a plain Newton step overshoots there
    (the weights ran off to 1e10 before the line search); the fit must end at the minimum."""
    from tasks.qa.matching.blend import fit_blend

    rng = np.random.default_rng(seed)
    y = (rng.random(300) < 0.25).astype(int)
    z_m = scale * np.where(rng.random(300) < 0.75, 2 * y - 1, 1 - 2 * y) + rng.normal(0, 1, 300)
    z_l = (2 * y - 1) + rng.normal(0, 1.5, 300)
    x = np.stack([z_m, z_l, np.ones(300)], axis=1)

    def objective(w):  # the blend's: cross-entropy + (a² + b²) / 2
        z = x @ np.asarray(w)
        return float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * (w[0] ** 2 + w[1] ** 2))

    fitted = fit_blend(z_m, z_l, y)
    assert all(np.isfinite(fitted)) and max(abs(v) for v in fitted) < 100
    prior = float(np.log(y.mean() / (1 - y.mean())))
    for other in ([1.0, 0.0, 0.0], [0.0, 1.0, prior], [0.0, 0.0, prior], [0.1, 0.5, prior]):
        assert objective(fitted) <= objective(other) + 1e-9


@given(st.floats(-8, 8), st.floats(-8, 8))
def test_the_consistency_term_is_the_symmetric_kl_of_two_bernoulli_predictions(z1, z2):
    p, q = 1 / (1 + np.exp(-z1)), 1 / (1 + np.exp(-z2))

    def kl(a, b):
        return a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))

    assert (p - q) * (z1 - z2) == pytest.approx(kl(p, q) + kl(q, p), abs=1e-9)


def test_training_with_the_consistency_term_reads_each_pair_in_both_orders():
    s = MatchSettings(architecture="cross", vocab_size=300, encoder=SMALL, max_len=16, epochs=4,
                      batch_size=32, lr=3e-3, patience=None, pretrain_epochs=0, blend=False, consistency=1.0)
    matcher = train_matcher(_same_set_pairs(300, 0), settings=s, device="cpu", verbose=False)
    history = matcher.fit_result.history
    assert len(history) == 4 and history[-1]["train_loss"] < history[0]["train_loss"]
    with pytest.raises(ValueError, match="consistency: expected a finite number >= 0"):
        MatchSettings(consistency=-1.0)


def test_without_the_blend_the_scores_are_the_transformers_own():
    s = MatchSettings(architecture="cross", vocab_size=300, encoder=SMALL, max_len=16, epochs=1,
                      batch_size=32, patience=None, blend=False, pretrain_epochs=0)
    matcher = train_matcher(_same_set_pairs(100, 0), settings=s, device="cpu", verbose=False)
    assert matcher.blend is None and "transformer_roc_auc" not in matcher.evaluate(_same_set_pairs(40, 1))
    pairs = [("花呗还款", "还款花呗")]
    assert torch.allclose(matcher.scores(pairs), torch.sigmoid(matcher.model_logits(pairs)))


def test_unlabelled_pairs_are_read_by_the_pretraining_and_the_vocabulary_only(capsys):
    s = MatchSettings(architecture="cross", vocab_size=300, encoder=SMALL, max_len=16, epochs=1,
                      batch_size=32, patience=None, blend=False, pretrain_epochs=1, whole_words=True)
    labelled = _same_set_pairs(40, 0)  # 36 of them train, 4 validate
    unlabelled = [("手机号码", "怎么更改"), ("账单", "分期")] * 10
    matcher = train_matcher(labelled, settings=s, device="cpu", verbose=True, unlabelled=unlabelled)
    printed = capsys.readouterr().out
    assert "on 56 question pairs" in printed  # pretraining: 36 labelled + 20 unlabelled
    encoded = matcher.tokenizer.encode("手机号码")
    assert len(encoded) == 4 and len(set(encoded)) == 4  # the unlabelled characters are in the vocabulary
    assert matcher.fit_result.history  # fine-tuning ran on the labelled pairs


def test_the_faq_matcher_stays_a_bi_encoder_and_pairs_default_to_the_cross_encoder():
    from tasks.qa.config import MatchConfig

    for recipe in (default_settings("match", fmt="faq"), default_settings("match"), MatchSettings()):
        assert type(recipe.model_config(300, faq=True)) is MatchConfig
        assert type(recipe.model_config(300)) is CrossMatchConfig
    assert type(MatchSettings(architecture="siamese").model_config(300)) is MatchConfig
    assert type(MatchSettings(architecture="cross").model_config(300, faq=True)) is CrossMatchConfig
    with pytest.raises(ValueError, match="architecture"):
        MatchSettings(architecture="both")


def test_qa_evaluate_prints_the_matcher_beside_the_lexical_baseline_and_the_majority_class(tmp_path, capsys):
    from minitransformer.cli.main import main

    def write(path, rows):
        lines = [f"{i}\t{a}\t{b}\t{y}\n" for i, (a, b, y) in enumerate(rows)]
        path.write_text("".join(lines), encoding="utf-8")
        return path

    train = write(tmp_path / "train.tsv", _same_set_pairs(120, 0))
    test = write(tmp_path / "test.tsv", _same_set_pairs(40, 1))
    out = tmp_path / "m"
    assert main(["qa", "train", "--task", "match", "--format", "atec", "--data", str(train),
                 "--out", str(out), "--epochs", "1", "--pretrain-epochs", "1", "--d-model", "16",
                 "--layers", "1", "--device", "cpu"]) == 0
    said = capsys.readouterr().out
    assert "the Transformer alone" in said and "char TF-IDF + LR alone" in said
    assert main(["qa", "evaluate", "--model", str(out), "--data", str(test), "--json",
                 str(tmp_path / "scores.json")]) == 0
    printed = capsys.readouterr().out
    assert "char TF-IDF + LR" in printed and "majority_class_accuracy" in printed
    scores = json.loads((tmp_path / "scores.json").read_text(encoding="utf-8"))
    assert {"roc_auc", "transformer_roc_auc", "accuracy", "majority_class_accuracy"} <= set(scores)
    assert set(scores["baselines"]["char TF-IDF + LR"]) == {"roc_auc", "accuracy"}
    (out / BASELINE_FILE).write_text("{", encoding="utf-8")
    assert main(["qa", "evaluate", "--model", str(out), "--data", str(test)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and BASELINE_FILE in err and "Traceback" not in err
