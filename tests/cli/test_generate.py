"""``minitransformer generate --model DIR "prompt"``: a GPT-2 checkpoint continued by our decoding code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from minitransformer.cli import main as cli
from tests.cli.test_cli import assert_one_error_line, run_main

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from minitransformer.generation import generate  # noqa: E402
from minitransformer.interop import from_hf  # noqa: E402
from tests.interop.hf_checkpoints import write_bert, write_gpt2  # noqa: E402


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    return write_gpt2(tmp_path_factory.mktemp("gen") / "gpt2")


def test_greedy_continuation_is_what_generate_gives(gpt2, capsys, tmp_path):
    status, out, err = run_main(capsys, "generate", "--model", str(gpt2), "--max-new-tokens", "8",
                                "--json", str(tmp_path / "out.json"), "Where is my order")
    assert status == 0 and err == ""
    model, tokenizer = from_hf(gpt2)
    prompt = tokenizer.encode("Where is my order")
    expected = generate(model, input_ids=torch.tensor([prompt]), max_new_tokens=8)[0, len(prompt):].tolist()
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["prompt_ids"] == prompt and result["new_ids"] == expected[: len(result["new_ids"])]
    assert out == "Where is my order" + tokenizer.decode(result["new_ids"]) + "\n"


def test_sampling_is_reproducible_with_a_seed(gpt2, capsys):
    argv = ["generate", "--model", str(gpt2), "--strategy", "sample", "--top-p", "0.9", "--temperature",
            "0.8", "--max-new-tokens", "10", "--seed", "3", "花呗"]
    first = run_main(capsys, *argv)
    second = run_main(capsys, *argv)
    assert first[0] == 0 and first == second


def test_our_own_saved_model_with_its_tokenizer_is_read_too(gpt2, capsys, tmp_path):
    model, tokenizer = from_hf(gpt2)
    model.save_pretrained(tmp_path / "fine-tuned")
    tokenizer.save(tmp_path / "fine-tuned")
    ours = run_main(capsys, "generate", "--model", str(tmp_path / "fine-tuned"), "--max-new-tokens", "6",
                    "Thanks")
    theirs = run_main(capsys, "generate", "--model", str(gpt2), "--max-new-tokens", "6", "Thanks")
    assert ours[0] == 0 and ours == theirs


def test_a_bert_checkpoint_is_refused_in_one_line(capsys, tmp_path):
    folder = write_bert(tmp_path / "bert", hidden=16, layers=1, heads=2)
    status, out, err = run_main(capsys, "generate", "--model", str(folder), "hello")
    assert status == 2 and out == ""
    assert_one_error_line(err, "BERT checkpoint", "GPT-2")


def test_bad_folders_and_options_exit_2_with_one_line(gpt2, capsys, tmp_path):
    status, _, err = run_main(capsys, "generate", "--model", str(tmp_path / "missing"), "hello")
    assert status == 2
    assert_one_error_line(err, "missing", "not found")
    status, _, err = run_main(capsys, "generate", "--model", str(gpt2), "--max-new-tokens", "500", "hello")
    assert status == 2
    assert_one_error_line(err, "max_len=64")
    status, _, err = run_main(capsys, "generate", "--model", str(gpt2), "--top-p", "1.5", "hello")
    assert status == 2
    assert_one_error_line(err, "--top-p")


def test_help_names_the_command_and_does_not_import_torch():
    code = ("import sys; from minitransformer.cli.main import main; main(['--help']); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "generate" in proc.stdout
    assert "generate" in cli.CORE_COMMANDS
