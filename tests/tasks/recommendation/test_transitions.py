"""The transition prior: sparse counts against a dense reference, the model's prior and its mix."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.recommendation.config import RecommenderConfig, encoder_config
from tasks.recommendation.data import leave_one_out
from tasks.recommendation.evaluate import evaluate_ranking, model_scorer
from tasks.recommendation.mixing import fit_mix
from tasks.recommendation.model import SequentialRecommender, load
from tasks.recommendation.transitions import add_log_counts, count_transitions, table_rows
from tests.tasks.recommendation.planted import planted_sequences


def dense_tables(sequences, vocab, lags):
    """(2K, V, V) counts the slow way: F_k[a, b] for b k items after a, B_k[a, b] for b k before."""
    tables = torch.zeros(2 * lags, vocab, vocab)
    for seq in sequences:
        for k in range(1, lags + 1):
            for a, b in zip(seq, seq[k:]):
                tables[k - 1, a, b] += 1
                tables[lags + k - 1, b, a] += 1
    return tables


sequences_strategy = st.lists(st.lists(st.integers(1, 6), min_size=0, max_size=8), min_size=0, max_size=6)


@settings(max_examples=60, deadline=None)
@given(sequences=sequences_strategy, lags=st.integers(1, 3),
       rows=st.lists(st.integers(0, 7), min_size=1, max_size=5), table=st.integers(0, 5))
def test_sparse_counts_add_what_the_dense_tables_hold(sequences, lags, rows, table):
    vocab = 8  # items 1..6, 0 = padding, 7 = [MASK]
    table %= 2 * lags
    keys, counts = count_transitions(sequences, vocab, lags)
    assert torch.equal(keys, keys.sort().values) and len(set(keys.tolist())) == keys.numel()
    previous = torch.tensor(rows)
    weight = torch.tensor(0.7)
    table_of = table_rows(table, previous, vocab)
    got = add_log_counts(torch.ones(len(rows), vocab), keys, counts, vocab, table_of, weight)
    expected = 1 + weight * torch.log1p(dense_tables(sequences, vocab, lags)[table, previous])  # (M, V)
    torch.testing.assert_close(got, expected)


def test_count_tables_by_hand():
    keys, counts = count_transitions([[1, 2, 3]], vocab_size=5, lags=2)
    square = 25
    pairs = {int(k): float(c) for k, c in zip(keys, counts)}
    assert pairs == {0 * square + 1 * 5 + 2: 1.0, 0 * square + 2 * 5 + 3: 1.0,  # F_1: 1->2, 2->3
                     1 * square + 1 * 5 + 3: 1.0,  # F_2: 1 -> 3 two later
                     2 * square + 2 * 5 + 1: 1.0, 2 * square + 3 * 5 + 2: 1.0,  # B_1: 1 before 2, 2 before 3
                     3 * square + 3 * 5 + 1: 1.0}  # B_2: 1 two before 3


def test_the_prior_reaches_the_weight_and_only_narrower_columns():
    keys, counts = count_transitions([[1, 2], [1, 4]], vocab_size=6)
    weight = torch.tensor(2.0, requires_grad=True)
    scores = add_log_counts(torch.zeros(1, 3), keys, counts, 6, torch.tensor([1]), weight)  # 4: no column
    assert scores[0, 2].item() == torch.log1p(torch.tensor(1.0)).item() * 2
    scores.sum().backward()
    assert weight.grad.item() == torch.log1p(torch.tensor(1.0)).item()


def prior_model(kind="sasrec", prior_items=2, num_items=40):
    config = RecommenderConfig(num_items=num_items, kind=kind, max_len=10, prior_items=prior_items,
                               prior_lags=2,
                               encoder=encoder_config(d_model=16, dim_feedforward=32, num_layers=1))
    return SequentialRecommender(config).eval()


def test_previous_items_are_the_items_before_the_predicted_one():
    items = torch.tensor([[0, 5, 6, 7]])
    sasrec = prior_model("sasrec", prior_items=2).previous_items(items)  # position t predicts t + 1
    assert sasrec[0, -1].tolist() == [7, 6] and sasrec[0, 1].tolist() == [5, 0]
    mask = 41
    bert = prior_model("bert4rec", prior_items=2).previous_items(torch.tensor([[5, mask, 6, mask]]))
    assert bert[0, -1].tolist() == [6, 0]  # the [MASK] two back counts as no item
    assert bert[0, 1].tolist() == [5, 0]


def test_until_the_mix_is_fitted_the_scores_are_the_transformers():
    model = prior_model()
    model.set_transitions(planted_sequences())
    plain = SequentialRecommender(dataclasses.replace(model.config, prior_items=0)).eval()
    plain.load_state_dict(model.state_dict(), strict=False)
    histories = [[1, 2, 3], [7]]
    assert torch.allclose(model.next_item_scores(histories), plain.next_item_scores(histories))
    model.prior_weight[0, 0] = 1.0  # F_1 read from the last item: item-to-item
    after_3 = model.next_item_scores([[1, 2, 3]], part="prior")[0]
    assert after_3.argmax().item() == 4  # the planted pattern: i is followed by i + 1


def test_a_model_with_the_prior_is_saved_and_read_back(tmp_path):
    model = prior_model()
    model.set_transitions(planted_sequences())
    model.prior_weight.fill_(0.5)
    model.transformer_weight.fill_(0.3)
    assert model.config.prior_pairs == model.transition_keys.numel() > 0
    model.save_pretrained(tmp_path / "m")
    loaded = SequentialRecommender.from_pretrained(tmp_path / "m").eval()
    histories = [[1, 2, 3], [9, 10]]
    assert torch.allclose(model.next_item_scores(histories), loaded.next_item_scores(histories))
    assert loaded.config.prior_pairs == model.config.prior_pairs


def planted_split(num_users):
    """The planted sequences, split leave-one-out (items renumbered in order of appearance)."""
    users = {f"u{u}": [f"i{i}" for i in seq] for u, seq in enumerate(planted_sequences(num_users=num_users))}
    return leave_one_out(users, "sequence")


def test_fit_mix_learns_to_trust_the_counts_of_a_planted_pattern():
    """An untrained Transformer and counts that know the pattern: the fit leans on the counts,
    and the mix ranks far better than the Transformer alone on the validation items."""
    split = planted_split(300)
    torch.manual_seed(0)
    model = prior_model(num_items=split.num_items)
    model.set_transitions(split.train)
    report = fit_mix(model, split.valid, split.num_items)
    parts = report["valid_NDCG@10"]
    assert model.prior_weight[0, 0] > 0.5  # F_1 from the last item carries the pattern
    assert parts["mixed"] > parts["transformer"] + 0.3 and parts["prior"] > parts["transformer"] + 0.3
    measured = evaluate_ranking(model_scorer(model), split.valid.inputs, split.valid.targets, split.num_items)
    assert abs(measured["NDCG@10"] - parts["mixed"]) < 1e-6  # the fitted numbers are the model's


def test_training_with_the_prior_saves_the_counts_of_everything_before_the_test_items(tmp_path):
    from tasks.recommendation.train import train
    from tests.tasks.recommendation.planted import tiny_settings
    split = planted_split(200)
    config = dataclasses.replace(prior_model(num_items=split.num_items).config)
    run = train(split, tmp_path / "m", config, settings=tiny_settings(final_epochs=1), verbose=False)
    mix = run.metrics["mix"]
    assert mix is not None and set(mix["valid_NDCG@10"]) == {"transformer", "prior", "mixed"}
    loaded = load(tmp_path / "m")
    expected, _ = count_transitions(split.refit_sequences(), loaded.config.vocab_size, 2)
    assert torch.equal(loaded.transition_keys, expected)
    assert loaded.transformer_weight.item() == mix["lambda"]


def test_a_transitions_file_that_the_lookups_could_not_use_is_refused_by_name(tmp_path):
    from safetensors.torch import save_file

    from minitransformer.errors import CheckpointError
    model = prior_model()
    model.set_transitions(planted_sequences())
    model.save_pretrained(tmp_path / "m")
    path = tmp_path / "m" / "transitions.safetensors"
    keys, counts = model.transition_keys.clone(), model.transition_counts.clone()
    for bad_keys, bad_counts, words in ((keys.flip(0), counts, "not ascending"),
                                        (keys, -counts, "finite and positive"),
                                        (keys, counts.double()[:-1], "shape mismatch")):
        save_file({"keys": bad_keys.contiguous(), "counts": bad_counts.contiguous()}, str(path))
        with pytest.raises((CheckpointError, ValueError), match=f"transitions.safetensors.*{words}"):
            SequentialRecommender.from_pretrained(tmp_path / "m")
    path.unlink()
    with pytest.raises(FileNotFoundError, match="transitions.safetensors"):
        SequentialRecommender.from_pretrained(tmp_path / "m")
