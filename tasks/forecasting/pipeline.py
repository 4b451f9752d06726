"""Train, save, load and run the forecaster: what the CLI's three actions call.

A trained model directory holds ``forecast.json`` (the task settings and the members) and one
run directory per ensemble member (``member_0/``, ...), each written by the core
:class:`~minitransformer.training.Trainer` (``config.json`` + ``model.safetensors`` = best
weights, ``metrics.jsonl``, checkpoints). The forecast is the **median over the members**
(N-BEATS, Oreshkin et al. 2020, ensembles models that differ in seed and context length; the
median is robust to one bad member).

Validation during training: the last ``H`` values of every series are held out; windows are
cut from the rest, the best epoch is the one with the lowest validation OWA (relative to
Naive2 on the same held-out values) -- or the lowest MASE when the data has zeros, where sMAPE
(and so OWA) is meaningless (``|y| + |ŷ| = 0`` or a 200 % error on any zero). The final model
therefore never saw those values.
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
    max_minutes: float | None = 13.0    # the whole ensemble's budget (split evenly over members)
    frequency: int = 1                  # M4 frequency: MASE's m and Naive2's seasonality test
    season: int = 52                    # seasonal-naive period
    format: str = "auto"
    member_dirs: list[str] = field(default_factory=list)

    def resolved_context(self, member: int = 0) -> int:
        """Member k uses a context of (8, 6, 10, 4, 12 ...) × H, a multiple of patch_len."""
        factors = (8, 6, 10, 4, 12)
        base = self.context if self.context is not None else factors[member % len(factors)] * self.horizon
        if self.context is not None and member:
            base = self.context * factors[member % len(factors)] // 8
        return max(self.patch_len, -(-base // self.patch_len) * self.patch_len)


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


def train_ensemble(data: SeriesSet, settings: ForecastSettings, out_dir: Path, seed: int = 0,
                   device: str = "auto", log=print) -> dict:
    """Train ``settings.members`` models into ``out_dir``; returns a summary dict."""
    h = settings.horizon
    histories, actuals, _ = split_last(data, h)
    naive2 = score_with_baselines(histories, actuals, None, settings, ("Naive2",))["baselines"]["Naive2"]
    evaluate_fn = _make_evaluate(actuals, settings.frequency, naive2)
    monitor = "OWA" if all(np.all(x > 0) for x in data.values) else "MASE"
    log(f"validation: last {h} values of {len(histories)} series; best epoch by {monitor}")
    out_dir.mkdir(parents=True, exist_ok=True)
    budget = settings.max_minutes / settings.members if settings.max_minutes else None
    start, summaries, member_dirs = time.monotonic(), [], []
    for member in range(settings.members):
        context = settings.resolved_context(member)
        windows = WindowDataset(histories, context, h, settings.windows_per_series,
                                settings.max_history, seed=seed + member)
        if len(windows) == 0:
            raise ValueError(f"no training window: every series has at most {h} values after holding "
                             f"out the last {h} for validation; use a shorter --horizon")
        log(f"member {member + 1}/{settings.members}: context {context}, {windows.summary()}")
        seed_everything(seed + member)
        model = PatchForecaster(ForecastConfig(
            context=context, horizon=h, patch_len=settings.patch_len, d_model=settings.d_model,
            nhead=settings.nhead, num_layers=settings.num_layers, dim_feedforward=2 * settings.d_model,
            dropout=settings.dropout, quantiles=list(settings.quantiles), n_covariates=n_covariates(data)))
        member_dir = out_dir / f"member_{member}"
        if settings.pretrain_epochs:
            pretrain_masked(model, windows, epochs=settings.pretrain_epochs, batch_size=settings.batch_size,
                            lr=settings.lr, seed=seed + member, device=device, log=log)
        config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                             seed=seed + member, device=device, monitor=monitor, mode="min",
                             max_minutes=budget, patience=5, weight_decay=0.01)
        result = Trainer(model, config, loss_fn=forecast_loss, train_data=windows, valid_data=histories,
                         evaluate_fn=evaluate_fn, out_dir=member_dir,
                         task_config={"member": member, **asdict(settings)}).fit()
        summaries.append({"member": member, "context": context, "best_epoch": result.best_epoch,
                          "monitor": monitor, "valid_best": result.best_metric,
                          "stop_reason": result.stop_reason,
                          "windows": windows.n_windows, "padded_series": windows.n_padded,
                          "skipped_series": windows.n_skipped})
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
