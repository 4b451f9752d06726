"""Label spreading, the third view of the few-label recipe: TF-IDF vectors, the k-NN graph and
the spreading itself."""

from __future__ import annotations

import math

import pytest
import torch

from tasks.qa.semi.propagation import knn_graph, label_spreading, tfidf_vectors

# words of three letters or more and no punctuation: here our tokens and scikit-learn's agree
TEXTS = ["where is my card", "my card has not arrived yet", "i want a refund for my order",
         "refund my order please", "how long does delivery take", "the card was declined"]


def test_tfidf_blocks_match_scikit_learn():
    text = pytest.importorskip("sklearn.feature_extraction.text")
    words = text.TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    chars = text.TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    expected = torch.cat([torch.tensor(words.fit_transform(TEXTS).toarray()),
                          torch.tensor(chars.fit_transform(TEXTS).toarray())], dim=1) / math.sqrt(2)
    ours = tfidf_vectors(TEXTS).to_dense().double()
    assert ours.shape == expected.shape                # both sort each block's terms alphabetically
    assert torch.allclose(ours, expected, atol=1e-6)


def test_tfidf_rows_have_unit_length_and_empty_input_is_refused():
    vectors = tfidf_vectors(["Where is my card?", "退款了吗", "card card card"])
    assert torch.allclose(vectors.to_dense().norm(dim=1), torch.ones(3))
    with pytest.raises(ValueError, match="texts"):
        tfidf_vectors([])


def test_knn_graph_is_symmetric_without_self_loops():
    vectors = tfidf_vectors(TEXTS)
    graph = knn_graph(vectors, k=2)
    assert torch.equal(graph, graph.T)
    assert torch.all(graph.diagonal() == 0)
    assert torch.all((graph > 0).sum(1) >= 1)          # every question keeps a neighbour
    # the nearest neighbour of "where is my card" shares "my card"; a delivery question does not
    assert graph[0, 1] > 0 and graph[0, 4] == 0
    dense = knn_graph(vectors.to_dense(), k=2)
    assert torch.allclose(graph, dense, atol=1e-6)     # sparse and dense inputs agree
    with pytest.raises(ValueError, match="k must be"):
        knn_graph(vectors, k=len(TEXTS))


def _path(n: int) -> torch.Tensor:
    """The chain 0 - 1 - ... - n-1 with unit edges."""
    graph = torch.zeros(n, n)
    idx = torch.arange(n - 1)
    graph[idx, idx + 1] = graph[idx + 1, idx] = 1.0
    return graph


def test_labels_travel_along_a_chain_to_the_nearer_end():
    # alpha 0.5: converged after 50 steps (the rest shrinks like 0.5^50)
    probs = label_spreading(_path(7), torch.tensor([0, 6]), torch.tensor([0, 1]), num_labels=2, alpha=0.5)
    assert torch.allclose(probs.sum(1), torch.ones(7))  # each row is a distribution
    assert probs[:3].argmax(1).tolist() == [0, 0, 0]     # the left half hears label 0 first
    assert probs[4:].argmax(1).tolist() == [1, 1, 1]
    assert probs[3, 0] == pytest.approx(0.5, abs=1e-6)   # the middle is torn evenly
    # confidence falls with the distance from the labelled end
    assert probs[0, 0] > probs[1, 0] > probs[2, 0] > 0.5
    # the fixed point: (1 - alpha)(I - alpha S)^-1 Y, rows normalised
    graph = _path(7)
    scale = graph.sum(1).rsqrt()
    s = scale[:, None] * graph * scale[None, :]
    y = torch.zeros(7, 2)
    y[0, 0] = y[6, 1] = 1.0
    limit = torch.linalg.solve(torch.eye(7) - 0.5 * s, 0.5 * y)
    assert torch.allclose(probs, limit / limit.sum(1, keepdim=True), atol=1e-6)


def test_a_label_travels_at_most_t_edges():
    probs = label_spreading(_path(6), torch.tensor([0]), torch.tensor([1]), num_labels=2, iterations=3)
    assert probs[3, 1] > 0.5                                # three edges away: reached
    assert torch.allclose(probs[4:], torch.full((2, 2), 0.5))  # four and five: not yet


def test_unreached_rows_are_uniform_and_bad_arguments_are_refused():
    graph = torch.zeros(4, 4)
    graph[0, 1] = graph[1, 0] = 1.0                      # rows 2 and 3 are cut off
    probs = label_spreading(graph, torch.tensor([0]), torch.tensor([2]), num_labels=3)
    assert probs[1].argmax() == 2
    assert torch.allclose(probs[2:], torch.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="alpha"):
        label_spreading(graph, torch.tensor([0]), torch.tensor([2]), 3, alpha=1.0)
    with pytest.raises(ValueError, match="same shape"):
        label_spreading(graph, torch.tensor([0, 1]), torch.tensor([2]), 3)
    with pytest.raises(ValueError, match="square"):
        label_spreading(torch.zeros(3, 4), torch.tensor([0]), torch.tensor([0]), 2)
