"""Recommendation head: loaders, split, protocols, baselines, learnability, save/load and CLI."""

from __future__ import annotations

import json
import random

import pytest
import torch

from minitransformer.cli.main import main
from minitransformer.training import TrainConfig
from tasks.recommendation.baselines import most_popular_scorer, transition_scorer
from tasks.recommendation.cli import training_defaults
from tasks.recommendation.data import ItemMap, detect_format, load_sequences, load_split
from tasks.recommendation.evaluate import evaluate_ranking, model_scorer
from tasks.recommendation.models import RecommenderConfig, SequentialRecommender
from tasks.recommendation.train import TaskSettings, bucketed_batches, train_recommender


# ---------------------------------------------------------------------------- loaders
def test_sequence_pairs_and_csv_formats_agree(tmp_path):
    (tmp_path / "seq.txt").write_text("u1 a b c\nu2 b c\n\nu3 x\n")
    (tmp_path / "pairs.txt").write_text("u1 a\nu1 b\nu1 c\nu2 b\nu2 c\nu3 x\n")
    # CSV out of time order, with a tie (stable: file order) and an extra column
    (tmp_path / "log.csv").write_text("timestamp,item_id,rating,user_id\n"
                                      "30,c,5,u1\n10,a,1,u1\n20,b,2,u1\n5,b,1,u2\n5,c,1,u2\n1,x,3,u3\n")
    expected = {"u1": ["a", "b", "c"], "u2": ["b", "c"], "u3": ["x"]}
    for name, fmt in (("seq.txt", "sequence"), ("pairs.txt", "pairs"), ("log.csv", "csv")):
        assert detect_format(tmp_path / name) == fmt
        assert load_sequences(tmp_path / name) == (expected, fmt)


def test_leave_one_out_split_and_short_users_stay_in_training(tmp_path):
    (tmp_path / "seq.txt").write_text("u1 a b c d\nu2 e\nu3 a e\n")
    split = load_split(tmp_path / "seq.txt")
    a, b, c, d, e = (split.item_map.index[t] for t in "abcde")
    assert (a, b, c, d, e) == (1, 2, 3, 4, 5)  # contiguous, first appearance, 0 = padding
    assert split.train == [[a, b], [e], [a, e]]
    assert split.valid.users == ["u1"] and split.valid.inputs == [[a, b]] and split.valid.targets == [c]
    assert split.test.inputs == [[a, b, c]] and split.test.targets == [d]


def test_ml1m_folder_split(tmp_path):
    for sub in ("train", "val", "test"):
        (tmp_path / sub).mkdir()
    # 3 users; user 2 is the validation user (its train line lacks 3 items, the others 2)
    (tmp_path / "train" / "input.txt").write_text("1 2 3\n4 5\n1 4 6\n")
    (tmp_path / "val" / "input.txt").write_text("4 5 7\n")
    (tmp_path / "val" / "output.txt").write_text("8\n")
    (tmp_path / "test" / "output.txt").write_text("9\n2\n3\n")
    split = load_split(tmp_path)
    ids = split.item_map.index
    assert split.format == "ml1m" and split.valid.users == ["2"]
    assert split.valid.inputs == [[ids["4"], ids["5"], ids["7"]]] and split.valid.targets == [ids["8"]]
    assert split.test.inputs == [[ids[t] for t in "4578"]] and split.test.targets == [ids["2"]]
    # the final fit's data: user 2's line becomes val/input + val/output, the others unchanged
    assert split.refit_sequences() == [[ids[t] for t in "123"], [ids[t] for t in "4578"],
                                       [ids[t] for t in "146"]]


def test_refit_sequences_put_back_the_validation_item_and_never_the_test_item(tmp_path):
    (tmp_path / "seq.txt").write_text("u1 a b c d\nu2 e\nu3 a e c b\n")
    split = load_split(tmp_path / "seq.txt")
    a, b, c, d, e = (split.item_map.index[t] for t in "abcde")
    assert split.refit_sequences() == [[a, b, c], [e], [a, e, c]]   # = the test inputs
    assert split.train == [[a, b], [e], [a, e]]                     # unchanged
    assert [split.refit_sequences()[row] for row in split.valid_rows] == split.test.inputs


