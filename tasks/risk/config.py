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

from dataclasses import dataclass, field
from typing import ClassVar

from minitransformer.nn.config import ConfigBase, EncoderConfig

__all__ = ["risk_encoder", "RiskModelConfig", "RiskTrainConfig", "NUMERIC_TRANSFORMS"]

NUMERIC_TRANSFORMS = ("quantile", "standard", "both")   # see tasks.risk.normalize


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
        self._check_positive("num_quantiles")
        self._check_choice("numeric_transform", NUMERIC_TRANSFORMS)
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
        if not 0.0 < self.label_fraction <= 1.0:
            raise ValueError(f"--label-fraction: expected a value in (0, 1], got {self.label_fraction}")
        self._check_positive("epochs", "batch_size", "patience", "pseudo_teachers", "pseudo_epochs")
        if self.loss not in ("bce", "balanced", "focal"):
            raise ValueError(f"--loss: expected bce, balanced or focal, got {self.loss!r}")
        if self.pseudo_labels not in ("soft", "hard"):
            raise ValueError(f"--pseudo-labels: expected soft or hard, got {self.pseudo_labels!r}")
        if (self.cost_fn is None) != (self.cost_fp is None):
            raise ValueError("--cost-fn and --cost-fp: give both or neither")
        if self.cost_fn is not None and self.target_precision is not None:
            raise ValueError("--target-precision cannot be combined with --cost-fn/--cost-fp")

    @property
    def threshold_rule(self) -> str:
        """How the decision threshold is chosen on the validation rows."""
        if self.cost_fn is not None:
            return "min expected cost"
        return "target precision" if self.target_precision is not None else "max F1"
