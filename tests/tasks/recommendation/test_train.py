"""Training: examples and batches, BERT4Rec's masks, the losses, learnability, the final fit."""

from __future__ import annotations

import random

import pytest
import torch

from tasks.recommendation.baselines import most_popular_scorer
from tasks.recommendation.config import RecommenderConfig, TrainSettings, encoder_config
from tasks.recommendation.data import leave_one_out
from tasks.recommendation.evaluate import evaluate_ranking, model_scorer
from tasks.recommendation.model import SequentialRecommender
from tasks.recommendation.train import MaskedItemCollate, bucketed_batches, train_recommender
from tests.tasks.recommendation.planted import planted_sequences


def _train_planted(kind, tmp_path=None, epochs=12):
    logs = {str(u): [str(i) for i in s] for u, s in enumerate(planted_sequences())}
    split = leave_one_out(logs, "sequence")
    encoder = encoder_config(d_model=32, dim_feedforward=64, num_layers=1, dropout=0.1)
    config = RecommenderConfig(num_items=split.num_items, kind=kind, max_len=16, encoder=encoder)
    settings = TrainSettings(epochs=epochs, lr=5e-3, warmup_steps=5, patience=None, batch_size=32,
                             mask_prob=0.3, last_item_prob=0.3, eval_users=None, final_epochs=0)
    fitted = train_recommender(split, config, settings, device="cpu", out_dir=tmp_path, verbose=False)
    return split, fitted.model, fitted.fit


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
    rng = random.Random(0)
    logs = {f"u{u}": [f"p{rng.randrange(12)}" for _ in range(3)] + ["a", "b", "c", "w", "v"]
            for u in range(80)}
    split = leave_one_out(logs, "sequence")
    encoder = encoder_config(d_model=16, dim_feedforward=32, num_layers=1, dropout=0.0)
    config = RecommenderConfig(num_items=split.num_items, kind=kind, max_len=8, encoder=encoder)
    ranks = {}
    for final_epochs in (0, 15):
        settings = TrainSettings(epochs=15, lr=1e-2, warmup_steps=2, patience=None, batch_size=16,
                                 mask_prob=0.3, last_item_prob=0.5, eval_users=None,
                                 final_epochs=final_epochs)
        fitted = train_recommender(split, config, settings, device="cpu",
                                   out_dir=tmp_path / f"final{final_epochs}", verbose=False)
        assert (fitted.final_fit is None) == (final_epochs == 0)
        scores = fitted.model.eval().next_item_scores([split.valid.inputs[0]])[0]     # history ... a b c
        w = split.item_map.index["w"]
        ranks[final_epochs] = int((scores[1:] > scores[w]).sum()) + 1
        saved = SequentialRecommender.from_pretrained(tmp_path / f"final{final_epochs}").eval()
        assert torch.allclose(saved.next_item_scores([split.valid.inputs[0]]), scores[None])
    assert ranks[0] > 3 and ranks[15] == 1, ranks
    assert (tmp_path / "final15" / "final_fit" / "metrics.jsonl").is_file()
    assert not (tmp_path / "final0" / "final_fit").exists()


def test_a_config_for_another_catalogue_is_refused():
    split = leave_one_out({"u": ["a", "b", "c"]}, "sequence")
    with pytest.raises(ValueError, match="num_items=9, but the data has 3 items"):
        train_recommender(split, RecommenderConfig(num_items=9), TrainSettings(), device="cpu")


def test_bert4rec_examples_are_cloze_masks_or_masked_prefixes():
    """last_item_prob = 1: every row is s_1 .. s_{c-1} [MASK] with the single label s_c (without
    cuts: c = len); last_item_prob = 0: labels only where the input shows [MASK], the other items
    unchanged."""
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
    model = SequentialRecommender(RecommenderConfig(num_items=30, max_len=8,
                                                    encoder=encoder_config(d_model=16, dim_feedforward=32)))
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
