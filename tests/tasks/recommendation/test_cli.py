"""``minitransformer recommend train|evaluate|predict``: the thin command over the verbs."""

from __future__ import annotations

import json

import pytest

from minitransformer.cli.main import main
from tests.tasks.recommendation.planted import planted_sequences


@pytest.fixture(scope="module")
def trained_cli_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rec")
    data = folder / "pairs.txt"
    data.write_text("".join(f"u{u} i{i}\n" for u, seq in enumerate(planted_sequences(120)) for i in seq))
    out = folder / "model"
    status = main(["recommend", "train", "--data", str(data), "--out", str(out), "--epochs", "2",
                   "--device", "cpu", "--d-model", "16", "--layers", "1", "--max-len", "12",
                   "--json", str(folder / "train.json")])
    assert status == 0
    return data, out, folder


def test_cli_train_evaluate_predict(trained_cli_model, capsys):
    data, out, folder = trained_cli_model
    assert (out / "item_map.json").is_file() and (out / "model.safetensors").is_file()
    trained = json.loads((folder / "train.json").read_text())
    assert list(trained["test"]) == ["sasrec", "sasrec: Transformer alone", "sasrec: counts alone",
                                     "most-popular", "item-to-item"]  # the transition prior is the default
    assert trained["fit"]["epochs_run"] == 2 and trained["final_fit"]["epochs_run"] == 5
    assert set(trained["mix"]["valid_NDCG@10"]) == {"transformer", "prior", "mixed"}
    result = folder / "eval.json"
    assert main(["recommend", "evaluate", "--model", str(out), "--data", str(data), "--protocol", "sampled",
                 "--negatives", "20", "--split", "valid", "--json", str(result)]) == 0
    report = json.loads(result.read_text())
    for key in ("protocol", "split", "users", "HR@10", "NDCG@10", "HR@5", "NDCG@5", "MRR"):
        assert key in report
    assert report["split"] == "valid" and report["protocol"].startswith("sampled")
    assert report["model"] == "sasrec" and list(report["baselines"]) == ["most-popular", "item-to-item"]
    assert list(report["parts"]) == ["sasrec: Transformer alone", "sasrec: counts alone"]
    assert "not held-out" in capsys.readouterr().err  # the final fit trained on the validation items
    assert main(["recommend", "predict", "--model", str(out), "--history", "i3 i4 unknown-item i5",
                 "--k", "5"]) == 0
    captured = capsys.readouterr()
    assert "1 unknown item(s)" in captured.err and "unknown-item" in captured.err
    assert "top-5" in captured.out and "attended" in captured.out


def test_the_test_table_is_the_evaluate_verbs(trained_cli_model):
    """``recommend train`` prints what ``evaluate`` returns for the saved model."""
    from tasks.recommendation import evaluate, load

    data, out, folder = trained_cli_model
    trained = json.loads((folder / "train.json").read_text())["test"]
    assert evaluate(load(out), data) == trained


def test_prior_items_0_trains_the_transformer_alone(trained_cli_model, tmp_path, capsys):
    """The default mixes in the counts and says so; ``--prior-items 0`` is the Transformer alone,
    with the tables of before (the model and the two baselines) and no counts file."""
    data, out, _ = trained_cli_model
    assert json.loads((out / "config.json").read_text())["prior_items"] == 3
    assert (out / "transitions.safetensors").is_file()
    alone = tmp_path / "alone"
    capsys.readouterr()
    assert main(["recommend", "train", "--data", str(data), "--out", str(alone), "--epochs", "1",
                 "--device", "cpu", "--d-model", "16", "--layers", "1", "--max-len", "12",
                 "--prior-items", "0", "--json", str(tmp_path / "alone.json")]) == 0
    printed = capsys.readouterr().out
    assert "mix fitted" not in printed and "| sasrec: counts alone |" not in printed
    assert list(json.loads((tmp_path / "alone.json").read_text())["test"]) == ["sasrec", "most-popular",
                                                                               "item-to-item"]
    assert not (alone / "transitions.safetensors").exists()


