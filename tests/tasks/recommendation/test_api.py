"""The head's Python API: four verbs, lazy imports, a save/load round trip, runnable examples."""

from __future__ import annotations

import importlib

import pytest
import torch

import tasks.recommendation
from tasks.recommendation import evaluate, load, predict, train
from tasks.recommendation.data import load_split
from tasks.recommendation.synthetic import ShopConfig, write_purchases
from tests.tasks.recommendation.planted import tiny_config, tiny_settings

VERBS = ("train", "load", "evaluate", "predict")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A small simulated shop's log: 200 shoppers, 48 items."""
    path = tmp_path_factory.mktemp("shop") / "shop.csv"
    write_purchases(path, ShopConfig.for_items(48, users=200, seed=1))
    return path


@pytest.fixture(scope="module")
def trained(shop, tmp_path_factory):
    return train(shop, tmp_path_factory.mktemp("run") / "model", tiny_config(),
                 settings=tiny_settings(final_epochs=1), device="cpu", verbose=False)


def test_a_verb_keeps_its_name_when_its_module_is_imported():
    for name in ("train", "evaluate", "predict"):
        module = importlib.import_module(f"tasks.recommendation.{name}")     # train.py, evaluate.py, ...
        verb = getattr(tasks.recommendation, name)
        assert callable(verb) and getattr(module, name) is verb
    with pytest.raises(AttributeError, match="no attribute 'fit'"):
        tasks.recommendation.fit  # noqa: B018


def test_save_and_load_give_the_same_model_and_answers(trained, shop):
    again = load(trained.model_dir)
    assert again.config == trained.model.config and again.config.encoder.d_model == 16
    assert again.item_map.tokens == trained.model.item_map.tokens and not again.training
    for (name, x), (_, y) in zip(again.state_dict().items(), trained.model.state_dict().items()):
        assert torch.equal(x, y), name
    history = "phone-00 case-00"
    assert predict(again, history, k=5) == predict(trained.model, history, k=5)
    assert evaluate(again, shop) == evaluate(trained.model, shop)


def test_run_reports_both_fits(trained):
    metrics = trained.metrics
    assert metrics["fit"]["epochs_run"] == 2 and metrics["final_fit"]["epochs_run"] == 1
    assert metrics["fit"]["best_epoch"] in (1, 2) and metrics["examples"] > 0
    assert metrics["valid"]["NDCG@10"] == metrics["fit"]["best_metric"]
    assert trained.seconds > 0


def test_train_takes_a_loaded_split_and_the_model_kind(shop, tmp_path):
    split = load_split(shop)
    run = train(split, tmp_path / "bert", tiny_config(), model="bert4rec", settings=tiny_settings(epochs=1),
                device="cpu", verbose=False)
    assert run.model.config.kind == "bert4rec" and run.model.config.num_items == split.num_items
    assert load(tmp_path / "bert").config.kind == "bert4rec"
    assert run.metrics["final_fit"] is None


def test_train_without_a_config_takes_the_defaults_of_the_format(shop, tmp_path):
    run = train(shop, tmp_path / "defaults", settings=tiny_settings(epochs=1), device="cpu", verbose=False)
    config = run.model.config
    assert (config.max_len, config.encoder.d_model, config.encoder.dropout) == (50, 64, 0.3)


def test_evaluate_scores_the_validation_split_and_the_model_alone(trained, shop):
    valid = evaluate(trained.model, shop, split="valid", protocol="sampled", negatives=20, baselines=False)
    assert list(valid) == ["sasrec"] and valid["sasrec"]["protocol"] == "sampled-20-uniform"
    with pytest.raises(ValueError, match="split: expected 'test' or 'valid'"):
        evaluate(trained.model, shop, split="train")


def test_predict_leaves_out_the_history_unless_asked(trained):
    history = ["phone-00", "case-00", "charger-00"]
    top = predict(trained.model, history, k=48)
    assert len(top) == 45 and not {item for item, _ in top} & set(history)
    assert [score for _, score in top] == sorted((score for _, score in top), reverse=True)
    everything = predict(trained.model, history, k=48, include_history=True)
    assert len(everything) == 48 and everything[0] == max(everything, key=lambda pair: pair[1])


def test_predict_refuses_what_it_cannot_answer(trained):
    with pytest.raises(ValueError, match="history: none of its 2 item"):
        predict(trained.model, "not-an-item nor-this", k=3)
    with pytest.raises(ValueError, match="k: expected a positive integer"):
        predict(trained.model, "phone-00", k=0)


def test_load_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="item_map.json: item map not found"):
        load(tmp_path / "empty")
