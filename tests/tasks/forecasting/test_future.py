"""Forecasts with what you know: planned covariates of the forecast steps (``--future``, ``future=``),
forecast rows that carry the next dates, and the columns a model was trained with."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from minitransformer.cli.main import main
from tasks.forecasting import evaluate, load, predict, train
from tasks.forecasting.data import load_series
from tests.tasks.forecasting.series import tiny_long, tiny_settings, write

H = 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained on weekly sales with a promo column (dates from 2024-01-01, 30 weeks)."""
    folder = tmp_path_factory.mktemp("future")
    data = tiny_long(folder)
    train(data, folder / "model", tiny_settings(refit=False), verbose=False)
    return folder, data, folder / "model"


def _promos(folder, rows: list[str], name: str = "promos.csv", header: str = "series_id,date,promo"):
    return write(folder, name, "\n".join([header, *rows]) + "\n")


def _plan(promo_week: int = -1, series=("s0", "s1", "s2", "s3")) -> list[str]:
    """One row per series and forecast week (the 4 weeks after 2024-07-22), promo in one week."""
    weeks = [str(np.datetime64("2024-07-29") + 7 * k) for k in range(H)]
    return [f"{s},{w},{int(k == promo_week)}" for s in series for k, w in enumerate(weeks)]


def test_the_model_records_its_columns_and_forecast_rows_carry_the_next_dates(trained, capsys):
    folder, data, model_dir = trained
    assert json.loads((model_dir / "forecast.json").read_text())["columns"] == ["series_id", "date", "value",
                                                                                 "promo"]
    assert main(["forecast", "predict", "--model", str(model_dir), "--data", str(data), "--series", "s1",
                 "--future", str(_promos(folder, _plan()))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "series_id,date,forecast"
    dates = [line.split(",")[1] for line in lines[1:]]
    assert dates == ["2024-07-29", "2024-08-05", "2024-08-12", "2024-08-19"]           # weekly stays weekly


def test_without_a_future_file_predict_warns_in_one_line_and_assumes_no_promotion(trained, capsys):
    folder, data, model_dir = trained
    assert main(["forecast", "predict", "--model", str(model_dir), "--data", str(data)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("minitransformer: warning: the model was trained with promo; without future")
    with pytest.warns(UserWarning, match="trained with promo"):
        silent = predict(load(model_dir), data)
    planned = predict(load(model_dir), data, future=_promos(folder, _plan()))     # no promo planned either
    np.testing.assert_array_equal(silent.values, planned.values)


def test_a_planned_promotion_reaches_the_model_from_a_file_or_a_dict(trained):
    folder, data, model_dir = trained
    model = load(model_dir)
    from_file = predict(model, data, future=_promos(folder, _plan(promo_week=1)))
    from_dict = predict(model, data, future={f"s{i}": np.eye(H)[1][:, None] for i in range(4)})
    np.testing.assert_array_equal(from_file.values, from_dict.values)
    assert not np.array_equal(from_file.values, predict(model, data, future=_promos(folder, _plan())).values)
    assert [str(d) for d in from_file.dates[0]][:2] == ["2024-07-29", "2024-08-05"]


@pytest.mark.parametrize("rows, header, message", [
    (_plan(series=("s0", "s1", "s2")), "series_id,date,promo", r"promos.csv: no rows for series 's3'"),
    (_plan()[:-1], "series_id,date,promo",
     r"promos.csv, lines \d+ to \d+: series 's3' has 3 row\(s\), the horizon is 4"),
    ([r.replace("2024-08-19", "2024-08-20") for r in _plan()], "series_id,date,promo",
     r"promos.csv, line 5, column 'date': 2024-08-20 is not one of the 4 forecast dates of series 's0' "
     r"\(2024-07-29 to 2024-08-19\)"),
    ([r + ",9" for r in _plan()], "series_id,date,promo,price",
     r"promos.csv, line 1: column 'price': not a covariate the model was trained with"),
    ([r + ",9" for r in _plan()], "series_id,date,promo,value",
     r"column 'value': the sales of the forecast steps are what the model forecasts"),
    ([*_plan(), "s9,2024-07-29,1"], "series_id,date,promo",
     r"line 18, column 'series_id': series 's9' is not in"),
    ([_plan()[0].replace(",0", ",")] + _plan()[1:], "series_id,date,promo",
     r"line 2, column 'promo': missing covariate \(an empty cell\)"),
    ([_plan()[0].replace(",0", ",nan")] + _plan()[1:], "series_id,date,promo", r"line 2, column 'promo'"),
    ([r.split(",")[0] + ",1" for r in _plan()], "series_id,promo", None),            # no dates: file order
    ([r.split(",")[0] + ",1" for r in _plan()] + ["s0,1"], "series_id,promo",
     r"line 18: series 's0' has 5 row\(s\), the horizon is 4"),
])
def test_a_future_file_with_missing_series_wrong_length_or_other_columns_is_refused(trained, capsys, rows,
                                                                                    header, message):
    folder, data, model_dir = trained
    future = _promos(folder, rows, header=header)
    status = main(["forecast", "predict", "--model", str(model_dir), "--data", str(data),
                   "--future", str(future)])
    err = capsys.readouterr().err
    if message is None:
        assert status == 0 and err == ""
        return
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and re.search(message, err), err


def test_the_python_future_dict_is_checked_too(trained):
    _, data, model_dir = trained
    model = load(model_dir)
    with pytest.raises(ValueError, match=r"future: no covariates for series 's3'"):
        predict(model, data, future={f"s{i}": np.zeros((H, 1)) for i in range(3)})
    with pytest.raises(ValueError, match=r"future: series 's0': expected finite numbers of shape \(4, 1\)"):
        predict(model, data, future={f"s{i}": np.zeros((H + 1, 1)) for i in range(4)})
    with pytest.raises(ValueError, match=r"future: series 'x' is not in the data"):
        predict(model, data, future={"x": np.zeros((H, 1))})
    with pytest.raises(ValueError, match="future: not used with holdout=True"):
        predict(model, data, future={}, holdout=True)


def test_holdout_and_evaluate_give_the_model_the_known_covariates_of_the_held_out_weeks(trained):
    folder, data, model_dir = trained
    model = load(model_dir)
    series = load_series(data)
    held = predict(model, data, holdout=True)
    assert [str(d) for d in held.dates[0]] == [str(d) for d in series.dates[0][-H:]]
    future = {i: c[-H:] for i, c in zip(series.ids, series.covariates)}
    same = predict(model, series.drop_last(H), future=future)
    np.testing.assert_array_equal(held.values, same.values)
    scores = evaluate(model, data)
    assert scores["MAE"] == pytest.approx(np.mean(np.abs(held.point - np.stack(held.actuals))))


def test_files_without_the_trained_columns_are_refused_and_extra_columns_ignored(trained, tmp_path):
    folder, data, model_dir = trained
    text = data.read_text().splitlines()
    no_promo = write(tmp_path, "no_promo.csv", "\n".join(r.rsplit(",", 1)[0] for r in text) + "\n")
    with pytest.raises(ValueError, match="no_promo.csv: the columns differ from those the model was trained "
                                         "with: missing promo"):
        predict(load(model_dir), no_promo)
    extra = write(tmp_path, "extra.csv",
                  "\n".join(r + (",price" if i == 0 else ",1") for i, r in enumerate(text)))
    np.testing.assert_array_equal(predict(load(model_dir), extra, future=_promos(folder, _plan())).values,
                                  predict(load(model_dir), data, future=_promos(folder, _plan())).values)


def test_a_model_folder_from_before_the_columns_were_recorded_still_works(trained, tmp_path):
    folder, data, model_dir = trained
    old = tmp_path / "old"
    shutil.copytree(model_dir, old)
    settings = json.loads((old / "forecast.json").read_text())
    del settings["columns"]
    (old / "forecast.json").write_text(json.dumps(settings))
    plan = _promos(folder, _plan(promo_week=2))
    np.testing.assert_array_equal(predict(load(old), data, future=plan).values,
                                  predict(load(model_dir), data, future=plan).values)
    m4 = write(tmp_path, "m4.csv", '"V1","V2","V3"\n"s0",1,2\n')
    with pytest.raises(ValueError, match=r"m4.csv: gives 0 covariate\(s\) .*the model reads 5"):
        predict(load(old), m4)


def test_without_dates_the_rows_are_numbered_steps(tmp_path, capsys):
    data = tiny_long(tmp_path, promo=False)
    undated = write(tmp_path, "undated.csv", "\n".join(",".join(r.split(",")[::2])
                                                       for r in data.read_text().splitlines()) + "\n")
    train(undated, tmp_path / "model", tiny_settings(refit=False), verbose=False)
    assert main(["forecast", "predict", "--model", str(tmp_path / "model"), "--data", str(undated),
                 "--series", "s0"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == "series_id,step,forecast" and out.err == ""
    assert [line.split(",")[1] for line in out.out.splitlines()[1:]] == ["1", "2", "3", "4"]
    monthly = tiny_long(tmp_path, "monthly.csv", promo=False, step_days=31)
    text = monthly.read_text().splitlines()                 # the 1st of each month, 30 months
    firsts = [text[0]] + [",".join([r.split(",")[0], str(np.datetime64("2022-01", "M") + (k % 30)) + "-01",
                                    r.split(",")[2]]) for k, r in enumerate(text[1:])]
    monthly.write_text("\n".join(firsts) + "\n")
    dated = predict(load(tmp_path / "model"), monthly)       # a model without dates, data with dates
    assert [str(d) for d in dated.dates[0]] == ["2024-07-01", "2024-08-01", "2024-09-01", "2024-10-01"]
