"""The risk head's two configurations: the model's (saved as ``config.json``) and the training's.

* :class:`RiskModelConfig` rebuilds a :class:`~tasks.risk.model.TabularTransformer` with empty
  weights: the table ``schema`` (columns, vocabularies, target, medians), the core
  :class:`~minitransformer.EncoderConfig` nested as ``encoder``, and how numbers become tokens.
* :class:`RiskTrainConfig` is everything :func:`tasks.risk.train` decides before it sees the
  data: the encoder's size, the splits, the optimiser, the few-label recipe and the threshold
  rule. Its defaults are those of ``minitransformer risk train``.

The encoder of a risk model is a pre-norm stack with GELU and a feed-forward width of twice the
token width (:func:`risk_encoder`)::

    D = 64, H = 8 heads, L = 3 layers, d_ff = 2D = 128, dropout 0.1, pre-norm, GELU

It runs the hand-written attention and layer norm (``attention_backend="manual"``) unless
``"sdpa"`` (PyTorch's fused kernels, the same function computed faster) is asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from minitransformer.nn.config import ConfigBase, EncoderConfig

__all__ = ["risk_encoder", "RiskModelConfig", "RiskTrainConfig", "NUMERIC_TRANSFORMS"]

NUMERIC_TRANSFORMS = ("quantile", "standard", "both")   # see tasks.risk.normalize
MAX_EPOCHS, MAX_BATCH = 100_000, 2**31 - 1              # upper bounds of the training counts


def risk_encoder(d_model: int = 64, nhead: int = 8, num_layers: int = 3, dropout: float = 0.1,
                 attention_backend: str = "manual") -> EncoderConfig:
    """The encoder of a risk model: pre-norm, GELU, ``dim_feedforward = 2 * d_model``.

    Examples:
        >>> risk_encoder(d_model=32, num_layers=1).dim_feedforward
        64
    """
    return EncoderConfig(d_model=d_model, nhead=nhead, num_layers=num_layers, dim_feedforward=2 * d_model,
                         dropout=dropout, activation="gelu", norm_first=True,
                         attention_backend=attention_backend)


@dataclass
class RiskModelConfig(ConfigBase):
    """Everything needed to rebuild the model (and to encode a table for it).

    ``schema`` is :class:`tasks.risk.data.Schema` as a dict (columns, vocabularies, target,
    positive label, medians); ``encoder`` the core encoder's settings; ``numeric_transform``
    how a number becomes a token's value (``"both"``: its quantile rank and its clipped
    standardised value, see :mod:`tasks.risk.normalize`); ``sequence_view`` whether history
    column families become time-step tokens.
    """

    model_type: ClassVar[str] = "risk_ft_transformer"
    schema: dict = field(default_factory=dict)
    encoder: EncoderConfig = field(default_factory=risk_encoder)
    numeric_transform: str = "both"
    num_quantiles: int = 256
    sequence_view: bool = True

    def __post_init__(self):
        if not isinstance(self.encoder, EncoderConfig):
            raise ValueError(f"encoder: expected an EncoderConfig, got {type(self.encoder).__name__}")
        quantiles = self.num_quantiles
        if not isinstance(quantiles, int) or isinstance(quantiles, bool) or quantiles < 2:
            raise ValueError(f"num_quantiles: expected an integer >= 2, got {quantiles!r}")
        if not isinstance(self.sequence_view, bool):
            raise ValueError(f"sequence_view: expected true or false, got {self.sequence_view!r}")
        self._check_choice("numeric_transform", NUMERIC_TRANSFORMS)
        if not isinstance(self.schema, dict):
            raise ValueError(f"schema: expected a JSON object, got {type(self.schema).__name__}")
        for key in ("numeric", "categorical", "vocab"):
            if key not in self.schema:
                raise ValueError(f"schema: missing key {key!r}")

    @property
    def history(self) -> list[list[str]]:
        return self.schema.get("history", []) if self.sequence_view else []


@dataclass
class RiskTrainConfig(ConfigBase):
    """How :func:`tasks.risk.train` learns; the defaults are ``minitransformer risk train``'s.

    Splits: ``label_fraction`` of the rows keep their labels (stratified, seeded; the others
    are used unlabelled), ``valid_fraction`` of the labelled rows are held out for early
    stopping and the threshold. Optimiser: AdamW with ``lr``, ``weight_decay``, up to
    ``epochs`` with early stopping after ``patience`` epochs without progress. ``loss``:
    ``"bce"``, ``"balanced"`` (positives weighted ``n_neg / n_pos``) or ``"focal"``.
    Few labels: ``pretrain_epochs`` of masked-feature reconstruction (``None``: 30 when there
    are unlabelled rows, else 0) and ``pseudo_rounds`` of pseudo-labels (``None``: 2 when there
    are unlabelled rows, else 0), ``"soft"`` (every unlabelled row, the teacher's probability as
    target; the first teacher averages ``pseudo_teachers`` cross-fitted models) or ``"hard"``
    (the most confident ``pseudo_fraction`` as 0/1 labels). Threshold: the least expected cost
    with ``cost_fn``/``cost_fp``, else the most recall at ``target_precision``, else the best F1.
    """

    model_type: ClassVar[str] = "risk_training"
    encoder: EncoderConfig = field(default_factory=risk_encoder)
    label_fraction: float = 1.0
    valid_fraction: float = 0.15
    epochs: int = 30                     # a cap: early stopping usually ends sooner
    batch_size: int = 256
    lr: float = 3e-4
    weight_decay: float = 1e-5
    patience: int = 4
    loss: str = "bce"
    pretrain_epochs: int | None = None   # None: 30 when there are unlabelled rows, else 0
    pseudo_rounds: int | None = None     # None: 2 when there are unlabelled rows, else 0
    pseudo_labels: str = "soft"          # soft: teacher probabilities on every unlabelled row
    pseudo_fraction: float = 0.3         # hard: the most confident share, as 0/1 labels
    pseudo_teachers: int = 4             # soft: the first teacher averages this many cross-fitted models
    pseudo_epochs: int = 5               # epochs of each student (it sees every unlabelled row)
    pseudo_temperature: float = 1.0      # soft: sharpen the teacher's probabilities (< 1: surer)
    cost_fn: float | None = None
    cost_fp: float | None = None
    target_precision: float | None = None

    def __post_init__(self):
        if not isinstance(self.encoder, EncoderConfig):
            raise ValueError(f"encoder: expected an EncoderConfig, got {type(self.encoder).__name__}")
        for name, high in (("epochs", MAX_EPOCHS), ("batch_size", MAX_BATCH), ("patience", MAX_EPOCHS),
                           ("pseudo_teachers", 100), ("pseudo_epochs", MAX_EPOCHS)):
            _check_range(self, name, 1, high, integer=True)
        _check_range(self, "pretrain_epochs", 0, MAX_EPOCHS, integer=True, optional=True)
        _check_range(self, "pseudo_rounds", 0, 1000, integer=True, optional=True)
        _check_range(self, "label_fraction", 0.0, 1.0, low_open=True)
        _check_range(self, "valid_fraction", 0.0, 1.0, low_open=True, high_open=True)
        _check_range(self, "pseudo_fraction", 0.0, 1.0, low_open=True)
        _check_range(self, "lr", 0.0, low_open=True)
        _check_range(self, "weight_decay", 0.0)
        _check_range(self, "pseudo_temperature", 0.0, low_open=True)
        for name in ("cost_fn", "cost_fp"):
            _check_range(self, name, 0.0, optional=True)
        _check_range(self, "target_precision", 0.0, 1.0, low_open=True, optional=True)
        if self.loss not in ("bce", "balanced", "focal"):
            raise ValueError(f"{_named('loss')}: expected bce, balanced or focal, got {self.loss!r}")
        if self.pseudo_labels not in ("soft", "hard"):
            raise ValueError(f"{_named('pseudo_labels')}: expected soft or hard, got {self.pseudo_labels!r}")
        if (self.cost_fn is None) != (self.cost_fp is None):
            raise ValueError("--cost-fn and --cost-fp: give both or neither")
        if self.cost_fn == 0 and self.cost_fp == 0:
            raise ValueError("--cost-fn and --cost-fp: at least one cost must be above 0")
        if self.cost_fn is not None and self.target_precision is not None:
            raise ValueError("--target-precision cannot be combined with --cost-fn/--cost-fp")

    @property
    def threshold_rule(self) -> str:
        """How the decision threshold is chosen on the validation rows."""
        if self.cost_fn is not None:
            return "min expected cost"
        return "target precision" if self.target_precision is not None else "max F1"


#: the fields of RiskTrainConfig that ``minitransformer risk train`` sets with an option of that name
CLI_FIELDS = ("epochs", "batch_size", "lr", "label_fraction", "valid_fraction", "loss", "pretrain_epochs",
              "pseudo_rounds", "pseudo_labels", "cost_fn", "cost_fp", "target_precision")


def _named(name: str) -> str:
    """``lr (--lr)`` for a field with a command-line option, else ``patience``."""
    return f"{name} (--{name.replace('_', '-')})" if name in CLI_FIELDS else name


def _check_range(config, name: str, low: float, high: float = math.inf, *, low_open: bool = False,
                 high_open: bool = False, integer: bool = False, optional: bool = False) -> None:
    """Refuse ``config.<name>`` unless it is a finite number (an integer when ``integer``) in the
    range; the message names the argument and its command-line option."""
    value = getattr(config, name)
    if value is None and optional:
        return
    kind = (int,) if integer else (int, float)
    ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if ok:
        return
    if integer:
        what = f"an integer from {int(low)} to {int(high)}"
    elif high == math.inf:
        what = "a positive number" if low_open else "a non-negative number"
    else:
        what = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    raise ValueError(f"{_named(name)}: expected {what}, got {value!r}")
