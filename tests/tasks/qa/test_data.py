"""The QA head's loaders (tasks/qa/data.py): intent CSVs, question pairs, FAQ tables, the
built-in FAQ and data in memory, the stratified split."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.qa.data import (
    check_label_counts,
    drop_overlapping_pairs,
    load_faq,
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
    with pytest.raises(ValueError, match=r"missing column\(s\) intent; the header has text, category"):
        load_intents(path, label_col="intent")
    (tmp_path / "e.csv").write_text("text,category\nhello,\n")
    with pytest.raises(ValueError, match="line 2: column 'category' is empty"):
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


# ---------------------------------------------------------------------------- users' own files
def _write(path, content: str | bytes):
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("content, fragment", [
    ("text,category,text\nhello,a,b\n", "line 1: column 'text' appears 2 times in the header"),
    ("text,category,category\nhello,a,b\n", "line 1: column 'category' appears 2 times"),
    (b"text,category\nhello,a\ncaf\xe9,b\n", r"line 3: not UTF-8 text \(byte 0xe9\)"),
    ("text,category\nhello,a\nhel\x00lo,b\n", "line 3: a NUL byte"),
    ("text,category\nhello,a,extra\n", "line 2: expected 2 fields as in the header, got 3"),
    ("text,category\nhello\n", "line 2: expected 2 fields as in the header, got 1"),
    ('text,category\n"hello,a\n', "line 2: malformed CSV"),
    ("text,category\n   ,a\n", "line 2: column 'text' is empty"),
    ("", "the file is empty"),
    ("text,category\n\n", "a header but no data rows"),
])
def test_a_malformed_intent_csv_is_refused_naming_the_file_and_the_line(content, fragment, tmp_path):
    path = _write(tmp_path / "intents.csv", content)
    for read in (lambda: load_intents(path), lambda: read_questions(path)):  # train, evaluate; predict
        with pytest.raises(ValueError, match=fragment) as refused:
            read()
        assert str(path) in str(refused.value)


def test_what_a_spreadsheet_writes_is_read_right(tmp_path):
    long = "my parcel " * 20000  # 200,000 characters: more than Python's csv takes by default
    path = _write(tmp_path / "excel.csv", f'\ufefftext, category ,note\r\n"{long}",late,\r\n'
                                          '"Hi, where is my card?",card,"a ""quoted"" note"\r\n\r\n'
                                          "我的快递到哪了,late,\r\n")
    assert load_intents(path) == ([long.strip(), "Hi, where is my card?", "我的快递到哪了"],
                                  ["late", "card", "late"])


@given(st.lists(st.tuples(st.text(min_size=1).filter(lambda t: t.strip() and "\x00" not in t),
                          st.sampled_from(["card", "退款", "oos"])), min_size=1, max_size=8))
@settings(max_examples=30, deadline=None)
def test_any_intent_table_written_by_csv_writer_reads_back(tmp_path_factory, rows):
    import csv

    path = tmp_path_factory.mktemp("csv") / "t.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    assert load_intents(path) == ([t.strip() for t, _ in rows], [y for _, y in rows])


@pytest.mark.parametrize("fmt, content, fragment", [
    ("afqmc", "5\n", "line 1: expected a JSON object with sentence1, sentence2 and label, got int"),
    ("afqmc", '{"sentence1": null, "sentence2": "b", "label": "1"}\n',
     "line 1: 'sentence1' must be a non-empty"),
    ("afqmc", '{"sentence1": "a", "sentence2": "b"}\n', "line 1: missing key"),
    ("afqmc", '{"sentence1": "a", "sentence2": "b", "label": NaN}\n', "line 1: label must be 0 or 1"),
    ("afqmc", b'{"sentence1": "a", "sentence2": "b", "label": "1"}\n{"sentence1": "\xe9"}\n',
     r"line 2: not UTF-8 text \(byte 0xe9\)"),
    ("atec", "1\ta\tb\tinf\n", "line 1: label must be 0 or 1, got 'inf'"),
    ("atec", "1\ta\tb\t1\n2\tc\x00\td\t0\n", "line 2: a NUL byte"),
    ("atec", "1\t \tb\t1\n", "line 1: empty sentence"),
    ("csv", "sentence1,sentence2,label,label\na,b,1,1\n", "column 'label' appears 2 times"),
    ("csv", "sentence1,sentence2,label\na,b,2\n", "line 2: label must be 0 or 1, got '2'"),
])
def test_a_malformed_pair_file_is_refused_naming_the_file_and_the_line(fmt, content, fragment, tmp_path):
    path = _write(tmp_path / "pairs.txt", content)
    with pytest.raises(ValueError, match=fragment) as refused:
        load_pairs(path, fmt)
    assert str(path) in str(refused.value)


def test_a_folder_or_a_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected a CSV file, got a folder"):
        load_intents(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.csv: data file not found"):
        load_faq(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundError, match="expected a data file, got a folder"):
        load_pairs(tmp_path, "atec")


def test_unlabelled_pairs_may_leave_out_the_label_in_every_format(tmp_path):
    from tasks.qa.data import load_pairs

    atec = tmp_path / "a.tsv"
    atec.write_text("1\t花呗还款\t借呗还款\n2\t额度\t额度吗\t1\n", encoding="utf-8")
    assert load_pairs(atec, "atec", labels=False) == [("花呗还款", "借呗还款"), ("额度", "额度吗")]
    with pytest.raises(ValueError, match=r"line 1: expected 4 tab-separated fields"):
        load_pairs(atec, "atec")  # a labelled file still needs its labels
    afqmc = tmp_path / "a.json"
    afqmc.write_text('{"sentence1": "a", "sentence2": "b"}\n', encoding="utf-8")
    assert load_pairs(afqmc, "afqmc", labels=False) == [("a", "b")]
    csv = tmp_path / "a.csv"
    csv.write_text("sentence1,sentence2\nx,y\n", encoding="utf-8")
    assert load_pairs(csv, "csv", labels=False) == [("x", "y")]
    with pytest.raises(ValueError, match="sentence1,sentence2,label"):
        load_pairs(csv, "csv")