@pytest.mark.parametrize("name, text, fmt, message", [
    ("pairs.txt", "u1 a\nu1 b\nu2 a b c\n", "pairs", "line 3"),
    ("seq.txt", "u1 a b\nu2\n", "sequence", "line 2"),
    ("log.csv", "user_id,item_id,timestamp\nu1,a,1\nu1,b,yesterday\n", "csv", "line 3"),
    ("log.csv", "user_id,item_id,timestamp\nu1,a\n", "csv", "line 2"),
    ("log.csv", "user,item_id,timestamp\nu1,a,1\n", "csv", "line 1"),
])
def test_malformed_lines_name_the_line(tmp_path, name, text, fmt, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=message):
        load_sequences(tmp_path / name, fmt)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="empty"):
        load_split(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError):
        load_split(tmp_path / "missing.txt")


def test_item_map_round_trip_and_unknown_items(tmp_path):
    item_map = ItemMap()
    for token in ("x", "y", "z"):
        item_map.add(token)
    item_map.save(tmp_path / "map.json")
    loaded = ItemMap.load(tmp_path / "map.json")
    assert loaded.encode(["z", "nope", "x"]) == ([3, 1], ["nope"])


# ---------------------------------------------------------------------------- protocols
def _history_loving_scorer(num_items):
    """History items 100, item 1 (the target below) 50, everything else 0."""
    def score(histories):
        scores = torch.zeros(len(histories), num_items + 2)
        scores[:, 1] = 50.0
        for row, history in enumerate(histories):
            scores[row, history] = 100.0
        return scores
    return score


def test_full_protocol_excludes_history_items():
    inputs, targets = [[2, 3, 4], [5, 6]], [1, 1]
    report = evaluate_ranking(_history_loving_scorer(20), inputs, targets, 20)
    assert report["protocol"] == "full" and report["MRR"] == 1.0  # history items never rank above
    unfiltered = evaluate_ranking(_history_loving_scorer(20), inputs, targets, 20, exclude_history=False)
    assert unfiltered["MRR"] == pytest.approx((1 / 4 + 1 / 3) / 2)


def test_sampled_negatives_never_come_from_the_history():
    num_items = 120
    inputs = [list(range(2, 60)) for _ in range(30)]  # half of the catalogue is in every history
    report = evaluate_ranking(_history_loving_scorer(num_items), inputs, [1] * 30, num_items,
                              protocol="sampled", negatives=50, exclude_history=False)
    assert report["protocol"] == "sampled-50-uniform" and report["MRR"] == 1.0
    with pytest.raises(ValueError, match="negatives"):
        evaluate_ranking(_history_loving_scorer(10), [[2]], [1], 10, protocol="sampled", negatives=100)


def test_baselines_on_a_toy_log():
    train = [[1, 2, 3], [1, 2], [4, 2], [3, 1]]
    popular = most_popular_scorer(train, 4)([[4]])
    assert popular[0, 2] == 3 and popular[0, 1] == 3 and popular[0, 4] == 1
    transition = transition_scorer(train, 4)([[1], [3]])
    assert transition[0].argmax().item() == 2  # 1 -> 2 twice
    assert transition[1].argmax().item() == 1  # 3 -> 1 once beats popularity


# ---------------------------------------------------------------------------- learnability
def _planted(num_users=300, num_items=40, seed=0):
    """Item i is followed by i + 1 (mod N) 90% of the time; popularity is flat."""
    rng = random.Random(seed)
    seqs = []
    for _ in range(num_users):
        item = rng.randrange(num_items)
        seq = [item]
        for _ in range(rng.randint(6, 12)):
            item = (item + 1) % num_items if rng.random() < 0.9 else rng.randrange(num_items)
            seq.append(item)
        seqs.append([i + 1 for i in seq])
    return seqs


def _train_planted(kind, tmp_path=None, epochs=12):
    from tasks.recommendation.data import leave_one_out
    split = leave_one_out({str(u): [str(i) for i in s] for u, s in enumerate(_planted())}, "sequence")
    config = RecommenderConfig(num_items=split.num_items, kind=kind, max_len=16, d_model=32,
                               dim_feedforward=64, num_layers=1, dropout=0.1)
    train_config = TrainConfig(epochs=epochs, lr=5e-3, device="cpu", monitor="NDCG@10", mode="max",
                               warmup_steps=5, progress=False, verbose=False, log_every=0)
    settings = TaskSettings(kind=kind, batch_size=32, mask_prob=0.3, last_item_prob=0.3, eval_users=0,
                            final_epochs=0)
    model, result, _ = train_recommender(split, config, train_config, settings, out_dir=tmp_path)
    return split, model, result


