"""The QA head's loaders (tasks/qa/data.py): intent CSVs, question pairs, FAQ tables, the
built-in FAQ and data in memory, the stratified split."""

from __future__ import annotations

import json

import pytest

from tasks.qa.data import (
    check_label_counts,
    drop_overlapping_pairs,
    load_intents,
    load_pairs,
    read_faq,
    read_intents,
    read_pairs,
    read_questions,
    stratified_split,
)
from tasks.qa.synthetic import faq_pairs, faq_split


def test_load_intents_quoted_fields_and_missing_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('text,category\n"Hi, where is my card?",card_arrival\nrefund please,refund\n')
    texts, labels = load_intents(path)
    assert texts == ["Hi, where is my card?", "refund please"] and labels == ["card_arrival", "refund"]
    with pytest.raises(ValueError, match=r"missing column.*\['text', 'category'\]"):
        load_intents(path, label_col="intent")
    (tmp_path / "e.csv").write_text("text,category\nhello,\n")
    with pytest.raises(ValueError, match="line 2: empty 'category'"):
        load_intents(tmp_path / "e.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_intents(tmp_path / "empty.csv")


def test_load_atec_strips_bom_and_reports_bad_lines(tmp_path):
    path = tmp_path / "atec.csv"
    path.write_text("\ufeff1\t\ufeff花呗怎么还款\t花呗如何还款\t1\n2\t借呗额度\t花呗账单\t0\n",
                    encoding="utf-8")
    assert load_pairs(path, "atec") == [("花呗怎么还款", "花呗如何还款", 1), ("借呗额度", "花呗账单", 0)]
    path.write_text("1\t花呗\t借呗\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: expected 4 tab-separated fields"):
        load_pairs(path, "atec")
    dev = tmp_path / "dev.jsonl"
    dev.write_text(json.dumps({"sentence1": "借呗额度", "sentence2": "花呗账单", "label": "0"},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    pairs = [("花呗账单", "借呗额度", 0), ("a", "b", 1)]
    assert drop_overlapping_pairs(pairs, load_pairs(dev, "afqmc")) == [("a", "b", 1)]  # either order


def test_stratified_split_keeps_every_label_on_both_sides():
    labels = ["a"] * 20 + ["b"] * 10 + ["c"] * 2 + ["once"]
    train, valid = stratified_split(labels, 0.1, seed=0)
    assert sorted(train + valid) == list(range(len(labels)))
    assert [labels[i] for i in valid].count("a") == 2 and {labels[i] for i in valid} == {"a", "b", "c"}
    with pytest.raises(ValueError, match="'once'.*fewer than 2"):
        check_label_counts(labels)


def test_the_verbs_read_builtin_paths_and_data_in_memory(tmp_path):
    train, test = faq_split("other")
    assert read_intents("builtin", oos_label="other") == ([q for q, _ in train], [y for _, y in train])
    texts, labels = read_intents("builtin", split="test", oos_label="other")
    assert (texts, labels) == ([q for q, _ in test], [y for _, y in test]) and "other" in labels
    assert read_intents((("refund please", "my card"), ["refund", "card"])) == (
        ["refund please", "my card"], ["refund", "card"])
    questions, answers = read_faq("builtin")
    assert list(zip(questions, answers)) == faq_pairs()
    assert read_pairs([("a", "b", 1)]) == [("a", "b", 1)]
    (tmp_path / "q.csv").write_text("id,text\n1,where is my order\n")
    assert read_questions(tmp_path / "q.csv") == ["where is my order"]


def test_the_verbs_refuse_data_of_the_wrong_shape():
    with pytest.raises(ValueError, match="same length"):
        read_intents((["a", "b"], ["x"]))
    with pytest.raises(ValueError, match=r"data: expected a file path, 'builtin' or \(texts, labels\)"):
        read_intents(42)
    with pytest.raises(ValueError, match="not question pairs; train a matcher on it with format 'faq'"):
        read_pairs("builtin")
    with pytest.raises(ValueError, match="sentence1, sentence2, label"):
        read_pairs([("a", "b")])
    with pytest.raises(ValueError, match="split: expected 'train' or 'test'"):
        read_intents("builtin", split="valid")
