"""Users' own files: what a spreadsheet or pandas writes is read right, everything else is refused
in one line naming the file, the line and (where there is one) the column."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.recommendation.data import detect_format, load_sequences, load_split, parse_timestamp

HEADER = "user_id,item_id,timestamp\n"
ROWS = "u1,c,30\nu1,a,10\nu1,b,20\nu2,b,5\nu2,c,6\n"
EXPECTED = {"u1": ["a", "b", "c"], "u2": ["b", "c"]}


def test_a_byte_order_mark_any_case_and_long_fields_are_read(tmp_path):
    path = tmp_path / "excel.csv"
    long = "x" * 200_000  # longer than Python's csv default limit (128 KiB)
    rows = "".join(f'{line},"{long}"\r\n' for line in ROWS.splitlines())
    path.write_bytes(("\ufeffUser_ID,ITEM_ID,Timestamp,note\r\n" + rows).encode("utf-8"))
    assert load_sequences(path) == (EXPECTED, "csv")


@pytest.mark.parametrize("stamps", [
    ("1970-01-01 00:00:30", "1970-01-01 00:00:10", "1970-01-01T00:00:20", "1970-01-01 00:00:05",
     "1970-01-01 00:00:06"),
    ("2024-03-03", "2024-03-01", "2024-03-02", "2024-01-01", "2024-01-02"),
    ("2024-03-01T14:00:30Z", "2024-03-01T15:00:10+01:00", "2024-03-01 14:00:20", "5", "6"),
])
def test_iso_8601_timestamps_order_the_purchases_as_unix_seconds_do(tmp_path, stamps):
    rows = [line.rsplit(",", 1)[0] for line in ROWS.splitlines()]
    path = tmp_path / "iso.csv"
    path.write_text(HEADER + "".join(f"{row},{stamp}\n" for row, stamp in zip(rows, stamps)),
                    encoding="utf-8")
    assert load_sequences(path) == (EXPECTED, "csv")


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_an_iso_time_and_its_unix_seconds_are_the_same_time(moment):
    seconds = moment.replace(tzinfo=timezone.utc).timestamp()
    assert parse_timestamp(moment.isoformat(sep=" ")) == seconds
    assert parse_timestamp(moment.isoformat() + "Z") == seconds
    assert parse_timestamp(repr(seconds)) == seconds


@pytest.mark.parametrize("stamp", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "yesterday",
                                   "2024-13-01", "1,5"])
def test_non_finite_and_unreadable_timestamps_name_file_line_and_column(tmp_path, stamp):
    path = tmp_path / "log.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["user_id", "item_id", "timestamp"], ["u1", "a", "1"],
                                      ["u1", "b", stamp]])
    with pytest.raises(ValueError, match=rf"log.csv, line 3, column timestamp: expected .*{stamp[:3]}"):
        load_sequences(path)


@pytest.mark.parametrize("column", ["user_id", "item_id", "timestamp"])
def test_an_empty_cell_is_refused_naming_its_column(tmp_path, column):
    row = {"user_id": "u1", "item_id": "b", "timestamp": "2", column: ""}
    (tmp_path / "log.csv").write_text(HEADER + "u1,a,1\n" + ",".join(row.values()) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"log.csv, line 3, column {column}: empty;.*no missing values"):
        load_sequences(tmp_path / "log.csv")


@pytest.mark.parametrize("header, name", [("user_id,item_id,timestamp,item_id", "item_id"),
                                          ("user_id,item_id,timestamp,USER_ID", "user_id")])
def test_a_column_named_twice_is_refused_naming_it(tmp_path, header, name):
    (tmp_path / "log.csv").write_text(f"{header}\nu1,a,1,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"log.csv, line 1: column '{name}' appears 2 times"):
        load_sequences(tmp_path / "log.csv")


@pytest.mark.parametrize("name, data", [
    ("log.csv", b"user_id,item_id,timestamp\nu1,a,1\nu1,caf\xe9,2\n"),
    ("seq.txt", b"u1 a b\nu2 caf\xe9 b\n"),
    ("pairs.txt", b"u1 a\nu1 b\nu2 \xff\n"),
])
def test_bytes_that_are_not_utf8_are_refused_naming_file_and_line(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    line = data.count(b"\n", 0, data.index(max(data))) + 1
    with pytest.raises(ValueError, match=rf"{name}, line {line}: not UTF-8 text"):
        load_split(tmp_path / name)


def test_a_nul_byte_and_a_folder_are_refused(tmp_path):
    (tmp_path / "seq.txt").write_bytes(b"u1 a b\nu2 a\x00 b\n")
    with pytest.raises(ValueError, match="seq.txt, line 2: a NUL byte"):
        load_split(tmp_path / "seq.txt")
    with pytest.raises(IsADirectoryError, match="expected a data file, got a folder"):
        load_sequences(tmp_path, "sequence")


@pytest.mark.parametrize("header, missing", [("user_id,item_id,time", "timestamp"),
                                             ("user_id, item, time", "item_id, timestamp"),
                                             ("user,item,time", "user_id, item_id, timestamp")])
def test_a_csv_header_without_a_column_is_read_as_csv_and_named(tmp_path, header, missing):
    """A comma-separated header is never read as a shopper's 'sequence' line."""
    (tmp_path / "log.csv").write_text(f"{header}\nu1,a,1\n", encoding="utf-8")
    assert detect_format(tmp_path / "log.csv") == "csv"
    with pytest.raises(ValueError, match=f"missing column\\(s\\) {missing}"):
        load_split(tmp_path / "log.csv")


TOKEN = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=8)


@given(st.lists(st.tuples(st.sampled_from(["ann", "bob", "李"]), TOKEN), min_size=1, max_size=20),
       st.randoms(use_true_random=False))
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_log_written_by_csv_writer_reads_back_in_time_order(tmp_path, purchases, rng):
    """Item ids with commas, quotes or Chinese characters, rows in any order: each shopper's
    items come back in the order of their timestamps."""
    stamped = [(user, item, 1_700_000_000 + 60 * n) for n, (user, item) in enumerate(purchases)]
    shuffled = stamped[:]
    rng.shuffle(shuffled)
    path = tmp_path / "log.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "user_id", "item_id"])
        writer.writerows([stamp, user, item] for user, item, stamp in shuffled)
    expected: dict[str, list[str]] = {}
    for user, item, _ in stamped:
        expected.setdefault(user, []).append(item)
    seqs, fmt = load_sequences(path, "csv")
    assert fmt == "csv" and seqs == expected