@pytest.mark.parametrize("kind", ["sasrec", "bert4rec"])
def test_both_models_learn_a_planted_sequence_and_beat_popularity(kind):
    split, model, _ = _train_planted(kind)
    ours = evaluate_ranking(model_scorer(model), split.test.inputs, split.test.targets, split.num_items)
    popular = evaluate_ranking(most_popular_scorer(split.train, split.num_items), split.test.inputs,
                               split.test.targets, split.num_items)
    assert ours["HR@10"] > popular["HR@10"] + 0.3, (ours, popular)
    assert ours["NDCG@10"] > 0.4


@pytest.mark.parametrize("kind", ["sasrec", "bert4rec"])
def test_final_fit_learns_what_only_the_validation_items_show(kind, tmp_path):
    """Every user ends ... c w v: w is only ever a validation item, so the validation-best model
    cannot know that w follows c; after the final fit it ranks w first after c."""
    from tasks.recommendation.data import leave_one_out
    rng = random.Random(0)
    logs = {f"u{u}": [f"p{rng.randrange(12)}" for _ in range(3)] + ["a", "b", "c", "w", "v"]
            for u in range(80)}
    split = leave_one_out(logs, "sequence")
    config = RecommenderConfig(num_items=split.num_items, kind=kind, max_len=8, d_model=16,
                               dim_feedforward=32, num_layers=1, dropout=0.0)
    train_config = TrainConfig(epochs=15, lr=1e-2, device="cpu", monitor="NDCG@10", mode="max",
                               warmup_steps=2, progress=False, verbose=False, log_every=0)
    ranks = {}
    for final_epochs in (0, 15):
        settings = TaskSettings(kind=kind, batch_size=16, mask_prob=0.3, last_item_prob=0.5, eval_users=0,
                                final_epochs=final_epochs)
        model, _, _ = train_recommender(split, config, train_config, settings,
                                        out_dir=tmp_path / f"final{final_epochs}")
        scores = model.eval().next_item_scores([split.valid.inputs[0]])[0]     # history ... a b c
        w = split.item_map.index["w"]
        ranks[final_epochs] = int((scores[1:] > scores[w]).sum()) + 1
        saved = SequentialRecommender.from_pretrained(tmp_path / f"final{final_epochs}").eval()
        assert torch.allclose(saved.next_item_scores([split.valid.inputs[0]]), scores[None])
    assert ranks[0] > 3 and ranks[15] == 1, ranks
    assert (tmp_path / "final15" / "final_fit" / "metrics.jsonl").is_file()
    assert not (tmp_path / "final0" / "final_fit").exists()


def test_bert4rec_examples_are_cloze_masks_or_masked_prefixes():
    """last_item_prob = 1: every row is s_1 .. s_{c-1} [MASK] with the single label s_c (without
    cuts: c = len); last_item_prob = 0: labels only where the input shows [MASK], the other items
    unchanged."""
    from tasks.recommendation.train import MaskedItemCollate
    mask_id, seqs = 99, [list(range(1, 11)), [5, 6, 7], [8]]
    torch.manual_seed(0)
    prefixes = MaskedItemCollate(mask_id, 100, 0.3, 1.0, rng=random.Random(0))
    cuts = set()
    for _ in range(50):
        batch = prefixes(seqs)
        for seq, inputs, labels in zip(seqs, batch["inputs"].tolist(), batch["labels"].tolist()):
            shown = [i for i in inputs if i != 0]
            assert shown[-1] == mask_id and labels[-1] != 0 and sum(x != 0 for x in labels) == 1
            cut = len(shown)
            assert shown[:-1] == seq[:cut - 1] and labels[-1] == seq[cut - 1]
            cuts.add((len(seq), cut))
    assert {c for n, c in cuts if n == 10} == set(range(2, 11))   # every cut 2..len is drawn
    assert (1, 1) in cuts                                          # one item: [MASK] alone
    whole = MaskedItemCollate(mask_id, 100, 0.3, 1.0, cut_prefixes=False)(seqs)  # the final fit's
    assert whole["inputs"][0].tolist() == list(range(1, 10)) + [mask_id]
    assert whole["labels"][:, -1].tolist() == [10, 7, 8] and (whole["labels"][:, :-1] == 0).all()
    long_rows = [list(range(1, 11)), list(range(11, 21))]  # masks drawn: (0.5)^10 to have none
    cloze = MaskedItemCollate(mask_id, 100, 0.5, 0.0, rng=random.Random(0))(long_rows)
    items, masked = torch.tensor(long_rows), cloze["inputs"] == mask_id
    assert masked.any(1).all()
    assert torch.equal(cloze["labels"] != 0, masked)
    assert torch.equal(cloze["labels"][masked], items[masked])
    assert torch.equal(cloze["inputs"][~masked], items[~masked])


