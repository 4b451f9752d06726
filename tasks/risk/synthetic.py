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
   next 14 days a third of its purchases are the thief's, at 5x the usual amount. Visible by
   comparing ``amount`` with the card's own history (``prev_amount_k``, ``customer_avg_amount_*``).
2. ``compromised_terminal``: every day each terminal is compromised with probability
   ``terminal_compromise_rate``; every purchase there during the next 14 days is fraud.
   Visible through ``terminal_risk_*``, the share of the terminal's past purchases confirmed as
   fraud; confirmations arrive ``feedback_delay_days`` after the purchase, so the first day(s)
   of a compromise are invisible.
3. ``large_amount``: any purchase above 200 is fraud (a planted rule).

With the defaults (500 customers, 60 days, seed 0: about 60,000 rows) roughly 2-3.5% of
transactions are fraud: about 0.7% ``stolen_card``, 1-2% ``compromised_terminal`` and 0.2%
``large_amount`` (seeds 0-2; tests check these ranges).

**Features a bank can compute at the time of the purchase** (only earlier purchases and
labels already confirmed are used, never the current row's label or the future; the windows
follow the handbook's feature engineering, chapter 3)::

    hour                          hour of day of the purchase
    amount                        the purchase amount
    prev_amount_k, prev_gap_k     the card's k-th previous purchase (k = 1..8): its amount and
                                  the hours since it (0 and 999 when there is none); two groups
                                  of the same length, so the model reads them as 8 time-step
                                  tokens with positions (the sequence view)
    customer_tx_count_{1,7,30}d   the card's purchases in the previous 1 / 7 / 30 days
    customer_avg_amount_{1,7,30}d their mean amount (0 when there is none)
    customer_amount_ratio_30d     amount / customer_avg_amount_30d (1 when there is none)
    terminal_tx_count_{1,7,30}d   purchases at the terminal on the w days ending
                                  ``feedback_delay_days`` before today:
                                  days [day - delay - w + 1, day - delay]
    terminal_risk_{1,7,30}d       the fraud share of those purchases (0 when there is none)

The handbook uses a 7-day delay with 28-day compromises; with this simulator's 14-day
compromises the default delay is 1 day (investigators confirm frauds the next day). The world
runs ``warmup_days`` (30) before day 0 and those rows are not written, so even day 0 has full
30-day windows (features do not drift with the day number, which a time split would punish).

**Columns**: ``transaction_id, customer_id, terminal_id, day``, the features above,
``is_fraud, fraud_scenario``. Train with ``--target is_fraud`` (the default for this layout,
which also drops ``transaction_id``, ``fraud_scenario``, ``day`` and the two ids). Evaluate on
later days of the same simulation (a time split): another seed is another world, where
``T00012`` is a different terminal.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

__all__ = ["SimulatorConfig", "simulate_transactions", "write_transactions", "customer_features",
           "terminal_features", "SCENARIOS", "COLUMNS", "WINDOWS", "HISTORY"]

SCENARIOS = ("stolen_card", "compromised_terminal", "large_amount")
HISTORY = 8            # previous purchases of the card kept as time steps
WINDOWS = (1, 7, 30)   # days
COLUMNS = (["transaction_id", "customer_id", "terminal_id", "day", "hour", "amount"]
           + [f"prev_amount_{k}" for k in range(1, HISTORY + 1)]
           + [f"prev_gap_{k}" for k in range(1, HISTORY + 1)]
           + [f"customer_{what}_{w}d" for what in ("tx_count", "avg_amount") for w in WINDOWS]
           + ["customer_amount_ratio_30d"]
           + [f"terminal_{what}_{w}d" for what in ("tx_count", "risk") for w in WINDOWS]
           + ["is_fraud", "fraud_scenario"])


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
    feedback_delay_days: int = 1
    warmup_days: int = 30                  # simulated before day 0, not written (full windows)

    def __post_init__(self):
        for name, low, high in (("customers", 2, 10_000), ("days", 1, 1_000)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{name} (--{name}): expected an integer from {low} to {high}, "
                                 f"got {value!r}")
        if self.warmup_days < 0:
            raise ValueError(f"warmup_days: expected >= 0, got {self.warmup_days}")
        if self.feedback_delay_days < 1:
            raise ValueError(f"feedback_delay_days: expected >= 1 (today's frauds are not yet known), "
                             f"got {self.feedback_delay_days}")


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


def _plant_fraud(cfg: SimulatorConfig, rng: np.random.Generator, customer, terminal, day, amount,
                 n_terminals: int) -> np.ndarray:
    """The scenario of every purchase ("" = legitimate); thieves' amounts are scaled in place."""
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
    return scenario


def customer_features(customer: np.ndarray, time: np.ndarray, amount: np.ndarray) -> dict[str, np.ndarray]:
    """The card's previous purchases, its 1/7/30-day counts and mean amounts (earlier rows only),
    and how the amount compares with the 30-day mean."""
    n = len(time)
    features = {f"prev_amount_{k}": np.zeros(n) for k in range(1, HISTORY + 1)}
    features.update({f"prev_gap_{k}": np.full(n, 999.0) for k in range(1, HISTORY + 1)})
    for w in WINDOWS:
        features[f"customer_tx_count_{w}d"], features[f"customer_avg_amount_{w}d"] = np.zeros(n), np.zeros(n)
    order = np.lexsort((time, customer))                         # by card, then time
    starts = np.flatnonzero(np.r_[True, customer[order][1:] != customer[order][:-1]])
    for rows in np.split(order, starts[1:]):
        t, a = time[rows], amount[rows]
        position = np.arange(len(rows))                          # purchases before this one
        for k in range(1, HISTORY + 1):
            has = position >= k
            features[f"prev_amount_{k}"][rows[has]] = a[position[has] - k]
            features[f"prev_gap_{k}"][rows[has]] = t[has] - t[position[has] - k]
        running = np.r_[0.0, np.cumsum(a)]
        for w in WINDOWS:
            first = np.searchsorted(t, t - 24 * w, side="left")  # oldest purchase in the window
            count = position - first
            features[f"customer_tx_count_{w}d"][rows] = count
            features[f"customer_avg_amount_{w}d"][rows] = np.where(
                count > 0, (running[position] - running[first]) / np.maximum(count, 1), 0.0)
    usual = features["customer_avg_amount_30d"]
    features["customer_amount_ratio_30d"] = np.where(usual > 0, amount / np.maximum(usual, 1e-9), 1.0)
    return features


def terminal_features(terminal: np.ndarray, day: np.ndarray, is_fraud: np.ndarray, n_terminals: int,
                      days: int, delay: int) -> dict[str, np.ndarray]:
    """Purchase counts and fraud shares at the terminal over days [day-delay-w+1, day-delay]."""
    def cumulative(values):                                      # (T, D + 1): sums over days < k
        per_day = np.zeros((n_terminals, days))
        np.add.at(per_day, (terminal, day), values)
        return np.concatenate([np.zeros((n_terminals, 1)), per_day.cumsum(1)], axis=1)

    purchases, frauds = cumulative(np.ones(len(day))), cumulative(is_fraud)
    end = np.clip(day - delay + 1, 0, days)
    features = {}
    for w in WINDOWS:
        start = np.clip(day - delay - w + 1, 0, days)
        count = purchases[terminal, end] - purchases[terminal, start]
        fraud = frauds[terminal, end] - frauds[terminal, start]
        features[f"terminal_tx_count_{w}d"] = count
        features[f"terminal_risk_{w}d"] = np.where(count > 0, fraud / np.maximum(count, 1), 0.0)
    return features


def simulate_transactions(config: SimulatorConfig | None = None) -> dict[str, np.ndarray]:
    """Simulate; returns ``{column: array}`` in :data:`COLUMNS` order, sorted by time."""
    cfg = config or SimulatorConfig()
    rng = np.random.default_rng(cfg.seed)
    world = replace(cfg, days=cfg.days + cfg.warmup_days)          # the warm-up comes first
    (customer, terminal, time, amount), n_terminals = _purchases(world, rng)
    day = (time // 24).astype(int)
    scenario = _plant_fraud(world, rng, customer, terminal, day, amount, n_terminals)
    is_fraud = (scenario != "").astype(int)
    features = {**customer_features(customer, time, amount),
                **terminal_features(terminal, day, is_fraud, n_terminals, world.days,
                                    cfg.feedback_delay_days)}
    data = {"customer_id": customer, "terminal_id": terminal, "day": day - cfg.warmup_days,
            "hour": time % 24, "amount": amount, **features,
            "is_fraud": is_fraud, "fraud_scenario": np.where(scenario == "", "none", scenario)}
    kept = day >= cfg.warmup_days
    data = {name: values[kept] for name, values in data.items()}
    data["transaction_id"] = np.arange(int(kept.sum()))
    data["customer_id"] = np.array([f"C{c:05d}" for c in data["customer_id"]])
    data["terminal_id"] = np.array([f"T{t:05d}" for t in data["terminal_id"]])
    for name, values in data.items():
        if values.dtype.kind == "f":
            data[name] = np.round(values, 4 if name.startswith("terminal_risk") else 2)
    return {name: data[name] for name in COLUMNS}


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
