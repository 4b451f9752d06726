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

**A model folder is data, not trust** (it may come from anyone): :func:`read_info` checks every
value of ``qa.json`` for its type and range; :func:`model_file` keeps every file read inside the
folder (:func:`~minitransformer.files.model_folder.member_path`: no ``..``, no absolute path, no
link leading out); :func:`read_config` checks that the model a ``config.json`` describes fits in
memory (:func:`~minitransformer.files.model_folder.check_fits_in_memory`) *before*
:func:`load_module` allocates it. Every refusal is one line naming the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from minitransformer.errors import CheckpointError
from minitransformer.files.model_folder import check_fits_in_memory, member_path
from minitransformer.nn.config import EncoderConfig
from minitransformer.nn.io import CONFIG_NAME, WEIGHTS_NAME, load_weights, save_json

from .config import TASKS, SentenceConfig

__all__ = ["QA_FILE", "TASKS", "write_info", "read_info", "model_file", "read_config", "load_module",
           "approximate_parameters", "check_vocabulary"]

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
    path = model_file(directory, QA_FILE)
    if not path.is_file():
        other = ""
        config = directory / "config.json"
        if config.is_file():
            try:
                kind = json.loads(config.read_text(encoding="utf-8"))["model_type"]
                other = f" (its config.json is a {str(kind)[:40]!r} model)"
            except (ValueError, KeyError, TypeError, OSError, RecursionError):
                other = ""
        raise ValueError(f"{directory}: not a QA model directory, {QA_FILE} is missing{other}; "
                         f"train one with 'minitransformer qa train'")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"{path}: not valid JSON ({str(err)[:80]})") from None
    if not isinstance(info, dict) or info.get("task") not in TASKS:
        raise ValueError(f"{path}: expected a JSON object with task in {list(TASKS)}")
    if task is not None and info["task"] != task:
        raise ValueError(f"{directory}: holds a {info['task']!r} model, this command needs a {task!r} one")
    _check_info(info, path)
    return info


