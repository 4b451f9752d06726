"""Training: an ensemble of patch forecasters, each chosen on the last H values, then refit.

:func:`train` trains ``settings.members`` models (:class:`~tasks.forecasting.model.PatchForecaster`)
with the core :class:`~minitransformer.training.Trainer`, on windows cut from every series
(:mod:`tasks.forecasting.windows`). Members differ in seed (``seed + k``) and context length
(8, 6, 10, ... × H). Each member is trained twice (the usual "select, then refit" of
classical forecasting):

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

Check first, write after: the settings, the data, the validation split and the memory the
members need are all checked before anything is written; then the whole training runs inside
:func:`~minitransformer.files.run_folder.claim_run_folder`, which refuses a folder that already
holds files and locks it against a second training. A refused training changes nothing.

Time budget: ``max_minutes`` is split evenly over the members; with the refit, the selection
run gets half of a member's share and the refit what is left of it (at least 30 seconds).
Pretraining (``pretrain_epochs``) is bounded by the same share.
Short series: when the median history is shorter than twice the default context, the
context is capped at half of it (:meth:`~tasks.forecasting.config.ForecastSettings.resolved_context`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from minitransformer.files.model_folder import check_fits_in_memory
from minitransformer.files.run_folder import claim_run_folder
from minitransformer.metrics.forecasting import score_forecasts
from minitransformer.training import Run, TrainConfig, Trainer, seed_everything
from tasks.forecasting.config import SETTINGS_NAME, ForecastSettings
from tasks.forecasting.data import SeriesSet, input_columns, split_last, to_series_set
from tasks.forecasting.ensemble import forecast_members, load
from tasks.forecasting.evaluate import check_frequency, relative_owa, score_with_baselines
from tasks.forecasting.model import PatchForecaster, forecast_loss
from tasks.forecasting.pretrain import pretrain_masked
from tasks.forecasting.windows import WindowDataset, n_covariates

__all__ = ["train"]


def _logger(verbose: bool) -> Callable[..., None]:
    return print if verbose else (lambda *args, **kwargs: None)


@dataclass
class _Validation:
    """What the selection runs validate on: the series minus their last H values, scored on those."""

    histories: SeriesSet
    evaluate_fn: Callable[[PatchForecaster, SeriesSet], dict]
    monitor: str                # "OWA", or "MASE" when the data has zeros
    naive2: dict                # Naive2's scores on the held-out values: the OWA reference


def _validation(data: SeriesSet, settings: ForecastSettings) -> _Validation:
    """Hold out the last H values of every series; score a member's forecasts of them per epoch.

    Refuses data that leaves no training window (every series at most 2H values) or no MASE.
    """
    histories, actuals, _ = split_last(data, settings.horizon)
    if int(histories.lengths().max()) <= settings.horizon:
        raise ValueError(f"no training window: every series has at most {settings.horizon} values after "
                         f"holding out the last {settings.horizon} for validation; use a shorter --horizon")
    check_frequency(histories, settings.frequency)
    naive2 = score_with_baselines(histories, actuals, None, settings, ("Naive2",))["baselines"]["Naive2"]

    def evaluate_fn(model: PatchForecaster, histories: SeriesSet) -> dict:
        forecasts = forecast_members([model], histories, model.config.horizon)[..., model.median_index]
        scores = score_forecasts(actuals, list(forecasts), histories.values, settings.frequency)
        return {"OWA": relative_owa(scores, naive2), "MASE": scores["MASE"], "sMAPE": scores["sMAPE"],
                "MAE": scores["MAE"]}

    monitor = "OWA" if all(np.all(x > 0) for x in data.values) else "MASE"
    return _Validation(histories, evaluate_fn, monitor, naive2)


def _fit_member(data: SeriesSet, settings: ForecastSettings, context: int, seed: int, device: str,
                out_dir: Path, epochs: int, minutes: float | None, verbose: bool,
                valid: _Validation | None = None) -> tuple:
    """Train one model on windows of ``data`` for ``epochs``; validated on ``valid`` if given.

    Returns the Trainer's ``FitResult``, the windows and the model (with its best weights).
    """
    log = _logger(verbose)
    windows = WindowDataset(data, context, settings.horizon, settings.windows_per_series,
                            settings.max_history, seed=seed)
    if len(windows) == 0:
        raise ValueError(f"no training window: every series has at most {settings.horizon} values after "
                         f"holding out the last {settings.horizon} for validation; use a shorter --horizon")
    log(f"  context {context}, {windows.summary()}")
    seed_everything(seed)
    model = PatchForecaster(settings.member_config(context, n_covariates(data)))
    if settings.pretrain_epochs:
        pretrain_masked(model, windows, epochs=settings.pretrain_epochs, batch_size=settings.batch_size,
                        lr=settings.lr, seed=seed, device=device, log=log, max_minutes=minutes,
                        progress=None if verbose else False)
    config = TrainConfig(epochs=epochs, batch_size=settings.batch_size, lr=settings.lr, seed=seed,
                         device=device, monitor=valid.monitor if valid else "loss", mode="min",
                         max_minutes=minutes, patience=settings.patience, weight_decay=settings.weight_decay,
                         verbose=verbose, progress=None if verbose else False)
    result = Trainer(model, config, loss_fn=forecast_loss, train_data=windows,
                     valid_data=valid.histories if valid else None,
                     evaluate_fn=valid.evaluate_fn if valid else None, out_dir=out_dir,
                     task_config={**settings.to_dict(), "run": "selection" if valid else "refit"}).fit()
    return result, windows, model


def _train_member(member: int, context: int, data: SeriesSet, valid: _Validation, settings: ForecastSettings,
                  out_dir: Path, seed: int, device: str, budget: float | None, verbose: bool) -> dict:
    """Member ``member``: its selection run, then (with ``settings.refit``) its refit; a summary."""
    log = _logger(verbose)
    member_start, member_dir = time.monotonic(), out_dir / f"member_{member}"
    name = f"member {member + 1}/{settings.members}"
    with claim_run_folder(member_dir):                    # the refit writes beside selection/
        log(f"{name}: selection run")
        selection_budget = budget / 2 if budget and settings.refit else budget
        result, windows, model = _fit_member(valid.histories, settings, context, seed + member, device,
                                            member_dir / "selection" if settings.refit else member_dir,
                                            settings.epochs, selection_budget, verbose, valid)
        summary = {"member": member, "context": context, "best_epoch": result.best_epoch,
                   "monitor": valid.monitor, "valid_best": result.best_metric,
                   "stop_reason": result.stop_reason,
                   "windows": windows.n_windows, "padded_series": windows.n_padded,
                   "skipped_series": windows.n_skipped}
        if settings.refit and result.best_epoch is None:            # the budget ended inside epoch 1
            log(f"{name}: no full epoch within the time budget; keeping the selection run's weights "
                "(no refit)")
            model.save_pretrained(member_dir)
        elif settings.refit:
            log(f"{name}: refit on the full series for {result.best_epoch} epoch(s)")
            left = budget - (time.monotonic() - member_start) / 60 if budget else None
            minutes = None if left is None else max(left, 0.5)
            refit, windows, _ = _fit_member(data, settings, context, seed + member, device, member_dir,
                                            result.best_epoch, minutes, verbose)
            summary.update(refit_epochs=refit.best_epoch, refit_windows=windows.n_windows)
    return summary


def _contexts(settings: ForecastSettings, valid: _Validation) -> list[int]:
    """Each member's context (capped for short series when ``settings.context`` is unset)."""
    typical = int(np.median(valid.histories.lengths())) if settings.context is None else None
    return [settings.resolved_context(member, typical) for member in range(settings.members)]


