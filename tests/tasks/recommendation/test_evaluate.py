"""The evaluation protocols (full ranking, sampled negatives), the baselines and the table."""

from __future__ import annotations

import pytest
import torch

from tasks.recommendation.baselines import most_popular_scorer, transition_scorer
from tasks.recommendation.evaluate import TABLE_HEADER, evaluate_ranking, table_rows


def _history_loving_scorer(num_items):
    """History items 100, item 1 (the target below) 50, everything else 0."""
    def score(histories):
        scores = torch.zeros(len(histories), num_items + 2)
        scores[:, 1] = 50.0
        for row, history in enumerate(histories):
            scores[row, history] = 100.0
        return scores
    return score


def test_full_protocol_excludes_history_items():
    inputs, targets = [[2, 3, 4], [5, 6]], [1, 1]
    report = evaluate_ranking(_history_loving_scorer(20), inputs, targets, 20)
    assert report["protocol"] == "full" and report["MRR"] == 1.0  # history items never rank above
    unfiltered = evaluate_ranking(_history_loving_scorer(20), inputs, targets, 20, exclude_history=False)
    assert unfiltered["MRR"] == pytest.approx((1 / 4 + 1 / 3) / 2)


def test_sampled_negatives_never_come_from_the_history():
    num_items = 120
    inputs = [list(range(2, 60)) for _ in range(30)]  # half of the catalogue is in every history
    report = evaluate_ranking(_history_loving_scorer(num_items), inputs, [1] * 30, num_items,
                              protocol="sampled", negatives=50, exclude_history=False)
    assert report["protocol"] == "sampled-50-uniform" and report["MRR"] == 1.0
    with pytest.raises(ValueError, match="negatives"):
        evaluate_ranking(_history_loving_scorer(10), [[2]], [1], 10, protocol="sampled", negatives=100)


def test_baselines_on_a_toy_log():
    train = [[1, 2, 3], [1, 2], [4, 2], [3, 1]]
    popular = most_popular_scorer(train, 4)([[4]])
    assert popular[0, 2] == 3 and popular[0, 1] == 3 and popular[0, 4] == 1
    transition = transition_scorer(train, 4)([[1], [3]])
    assert transition[0].argmax().item() == 2  # 1 -> 2 twice
    assert transition[1].argmax().item() == 1  # 3 -> 1 once beats popularity


def test_table_rows_have_one_cell_per_header_column():
    report = evaluate_ranking(_history_loving_scorer(20), [[2, 3]], [1], 20)
    rows = table_rows({"a": report, "b": report})
    assert [row.split(" | ")[0] for row in rows] == ["| a", "| b"]
    assert all(row.count("|") == TABLE_HEADER[0].count("|") == TABLE_HEADER[1].count("|") for row in rows)
    assert "| 1.0000 |" in rows[0]
