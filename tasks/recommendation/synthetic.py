"""A seeded simulator of a shop's purchase sequences, with planted patterns a model should learn.

Real purchase logs belong to shops; this simulator (our own design) gives the recommendation
head, the demo, the tutorial and the tests a log whose structure is known.

**The catalogue.** Eight departments, each with three categories that make a *bundle chain*
(``phone -> case -> charger``, ``camera -> memory-card -> tripod``, ``laptop -> mouse ->
laptop-bag``, ``coffee-maker -> coffee-beans -> mug``, ``tent -> sleeping-bag -> lantern``,
``running-shoes -> sports-socks -> water-bottle``, ``shampoo -> conditioner -> towel``,
``novel -> bookmark -> reading-lamp``). Every category has ``items_per_category`` models,
named ``phone-00``, ``phone-01``, ...; within a category the popularity of model ``k`` falls
like ``1 / (k + 1) ** popularity`` (Zipf with exponent 0.5 by default).

**The shoppers.** Shopper ``u`` has a *taste*: two favourite departments. A history is a
run of ``Uniform(min_len, max_len)`` purchases made of episodes:

1. **Browsing** (the start of every episode): an item from a favourite department (with
   probability ``taste_strength``; otherwise from any department), its category uniform within
   the department, its model by popularity. *Learnable from the whole history*: the taste shows
   in every earlier purchase, not in the last item alone.
2. **Bundles**: after buying a chain's first item (``phone-k``) the shopper, with probability
   ``bundle_prob``, buys its accessory ``case-(k mod accessories)`` -- with the default 2
   accessories and 10 models, one case fits five phones -- and then, with probability
   ``bundle_prob`` again, the third item **of the same model as the first**, ``charger-k``.
   *Learnable only by looking two steps back*: the case does not say which of its five phones
   came before it, the phone does.

An item is never bought twice by the same shopper (a redraw picks another), so the full-ranking
protocol, which excludes the history, never hides the right answer.

**What a model should learn, and what the baselines cannot**: the most-popular baseline knows
neither the taste nor the bundles; the item-to-item baseline (what most often followed the
last item) sees ``phone-k -> case`` but after the case it can only rank the five chargers that
share it by how often each followed the case, and it knows nothing of the taste. A causal
Transformer can attend from the case back to the phone, and over the whole history for the
taste (the demo's attention picture shows it). The bundle completions are a tenth of the
targets, so they move the validation metric little: training has to run long enough (the demo
turns early stopping off) for the model to learn them.

Output: the ``csv`` format of :mod:`tasks.recommendation.data` -- ``user_id,item_id,category,
timestamp`` (seconds; ``category`` is extra and ignored by the loader), one row per purchase,
chronological within each shopper. ``minitransformer recommend simulate --out FILE`` writes it.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ShopConfig", "DEPARTMENTS", "catalogue", "simulate_purchases", "write_purchases",
           "bundle_partner"]

#: department -> its bundle chain of three categories (first item, accessory, third item)
DEPARTMENTS: dict[str, tuple[str, str, str]] = {
    "mobile": ("phone", "case", "charger"),
    "photo": ("camera", "memory-card", "tripod"),
    "computing": ("laptop", "mouse", "laptop-bag"),
    "kitchen": ("coffee-maker", "coffee-beans", "mug"),
    "outdoor": ("tent", "sleeping-bag", "lantern"),
    "sport": ("running-shoes", "sports-socks", "water-bottle"),
    "care": ("shampoo", "conditioner", "towel"),
    "books": ("novel", "bookmark", "reading-lamp"),
}


@dataclass
class ShopConfig:
    """The simulator's knobs (defaults: the demo's shop, about 60,000 purchases)."""

    users: int = 4000
    items_per_category: int = 10     # 8 departments x 3 categories x 10 = 240 items
    min_len: int = 5
    max_len: int = 25
    taste_strength: float = 0.9      # share of browsing purchases from the two favourite departments
    bundle_prob: float = 0.8         # chance to continue a bundle chain at each step
    accessories: int = 2             # models of the accessory (second category) per chain
    popularity: float = 0.5          # Zipf exponent of the models' popularity (0 = all equal)
    seed: int = 0

    def __post_init__(self):
        for name, low in (("users", 1), ("items_per_category", 2), ("min_len", 1), ("accessories", 1)):
            if getattr(self, name) < low:
                raise ValueError(f"{name}: expected an integer >= {low}, got {getattr(self, name)}")
        if self.max_len < self.min_len:
            raise ValueError(f"max_len: expected >= min_len ({self.min_len}), got {self.max_len}")
        if self.accessories > self.items_per_category:
            raise ValueError(f"accessories: expected <= items_per_category ({self.items_per_category}), "
                             f"got {self.accessories}")
        for name in ("taste_strength", "bundle_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}: expected a probability in [0, 1], got {getattr(self, name)}")
        favourite_items = 2 * 3 * self.items_per_category  # the two favourite departments' items
        if self.max_len > favourite_items:
            raise ValueError(f"max_len: a shopper buys each item once, so at most {favourite_items} "
                             f"with {self.items_per_category} items per category; got {self.max_len}")

    @classmethod
    def for_items(cls, items: int, **kwargs) -> ShopConfig:
        """A shop with about ``items`` items (whole categories of the 24, at least 2 models each);
        histories are capped at what a shopper can buy once each (``6 x`` models per category)."""
        per_category = max(2, round(items / (3 * len(DEPARTMENTS))))
        cap = 2 * 3 * per_category
        kwargs.setdefault("max_len", min(cls.max_len, cap))
        kwargs.setdefault("min_len", min(cls.min_len, kwargs["max_len"]))
        kwargs.setdefault("accessories", min(cls.accessories, per_category))
        return cls(items_per_category=per_category, **kwargs)


def catalogue(config: ShopConfig) -> dict[str, list[str]]:
    """``{category: [item names, most popular first]}`` for all 24 categories."""
    return {category: [f"{category}-{k:02d}" for k in range(config.items_per_category)]
            for chain in DEPARTMENTS.values() for category in chain}


def bundle_partner(item: str, config: ShopConfig) -> tuple[str, str] | None:
    """The planted bundle after a chain's first item: ``"phone-04"`` -> ``("case-00", "charger-04")``
    (with 2 accessories); ``None`` for an item that starts no chain."""
    category, _, number = item.rpartition("-")
    for first, accessory, third in DEPARTMENTS.values():
        if category == first:
            k = int(number)
            return f"{accessory}-{k % config.accessories:02d}", f"{third}-{k:02d}"
    return None


def _browse(rng: random.Random, config: ShopConfig, favourites: list[str], weights: list[float]) -> str:
    departments = list(DEPARTMENTS)
    department = rng.choice(favourites) if rng.random() < config.taste_strength else rng.choice(departments)
    category = rng.choice(DEPARTMENTS[department])
    k = rng.choices(range(config.items_per_category), weights=weights)[0]
    return f"{category}-{k:02d}"


def simulate_purchases(config: ShopConfig | None = None) -> dict[str, list[str]]:
    """``{user_id: [item, ...]}`` in purchase order (see the module docstring)."""
    config = config or ShopConfig()
    rng = random.Random(config.seed)
    weights = [1.0 / (k + 1) ** config.popularity for k in range(config.items_per_category)]
    histories: dict[str, list[str]] = {}
    for u in range(config.users):
        favourites = rng.sample(list(DEPARTMENTS), 2)
        length = rng.randint(config.min_len, config.max_len)
        bought: list[str] = []
        owned: set[str] = set()
        while len(bought) < length:
            item = _browse(rng, config, favourites, weights)
            if item in owned:
                continue
            episode = [item]
            bundle = bundle_partner(item, config)
            if bundle is not None:
                for follower in bundle:
                    if rng.random() >= config.bundle_prob or follower in owned or follower in episode:
                        break
                    episode.append(follower)
            for item in episode[: length - len(bought)]:
                bought.append(item)
                owned.add(item)
        histories[f"U{u:05d}"] = bought
    return histories


def write_purchases(path: str | Path, config: ShopConfig | None = None) -> dict[str, int]:
    """Simulate and write the CSV; returns ``{"users", "items", "purchases"}``."""
    config = config or ShopConfig()
    histories = simulate_purchases(config)
    rng = random.Random(config.seed + 1)
    start = 1_700_000_000  # seconds; each shopper's purchases a few hours to days apart
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "item_id", "category", "timestamp"])
        for user, items in histories.items():
            stamp = start + rng.randrange(86_400 * 30)
            for item in items:
                stamp += rng.randrange(600, 86_400 * 3)
                writer.writerow([user, item, item.rpartition("-")[0], stamp])
    items = {item for seq in histories.values() for item in seq}
    return {"users": len(histories), "items": len(items),
            "purchases": sum(len(seq) for seq in histories.values())}
