"""The recommendation head's settings: the model's config and the training recipe.

* :class:`RecommenderConfig` -- every number needed to rebuild a
  :class:`~tasks.recommendation.model.SequentialRecommender` (saved as ``config.json``): the
  catalogue size N, the kind (``"sasrec"`` or ``"bert4rec"``), ``max_len``, and the core's
  :class:`~minitransformer.nn.config.EncoderConfig` nested as ``encoder``.
* :class:`TrainSettings` -- the training recipe (loss, batches, masking, schedule, early
  stopping, final fit), saved in ``train_config.json`` under ``"task"``.
* :func:`training_defaults`, :func:`default_config`, :func:`default_settings` -- the defaults,
  which depend on the data's format and on the model.
* :func:`read_config` -- a model folder's ``config.json``, read as data: every value of the
  type its field declares, before a model is built from it.

The defaults were chosen on Amazon Beauty to fit 20 minutes on 2 CPU cores: SASRec, full-softmax
cross-entropy at every position, d_model 64, 2 layers, 1 head, dropout 0.3, max-len 50, batch
128, AdamW lr 3e-3 with 100 warm-up steps and a cosine to 0.1 x lr over 20 epochs, early
stopping on validation NDCG@10 (3,000 seeded validation users) with patience 8, then the
transition prior's mix fitted on the validation items (the counts of the last 3 items, 1 or 2
steps after and before: :mod:`tasks.recommendation.mixing`), then a 5-epoch final fit with the
validation items put back (:mod:`tasks.recommendation.train`). Data whose epochs cost more
(training positions x items, :func:`epoch_cost`) gets proportionally fewer epochs and
final-fit epochs (:func:`default_settings`). The ml1m
folder gets max-len 200, 60 epochs, patience 20, dropout 0.2 and no final fit (only 6,040
histories; 512 noisy validation users, the only ones with a validation item). BERT4Rec: the
same, but dropout 0.1, patience 16, 80 epochs (an epoch costs about 40% of a SASRec epoch, but
it learns from far fewer positions per pass), mask probability 0.2, and half of the examples a
history cut at a random item with that item masked (``last_item_prob``).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from minitransformer.errors import CheckpointError
from minitransformer.files.model_folder import read_json
from minitransformer.nn.config import ConfigBase, EncoderConfig

__all__ = ["MODEL_KINDS", "LOSSES", "RecommenderConfig", "TrainSettings", "encoder_config",
           "training_defaults", "default_config", "default_settings", "epoch_cost", "read_config"]

MODEL_KINDS = ("sasrec", "bert4rec")
LOSSES = ("ce", "bce", "gbce")

#: BERT4Rec learns from ~20% of the positions per pass and needs many more (cheaper) epochs.
#: SASRec: 20 (30 until 2026-12-06; on Beauty the Transformer alone scored 0.0510 after 20
#: epochs and 0.0518 after 30, benchmarks/LOG.md), which leaves time for the mix and the final fit
DEFAULT_EPOCHS = {"sasrec": 20, "bert4rec": 80}
#: BERT4Rec's masks and random cuts already keep it from memorising its histories; with less
#: dropout it learns faster and keeps more of the final fit (Beauty: see benchmarks/LOG.md)
DEFAULT_DROPOUT = {"sasrec": 0.3, "bert4rec": 0.1}
#: BERT4Rec's validation NDCG@10 rises slowly and noisily (fresh masks and cuts every epoch):
#: with patience 8 it stopped after 37-53 of its 80 epochs (Beauty: see benchmarks/LOG.md)
DEFAULT_PATIENCE = {"sasrec": 8, "bert4rec": 16}
#: the ml1m folder: long histories (max-len 200), and its 512 validation users make NDCG@10 jump
#: by ~0.01 between epochs (a longer patience).
#: No final fit: only those 512 users have a validation item to put back (0.05% more training
#: targets), so it would only train longer on the same data (measured: no gain, or a loss).
ML1M_DEFAULTS = {"max_len": 200, "patience": 20, "final_epochs": 0}
#: SASRec on the ml1m folder: only 6,040 histories, so 60 epochs; dropout 0.2 as the SASRec
#: paper chose for ML-1M (its long, dense histories overfit less than Amazon's): validation
#: NDCG@10 0.1886 -> 0.2027, test 0.1377 -> 0.1523 (benchmarks/LOG.md). BERT4Rec keeps its own
#: (larger) epochs and (smaller) dropout.
ML1M_SASREC_DEFAULTS = {"epochs": 60, "dropout": 0.2}


#: Amazon Beauty's epoch_cost (128,031 training positions x 12,101 items), on which the default
#: epochs were chosen: data that costs more per epoch gets proportionally fewer epochs, so that
#: the defaults stay under 20 minutes of training on 2 CPU cores (default_settings)
REFERENCE_EPOCH_COST = 128_031 * 12_101
#: the transition prior: the last 3 items of a history each read the counts of the items that
#: came 1 or 2 after them and 1 or 2 before them (12 fitted weights; Beauty: see benchmarks/LOG.md).
#: On by default for SASRec; BERT4Rec and the ml1m folder keep their measured defaults without it
#: (--prior-items 3 turns it on there too, not measured)
DEFAULT_PRIOR_ITEMS, DEFAULT_PRIOR_LAGS = 3, 2


def encoder_config(d_model: int = 64, nhead: int = 1, num_layers: int = 2,
                   dim_feedforward: int | None = None, dropout: float = 0.3,
                   attention_backend: str = "manual") -> EncoderConfig:
    """The recommender's encoder: pre-norm (with a final layer norm) and GELU, as in SASRec.

    ``dim_feedforward`` defaults to ``4 * d_model``.

    Examples:
        >>> encoder_config(d_model=32).dim_feedforward
        128
    """
    return EncoderConfig(d_model=d_model, nhead=nhead, num_layers=num_layers,
                         dim_feedforward=4 * d_model if dim_feedforward is None else dim_feedforward,
                         dropout=dropout, activation="gelu", norm_first=True,
                         attention_backend=attention_backend)


@dataclass
class RecommenderConfig(ConfigBase):
    """Every number needed to rebuild a :class:`SequentialRecommender` (saved as config.json).

    ``num_items`` is N (ids 1..N); the vocabulary has N + 2 rows (0 = padding, N + 1 = [MASK]).
    ``max_len`` is the number of most recent items the model reads. ``encoder`` sizes the core
    :class:`~minitransformer.Encoder` (its ``dropout`` also drops the input embeddings).
    The transition prior (:mod:`tasks.recommendation.transitions`): ``prior_items`` D, how many
    of the last items it reads (0 = no prior); ``prior_lags`` K, the tables of items that came
    1..K after and 1..K before; ``prior_pairs``, how many pairs the tables hold (set by training:
    the size of the two count tensors in the weights file).
    """

    model_type: ClassVar[str] = "sequential_recommender"
    num_items: int = 1
    kind: str = "sasrec"
    max_len: int = 50
    encoder: EncoderConfig = field(default_factory=encoder_config)
    prior_items: int = 0
    prior_lags: int = 2
    prior_pairs: int = 0

    def __post_init__(self):
        self._check_positive("num_items", "max_len")
        self._check_positive("prior_lags")
        for name in ("prior_items", "prior_pairs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
        self._check_choice("kind", MODEL_KINDS)
        if not isinstance(self.encoder, EncoderConfig):
            raise ValueError(f"encoder: expected an EncoderConfig, got {type(self.encoder).__name__}")

    @property
    def mask_id(self) -> int:
        return self.num_items + 1

    @property
    def vocab_size(self) -> int:
        return self.num_items + 2


@dataclass
class TrainSettings:
    """The training recipe (its defaults: SASRec on a Beauty-style file; see the module docstring).

    * ``loss``: ``"ce"`` full-softmax cross-entropy, ``"bce"`` sampled BCE, ``"gbce"`` gBCE with
      ``negatives`` negatives per position (:mod:`tasks.recommendation.losses`).
    * ``batch_size`` sequences and at most ``max_tokens`` item positions per batch.
    * BERT4Rec: ``mask_prob`` of the items masked; ``last_item_prob`` of the examples a history
      cut at a random item, that item masked.
    * ``eval_users``: validation users scored each epoch (a seeded sample; ``None`` = all).
    * ``epochs``, ``lr``, ``warmup_steps``, ``min_lr_ratio``: AdamW with a linear warm-up and a
      cosine to ``min_lr_ratio x lr``; ``patience``: epochs without a better validation
      NDCG@10 before stopping (``None`` = never stop early).
    * ``final_epochs``: then this many epochs with the validation items put back (0 = keep the
      validation-best model).

    Every value is checked here, so that a wrong one is refused before a training writes
    anything: counts are positive integers (``warmup_steps`` and ``final_epochs`` may be 0),
    ``lr`` a finite positive number, ``mask_prob`` in (0, 1) (masking every item leaves nothing
    to read), ``last_item_prob`` and ``min_lr_ratio`` in [0, 1].
    """

    loss: str = "ce"
    negatives: int = 256
    batch_size: int = 128
    max_tokens: int = 6400  # positions per batch (128 sequences x max-len 50)
    mask_prob: float = 0.2
    last_item_prob: float = 0.5
    eval_users: int | None = 3000
    epochs: int = DEFAULT_EPOCHS["sasrec"]
    lr: float = 3e-3
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    patience: int | None = DEFAULT_PATIENCE["sasrec"]
    final_epochs: int = 5

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss: expected one of {LOSSES}, got {self.loss!r}")
        if not _is_number(self.mask_prob) or not 0.0 < self.mask_prob < 1.0:  # 1: nothing left to read
            raise ValueError(f"--mask-prob: expected a probability in (0, 1), got {self.mask_prob}")
        if not _is_number(self.last_item_prob) or not 0.0 <= self.last_item_prob <= 1.0:
            raise ValueError(f"--last-item-prob: expected a probability in [0, 1], got {self.last_item_prob}")
        if self.final_epochs is None or not _is_count(self.final_epochs, 0):
            raise ValueError(f"--final-epochs: expected an integer >= 0, got {self.final_epochs}")
        counts = (("negatives", 1, False), ("batch_size", 1, False), ("max_tokens", 1, False),
                  ("epochs", 1, False), ("warmup_steps", 0, False),
                  ("eval_users", 1, True), ("patience", 1, True))  # (name, lowest, None allowed)
        for name, low, optional in counts:
            value = getattr(self, name)
            if not (optional and value is None) and not _is_count(value, low):
                expected = ("a positive integer" if low == 1 else "an integer >= 0") + (" or None" * optional)
                raise ValueError(f"{name}: expected {expected}, got {value!r}")
        if not _is_number(self.lr) or self.lr <= 0:
            raise ValueError(f"lr: expected a finite positive number, got {self.lr!r}")
        if not _is_number(self.min_lr_ratio) or not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio: expected a number in [0, 1], got {self.min_lr_ratio!r}")


def _is_count(value, low: int) -> bool:
    """``value`` is an integer (not a bool) of at least ``low``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value) -> bool:
    """``value`` is a finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def training_defaults(fmt: str, model: str) -> dict[str, float]:
    """``max_len``, ``epochs``, ``patience``, ``final_epochs``, ``dropout`` and ``prior_items``
    for data in format ``fmt`` and the model kind ``model`` (what the command line uses when they
    are not set).

    Examples:
        >>> training_defaults("ml1m", "sasrec")["max_len"]
        200
    """
    defaults = {"max_len": 50, "epochs": DEFAULT_EPOCHS[model],
                "patience": DEFAULT_PATIENCE[model], "final_epochs": 5,
                "dropout": DEFAULT_DROPOUT[model],
                "prior_items": DEFAULT_PRIOR_ITEMS if model == "sasrec" and fmt != "ml1m" else 0}
    if fmt == "ml1m":
        defaults.update(ML1M_DEFAULTS)
        if model == "sasrec":
            defaults.update(ML1M_SASREC_DEFAULTS)
    return defaults


def default_config(fmt: str, model: str, num_items: int = 1) -> RecommenderConfig:
    """The model config of :func:`training_defaults` (``max_len``, ``dropout`` and the
    transition prior) for a format and a model kind; the rest of the sizes are
    :func:`encoder_config`'s defaults."""
    defaults = training_defaults(fmt, model)
    return RecommenderConfig(num_items=num_items, kind=model, max_len=int(defaults["max_len"]),
                             encoder=encoder_config(dropout=defaults["dropout"]),
                             prior_items=int(defaults["prior_items"]), prior_lags=DEFAULT_PRIOR_LAGS)


