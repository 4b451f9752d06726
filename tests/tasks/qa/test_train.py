"""``tasks.qa.train`` and ``qa train`` check first and write after: a refused training leaves the
run folder it was pointed at byte for byte as it was (and the model in it answering as before),
writes nothing into a new one, and a folder held by another process is refused at once."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tasks.qa as qa
from minitransformer.cli.main import main
from tests.tasks.qa.conftest import TINY, TINY_ARGV, folder_hashes, write_answers

ROOT = Path(__file__).resolve().parents[3]


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minitransformer: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def used_folder(own_model, tmp_path) -> Path:
    """A copy of the trained model's folder: a run folder that already holds a model."""
    return Path(shutil.copytree(own_model.model_dir, tmp_path / "used"))


def _refusals(own_model, tmp_path) -> dict[str, list[str]]:
    """``qa train`` command lines that must be refused, each for another reason."""
    dup = tmp_path / "dup.csv"
    dup.write_text("text,category,text\nhello,refund,x\n", encoding="utf-8")
    unknown = write_answers(tmp_path / "unknown.csv", {"refunds": "typo in the intent"})
    data = str(own_model.data)
    return {"folder holds a model": ["--data", data],
            "duplicate column": ["--data", str(dup)],
            "learning rate nan": ["--data", data, "--lr", "nan"],
            "zero layers": ["--data", data, "--layers", "0"],
            "unknown intent in the answers": ["--data", data, "--answers", str(unknown)],
            "an option the task ignores": ["--data", data, "--task", "match", "--ensemble", "2"],
            "resume is not offered": ["--data", data, "--resume", "x"]}


@pytest.mark.parametrize("reason", ["folder holds a model", "duplicate column", "learning rate nan",
                                    "zero layers", "unknown intent in the answers",
                                    "an option the task ignores", "resume is not offered"])
def test_a_refused_training_leaves_the_run_folder_byte_identical(reason, own_model, used_folder, tmp_path,
                                                                capsys):
    before = folder_hashes(used_folder)
    replies = qa.predict(qa.load(used_folder), ["where is my refund", "card stolen"])
    argv = _refusals(own_model, tmp_path)[reason]
    assert main(["qa", "train", *argv, "--out", str(used_folder), *TINY_ARGV]) == 2
    _one_error_line(capsys.readouterr().err)
    assert folder_hashes(used_folder) == before
    assert qa.predict(qa.load(used_folder), ["where is my refund", "card stolen"]) == replies


def test_the_python_verb_refuses_a_used_folder_and_bad_arguments_writing_nothing(own_model, used_folder,
                                                                                tmp_path):
    before = folder_hashes(used_folder)
    with pytest.raises(ValueError, match=f"--out {used_folder}: already holds files"):
        qa.train(own_model.data, used_folder, TINY, device="cpu", verbose=False)
    assert folder_hashes(used_folder) == before
    new = tmp_path / "new"
    for kwargs, message in [({"seed": -1}, "seed: expected an integer >= 0"),
                            ({"max_minutes": math.nan}, "max_minutes: expected a finite number > 0"),
                            ({"max_minutes": 0}, "max_minutes"),
                            ({"device": "gpu"}, "device: expected"),
                            ({"exclude": own_model.data}, "exclude: only a matcher"),
                            ({"text_col": ""}, "text_col: expected a non-empty name"),
                            ({"answers": {"nope": "x"}}, "answers: intent 'nope' is not an intent")]:
        with pytest.raises(ValueError, match=message):
            qa.train(own_model.data, new, TINY, verbose=False, **{"device": "cpu", **kwargs})
        assert not new.exists(), kwargs


def test_a_setting_changed_after_it_was_made_is_still_checked(own_model, tmp_path):
    import copy

    settings = copy.deepcopy(TINY)
    settings.train.lr = float("inf")  # set on the object: the dataclass never saw it
    with pytest.raises(ValueError, match="train.lr: expected a finite number > 0, got inf"):
        qa.train(own_model.data, tmp_path / "m", settings, device="cpu", verbose=False)
    settings = copy.deepcopy(TINY)
    settings.ensemble = 0
    with pytest.raises(ValueError, match="ensemble: expected a positive integer, got 0"):
        qa.train(own_model.data, tmp_path / "m", settings, device="cpu", verbose=False)
    assert not (tmp_path / "m").exists()


HOLD = """
import sys
from minitransformer.files.run_folder import claim_run_folder
with claim_run_folder(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_second_training_into_a_held_folder_is_refused_at_once(own_model, tmp_path, capsys):
    folder = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["qa", "train", "--data", str(own_model.data), "--out", str(folder), *TINY_ARGV]) == 2
        line = _one_error_line(capsys.readouterr().err)
        assert str(folder) in line and "another training" in line and f"process {holder.pid}" in line
        assert sorted(p.name for p in folder.iterdir()) == [".lock"]  # the holder's; nothing of ours
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0 and not any(folder.iterdir())


def test_a_matcher_reads_its_pairs_and_the_exclude_file_before_its_folder(tmp_path):
    from tasks.qa.train import _match_inputs

    pairs = tmp_path / "pairs.csv"
    pairs.write_text("sentence1,sentence2,label\n花呗怎么还款,花呗如何还款,1\n借呗额度,花呗账单,0\n"
                     "怎么开通花呗,花呗怎么开,1\n退款多久到,花呗提额,0\n借呗还款,借呗怎么还,1\n",
                     encoding="utf-8")
    dev = tmp_path / "dev.json"
    dev.write_text('{"sentence1": "花呗账单", "sentence2": "借呗额度", "label": "0"}\n', encoding="utf-8")
    inputs = _match_inputs(pairs, "csv", None, seed=0)
    assert len(inputs.pairs) == 5 and inputs.dropped == ""
    with pytest.raises(ValueError, match="of each label .* got 3 labelled 1 and 1 labelled 0"):
        _match_inputs(pairs, "csv", dev, seed=0)  # the one pair in dev.json leaves one negative
    dev.write_text('{"sentence1": "x", "sentence2": "y", "label": "0"}\n', encoding="utf-8")
    assert _match_inputs(pairs, "csv", dev, seed=0).dropped == f"dropped 0 pairs that occur in {dev}"
    with pytest.raises(ValueError, match="dev.json, line 1: not a JSON object"):
        dev.write_text("{oops\n", encoding="utf-8")
        _match_inputs(pairs, "csv", dev, seed=0)
