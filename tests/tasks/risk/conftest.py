"""A tiny trained risk model shared by the tests of users' files (trained once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """``(folder, data, run_dir)``: simulated transactions and a 1-epoch model trained on them.
    Tests must not change ``run_dir`` (copy it first)."""
    import tasks.risk
    from tasks.risk.config import RiskTrainConfig, risk_encoder
    from tasks.risk.synthetic import SimulatorConfig, write_transactions

    folder = tmp_path_factory.mktemp("risk_users")
    data = folder / "tx.csv"
    write_transactions(data, SimulatorConfig(customers=30, days=15, seed=2))
    config = RiskTrainConfig(encoder=risk_encoder(d_model=16, nhead=2, num_layers=1), epochs=1)
    run = tasks.risk.train(data, folder / "run", config, device="cpu", verbose=False)
    return folder, data, run.model_dir