def test_other_losses_run_and_decrease():
    from tasks.recommendation.losses import sequence_loss
    model = SequentialRecommender(RecommenderConfig(num_items=30, max_len=8, d_model=16, dim_feedforward=32))
    batch = {"inputs": torch.tensor([[0, 1, 2, 3]]), "labels": torch.tensor([[0, 2, 3, 4]])}
    for loss in ("ce", "bce", "gbce"):
        value = sequence_loss(model, batch, loss, negatives=8)
        assert value.ndim == 0 and torch.isfinite(value)
    with pytest.raises(ValueError, match="loss"):
        sequence_loss(model, batch, "hinge")


def test_negative_scores_are_the_same_gathered_or_from_the_full_matrix():
    from tasks.recommendation.losses import negative_scores
    g = torch.Generator().manual_seed(0)
    hidden, weight = torch.randn(5, 4, generator=g), torch.randn(40, 4, generator=g)  # (M, D), (V, D)
    few = torch.randint(1, 40, (5, 3), generator=g)   # k·D = 12 < V: gathered
    many = torch.randint(1, 40, (5, 20), generator=g)  # k·D = 80 >= V: picked from (M, V)
    for ids in (few, many):
        expected = torch.stack([weight[ids[m]] @ hidden[m] for m in range(5)])  # one row at a time
        torch.testing.assert_close(negative_scores(hidden, weight, ids), expected)


def test_masking_probabilities_outside_0_1_are_refused():
    with pytest.raises(ValueError, match=r"--last-item-prob: expected a probability in \[0, 1\], got 1.5"):
        TaskSettings(kind="bert4rec", last_item_prob=1.5)
    with pytest.raises(ValueError, match="--mask-prob"):
        TaskSettings(kind="bert4rec", mask_prob=-0.1)


def test_save_load_round_trip(tmp_path):
    model = SequentialRecommender(RecommenderConfig(num_items=12, max_len=8, d_model=16, dim_feedforward=32))
    model.save_pretrained(tmp_path / "m")
    loaded = SequentialRecommender.from_pretrained(tmp_path / "m").eval()
    model.eval()
    histories = [[1, 2, 3], list(range(1, 13))]  # the second is truncated to max_len
    assert torch.allclose(model.next_item_scores(histories), loaded.next_item_scores(histories))


# ---------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def trained_cli_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rec")
    data = folder / "pairs.txt"
    data.write_text("".join(f"u{u} i{i}\n" for u, seq in enumerate(_planted(120)) for i in seq))
    out = folder / "model"
    status = main(["recommend", "train", "--data", str(data), "--out", str(out), "--epochs", "2",
                   "--device", "cpu", "--d-model", "16", "--layers", "1", "--max-len", "12",
                   "--json", str(folder / "train.json")])
    assert status == 0
    return data, out, folder


