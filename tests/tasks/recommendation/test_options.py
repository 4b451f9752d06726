"""Every number is checked before use, on the command line and in the Python verbs: 0, negative,
NaN or infinite values are refused naming the option, never replaced by a default; each action's
help lists only its own options."""

from __future__ import annotations

import math

import pytest

from minitransformer.cli.main import main
from tasks.recommendation import RecommenderConfig, TrainSettings, evaluate, predict, train
from tasks.recommendation.data import load_split

TRAINING_ONLY = ("--epochs", "--lr", "--max-minutes", "--resume", "--out")


def help_text(capsys, *argv) -> str:
    assert main(["recommend", *argv, "--help"]) == 0
    return capsys.readouterr().out


def test_each_action_lists_its_own_options(capsys):
    for action in ("evaluate", "predict"):
        text = help_text(capsys, action)
        assert not [option for option in TRAINING_ONLY if option in text], action
        assert "--model DIR" in text and "--device" in text
    assert "--data" not in help_text(capsys, "predict")  # a history on the command line, no file
    train_help = help_text(capsys, "train")
    assert all(option in train_help for option in (*TRAINING_ONLY, "--negatives", "--eval-users"))
    words = " ".join(train_help.split())
    assert "user_id,item_id,timestamp" in words
    assert "docs/tasks/recommendation.md, section 'Your own data'" in words
    assert "above" not in words


@pytest.mark.parametrize("argv", [
    ["evaluate", "--model", "m", "--data", "d", "--resume", "m"],
    ["evaluate", "--model", "m", "--data", "d", "--epochs", "3"],
    ["predict", "--model", "m", "--history", "a", "--lr", "0.1"],
])
def test_training_options_are_refused_where_nothing_trains(capsys, argv):
    assert main(["recommend", *argv]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


BAD_VALUES = [  # (action, option, value): every one refused by argparse, naming the option
    *[("train", option, value) for option in ("--negatives", "--d-model", "--layers", "--heads", "--max-len",
                                              "--eval-users", "--patience", "--epochs", "--batch-size",
                                              "--max-tokens")
      for value in ("0", "-2")],
    ("train", "--max-len", "1"), ("train", "--final-epochs", "-1"), ("train", "--lr", "0"),
    ("train", "--lr", "nan"), ("train", "--lr", "inf"), ("train", "--lr", "1e400"),
    ("train", "--dropout", "1"), ("train", "--dropout", "nan"), ("train", "--mask-prob", "1.5"),
    ("train", "--mask-prob", "0"), ("train", "--mask-prob", "1"),
    ("train", "--last-item-prob", "-0.1"), ("train", "--max-minutes", "0"), ("train", "--seed", "-1"),
    ("train", "--layers", "2.5"),
    ("evaluate", "--negatives", "0"), ("evaluate", "--batch-size", "0"), ("predict", "--k", "0"),
    ("predict", "--k", "-3"), ("simulate", "--users", "0"), ("simulate", "--items", "-1"),
    ("simulate", "--users", "10000000000"),
]


@pytest.mark.parametrize("action, option, value", BAD_VALUES)
def test_an_out_of_range_value_is_refused_naming_the_option(tmp_path, capsys, action, option, value):
    required = {"train": ["--data", "d.csv", "--out", str(tmp_path / "o")],
                "predict": ["--model", "m", "--history", "a"],
                "evaluate": ["--model", "m", "--data", "d.csv"],
                "simulate": ["--out", str(tmp_path / "s.csv")]}
    assert main(["recommend", action, *required[action], f"{option}={value}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"minitransformer: error: argument {option}: expected") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("change, message", [
    (dict(lr=math.nan), "lr: expected a finite positive number"), (dict(lr=0.0), "lr: expected"),
    (dict(lr=math.inf), "lr: expected"), (dict(epochs=0), "epochs: expected a positive integer"),
    (dict(epochs=True), "epochs: expected"), (dict(batch_size=-1), "batch_size: expected"),
    (dict(negatives=0), "negatives: expected"),
    (dict(eval_users=0), "eval_users: expected a positive integer or None"),
    (dict(patience=0), "patience: expected"), (dict(max_tokens=0), "max_tokens: expected"),
    (dict(warmup_steps=-1), "warmup_steps: expected an integer >= 0"),
    (dict(final_epochs=-1), "--final-epochs"),
    (dict(min_lr_ratio=math.nan), "min_lr_ratio"), (dict(mask_prob=math.nan), "--mask-prob"),
])
def test_training_settings_refuse_what_they_cannot_use(change, message):
    with pytest.raises(ValueError, match=message):
        TrainSettings(**change)


def test_the_verbs_refuse_bad_arguments_before_any_work(tmp_path):
    (tmp_path / "seq.txt").write_text("u1 a b c d\nu2 b c d a\n", encoding="utf-8")
    for kwargs, message in ((dict(model="gpt"), "model: expected one of"),
                            (dict(config="big"), "config: expected"),
                            (dict(settings={"lr": 1}), "settings: expected"), (dict(seed=-1), "seed"),
                            (dict(max_minutes=math.nan), "max_minutes")):
        with pytest.raises(ValueError, match=message):
            train(tmp_path / "seq.txt", tmp_path / "out", **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq.txt"]
    with pytest.raises(ValueError, match="max_len: expected a positive integer"):
        RecommenderConfig(max_len=0)
    split = load_split(tmp_path / "seq.txt")
    run = train(split, tmp_path / "out", RecommenderConfig(max_len=4), settings=TrainSettings(
        epochs=1, final_epochs=0, eval_users=None, batch_size=2), device="cpu", verbose=False)
    for kwargs, message in ((dict(negatives=0), "negatives: expected a positive integer"),
                            (dict(batch_size=0), "batch_size"), (dict(seed=-1), "seed"),
                            (dict(protocol="some"), "protocol"), (dict(sampling="x"), "sampling")):
        with pytest.raises(ValueError, match=message):
            evaluate(run.model, split, **kwargs)
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k: expected a positive integer"):
            predict(run.model, "a b", k=k)
