"""The core's own commands on bad input: ``generate`` (its options, its model folder), ``plot``
(attention of a head's model, curves of a run's ``metrics.jsonl``), ``exercises`` and the command
line itself (no command, an unknown one, a verb without its required options)."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import values
from tests.fuzz.conftest import FUZZ
from tests.fuzz.harness import expect_refusal
from tests.fuzz.heads import HEADS

# ---------------------------------------------------------------------------- generate


@pytest.fixture(scope="module")
def language_model(tmp_path_factory):
    """A tiny causal language model of ours with its character tokenizer (what generate reads)."""
    from minitransformer.nn.language_model import CausalLM
    from minitransformer.tokenizers import CharTokenizer

    folder = tmp_path_factory.mktemp("generate") / "lm"
    tokenizer = CharTokenizer().fit(["where is my order? 我的订单在哪里"])
    CausalLM(vocab_size=tokenizer.vocab_size, d_model=16, nhead=2, num_layers=1, dim_feedforward=32,
             dropout=0.0).save_pretrained(folder)
    tokenizer.save(folder)
    return folder


GENERATE_OPTIONS = {"--max-new-tokens": values.positive_int, "--temperature": values.positive_float,
                    "--top-k": values.positive_int, "--top-p": values.fraction,
                    "--num-beams": values.positive_int, "--seed": values.seed, "--device": values.device(),
                    "--strategy": values.choice("greedy", "sample", "beam"), "--json": st.just("")}


@pytest.mark.parametrize("option", list(GENERATE_OPTIONS))
def test_generate_refuses_a_value_out_of_range(option, language_model, capsys):
    @settings(FUZZ, max_examples=3)
    @given(value=GENERATE_OPTIONS[option])
    def case(value):
        argv = ["generate", "--model", str(language_model), f"{option}={value}", "where is"]
        refused = expect_refusal(argv, capsys, what=f"{option} {value!r}", names=[option],
                                 words=[option.lstrip("-")], watched=[language_model])
        assert refused.status == 2 and not refused.traceback

    case()


def test_generate_refuses_an_empty_prompt(language_model, capsys):
    for prompt in ("",):
        refused = expect_refusal(["generate", "--model", str(language_model), prompt], capsys,
                                 what=f"prompt {prompt!r}", words=["prompt"], watched=[language_model])
        assert refused.status == 2 and not refused.traceback


GENERATE_DAMAGE = {
    "config.json": [b"", b"{", b"null", b"\xff", b'{"model_type": "causal_lm", "vocab_size": -1}',
                    b'{"model_type": "causal_lm", "d_model": 1099511627776}'],
    "model.safetensors": [b"", b"\x00" * 16, b"not weights"],
    "tokenizer.json": [b"", b"[]", b'{"type": "bpe"}'],
}


@pytest.mark.parametrize("name", list(GENERATE_DAMAGE))
def test_generate_refuses_a_damaged_model_folder(name, language_model, capsys, tmp_path):
    for n, data in enumerate(GENERATE_DAMAGE[name] + [None]):
        copy = tmp_path / f"lm-{n}"
        shutil.copytree(language_model, copy)
        if data is None:
            (copy / name).unlink()
        else:
            (copy / name).write_bytes(data)
        refused = expect_refusal(["generate", "--model", str(copy), "where is"], capsys,
                                 what=f"{name} {'deleted' if data is None else data[:30]!r}",
                                 names=[copy.name], watched=[copy])
        assert refused.status == 2 and not refused.traceback


# ---------------------------------------------------------------------------- plot


def test_plot_attention_refuses_bad_options(built, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    model = built("recommend").model
    cases = [("--input", ""), ("--out", "heatmap.txt"), ("--out", ""), ("--layers", "99"),
             ("--layers", "nope"), ("--heads", "-1"), ("--heads", "99"), ("--heads", "x"),
             ("--model", str(tmp_path / "no-model")), ("--model", str(tmp_path))]
    for option, value in cases:
        argv = ["plot", "attention", "--model", str(model), "--input", "bookmark-01",
                "--out", str(tmp_path / "a.png"), option, value]
        refused = expect_refusal(argv, capsys, what=f"{option} {value!r}",
                                 names=[option] + ([value] if value else []), words=[option.lstrip("-")],
                                 watched=[model], fresh=[tmp_path / "a.png"])
        assert refused.status == 2 and not refused.traceback


METRICS_DAMAGE = [b"", b"\n\n", b"not json\n", b"[1, 2]\n", b"\xff\xfe{}\n", b'{"epoch": 1}\x00\n', b"null\n",
                  b'"text"\n', b'{"epoch": 1, "loss": 0.5}\n{"epoch": 2, "loss"\n']


@settings(FUZZ, max_examples=12)
@given(data=st.sampled_from(METRICS_DAMAGE), keys=st.sampled_from([None, "no_such_metric"]))
def test_plot_curves_refuses_a_damaged_metrics_log(capsys, tmp_path_factory, data, keys):
    pytest.importorskip("matplotlib")
    run = tmp_path_factory.mktemp("run")
    (run / "metrics.jsonl").write_bytes(data)
    out = run.parent / f"{run.name}.png"
    argv = ["plot", "curves", "--run", str(run), "--out", str(out)] + (["--keys", keys] if keys else [])
    refused = expect_refusal(argv, capsys, what=f"metrics.jsonl = {data[:40]!r}",
                             names=[run.name, "metrics.jsonl"], watched=[run], fresh=[out])
    assert refused.status == 2 and not refused.traceback


def test_plot_curves_refuses_a_run_folder_without_a_log_and_bad_options(built, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    run = built("recommend").model
    for extra in (["--run", str(tmp_path)], ["--run", str(tmp_path / "none")], ["--keys", "no_such_metric"],
                  ["--out", "curves.jpeg"]):
        argv = ["plot", "curves", "--run", str(run), "--out", str(tmp_path / "c.png"), *extra]
        refused = expect_refusal(argv, capsys, what=" ".join(extra), names=[extra[0], extra[1]],
                                 watched=[run], fresh=[tmp_path / "c.png"])
        assert refused.status == 2 and not refused.traceback


# ---------------------------------------------------------------------------- exercises


def test_exercises_refuses_bad_ids_and_folders(capsys, tmp_path, sandbox):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine\n")
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("mine\n")
    cases = [(["check", "99.9"], "99.9"), (["check", ""], "id"), (["check", "1.1"], "course copy"),
             (["progress"], "course copy"), (["make", str(busy)], "busy"),
             (["make", str(a_file)], "a-file.txt"), (["make"], "dest"),
             (["make", str(tmp_path / "new"), "--upto", "99.9"], "99.9"), (["list", "--bogus"], "--bogus"),
             ([], "exercises")]
    for argv, name in cases:
        refused = expect_refusal(["exercises", *argv], capsys, what=" ".join(argv) or "no sub-command",
                                 names=[name], watched=[busy, a_file, sandbox], fresh=[tmp_path / "new"])
        assert refused.status == 2 and not refused.traceback


# ---------------------------------------------------------------------------- the command line


def test_the_command_line_refuses_what_it_does_not_know(capsys, sandbox):
    cases = [([], "COMMAND"), (["bogus"], "bogus"), (["--bogus"], "--bogus"),
             (["info", "--bogus"], "--bogus"), (["recommend"], "ACTION"), (["qa", "bogus"], "bogus"),
             (["forecast", "train"], "--horizon"), (["risk", "train"], "--data"), (["qa", "ask"], "question"),
             (["generate"], "--model"), (["plot"], "ACTION"), (["demo", "--bogus"], "--bogus")]
    for argv, name in cases:
        refused = expect_refusal(argv, capsys, what=" ".join(argv) or "nothing", names=[name],
                                 watched=[sandbox])
        assert refused.status == 2 and not refused.traceback


@pytest.mark.parametrize("head", [pytest.param(h, id=h.command) for h in HEADS.values()])
def test_every_verb_without_its_required_options(head, capsys, sandbox):
    for verb in (verb for verb in head.argv if ":" not in verb):
        refused = expect_refusal([head.command, verb], capsys, what="no options", names=["required", "--"],
                                 watched=[sandbox])
        assert refused.status == 2 and not refused.traceback
