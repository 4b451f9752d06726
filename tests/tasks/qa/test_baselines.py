"""The dependency-free TF-IDF intent baseline of the QA head."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tasks.qa.baselines import TfidfIntentBaseline, question_features
from tasks.qa.synthetic import faq_split


def test_features_are_character_ngrams_and_words():
    features = question_features("Hi  Bob")
    assert features[:3] == [" ", "h", "i"]                     # padded, lower-cased, spaces collapsed
    assert " hi" in features and "bob" in features and "b " in features
    assert features[-2:] == ["w:hi", "w:bob"]
    assert "w:快递" in question_features("快递 到了吗")             # Chinese: characters and words


def test_tfidf_weights_by_hand():
    baseline = TfidfIntentBaseline().fit(["a", "b"], ["x", "y"])
    # "a" is in one of two documents: idf = log(3/2) + 1; " " in both: idf = log(3/3) + 1 = 1
    a_column, space_column = baseline.vocab["a"], baseline.vocab[" "]
    assert baseline.idf[a_column] == pytest.approx(math.log(1.5) + 1)
    assert baseline.idf[space_column] == pytest.approx(1.0)
    vector = baseline._vectors(["a a"])[0]
    assert np.linalg.norm(vector) == pytest.approx(1.0)
    # in " a a ", "a" occurs twice and " " three times: weights (1 + log tf) * idf, then normalised
    expected = (1 + math.log(2)) * (math.log(1.5) + 1) / ((1 + math.log(3)) * 1.0)
    assert vector[a_column] / vector[space_column] == pytest.approx(expected)


def test_centroid_and_neighbour_pick_the_closest_intent():
    texts = ["where is my parcel", "track my parcel", "refund my money", "money back please"]
    labels = ["track", "track", "refund", "refund"]
    for kind in ("centroid", "neighbour"):
        baseline = TfidfIntentBaseline(kind).fit(texts, labels)
        assert baseline.predict(["where is the parcel", "I want my money back"]) == ["track", "refund"]
        assert baseline.accuracy(texts, labels) == 1.0
        assert baseline.name == f"TF-IDF nearest {kind}"


def test_on_the_builtin_faq_it_is_a_fair_baseline():
    train, test = faq_split()
    baseline = TfidfIntentBaseline().fit([q for q, _ in train], [y for _, y in train])
    accuracy = baseline.accuracy([q for q, _ in test], [y for _, y in test])
    assert 0.75 < accuracy < 0.97                                # strong, but not the ceiling


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="kind"):
        TfidfIntentBaseline("svm")
    with pytest.raises(ValueError, match="texts and labels"):
        TfidfIntentBaseline().fit(["a"], [])
