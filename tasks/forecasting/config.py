"""The forecasting head's two configurations: one member model's, and the whole training's.

* :class:`ForecastConfig` rebuilds one :class:`~tasks.forecasting.model.PatchForecaster` with
  empty weights (saved as ``config.json`` in each member's folder): the context ``C``, the
  horizon ``H``, the patch length ``P``, the core :class:`~minitransformer.EncoderConfig` nested
  as ``encoder``, the quantiles and the number ``K`` of per-step covariates.
* :class:`ForecastSettings` is everything :func:`tasks.forecasting.train` decides before it sees
  the data -- the model's shape shared by the members, the ensemble size, the optimiser, the
  windows, the time budget -- plus how the forecasts are scored (``frequency``, ``season``).
  Its defaults are those of ``minitransformer forecast train``; it is saved as
  ``forecast.json`` in the model folder, with the members' folder names.

The encoder of a forecaster is a small pre-norm stack with GELU (:func:`forecast_encoder`)::

    D = 64, H = 4 heads, L = 2 layers, d_ff = 2D = 128, dropout 0.1, pre-norm, GELU
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import ClassVar

from minitransformer.nn.config import ConfigBase, EncoderConfig
from tasks.forecasting.data import FORMATS

__all__ = ["forecast_encoder", "ForecastConfig", "ForecastSettings", "SETTINGS_NAME", "MAX_MEMBERS",
           "MAX_BATCH"]

#: the file in a trained model folder that holds the :class:`ForecastSettings`
SETTINGS_NAME = "forecast.json"
#: the largest ensemble (each member is trained in turn, and all are held in memory to forecast)
MAX_MEMBERS = 100
#: the largest training batch, in windows (a million windows of 104 steps are 0.4 GB already)
MAX_BATCH = 1_000_000


def forecast_encoder(d_model: int = 64, num_layers: int = 2, dropout: float = 0.1,
                     attention_backend: str = "manual") -> EncoderConfig:
    """The encoder of a forecaster: pre-norm, GELU, ``dim_feedforward = 2 * d_model``, 4 heads
    (1 head when ``d_model`` is not a multiple of 4).

    Examples:
        >>> enc = forecast_encoder(d_model=16, num_layers=1)
        >>> enc.nhead, enc.dim_feedforward, enc.norm_first
        (4, 32, True)
    """
    return EncoderConfig(d_model=d_model, nhead=4 if d_model % 4 == 0 else 1, num_layers=num_layers,
                         dim_feedforward=2 * d_model, dropout=dropout, activation="gelu", norm_first=True,
                         attention_backend=attention_backend)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_quantiles(quantiles: list[float]) -> None:
    """Empty (a point forecast) or increasing values in (0, 1) that include 0.5 (the point forecast)."""
    if not isinstance(quantiles, list) or not all(_is_number(q) for q in quantiles):
        raise ValueError(f"quantiles: expected a list of numbers, got {quantiles!r}")
    if quantiles and (0.5 not in quantiles or any(not 0 < q < 1 for q in quantiles)
                      or any(a >= b for a, b in zip(quantiles, quantiles[1:]))):
        raise ValueError(f"quantiles: expected increasing values in (0, 1) including 0.5, got {quantiles}")


def _check_encoder(encoder) -> None:
    if not isinstance(encoder, EncoderConfig):
        raise ValueError(f"encoder: expected an EncoderConfig, got {type(encoder).__name__}")


def _check_number(name: str, value, zero: bool = False, optional: bool = False) -> None:
    """``value`` is a finite positive number (or 0 with ``zero``, or ``None`` with ``optional``)."""
    if optional and value is None:
        return
    if not _is_number(value) or not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        expected = "a finite number >= 0" if zero else "a finite positive number"
        raise ValueError(f"{name}: expected {expected}{' or None' if optional else ''}, got {value!r}")


def _check_strings(name: str, value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name}: expected a list of strings, got {value!r}")


@dataclass
class ForecastConfig(ConfigBase):
    """Every number needed to rebuild a :class:`~tasks.forecasting.model.PatchForecaster`.

    ``context`` ``C`` must be a multiple of ``patch_len`` ``P`` (``N = C / P`` patch tokens).
    ``quantiles`` empty = a point forecast trained with MAE; otherwise e.g. ``[0.1, 0.5, 0.9]``
    trained with the pinball loss (0.5 must be among them: it is the point forecast).
    ``n_covariates`` = ``K`` per-step covariates; ``min_scale`` the floor of the RevIN scale,
    in the data's units.

    Examples:
        >>> config = ForecastConfig(context=16, horizon=4, patch_len=4, encoder=forecast_encoder(d_model=16))
        >>> config.num_patches, config.encoder.d_model
        (4, 16)
    """

    model_type: ClassVar[str] = "patch_forecaster"
    context: int = 104
    horizon: int = 13
    patch_len: int = 8
    encoder: EncoderConfig = field(default_factory=forecast_encoder)
    quantiles: list[float] = field(default_factory=list)
    n_covariates: int = 0
    min_scale: float = 1.0

    def __post_init__(self):
        _check_encoder(self.encoder)
        self._check_positive("context", "horizon", "patch_len")
        if self.context % self.patch_len:
            raise ValueError(f"context: {self.context} must be a multiple of patch_len={self.patch_len}")
        _check_quantiles(self.quantiles)
        k = self.n_covariates
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise ValueError(f"n_covariates: expected a non-negative integer, got {self.n_covariates!r}")
        _check_number("min_scale", self.min_scale, zero=True)

    @property
    def num_patches(self) -> int:
        return self.context // self.patch_len

    def approximate_parameters(self) -> int:
        """About how many weights the :class:`~tasks.forecasting.model.PatchForecaster` has, to
        check a size before allocating it (``N`` patches of ``P`` steps, ``K`` covariates,
        width ``D``, ``H × Q`` outputs)::

            P·(2+K)·D  +  (N+1)·D  +  H·K·D  +  encoder  +  N·D·H·Q

        Examples:
            >>> ForecastConfig(context=16, horizon=4, patch_len=4,
            ...                encoder=forecast_encoder(d_model=16)).approximate_parameters()
            4560
        """
        d, k, q = self.encoder.d_model, self.n_covariates, max(1, len(self.quantiles))
        n = self.num_patches
        return (self.patch_len * (2 + k) * d + (n + 1) * d + self.horizon * k * d
                + self.encoder.approximate_parameters() + n * d * self.horizon * q)


@dataclass
class ForecastSettings(ConfigBase):
    """How :func:`tasks.forecasting.train` learns; the defaults are ``minitransformer forecast train``'s.

    Model (shared by the members): ``horizon`` ``H``; ``context`` ``C`` (``None``: 8 × H, capped
    for short series, see :meth:`resolved_context`); ``patch_len``; the ``encoder``; the
    ``quantiles`` (empty: a point forecast). Ensemble: ``members`` models that differ in seed
    and context; with ``refit`` each is retrained on the full series for the epoch count its
    selection run chose. Optimiser: AdamW with ``lr`` and ``weight_decay``, ``epochs`` at most,
    early stopping after ``patience`` epochs without progress, ``pretrain_epochs`` of masked
    patch reconstruction first. Windows: at most ``windows_per_series`` per series, from its
    last ``max_history`` values. ``max_minutes``: the whole ensemble's time budget (``None``:
    none). Scoring: ``frequency`` (MASE's seasonal lag ``m`` and Naive2's season; M4: 1 for
    weekly) and ``season`` (the seasonal-naive period). Filled in by training: ``format``, the
    data's layout; ``member_dirs``, the members' folders; ``columns``, what the members read, in
    the long layout's names (``series_id``, ``date`` if the data had dates, ``value``, the
    covariates), which evaluation and prediction files must provide.
    """

    model_type: ClassVar[str] = "forecast_ensemble"
    horizon: int = 13
    context: int | None = None          # None: 8 × horizon, rounded up to a multiple of patch_len
    patch_len: int = 8
    encoder: EncoderConfig = field(default_factory=forecast_encoder)
    quantiles: list[float] = field(default_factory=list)
    members: int = 3                    # ensemble size (different seeds and context lengths)
    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.01
    patience: int = 5
    windows_per_series: int = 100
    max_history: int | None = 1000
    pretrain_epochs: int = 0
    refit: bool = True                  # retrain on the full series for the selected epoch count
    max_minutes: float | None = 13.0    # the whole ensemble's budget (split evenly over members)
    frequency: int = 1                  # M4 frequency: MASE's m and Naive2's seasonality test
    season: int = 52                    # seasonal-naive period
    format: str = "auto"
    member_dirs: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def __post_init__(self):
        _check_encoder(self.encoder)
        self._check_positive("horizon", "patch_len", "members", "epochs", "batch_size", "patience",
                             "windows_per_series", "frequency", "season")
        if self.members > MAX_MEMBERS:
            raise ValueError(f"members: expected at most {MAX_MEMBERS}, got {self.members}")
        if self.batch_size > MAX_BATCH:
            raise ValueError(f"batch_size: expected at most {MAX_BATCH} windows, got {self.batch_size}")
        if self.context is not None:
            self._check_positive("context")
        if self.max_history is not None:
            self._check_positive("max_history")
        if not isinstance(self.pretrain_epochs, int) or isinstance(self.pretrain_epochs, bool) \
                or self.pretrain_epochs < 0:
            raise ValueError(f"pretrain_epochs: expected a non-negative integer, "
                             f"got {self.pretrain_epochs!r}")
        _check_number("lr", self.lr)
        _check_number("weight_decay", self.weight_decay, zero=True)
        _check_number("max_minutes", self.max_minutes, optional=True)
        if not isinstance(self.refit, bool):
            raise ValueError(f"refit: expected true or false, got {self.refit!r}")
        _check_quantiles(self.quantiles)
        self._check_choice("format", FORMATS)
        _check_strings("member_dirs", self.member_dirs)
        _check_strings("columns", self.columns)

    @property
    def covariate_names(self) -> list[str] | None:
        """The covariate columns the members read (``promo``, ...); ``None`` for a model folder
        saved before the columns were recorded."""
        if not self.columns:
            return None
        return [name for name in self.columns if name not in ("series_id", "date", "value")]

    def resolved_context(self, member: int = 0, typical_length: int | None = None) -> int:
        """Member k's context, a multiple of patch_len: (8, 6, 10, 4, 12 ...) × H by default.

        ``context`` replaces the 8 × H (the others scale with it). For **short series**
        (``typical_length`` = the median training history) the base is capped at half of it,
        rounded to a whole patch: a context longer than the history is mostly padding, and the
        amount of padding then tells the model *where in the calendar* a window ends (all
        series start on the same week), a shortcut that does not carry over to the future.

        Examples:
            >>> [ForecastSettings(horizon=8).resolved_context(k) for k in range(3)]
            [64, 48, 80]
        """
        factors = (8, 6, 10, 4, 12)
        base = self.context if self.context is not None else 8 * self.horizon
        if typical_length is not None:
            base = min(base, max(self.patch_len, round(typical_length / 2 / self.patch_len) * self.patch_len))
        scaled = base * factors[member % len(factors)] // 8
        return max(self.patch_len, -(-scaled // self.patch_len) * self.patch_len)

    def member_config(self, context: int, n_covariates: int) -> ForecastConfig:
        """The :class:`ForecastConfig` of a member with this ``context`` and ``K`` covariates."""
        return ForecastConfig(context=context, horizon=self.horizon, patch_len=self.patch_len,
                              encoder=replace(self.encoder), quantiles=list(self.quantiles),
                              n_covariates=n_covariates)
