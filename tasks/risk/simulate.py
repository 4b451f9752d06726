"""A seeded transaction-fraud simulator with planted fraud scenarios and per-scenario labels.

Real card-fraud data is confidential, so this simulator (its design follows the public
*Reproducible Machine Learning for Credit Card Fraud Detection* handbook, Le Borgne et al.
2022; the code is our own) gives the risk head fraud to learn in tests, demos and tutorials.

**The world.** ``customers`` card holders and ``customers // 2`` terminals live at random
points of a 100 x 100 square. Customer ``c`` has a typical amount ``mu_c ~ U(5, 100)``
(standard deviation ``mu_c / 2``), makes ``Poisson(lambda_c)`` purchases a day with
``lambda_c ~ U(0, 4)``, around midday (hour ~ N(12, 4)), at terminals within distance 25 of
home (the 3 nearest if none is that close).

**Planted fraud** (``fraud_scenario`` names the cause; when two apply, the first listed wins):

1. ``stolen_card``: every day each card is stolen with probability ``card_theft_rate``; for the
   next 14 days a third of its purchases are the thief's, at 5x the usual amount.
   Visible in the card's recent history (``prev_amount_1..5``, ``customer_avg_amount_7d``).
2. ``compromised_terminal``: every day each terminal is compromised with probability
   ``terminal_compromise_rate``; every purchase there during the next 14 days is fraud.
   Visible through ``terminal_frauds_7d``, the frauds confirmed at that terminal over the
   previous 7 days (reported with one day's delay), so the first day is invisible.
3. ``large_amount``: any purchase above 200 is fraud (a planted rule).

With the defaults (500 customers, 60 days, seed 0: about 60,000 rows) roughly 2-3.5% of
transactions are fraud: about 0.7% ``stolen_card``, 1-2% ``compromised_terminal`` and 0.2%
``large_amount`` (seeds 0-2; tests check these ranges).

**Columns**: ``transaction_id, customer_id, terminal_id, day, hour, amount,
customer_avg_amount_7d, customer_tx_count_1d, terminal_frauds_7d, prev_amount_1..5,
prev_hours_1..5, is_fraud, fraud_scenario`` (``prev_*_k``: the card's k-th previous purchase,
0 / 999 hours when there is none). Train with ``--target is_fraud`` (the default for this
layout, which also drops ``transaction_id``, ``fraud_scenario``, ``day`` and the two ids). Evaluate on later
days of the same simulation (a time split): another seed is another world, where ``T00012`` is a
different terminal.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SimulatorConfig", "simulate_transactions", "write_transactions", "SCENARIOS", "COLUMNS"]

SCENARIOS = ("stolen_card", "compromised_terminal", "large_amount")
HISTORY = 5
COLUMNS = (["transaction_id", "customer_id", "terminal_id", "day", "hour", "amount",
            "customer_avg_amount_7d", "customer_tx_count_1d", "terminal_frauds_7d"]
           + [f"prev_amount_{k}" for k in range(1, HISTORY + 1)]
           + [f"prev_hours_{k}" for k in range(1, HISTORY + 1)] + ["is_fraud", "fraud_scenario"])


@dataclass
class SimulatorConfig:
    customers: int = 500
    days: int = 60
    seed: int = 0
    card_theft_rate: float = 0.002         # per card per day
    terminal_compromise_rate: float = 0.001  # per terminal per day
    window_days: int = 14
    large_amount: float = 200.0
    theft_multiplier: float = 5.0

    def __post_init__(self):
        if self.customers < 2 or self.days < 1:
            raise ValueError(f"--customers must be >= 2 and --days >= 1, got {self.customers}, {self.days}")


def _purchases(cfg: SimulatorConfig, rng: np.random.Generator):
    """Legitimate purchases: arrays (customer, terminal, time in hours, amount), time-sorted."""
    n_terminals = max(2, cfg.customers // 2)
    homes = rng.uniform(0, 100, (cfg.customers, 2))
    terminals = rng.uniform(0, 100, (n_terminals, 2))
    mean_amount = rng.uniform(5, 100, cfg.customers)
    rate = rng.uniform(0, 4, cfg.customers)
    distance = np.linalg.norm(homes[:, None] - terminals[None], axis=-1)     # (C, T)
    customer, terminal, time, amount = [], [], [], []
    for c in range(cfg.customers):
        near = np.flatnonzero(distance[c] < 25)
        if len(near) == 0:
            near = np.argsort(distance[c])[:3]
        counts = rng.poisson(rate[c], cfg.days)
        days = np.repeat(np.arange(cfg.days), counts)
        hours = np.clip(rng.normal(12, 4, len(days)), 0, 23.99)
        customer.append(np.full(len(days), c))
        terminal.append(rng.choice(near, len(days)))
        time.append(days * 24 + hours)
        amount.append(np.maximum(0.01, rng.normal(mean_amount[c], mean_amount[c] / 2, len(days))))
    arrays = [np.concatenate(a) for a in (customer, terminal, time, amount)]
    order = np.argsort(arrays[2], kind="stable")
    return [a[order] for a in arrays], n_terminals


def simulate_transactions(config: SimulatorConfig | None = None) -> dict[str, np.ndarray]:
    """Simulate; returns ``{column: array}`` in :data:`COLUMNS` order, sorted by time."""
    cfg = config or SimulatorConfig()
    rng = np.random.default_rng(cfg.seed)
    (customer, terminal, time, amount), n_terminals = _purchases(cfg, rng)
    day = (time // 24).astype(int)
    scenario = np.full(len(day), "", dtype=object)
    stolen = rng.random((cfg.days, cfg.customers)) < cfg.card_theft_rate        # (D, C)
    compromised = rng.random((cfg.days, n_terminals)) < cfg.terminal_compromise_rate
    for start, c in zip(*np.nonzero(stolen)):
        window = (customer == c) & (day >= start) & (day < start + cfg.window_days) & (scenario == "")
        thief = window & (rng.random(len(day)) < 1 / 3)
        amount[thief] *= cfg.theft_multiplier
        scenario[thief] = "stolen_card"
    for start, t in zip(*np.nonzero(compromised)):
        window = (terminal == t) & (day >= start) & (day < start + cfg.window_days) & (scenario == "")
        scenario[window] = "compromised_terminal"
    scenario[(amount > cfg.large_amount) & (scenario == "")] = "large_amount"
    is_fraud = (scenario != "").astype(int)

    # features a bank could compute at the time of the purchase
    frauds_per_day = np.zeros((n_terminals, cfg.days + 1))
    np.add.at(frauds_per_day, (terminal, day), is_fraud)
    cumulative = np.concatenate([np.zeros((n_terminals, 1)), frauds_per_day.cumsum(1)], axis=1)
    # confirmed frauds at the terminal over days [d-7, d-1]
    terminal_frauds = cumulative[terminal, day] - cumulative[terminal, np.maximum(day - 7, 0)]
    n = len(day)
    prev_amount, prev_hours = np.zeros((n, HISTORY)), np.full((n, HISTORY), 999.0)
    avg_7d, count_1d = np.zeros(n), np.zeros(n)
    history: dict[int, list[tuple[float, float]]] = {}
    for i in range(n):
        past = history.setdefault(int(customer[i]), [])
        for k, (t_k, a_k) in enumerate(reversed(past[-HISTORY:])):
            prev_amount[i, k], prev_hours[i, k] = a_k, time[i] - t_k
        week = [a for t_k, a in past[-60:] if time[i] - t_k <= 24 * 7]
        avg_7d[i] = np.mean(week) if week else 0.0
        count_1d[i] = sum(1 for t_k, _ in past[-20:] if time[i] - t_k <= 24)
        past.append((time[i], amount[i]))
    return {
        "transaction_id": np.arange(n), "customer_id": np.array([f"C{c:05d}" for c in customer]),
        "terminal_id": np.array([f"T{t:05d}" for t in terminal]), "day": day,
        "hour": np.round(time % 24, 2), "amount": np.round(amount, 2),
        "customer_avg_amount_7d": np.round(avg_7d, 2), "customer_tx_count_1d": count_1d.astype(int),
        "terminal_frauds_7d": terminal_frauds.astype(int),
        **{f"prev_amount_{k + 1}": np.round(prev_amount[:, k], 2) for k in range(HISTORY)},
        **{f"prev_hours_{k + 1}": np.round(prev_hours[:, k], 2) for k in range(HISTORY)},
        "is_fraud": is_fraud, "fraud_scenario": np.where(scenario == "", "none", scenario),
    }


def write_transactions(path: str | Path, config: SimulatorConfig | None = None) -> dict[str, int]:
    """Simulate and write a CSV; returns ``{"rows": n, scenario: count, ...}``."""
    data = simulate_transactions(config)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(zip(*(data[name].tolist() for name in COLUMNS)))
    scenario = data["fraud_scenario"]
    return {"rows": len(scenario), **{name: int((scenario == name).sum()) for name in SCENARIOS}}