# ----------------------------------------------------------------------------- qa.json's values
def _is_text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_count(value, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_share(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and 0.0 <= value <= 1.0)


def _is_answer(value) -> bool:
    """A canned answer: text, or text per language (``{"en": ..., "zh": ...}``)."""
    if isinstance(value, dict):
        return bool(value) and all(isinstance(k, str) and _is_text(v) for k, v in value.items())
    return _is_text(value)


def _is_labels(value) -> bool:
    return (isinstance(value, list) and len(value) >= 2 and all(_is_text(v) for v in value)
            and len(set(value)) == len(value))


def _is_linear(value) -> bool:
    return value is None or (isinstance(value, dict) and _is_count(value.get("ngrams"))
                             and _is_share(value.get("mix_weight")))


def _is_faq(value) -> bool:
    return isinstance(value, list) and all(isinstance(row, list) and len(row) == 2
                                           and all(_is_text(v) for v in row) for row in value)


#: per task, the keys of qa.json that loading reads: (check, what is expected)
_EXPECTED = {
    "intent": {"labels": (_is_labels, "a list of at least two different intent names"),
               "threshold": (_is_share, "a number in [0, 1]"),
               "oos_label": (_is_text, "a label name"),
               "lowercase": (lambda v: isinstance(v, bool), "true or false"),
               "answers": (lambda v: isinstance(v, dict) and all(isinstance(k, str) and _is_answer(a)
                                                                 for k, a in v.items()),
                           "an object of intent: answer text"),
               "linear_expert": (_is_linear, "null or {\"ngrams\": N, \"mix_weight\": w in [0, 1]}"),
               "ensemble": (_is_count, "a positive integer"),
               "columns": (lambda v: isinstance(v, list) and len(v) == 2 and all(_is_text(c) for c in v)
                           and v[0] != v[1], "two different column names, [question, label]")},
    "match": {"threshold": (_is_share, "a number in [0, 1]"),
              "faq": (_is_faq, "a list of [question, answer] pairs")},
    "reply": {"num_beams": (_is_count, "a positive integer"),
              "max_new_tokens": (_is_count, "a positive integer"),
              "separator": (lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
              "model": (lambda v: v == "causal_lm", "\"causal_lm\" (or no key)")},
}


def _check_info(info: dict[str, Any], path: Path) -> None:
    """Refuse a value of ``qa.json`` of the wrong type or out of range, naming the key. Keys a
    folder may lack (written by an older version) keep their defaults; ``labels`` is required."""
    if info["task"] == "intent" and "labels" not in info:
        raise CheckpointError(f"{path}: the intent model's labels are missing")
    for key, (check, expected) in _EXPECTED[info["task"]].items():
        if key in info and not check(info[key]):
            raise CheckpointError(f"{path}: {key!r} must be {expected}, got {json.dumps(info[key])[:60]}")


# ----------------------------------------------------------------------------- files of the folder
def model_file(directory: str | Path, name: str) -> Path:
    """``directory / name``, refused unless it stays inside the model folder (a link leading out
    of it is refused too)."""
    return member_path(directory, name, Path(directory) / QA_FILE)


def approximate_parameters(config) -> int:
    """About how many weights the model of ``config`` has (see
    :meth:`~minitransformer.nn.config.EncoderConfig.approximate_parameters`): our sentence
    configs (token and position tables, the n-gram bag and its wide part, the head), a BERT
    head (its ``text_encoder``), a GPT-2 ``causal_lm`` and the encoder–decoder ``transformer``."""
    labels = getattr(config, "num_labels", 1)
    if isinstance(config, SentenceConfig):
        wide = (config.ngram_buckets + 1) * labels if getattr(config, "wide_ngrams", False) else 0
        rows = config.vocab_size + config.max_len + config.ngram_buckets + 1 + labels
        rows += 4  # a cross-encoder's segment and shared-character rows
        return config.encoder.approximate_parameters(rows) + wide
    inner = getattr(config, "text_encoder", config)
    if hasattr(inner, "num_encoder_layers"):  # the encoder–decoder: a decoder layer ~ two encoder ones
        layers = inner.num_encoder_layers + 2 * inner.num_decoder_layers
        rows = inner.src_vocab_size + 2 * inner.tgt_vocab_size + inner.max_len
    else:
        layers, rows = inner.num_layers, inner.vocab_size + inner.max_len
    encoder = EncoderConfig(d_model=inner.d_model, nhead=inner.nhead, num_layers=layers,
                            dim_feedforward=inner.dim_feedforward)
    return encoder.approximate_parameters(rows + labels)


def read_config(config_class, directory: str | Path):
    """The ``config.json`` of ``directory`` as a ``config_class``; every problem (missing, not
    JSON, unknown keys, wrong types, too large for this machine) is one line naming the file."""
    path = model_file(directory, CONFIG_NAME)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; the model folder is incomplete")
    try:
        config = config_class.from_json_file(path)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as err:
        message = str(err)
        raise CheckpointError(message if str(path) in message else f"{path}: {message}") from None
    check_fits_in_memory(approximate_parameters(config), path)
    return config


def load_module(model_class, directory: str | Path, device: str = "cpu"):
    """``model_class`` (a ``PretrainedMixin`` module) rebuilt from ``directory``'s ``config.json``
    (checked by :func:`read_config` first) with ``model.safetensors``, in eval mode on ``device``."""
    from minitransformer.training import resolve_device

    model = model_class.from_config(read_config(model_class.config_class, directory))
    load_weights(model, model_file(directory, WEIGHTS_NAME))
    return model.to(resolve_device(device)).eval()


def check_vocabulary(tokenizer, vocab_size: int, directory: str | Path) -> None:
    """Refuse a folder whose tokenizer makes ids the model has no embedding for."""
    if tokenizer.vocab_size > vocab_size:
        raise CheckpointError(f"{directory}: the tokenizer has {tokenizer.vocab_size} tokens but "
                              f"config.json's model embeds only {vocab_size}; the folder's files do not "
                              "belong together")
