"""The QA model directory: what a trained head leaves behind and how it is read back.

    DIR/config.json, model.safetensors   the best model (written by the Trainer); config.json is
                                         an IntentConfig / MatchConfig with the encoder nested
    DIR/tokenizer.json                   the tokenizer the model was trained with (a checkpoint's
                                         vocab.txt, or vocab.json + merges.txt, with --init-from)
    DIR/qa.json                          {"task": "intent" | "match" | "reply", labels, threshold,
                                          answers, ...} -- everything else needed to answer
    DIR/member1/, member2/, ...          an intent router's other Transformers (its ensemble)
    DIR/linear.safetensors, ngrams.json  an intent router's linear n-gram expert and its vocabulary
    DIR/metrics.jsonl, checkpoints/      the training run (resume, curves)

Everything is JSON or safetensors: reading a folder runs no code. :func:`tasks.qa.load` reads
one back as the model its ``qa.json`` names.

``qa.json`` says which head the directory holds, so ``qa ask --model DIR`` can pick the right
code and a directory of another task (a recommender, a forecaster) is refused with a message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from minitransformer.nn.io import save_json

from .config import TASKS

__all__ = ["QA_FILE", "TASKS", "write_info", "read_info"]

QA_FILE = "qa.json"


def write_info(directory: str | Path, info: dict[str, Any]) -> Path:
    """Write ``qa.json`` (must contain ``task``) into ``directory``."""
    if info.get("task") not in TASKS:
        raise ValueError(f"qa.json: task must be one of {list(TASKS)}, got {info.get('task')!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / QA_FILE
    save_json(path, info)
    return path


def read_info(directory: str | Path, task: str | None = None) -> dict[str, Any]:
    """Read ``qa.json``; a clear error when the directory is missing, another task's, or broken."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: model directory not found")
    path = directory / QA_FILE
    if not path.is_file():
        other = ""
        config = directory / "config.json"
        if config.is_file():
            try:
                other = f" (its config.json is a {json.loads(config.read_text())['model_type']!r} model)"
            except (ValueError, KeyError, TypeError):
                other = ""
        raise ValueError(f"{directory}: not a QA model directory, {QA_FILE} is missing{other}; "
                         f"train one with 'minitransformer qa train'")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(info, dict) or info.get("task") not in TASKS:
        raise ValueError(f"{path}: expected a JSON object with task in {list(TASKS)}")
    if task is not None and info["task"] != task:
        raise ValueError(f"{directory}: holds a {info['task']!r} model, this command needs a {task!r} one")
    return info