def _check_size(settings: ForecastSettings, contexts: list[int], data: SeriesSet) -> None:
    """Refuse settings whose members would not fit in memory: while training the largest (its
    weights, gradients and AdamW's two moments: 16 bytes a weight), or all of them to forecast."""
    sizes = [settings.member_config(c, n_covariates(data)).approximate_parameters() for c in contexts]
    source = "the model settings (--d-model, --layers, --context, --patch-len, --horizon)"
    check_fits_in_memory(max(sizes), source, bytes_per_parameter=16)
    check_fits_in_memory(sum(sizes), source)


def _check_run(seed, device: str, settings: ForecastSettings) -> None:
    """``seed`` (member k uses seed + k) and ``device``, checked before anything is written."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**63 - 1 - settings.members:
        raise ValueError(f"seed: expected an integer from 0 to {2**63 - 1 - settings.members}, got {seed!r}")
    TrainConfig(seed=seed, device=device)                  # refuses a device it does not know


def _train_ensemble(data: SeriesSet, settings: ForecastSettings, valid: _Validation, out_dir: Path, seed: int,
                    device: str, verbose: bool) -> tuple[dict, float]:
    """Train every member into ``out_dir`` and write ``forecast.json``; ``(metrics, seconds)``."""
    log = _logger(verbose)
    log(f"validation: last {settings.horizon} values of {len(valid.histories)} series; best epoch by "
        f"{valid.monitor}" + ("; then a refit on the full series" if settings.refit else ""))
    budget = settings.max_minutes / settings.members if settings.max_minutes else None
    start = time.monotonic()
    summaries = [_train_member(member, context, data, valid, settings, out_dir, seed, device, budget, verbose)
                 for member, context in enumerate(_contexts(settings, valid))]
    saved = replace(settings, member_dirs=[f"member_{member}" for member in range(settings.members)])
    saved.to_json_file(out_dir / SETTINGS_NAME)
    metrics = {"members": summaries, "series": len(data), "validation_naive2": valid.naive2}
    return metrics, time.monotonic() - start


def train(data: SeriesSet | str | Path, out_dir: str | Path, config: ForecastSettings | None = None, *,
          horizon: int | None = None, seed: int = 0, device: str = "auto", max_minutes: float | None = None,
          verbose: bool = True, format: str = "auto") -> Run:
    """Train an ensemble of forecasters on ``data`` and save it in ``out_dir`` (see the module docstring).

    ``config``: the :class:`~tasks.forecasting.config.ForecastSettings` (its defaults when
    ``None``); ``horizon`` and ``max_minutes``, when given, replace its own. ``seed`` seeds
    member k with ``seed + k``; ``verbose=False`` prints nothing. Everything is checked before
    the first write, and a refused training writes nothing: bad data or settings
    (``ValueError`` naming the file and line, or the setting), an ``out_dir`` that already holds
    files or that another training is writing to (``UsageError``). Returns a
    :class:`~minitransformer.training.Run`: ``model`` is
    what :func:`~tasks.forecasting.load` reads back, ``metrics`` holds one summary per member
    (context, best epoch, validation score, stop reason, windows) and ``validation_naive2``.

    Examples:
        >>> import tempfile
        >>> from tasks.forecasting import ForecastSettings, forecast_encoder, train
        >>> from tasks.forecasting.synthetic import SalesConfig, write_sales
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_sales(f"{folder}/sales.csv", SalesConfig(products=8, weeks=60))
        >>> tiny = ForecastSettings(context=16, patch_len=4, members=1, epochs=2,
        ...                         encoder=forecast_encoder(d_model=16, num_layers=1))
        >>> run = train(f"{folder}/sales.csv", f"{folder}/model", tiny, horizon=4, verbose=False)
        >>> run.model.horizon, [m["context"] for m in run.metrics["members"]]
        (4, [16])
        >>> sorted(p.name for p in run.model_dir.iterdir())    # the settings, one folder per member
        ['forecast.json', 'member_0']
    """
    settings = config if config is not None else ForecastSettings()
    if horizon is not None:
        settings = replace(settings, horizon=horizon)
    if max_minutes is not None:
        settings = replace(settings, max_minutes=max_minutes)
    out_dir = Path(out_dir)
    _check_run(seed, device, settings)
    series = to_series_set(data, format)
    settings = replace(settings, format=series.format, columns=input_columns(series))
    valid = _validation(series, settings)
    _check_size(settings, _contexts(settings, valid), series)
    with claim_run_folder(out_dir):                        # refuses a folder with files; locks it
        source = str(data) if isinstance(data, (str, Path)) else "data"
        _logger(verbose)(f"{source}: {len(series)} series ({series.format} format), "
                         f"horizon {settings.horizon}")
        metrics, seconds = _train_ensemble(series, settings, valid, out_dir, seed, device, verbose)
        model = load(out_dir)
    return Run(model_dir=out_dir, model=model, metrics=metrics, seconds=seconds)