def epoch_cost(sequences: list[list[int]], num_items: int, max_len: int) -> int:
    """About what one training epoch costs: training positions x items (the full softmax's size).

    Examples:
        >>> epoch_cost([[1, 2, 3], [4]], num_items=10, max_len=50)  # 2 positions, 10 items
        20
    """
    positions = sum(min(len(seq), max_len + 1) - 1 for seq in sequences if len(seq) >= 2)
    return positions * num_items


def default_settings(fmt: str, model: str, cost: int | None = None) -> TrainSettings:
    """The training recipe of :func:`training_defaults` (``epochs``, ``patience`` and
    ``final_epochs``) for a format and a model kind.

    ``cost``, the data's :func:`epoch_cost`: when it is above :data:`REFERENCE_EPOCH_COST`
    (Amazon Beauty's, on which the epochs were chosen) the epochs and final-fit epochs shrink in
    proportion (at least one each), so that the defaults keep to Beauty's time budget (not for
    the ml1m folder, whose schedule is its own).

    Examples:
        >>> default_settings("sequence", "sasrec").epochs
        20
        >>> s = default_settings("sequence", "sasrec", cost=2 * REFERENCE_EPOCH_COST)
        >>> s.epochs, s.final_epochs
        (10, 2)
    """
    defaults = training_defaults(fmt, model)
    epochs, final_epochs = int(defaults["epochs"]), int(defaults["final_epochs"])
    if cost and fmt != "ml1m" and cost > REFERENCE_EPOCH_COST:
        scale = REFERENCE_EPOCH_COST / cost
        epochs = max(1, round(epochs * scale))
        final_epochs = max(1, round(final_epochs * scale)) if final_epochs else 0
    return dataclasses.replace(TrainSettings(), epochs=epochs, patience=int(defaults["patience"]),
                               final_epochs=final_epochs)


