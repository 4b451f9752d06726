"""Fixtures of the QA head's tests on users' own files: a small intent CSV, an answers file in
Chinese and English, and a tiny router trained on them once per session (seconds on one thread)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.qa.config import IntentSettings, RouterSettings, qa_encoder

#: a router of a few thousand weights: one layer of width 16 and the linear n-gram expert, one epoch
TINY = RouterSettings(vocab_size=300,
                      encoder=qa_encoder(d_model=16, nhead=2, num_layers=1, dim_feedforward=32), ensemble=1,
                      train=IntentSettings(epochs=1, batch_size=8, pretrain_epochs=0, patience=None))
#: the same from the command line
TINY_ARGV = ("--epochs", "1", "--d-model", "16", "--layers", "1", "--ensemble", "1", "--pretrain-epochs", "0",
             "--device", "cpu")
QUESTIONS = {"refund": ["where is my refund", "money back please", "I want a refund", "退款什么时候到",
                        "refund my order", "my money back"],
             "card": ["my card is lost", "card not working", "new card please", "银行卡丢了",
                      "block my card", "card stolen"],
             "oos": ["tell me a joke", "weather tomorrow", "who won the game", "今天天气怎么样",
                     "sing a song", "what is love"]}
ANSWERS = {"refund": "退款会在三到五个工作日内原路退回。", "card": "Call us at 800-123 to block your card."}


def write_intents(path: Path) -> Path:
    """An intent CSV in BANKING77's layout, ``text,category``, quoted where needed."""
    rows = ["text,category"] + [f'"{q}",{label}' for label, qs in QUESTIONS.items() for q in qs]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_answers(path: Path, answers: dict[str, str] | None = None) -> Path:
    """An answers file: ``intent,answer`` (UTF-8)."""
    rows = ["intent,answer"] + [f'{intent},"{text}"' for intent, text in (answers or ANSWERS).items()]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def folder_hashes(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (empty when it does not exist)."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class OwnModel:
    data: Path
    answers: Path
    model_dir: Path


@pytest.fixture(scope="session")
def own_model(tmp_path_factory) -> OwnModel:
    """A router trained on :data:`QUESTIONS` with :data:`ANSWERS` (refund in Chinese, card in
    English); tests that change its folder work on a copy."""
    from tasks.qa import train

    folder = tmp_path_factory.mktemp("own")
    data, answers = write_intents(folder / "train.csv"), write_answers(folder / "answers.csv")
    run = train(data, folder / "model", TINY, device="cpu", verbose=False, answers=answers)
    return OwnModel(data, answers, run.model_dir)
