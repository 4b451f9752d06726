"""Train, save, load and run the forecaster: what the CLI's three actions call.

A trained model directory holds ``forecast.json`` (the task settings and the members) and one
run directory per ensemble member (``member_0/``, ...), each written by the core
:class:`~minitransformer.training.Trainer` (``config.json`` + ``model.safetensors`` = best
weights, ``metrics.jsonl``, checkpoints). The forecast is the **median over the members**
(N-BEATS, Oreshkin et al. 2020, ensembles models that differ in seed and context length; the
median is robust to one bad member).

Each member is trained twice (the usual "select, then refit" of classical forecasting):

1. **Selection run** (``member_k/selection/``): the last ``H`` values of every series are held
   out; windows are cut from the rest, and the best epoch ``E`` is the one with the lowest
   validation OWA (relative to Naive2 on the same held-out values) -- or the lowest MASE when
   the data has zeros, where sMAPE (and so OWA) is meaningless (``|y| + |ŷ| = 0`` or a 200 %
   error on any zero).
2. **Refit** (``member_k/``): a fresh model with the same seed and settings is trained for
   ``E`` epochs on windows of the *full* series, so the most recent ``H`` values -- the ones
   most like the future, and a big share of a short history (8 of 52 weeks) -- are targets
   too. No value is left to validate it: ``E`` is what the selection run chose.
   ``refit=False`` (``--no-refit``) keeps the selection run's best weights instead.

Short series: when the median history is shorter than twice the default context, the
context is capped at half of it (:meth:`ForecastSettings.resolved_context`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from minitransformer.metrics.forecasting import owa, score_forecasts
from minitransformer.training import TrainConfig, Trainer, seed_everything
from tasks.forecasting.baselines import BASELINE_NAMES, baseline_forecasts
from tasks.forecasting.data import SeriesSet
from tasks.forecasting.model import ForecastConfig, PatchForecaster, forecast_loss
from tasks.forecasting.pretrain import pretrain_masked
from tasks.forecasting.windows import WindowDataset, forecast_batch, n_covariates

__all__ = ["ForecastSettings", "split_last", "train_ensemble", "load_ensemble", "predict",
           "score_with_baselines", "SETTINGS_NAME"]

SETTINGS_NAME = "forecast.json"


@dataclass
class ForecastSettings:
    """The task's settings (CLI defaults), saved as ``forecast.json`` in the model directory."""

    horizon: int = 13
    context: int | None = None          # None: 8 × horizon, rounded up to a multiple of patch_len
    patch_len: int = 8
    d_model: int = 64
    num_layers: int = 2
    nhead: int = 4
    dropout: float = 0.1
    quantiles: list[float] = field(default_factory=list)
    members: int = 3                    # ensemble size (different seeds and context lengths)
    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    windows_per_series: int = 100
    max_history: int | None = 1000
    pretrain_epochs: int = 0
    refit: bool = True                  # retrain on the full series for the selected epoch count
    max_minutes: float | None = 13.0    # the whole ensemble's budget (split evenly over members)
    frequency: int = 1                  # M4 frequency: MASE's m and Naive2's seasonality test
    season: int = 52                    # seasonal-naive period
    format: str = "auto"
    member_dirs: list[str] = field(default_factory=list)

    def resolved_context(self, member: int = 0, typical_length: int | None = None) -> int:
        """Member k's context, a multiple of patch_len: (8, 6, 10, 4, 12 ...) × H by default.

        ``--context C`` replaces the 8 × H (the others scale with it). For **short series**
        (``typical_length`` = the median training history) the base is capped at half of it,
        rounded to a whole patch: a context longer than the history is mostly padding, and the
        amount of padding then tells the model *where in the calendar* a window ends (all
        series start on the same week), a shortcut that does not carry over to the future.
        """
        factors = (8, 6, 10, 4, 12)
        base = self.context if self.context is not None else 8 * self.horizon
        if typical_length is not None:
            base = min(base, max(self.patch_len, round(typical_length / 2 / self.patch_len) * self.patch_len))
        scaled = base * factors[member % len(factors)] // 8
        return max(self.patch_len, -(-scaled // self.patch_len) * self.patch_len)


def split_last(data: SeriesSet, h: int) -> tuple[SeriesSet, list[np.ndarray], list[int]]:
    """``(histories, actuals, kept)``: every series with more than ``h`` values, minus its last h.

    Raises ``ValueError`` if no series is long enough (a horizon longer than every series).
    """
    kept = [i for i, x in enumerate(data.values) if x.size > h]
    if not kept:
        raise ValueError(f"--horizon {h} is longer than every series (the longest has "
                         f"{max(x.size for x in data.values)} values); hold-out needs more than {h}")
    cut = SeriesSet(ids=[data.ids[i] for i in kept], values=[data.values[i][:-h] for i in kept],
                    format=data.format, covariate_names=data.covariate_names,
                    dates=None if data.dates is None else [data.dates[i][:-h] for i in kept],
                    covariates=None if data.covariates is None else [data.covariates[i][:-h] for i in kept])
    return cut, [data.values[i][-h:] for i in kept], kept


@torch.no_grad()
def predict(models: list[PatchForecaster], data: SeriesSet, horizon: int,
            future_extra: dict | None = None, chunk: int = 1024) -> np.ndarray:
    """Forecasts ``(S, H, Q)`` for every series of ``data``: the median over ``models``."""
    outputs = []
    for model in models:
        model.eval()
        device = next(model.parameters()).device
        batch = forecast_batch(data, model.config.context, horizon, future_extra)
        pieces = []
        for start in range(0, len(data), chunk):
            part = {k: v[start:start + chunk].to(device) for k, v in batch.items()}
            pieces.append(model(part["values"], part["observed"], part.get("covariates")).cpu())
        outputs.append(torch.cat(pieces).double().numpy())          # (S, H, Q)
    forecast = np.median(np.stack(outputs), axis=0)
    return np.maximum(forecast, 0.0)                                # sales are never negative


def score_with_baselines(histories: SeriesSet, actuals: list[np.ndarray], forecasts: np.ndarray | None,
                         settings: ForecastSettings, baseline_names=BASELINE_NAMES) -> dict:
    """Scores of the model (if given) and every baseline; OWA relative to Naive2."""
    h = settings.horizon
    per_method = {name: [] for name in baseline_names}
    for x in histories.values:
        for name, f in baseline_forecasts(x, h, settings.season, settings.frequency,
                                          names=baseline_names).items():
            per_method[name].append(f)
    insamples = histories.values
    baselines = {name: score_forecasts(actuals, fs, insamples, settings.frequency)
                 for name, fs in per_method.items()}
    reference = baselines.get("Naive2")
    if reference is not None:
        for scores in baselines.values():
            scores["OWA"] = _owa(scores, reference)
    result = {"baselines": baselines}
    if forecasts is not None:
        result.update(score_forecasts(actuals, list(forecasts), insamples, settings.frequency))
        if reference is not None:
            result["OWA"] = _owa(result, reference)
    return result


def _owa(scores: dict, reference: dict) -> float:
    try:
        return owa(scores["sMAPE"], scores["MASE"], reference["sMAPE"], reference["MASE"])
    except ValueError:                                              # Naive2 perfect: OWA undefined
        return float("nan")


def _make_evaluate(actuals: list[np.ndarray], frequency: int, naive2: dict):
    def evaluate_fn(model: PatchForecaster, histories: SeriesSet) -> dict:
        forecasts = predict([model], histories, model.config.horizon)[..., model.median_index]
        scores = score_forecasts(actuals, list(forecasts), histories.values, frequency)
        return {"OWA": _owa(scores, naive2), "MASE": scores["MASE"], "sMAPE": scores["sMAPE"],
                "MAE": scores["MAE"]}
    return evaluate_fn


def _build_model(settings: ForecastSettings, context: int, data: SeriesSet) -> PatchForecaster:
    return PatchForecaster(ForecastConfig(
        context=context, horizon=settings.horizon, patch_len=settings.patch_len, d_model=settings.d_model,
        nhead=settings.nhead, num_layers=settings.num_layers, dim_feedforward=2 * settings.d_model,
        dropout=settings.dropout, quantiles=list(settings.quantiles), n_covariates=n_covariates(data)))


def _fit_member(data: SeriesSet, settings: ForecastSettings, context: int, seed: int, device: str,
                out_dir: Path, epochs: int, minutes: float | None, log, valid=None) -> tuple:
    """Train one model on windows of ``data``; ``valid = (histories, evaluate_fn, monitor)`` or None."""
    windows = WindowDataset(data, context, settings.horizon, settings.windows_per_series,
                            settings.max_history, seed=seed)
    if len(windows) == 0:
        raise ValueError(f"no training window: every series has at most {settings.horizon} values after "
                         f"holding out the last {settings.horizon} for validation; use a shorter --horizon")
    log(f"  context {context}, {windows.summary()}")
    seed_everything(seed)
    model = _build_model(settings, context, data)
    if settings.pretrain_epochs:
        pretrain_masked(model, windows, epochs=settings.pretrain_epochs, batch_size=settings.batch_size,
                        lr=settings.lr, seed=seed, device=device, log=log)
    histories, evaluate_fn, monitor = valid if valid is not None else (None, None, "loss")
    config = TrainConfig(epochs=epochs, batch_size=settings.batch_size, lr=settings.lr, seed=seed,
                         device=device, monitor=monitor, mode="min", max_minutes=minutes, patience=5,
                         weight_decay=0.01)
    result = Trainer(model, config, loss_fn=forecast_loss, train_data=windows, valid_data=histories,
                     evaluate_fn=evaluate_fn, out_dir=out_dir,
                     task_config={"refit": valid is None, **asdict(settings)}).fit()
    return result, windows, model


def train_ensemble(data: SeriesSet, settings: ForecastSettings, out_dir: Path, seed: int = 0,
                   device: str = "auto", log=print) -> dict:
    """Train ``settings.members`` models into ``out_dir``; returns a summary dict.

    Each member is first trained on the series minus their last H values and validated on
    those (``member_k/selection/``: the best epoch E by OWA or MASE); with ``settings.refit``
    a fresh model with the same seed is then trained for E epochs on the *full* series
    (``member_k/``), so the most recent values -- the ones most like the future -- are
    targets too. Without refit the selection run's best weights are the member.
    """
    h = settings.horizon
    histories, actuals, _ = split_last(data, h)
    naive2 = score_with_baselines(histories, actuals, None, settings, ("Naive2",))["baselines"]["Naive2"]
    evaluate_fn = _make_evaluate(actuals, settings.frequency, naive2)
    monitor = "OWA" if all(np.all(x > 0) for x in data.values) else "MASE"
    log(f"validation: last {h} values of {len(histories)} series; best epoch by {monitor}"
        + ("; then a refit on the full series" if settings.refit else ""))
    typical = int(np.median(histories.lengths())) if settings.context is None else None
    out_dir.mkdir(parents=True, exist_ok=True)
    budget = settings.max_minutes / settings.members if settings.max_minutes else None
    start, summaries, member_dirs = time.monotonic(), [], []
    for member in range(settings.members):
        member_start, context = time.monotonic(), settings.resolved_context(member, typical)
        member_dir = out_dir / f"member_{member}"
        log(f"member {member + 1}/{settings.members}: selection run")
        selection_budget = budget / 2 if budget and settings.refit else budget
        result, windows, model = _fit_member(histories, settings, context, seed + member, device,
                                            member_dir / "selection" if settings.refit else member_dir,
                                            settings.epochs, selection_budget, log,
                                            (histories, evaluate_fn, monitor))
        summary = {"member": member, "context": context, "best_epoch": result.best_epoch,
                   "monitor": monitor, "valid_best": result.best_metric, "stop_reason": result.stop_reason,
                   "windows": windows.n_windows, "padded_series": windows.n_padded,
                   "skipped_series": windows.n_skipped}
        if settings.refit and result.best_epoch is None:        # the budget ended inside epoch 1
            log(f"member {member + 1}/{settings.members}: no full epoch within the time budget; "
                "keeping the selection run's weights (no refit)")
            model.save_pretrained(member_dir)
        elif settings.refit:
            log(f"member {member + 1}/{settings.members}: refit on the full series for "
                f"{result.best_epoch} epoch(s)")
            left = budget - (time.monotonic() - member_start) / 60 if budget else None
            refit, windows, _ = _fit_member(data, settings, context, seed + member, device, member_dir,
                                            result.best_epoch, None if left is None else max(left, 0.5), log)
            summary.update(refit_epochs=refit.best_epoch, refit_windows=windows.n_windows)
        summaries.append(summary)
        member_dirs.append(member_dir.name)
    settings.member_dirs = member_dirs
    (out_dir / SETTINGS_NAME).write_text(json.dumps(asdict(settings), indent=2) + "\n")
    return {"members": summaries, "train_seconds": round(time.monotonic() - start, 1),
            "series": len(data), "validation_naive2": naive2}


def load_ensemble(model_dir: Path, device: str = "cpu") -> tuple[ForecastSettings, list[PatchForecaster]]:
    """Read ``forecast.json`` and every member's weights from a trained model directory."""
    model_dir = Path(model_dir)
    path = model_dir / SETTINGS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a trained forecasting model (no {SETTINGS_NAME}); "
                                "train one with 'minitransformer forecast train'")
    try:
        settings = ForecastSettings(**json.loads(path.read_text(encoding="utf-8")))
    except TypeError as err:
        raise ValueError(f"{path}: unexpected settings ({err})") from None
    models = [PatchForecaster.from_pretrained(model_dir / name, map_location=device)
              for name in settings.member_dirs]
    if not models:
        raise ValueError(f"{path}: lists no trained member")
    return settings, models