def read_config(path: str | Path) -> RecommenderConfig:
    """The :class:`RecommenderConfig` saved at ``path`` (a model folder's ``config.json``), read as
    data: not JSON, a value of the wrong type (``"d_model": "64"``), an unknown key or a value
    out of range is refused in one line naming the file
    (:class:`~minitransformer.errors.CheckpointError`), before any tensor is allocated.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "config.json"
        >>> RecommenderConfig(num_items=5).to_json_file(path)
        >>> read_config(path).num_items
        5
        >>> _ = path.write_text('{"num_items": 5, "encoder": {"dropout": "high"}}')
        >>> read_config(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        minitransformer.errors.CheckpointError: ...config.json: encoder.dropout: expected float, got 'high'
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: config file not found")
    data = read_json(path)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(data).__name__}")
    _check_types(RecommenderConfig, data, path)
    if isinstance(data.get("encoder"), dict):
        _check_types(EncoderConfig, data["encoder"], path, "encoder.")
    try:
        return RecommenderConfig.from_dict(data, source=str(path))
    except (TypeError, ValueError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def _check_types(cls: type, data: dict, path: Path, prefix: str = "") -> None:
    """Refuse a value in ``data`` that is not of the type its field of ``cls`` declares (an int
    is a float too, a bool is not an int; numbers must be finite)."""
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        if item.name not in data:
            continue  # a missing key takes the default; unknown keys are from_dict's to refuse
        hint, value = hints[item.name], data[item.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        kinds = typing.get_args(hint) if union else (hint,)
        if not any(_is_a(value, kind) for kind in kinds):
            names = " or ".join("null" if kind is type(None) else
                                "an object" if isinstance(kind, type) and issubclass(kind, ConfigBase)
                                else kind.__name__ for kind in kinds)
            shown = repr(value[:40] if isinstance(value, str) else value)[:60]
            raise CheckpointError(f"{path}: {prefix}{item.name}: expected {names}, got {shown}")


def _is_a(value, kind) -> bool:
    if kind is type(None):
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return _is_number(value)
    if isinstance(kind, type) and issubclass(kind, ConfigBase):
        return isinstance(value, dict)
    return isinstance(value, kind)
