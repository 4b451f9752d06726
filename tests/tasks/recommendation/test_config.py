"""The head's defaults per data format and model, and the training settings' checks."""

from __future__ import annotations

import pytest

from tasks.recommendation.config import TrainSettings, default_config, default_settings, training_defaults


def test_training_defaults_per_model_and_for_the_ml1m_folder():
    sasrec, bert = training_defaults("sequence", "sasrec"), training_defaults("sequence", "bert4rec")
    assert (sasrec["dropout"], sasrec["patience"], sasrec["epochs"]) == (0.3, 8, 20)
    assert (bert["dropout"], bert["patience"], bert["epochs"]) == (0.1, 16, 80)
    assert (sasrec["prior_items"], bert["prior_items"]) == (3, 0)  # the transition prior: SASRec's
    assert training_defaults("ml1m", "sasrec")["prior_items"] == 0
    for model in ("sasrec", "bert4rec"):  # ml1m: long histories, 512 noisy validation users
        ml1m = training_defaults("ml1m", model)
        assert (ml1m["max_len"], ml1m["patience"], ml1m["final_epochs"]) == (200, 20, 0)
    assert training_defaults("ml1m", "sasrec")["dropout"] == 0.2  # dense histories: less dropout
    bert_ml1m = training_defaults("ml1m", "bert4rec")  # BERT4Rec keeps its own
    assert (bert_ml1m["epochs"], bert_ml1m["dropout"]) == (80, 0.1)


def test_data_whose_epochs_cost_more_than_beautys_gets_fewer_epochs():
    from tasks.recommendation.config import REFERENCE_EPOCH_COST, epoch_cost
    assert epoch_cost([[1, 2, 3], [4], list(range(1, 80))], num_items=100, max_len=50) == (2 + 50) * 100
    same = default_settings("sequence", "sasrec", cost=REFERENCE_EPOCH_COST)
    assert (same.epochs, same.final_epochs) == (20, 5)
    video = default_settings("sequence", "sasrec", cost=round(2.79 * REFERENCE_EPOCH_COST))  # Video Games
    assert (video.epochs, video.final_epochs) == (7, 2)
    huge = default_settings("csv", "bert4rec", cost=1000 * REFERENCE_EPOCH_COST)
    assert (huge.epochs, huge.final_epochs) == (1, 1)  # never below one
    assert default_settings("ml1m", "sasrec", cost=100 * REFERENCE_EPOCH_COST).epochs == 60  # its own


@pytest.mark.parametrize("fmt", ["sequence", "pairs", "csv", "ml1m"])
@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_default_config_and_settings_carry_the_training_defaults(fmt, model):
    defaults = training_defaults(fmt, model)
    config, settings = default_config(fmt, model, num_items=7), default_settings(fmt, model)
    assert (config.kind, config.num_items, config.max_len, config.encoder.dropout, config.prior_items) == (
        model, 7, defaults["max_len"], defaults["dropout"], defaults["prior_items"])
    assert (settings.epochs, settings.patience, settings.final_epochs) == (
        defaults["epochs"], defaults["patience"], defaults["final_epochs"])
    assert (settings.lr, settings.warmup_steps, settings.batch_size, settings.eval_users) == (
        3e-3, 100, 128, 3000)


def test_the_settings_defaults_are_sasrec_on_a_file():
    assert TrainSettings() == default_settings("sequence", "sasrec")


def test_masking_probabilities_outside_0_1_are_refused():
    with pytest.raises(ValueError, match=r"--last-item-prob: expected a probability in \[0, 1\], got 1.5"):
        TrainSettings(last_item_prob=1.5)
    with pytest.raises(ValueError, match="--mask-prob"):
        TrainSettings(mask_prob=-0.1)
    with pytest.raises(ValueError, match="loss"):
        TrainSettings(loss="hinge")
