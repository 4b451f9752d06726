"""The seeded transaction-fraud simulator: its rates, and features from the past only."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.risk.data import detect_history, read_table
from tasks.risk.synthetic import (
    COLUMNS,
    HISTORY,
    SCENARIOS,
    SimulatorConfig,
    customer_features,
    simulate_transactions,
    terminal_features,
    write_transactions,
)


def test_simulator_is_seeded_and_plants_each_scenario_at_the_documented_rate():
    data = simulate_transactions(SimulatorConfig(customers=200, days=45, seed=0))
    again = simulate_transactions(SimulatorConfig(customers=200, days=45, seed=0))
    assert np.array_equal(data["amount"], again["amount"])
    n, scenario = len(data["amount"]), data["fraud_scenario"]
    rates = {name: (scenario == name).mean() for name in SCENARIOS}
    assert 0.002 < rates["stolen_card"] < 0.015
    assert 0.003 < rates["compromised_terminal"] < 0.04
    assert 0.0005 < rates["large_amount"] < 0.005
    assert np.array_equal(data["is_fraud"], (scenario != "none").astype(int)) and n > 15000
    assert (data["amount"][scenario == "large_amount"] > 200).all()


def test_customer_features_use_only_earlier_purchases_of_the_same_card():
    customer, time = np.array([0, 1, 0, 0]), np.array([0.0, 1.0, 10.0, 40.0])    # hours
    f = customer_features(customer, time, np.array([10.0, 99.0, 20.0, 60.0]))
    assert f["prev_amount_1"].tolist() == [0, 0, 10, 20] and f["prev_gap_1"].tolist() == [999, 999, 10, 30]
    assert f["prev_amount_2"].tolist() == [0, 0, 0, 10] and f["prev_gap_2"][3] == 40
    assert f["customer_tx_count_1d"].tolist() == [0, 0, 1, 0]      # at 40 h, 10 h is > 24 h ago
    assert f["customer_tx_count_7d"].tolist() == [0, 0, 1, 2] and f["customer_avg_amount_7d"][3] == 15


def test_terminal_risk_sees_frauds_only_after_the_feedback_delay():
    terminal, day = np.array([0, 0, 0, 1, 0]), np.array([0, 0, 1, 1, 2])
    is_fraud = np.array([1, 0, 0, 1, 0])
    f = terminal_features(terminal, day, is_fraud, n_terminals=2, days=3, delay=1)
    assert f["terminal_tx_count_1d"].tolist() == [0, 0, 2, 0, 1]
    assert f["terminal_risk_1d"].tolist() == [0, 0, 0.5, 0, 0]          # row 3's own fraud is unseen
    assert f["terminal_tx_count_7d"][4] == 3 and f["terminal_risk_7d"][4] == pytest.approx(1 / 3)
    late = terminal_features(terminal, day, is_fraud, n_terminals=2, days=3, delay=2)
    assert late["terminal_risk_1d"].tolist() == [0, 0, 0, 0, 0.5]


def test_simulated_history_becomes_step_tokens():
    numeric = [c for c in COLUMNS if c.startswith(("prev_", "customer_", "amount"))]
    assert detect_history(numeric) == [[f"prev_amount_{k}" for k in range(1, HISTORY + 1)],
                                       [f"prev_gap_{k}" for k in range(1, HISTORY + 1)]]


def test_write_transactions_counts(tmp_path):
    counts = write_transactions(tmp_path / "t.csv", SimulatorConfig(customers=20, days=5, seed=3))
    assert counts["rows"] == len(read_table(tmp_path / "t.csv").rows)