def test_cli_train_evaluate_predict(trained_cli_model, capsys):
    data, out, folder = trained_cli_model
    assert (out / "item_map.json").is_file() and (out / "model.safetensors").is_file()
    result = folder / "eval.json"
    assert main(["recommend", "evaluate", "--model", str(out), "--data", str(data), "--protocol", "sampled",
                 "--negatives", "20", "--split", "valid", "--json", str(result)]) == 0
    report = json.loads(result.read_text())
    for key in ("protocol", "split", "users", "HR@10", "NDCG@10", "HR@5", "NDCG@5", "MRR"):
        assert key in report
    assert report["split"] == "valid" and report["protocol"].startswith("sampled")
    assert "not held-out" in capsys.readouterr().err  # the final fit trained on the validation items
    assert main(["recommend", "predict", "--model", str(out), "--history", "i3 i4 unknown-item i5",
                 "--k", "5"]) == 0
    captured = capsys.readouterr()
    assert "1 unknown item(s)" in captured.err and "unknown-item" in captured.err
    assert "top-5" in captured.out and "attended" in captured.out


def test_cli_bad_inputs_exit_2(trained_cli_model, tmp_path, capsys):
    data, out, _ = trained_cli_model
    bad = tmp_path / "bad.txt"
    bad.write_text("u1 a\nu1 b\nu2 a b c\n")
    assert main(["recommend", "train", "--data", str(bad), "--format", "pairs",
                 "--out", str(tmp_path / "o")]) == 2
    assert "line 3" in capsys.readouterr().err
    assert main(["recommend", "evaluate", "--model", str(tmp_path / "none"), "--data", str(data)]) == 2
    assert main(["recommend", "predict", "--model", str(out), "--history", "nothing known"]) == 2
    assert "none of its 2 item(s)" in capsys.readouterr().err



def test_cli_bert4rec_train_and_predict(tmp_path, capsys):
    data = tmp_path / "seq.txt"
    data.write_text("".join(f"u{u} " + " ".join(f"i{i}" for i in seq) + "\n"
                            for u, seq in enumerate(_planted(60))))
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
    assert json.loads((out / "config.json").read_text())["dropout"] == 0.1
    assert json.loads((out / "train_config.json").read_text())["train"]["patience"] == 16
    for model, extra, dropout, patience in (("sasrec", [], 0.3, 8),
                                            ("bert4rec", ["--dropout", "0.25", "--patience", "3"], 0.25, 3)):
        assert main(["recommend", "train", "--data", str(data), "--out", str(tmp_path / model),
                     "--model", model, "--epochs", "1", "--device", "cpu", "--d-model", "8",
                     "--layers", "1", *extra]) == 0
        assert json.loads((tmp_path / model / "config.json").read_text())["dropout"] == dropout
        train_config = json.loads((tmp_path / model / "train_config.json").read_text())
        assert train_config["train"]["patience"] == patience


def test_training_defaults_per_model_and_for_the_ml1m_folder():
    sasrec, bert = training_defaults("sequence", "sasrec"), training_defaults("sequence", "bert4rec")
    assert (sasrec["dropout"], sasrec["patience"], sasrec["epochs"]) == (0.3, 8, 30)
    assert (bert["dropout"], bert["patience"], bert["epochs"]) == (0.1, 16, 80)
    for model in ("sasrec", "bert4rec"):  # ml1m: long histories, 512 noisy validation users
        ml1m = training_defaults("ml1m", model)
        assert (ml1m["max_len"], ml1m["patience"], ml1m["final_epochs"]) == (200, 20, 0)
    assert training_defaults("ml1m", "sasrec")["dropout"] == 0.2  # dense histories: less dropout
    bert_ml1m = training_defaults("ml1m", "bert4rec")  # BERT4Rec keeps its own
    assert (bert_ml1m["epochs"], bert_ml1m["dropout"]) == (80, 0.1)


def test_batches_hold_every_example_once_within_the_size_and_position_caps():
    rng = random.Random(0)
    examples = [list(range(rng.randint(1, 200))) for _ in range(500)]
    batches = bucketed_batches(examples, batch_size=128, seed=0, max_tokens=6400)
    assert sorted(map(id, (e for b in batches for e in b))) == sorted(map(id, examples))
    for batch in batches:
        assert len(batch) <= 128
        assert len(batch) * max(map(len, batch)) <= 6400       # padded positions
    long_only = bucketed_batches([[1] * 200] * 100, batch_size=128, seed=0, max_tokens=6400)
    assert [len(b) for b in long_only] == [32, 32, 32, 4]     # 6400 // 200 histories a batch
    short = [[1] * 10] * 300                                  # the cap never binds: plain chunks
    assert bucketed_batches(short, 128, 0, max_tokens=6400) == bucketed_batches(short, 128, 0)