def test_cli_bad_inputs_exit_2(trained_cli_model, tmp_path, capsys):
    data, out, _ = trained_cli_model
    bad = tmp_path / "bad.txt"
    bad.write_text("u1 a\nu1 b\nu2 a b c\n")
    assert main(["recommend", "train", "--data", str(bad), "--format", "pairs",
                 "--out", str(tmp_path / "o")]) == 2
    assert "line 3" in capsys.readouterr().err
    assert main(["recommend", "evaluate", "--model", str(tmp_path / "none"), "--data", str(data)]) == 2
    assert "model directory not found" in capsys.readouterr().err
    assert main(["recommend", "predict", "--model", str(out), "--history", "nothing known"]) == 2
    assert "none of its 2 item(s)" in capsys.readouterr().err
    assert main(["recommend", "predict", "--model", str(out), "--history", "i3", "--k", "0"]) == 2
    assert "--k" in capsys.readouterr().err
    assert main(["recommend", "train", "--data", str(data), "--out", str(tmp_path / "o"),
                 "--max-len", "1"]) == 2
    assert "--max-len" in capsys.readouterr().err
    assert main(["recommend", "train", "--out", str(tmp_path / "o")]) == 2
    assert "--data is required" in capsys.readouterr().err


def test_cli_bert4rec_train_and_predict(tmp_path, capsys):
    data = tmp_path / "seq.txt"
    data.write_text("".join(f"u{u} " + " ".join(f"i{i}" for i in seq) + "\n"
                            for u, seq in enumerate(planted_sequences(60))))
    out = tmp_path / "bert"
    assert main(["recommend", "train", "--data", str(data), "--out", str(out), "--model", "bert4rec",
                 "--epochs", "1", "--device", "cpu", "--d-model", "16", "--layers", "1",
                 "--max-len", "8"]) == 0
    capsys.readouterr()
    history = " ".join(f"i{i}" for i in range(1, 12))  # longer than max-len: truncated
    assert main(["recommend", "predict", "--model", str(out), "--history", history, "--k", "3",
                 "--json", "-"]) == 0
    text = capsys.readouterr().out
    payload = json.loads(text[text.index("\n{") + 1:])
    assert len(payload["recommendations"]) == 3 and payload["unknown_count"] == 0
    recommended = {r["item"] for r in payload["recommendations"]}
    assert not recommended & set(history.split())  # history items are not recommended again
    # attention covers only the 7 most recent items (max-len 8 minus the appended [MASK])
    assert {a["position"] for a in payload["attention"]} <= set(range(5, 12))
    # each model has its own default dropout (bert4rec 0.1, sasrec 0.3) and patience (16, 8);
    # --dropout and --patience override them
    assert json.loads((out / "config.json").read_text())["encoder"]["dropout"] == 0.1
    assert json.loads((out / "train_config.json").read_text())["train"]["patience"] == 16
    for model, extra, dropout, patience in (("sasrec", [], 0.3, 8),
                                            ("bert4rec", ["--dropout", "0.25", "--patience", "3"], 0.25, 3)):
        assert main(["recommend", "train", "--data", str(data), "--out", str(tmp_path / model),
                     "--model", model, "--epochs", "1", "--device", "cpu", "--d-model", "8",
                     "--layers", "1", *extra]) == 0
        assert json.loads((tmp_path / model / "config.json").read_text())["encoder"]["dropout"] == dropout
        train_config = json.loads((tmp_path / model / "train_config.json").read_text())
        assert train_config["train"]["patience"] == patience


def test_simulate_command_writes_the_log(tmp_path, capsys):
    from tasks.recommendation.data import load_split

    path = tmp_path / "log.csv"
    assert main(["recommend", "simulate", "--out", str(path), "--users", "30", "--items", "48",
                 "--seed", "4"]) == 0
    assert "purchases of 48 items by 30 shoppers" in capsys.readouterr().out
    assert load_split(path).num_items == 48
    assert main(["recommend", "simulate", "--users", "3"]) == 2   # --out missing
    before = path.read_bytes()  # an existing file is never overwritten
    assert main(["recommend", "simulate", "--out", str(path), "--users", "3"]) == 2
    assert "already exists" in capsys.readouterr().err and path.read_bytes() == before
