"""The router's seed ensemble: members trained side by side, averaged in log space, saved and
loaded together."""

import dataclasses
import json

import pytest
import torch

from tasks.qa.config import IntentConfig, IntentSettings, RouterSettings, qa_encoder
from tasks.qa.encoding import build_tokenizer, encode_questions
from tasks.qa.router.classifier import IntentClassifier, predict_proba
from tasks.qa.router.ensemble import MemberJob, can_fork, ensemble_log_proba, member_dir, train_members
from tasks.qa.router.router import IntentRouter
from tasks.qa.router.training import train_router

KEYS = ("card", "refund", "invoice")
TEXTS = [f"{key} {word} {i}" for i in range(8) for key in KEYS for word in ("please", "now")]
LABELS = [key for i in range(8) for key in KEYS for _ in ("please", "now")]
SETTINGS = RouterSettings(vocab_size=300, encoder=qa_encoder(d_model=16, nhead=2, num_layers=1,
                                                              dim_feedforward=32),
                          linear_expert=False, ensemble=2,
                          train=IntentSettings(epochs=4, batch_size=8, lr=3e-3, patience=None,
                                               pretrain_epochs=0))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A two-member router, its members trained in two worker processes."""
    out = tmp_path_factory.mktemp("ensemble") / "run"
    router = train_router(TEXTS, LABELS, settings=SETTINGS, device="cpu", verbose=False,
                          valid=(TEXTS, LABELS), out_dir=out)
    return router, out


def test_router_holds_one_model_per_member_with_its_own_seed(pair):
    router, out = pair
    assert len(router.members) == 1 and len(router.member_results) == 2
    first, second = router.model.state_dict(), router.members[0].state_dict()
    assert any(not torch.equal(first[k], second[k]) for k in first)  # seeds 0 and 1 differ
    assert router.evaluate(TEXTS, LABELS)["accuracy"] == 1.0  # the keyword decides the intent


def test_probabilities_are_the_members_geometric_mean(pair):
    router, _ = pair
    encoded = router.encode(TEXTS)
    logs = [predict_proba(m, encoded).log() for m in (router.model, *router.members)]  # 2 x (N, C)
    expected = torch.softmax((logs[0] + logs[1]) / 2, dim=-1)
    assert torch.allclose(router.probs(TEXTS), expected, atol=1e-6)
    assert torch.allclose(ensemble_log_proba([router.model], encoded).exp(),
                          predict_proba(router.model, encoded), atol=1e-6)  # one member: itself


def test_save_load_round_trip_keeps_every_member(pair, tmp_path):
    router, out = pair
    info = json.loads((out / "qa.json").read_text())
    assert info["ensemble"] == 2 and len(info["member_valid_accuracies"]) == 2
    assert (member_dir(out, 1) / "model.safetensors").is_file() and member_dir(out, 0) == out
    again = IntentRouter.load(out)
    assert len(again.members) == 1
    assert torch.allclose(again.probs(TEXTS), router.probs(TEXTS), atol=1e-6)
    router.save(tmp_path / "copy")
    assert torch.allclose(IntentRouter.load(tmp_path / "copy").probs(TEXTS), router.probs(TEXTS), atol=1e-6)


def test_a_missing_member_is_a_clear_error(pair, tmp_path):
    router, _ = pair
    router.save(tmp_path / "m")
    for name in ("config.json", "model.safetensors"):
        (tmp_path / "m" / "member1" / name).unlink()
    with pytest.raises(FileNotFoundError, match=r"lists 2 Transformers.*member1"):
        IntentRouter.load(tmp_path / "m")


def _jobs():
    config = IntentConfig(vocab_size=300, encoder=qa_encoder(d_model=16, nhead=2, num_layers=1,
                                                             dim_feedforward=32), num_labels=3)
    tokenizer = build_tokenizer("bpe", TEXTS, 300)
    ids = [KEYS.index(y) for y in LABELS]
    longer = dataclasses.replace(SETTINGS.train, epochs=12)
    return [MemberJob(config, tokenizer, (TEXTS, ids), (TEXTS, ids), [], longer, seed, "cpu")
            for seed in (3, 4)], ids


def test_members_train_one_after_another_in_this_process_too():
    jobs, ids = _jobs()
    members = train_members(jobs, processes=1)
    encoded = encode_questions(jobs[0].tokenizer, TEXTS, jobs[0].config)
    for model, result in members:
        assert isinstance(model, IntentClassifier) and not model.training
        assert result.best_metric == 1.0
        assert predict_proba(model, encoded).argmax(-1).tolist() == ids
    with pytest.raises(ValueError, match="jobs: expected at least one"):
        train_members([])


@pytest.mark.skipif(not can_fork(), reason="worker processes are forked on Linux only")
def test_side_by_side_trains_the_same_members_as_one_after_another():
    # CPU training is deterministic for a fixed thread count: one thread here and in each worker
    jobs, _ = _jobs()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = train_members(jobs, processes=1)
        forked = train_members(jobs, processes=2)
    finally:
        torch.set_num_threads(threads)
    for (a, _), (b, _) in zip(here, forked):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def _budget_of(job):
    """Stands in for a member's training: an untrained model and the time budget it was given."""
    state = IntentClassifier(job.config).state_dict()
    return state, job.max_minutes


@pytest.mark.parametrize("processes, rounds", [(1, 3), (2, 2), (3, 1)])
def test_the_time_budget_is_shared_by_the_rounds(monkeypatch, processes, rounds):
    # three members: one after another each gets a third of it; two at a time, two rounds, a half
    if processes > 1 and not can_fork():
        pytest.skip("worker processes are forked on Linux only")
    monkeypatch.setattr("tasks.qa.router.ensemble._train_member", _budget_of)
    monkeypatch.setattr("tasks.qa.router.ensemble.free_cores", lambda: 8)
    jobs, _ = _jobs()
    jobs = [dataclasses.replace(jobs[0], max_minutes=6.0, seed=s) for s in range(3)]
    budgets = [budget for _, budget in train_members(jobs, processes=processes)]
    assert budgets == [6.0 / rounds] * 3


def test_bad_ensemble_sizes_are_refused():
    with pytest.raises(ValueError, match="ensemble: expected a positive integer"):
        RouterSettings(ensemble=0)
    with pytest.raises(ValueError, match="models: expected at least one"):
        ensemble_log_proba([], [])
