"""Risk tables: reading, typing columns, encoding, the known layouts, stratified splits."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.risk.data import (
    Table,
    as_table,
    detect_history,
    encode,
    infer_schema,
    read_table,
    resolve_target,
    stratified_folds,
    stratified_split,
)
from tests.tasks.risk.tables import write_csv


def test_columns_are_typed_and_categories_get_ids(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["ID", "amount", "shop", "code", "y"],
                     [(1, 5.0, "a", 7, 0), (2, 6.5, "b", 7, 1), (3, 1.0, "a", 8, 0), (4, 2.0, "b", 8, 1)])
    table = read_table(path)
    schema = infer_schema(table, "y", drop=["ID"], categorical=["code"])
    assert schema.numeric == ["amount"] and schema.categorical == ["shop", "code"]
    assert schema.positive == "1" and schema.vocab["shop"] == ["a", "b"]
    data = encode(table, schema)
    assert data.categorical[:, 0].tolist() == [1, 2, 1, 2] and data.labels.tolist() == [0, 1, 0, 1]


def test_unknown_categories_map_to_the_reserved_id_and_are_counted(tmp_path):
    train = read_table(write_csv(tmp_path / "a.csv", ["shop", "y"], [("a", 0), ("a", 1), ("b", 0), ("b", 1)]))
    schema = infer_schema(train, "y")
    new = read_table(write_csv(tmp_path / "b.csv", ["shop", "y"], [("a", 0), ("c", 1), ("d", 0)]))
    data = encode(new, schema)
    assert data.categorical[:, 0].tolist() == [1, 0, 0] and data.unknown == {"shop": 2}


def test_bad_tables_give_clear_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,y\n")
    with pytest.raises(ValueError, match="no data rows"):
        read_table(tmp_path / "header.csv")
    (tmp_path / "ragged.csv").write_text("a,y\n1,0\n2,1,3\n")
    with pytest.raises(ValueError, match="line 3: expected 2 fields"):
        read_table(tmp_path / "ragged.csv")
    table = read_table(write_csv(tmp_path / "t.csv", ["a", "y"], [(1, 0), (2, 0)]))
    with pytest.raises(ValueError, match="only one class"):
        infer_schema(table, "y")
    with pytest.raises(ValueError, match="'label' not found; columns found: a, y"):
        infer_schema(table, "label")
    table = read_table(write_csv(tmp_path / "m.csv", ["a", "gone", "y"], [(1, "", 0), (2, "NA", 1)]))
    with pytest.raises(ValueError, match="column 'gone' has no values"):
        infer_schema(table, "y")


def test_nan_and_inf_name_column_and_row_or_are_imputed(tmp_path):
    table = read_table(write_csv(tmp_path / "t.csv", ["a", "b", "y"],
                                 [(1, 2, 0), (3, "nan", 1), (5, "inf", 0), (7, 4, 1)]))
    schema = infer_schema(table, "y")
    with pytest.raises(ValueError, match=r"t.csv, line 3: column 'b': .*'nan'.*--impute median"):
        encode(table, schema)
    schema = infer_schema(table, "y", impute="median")
    data = encode(table, schema)
    assert data.numeric[:, 1].tolist() == [2.0, 3.0, 3.0, 4.0] and data.imputed == {"b": 2}


def test_history_families_are_detected():
    taiwan = ["LIMIT_BAL", "AGE", "PAY_0", *(f"PAY_{k}" for k in range(2, 7)),
              *(f"BILL_AMT{k}" for k in range(1, 7)), *(f"PAY_AMT{k}" for k in range(1, 7))]
    groups = detect_history(taiwan)
    assert groups[0] == ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"] and len(groups) == 3
    assert detect_history([f"V{k}" for k in range(1, 29)] + ["Amount"]) == []   # one group: no history


def test_the_known_layouts_need_no_target_and_others_do():
    simulator = Table(["transaction_id", "customer_id", "terminal_id", "day", "amount", "is_fraud",
                       "fraud_scenario"], [])
    assert resolve_target(simulator, None, ["amount"]) == (
        "is_fraud", ["amount", "transaction_id", "fraud_scenario", "customer_id", "terminal_id", "day"])
    assert resolve_target(simulator, "amount") == ("amount", [])          # a named target wins
    with pytest.raises(ValueError, match="name the target column.*columns found: a, y"):
        resolve_target(Table(["a", "y"], [], "t.csv"), None)


def test_as_table_takes_a_path_or_a_table(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a", "y"], [(1, 0), (2, 1)])
    table = as_table(path)
    assert table.rows == [["1", "0"], ["2", "1"]] and as_table(table) is table
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        as_table(tmp_path / "missing.csv")


def test_stratified_split_keeps_class_shares():
    labels = np.array([1] * 20 + [0] * 80)
    rest, part = stratified_split(labels, 0.25, seed=0)
    assert len(part) == 25 and labels[part].sum() == 5 and len(np.intersect1d(rest, part)) == 0


def test_stratified_folds_deal_each_class_evenly():
    labels = np.array([1] * 21 + [0] * 79)
    folds = stratified_folds(labels, 4, seed=0)
    assert sorted(np.unique(folds)) == [0, 1, 2, 3]
    assert all(abs(labels[folds == j].sum() - 21 / 4) < 1 for j in range(4))     # 5 or 6 positives
    assert all(abs((folds == j).sum() - 25) <= 1 for j in range(4))
    assert not np.array_equal(folds, stratified_folds(labels, 4, seed=1))        # seeded shuffle
    with pytest.raises(ValueError, match="k=1"):
        stratified_folds(labels, 1)


# ------------------------------------------------------------------ users' own files


def test_files_are_read_by_the_shared_reader(tmp_path):
    """BOM, fields over 128 KiB, blank lines; duplicate names and bad bytes refused naming them."""
    long = "x" * 200_000
    (tmp_path / "ok.csv").write_bytes(f"\ufeffa, note ,y\n1,short,0\n\n2,{long},1\n".encode())
    table = read_table(tmp_path / "ok.csv")
    assert table.columns == ["a", "note", "y"] and table.rows[1][1] == long and table.lines == [2, 4]
    (tmp_path / "dup.csv").write_text("a,b,a,y\n1,2,3,0\n")
    with pytest.raises(ValueError, match=r"dup.csv, line 1: column 'a' appears 2 times"):
        read_table(tmp_path / "dup.csv")
    (tmp_path / "latin.csv").write_bytes(b"a,y\n1,0\ncaf\xe9,1\n")
    with pytest.raises(ValueError, match=r"latin.csv, line 3: not UTF-8"):
        read_table(tmp_path / "latin.csv")


def test_messages_name_the_line_in_the_file(tmp_path):
    (tmp_path / "t.csv").write_text("a,y\n1,0\n\n\n2,1\n3,0\n,1\n")             # blank lines skipped
    table = read_table(tmp_path / "t.csv")
    with pytest.raises(ValueError, match=r"t.csv, line 7: column 'a': missing"):
        encode(table, infer_schema(table, "y"))
    (tmp_path / "label.csv").write_text("a,y\n1,0\n2,\n3,1\n")
    with pytest.raises(ValueError, match=r"label.csv, line 3: column 'y': empty target cell"):
        infer_schema(read_table(tmp_path / "label.csv"), "y")


def _times_table(path, stamps):
    rows = [(stamp, i % 3, i % 2) for i, stamp in enumerate(stamps)]
    return read_table(write_csv(path, ["when", "n", "y"], rows))


def test_iso_and_unix_times_become_hour_and_weekday(tmp_path):
    iso = ["2024-03-01 14:05:00", "2024-03-02 09:30:00", "2024-03-03 23:00:00", "2024-03-04 00:15:00"]
    unix = ["1709301900", "1709371800", "1709506800", "1709511300"]           # the same instants, UTC
    table = _times_table(tmp_path / "iso.csv", iso)
    schema = infer_schema(table, "y")                                          # ISO found without --time
    assert schema.times == {"when": ["hour", "weekday"]}
    assert schema.numeric[:2] == ["when.hour", "when.weekday"]
    assert schema.input_columns() == ["when", "n"]
    data = encode(table, schema)
    assert data.numeric[:, 1].tolist() == [4, 5, 6, 0]                          # Friday .. Monday
    assert data.numeric[:, 0] == pytest.approx([14 + 5 / 60, 9.5, 23.0, 0.25])
    seconds = _times_table(tmp_path / "unix.csv", unix)
    assert "when" not in infer_schema(seconds, "y").times                      # numbers: only with --time
    schema_s = infer_schema(seconds, "y", time_columns=["when"])
    assert schema_s.times == schema.times and (encode(seconds, schema_s).numeric == data.numeric).all()
    dates = _times_table(tmp_path / "dates.csv", ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"])
    assert infer_schema(dates, "y").times == {"when": ["weekday"]}             # no clock time, no hour


def test_missing_times_are_empty_cells_and_nan_or_inf_are_refused(tmp_path):
    table = _times_table(tmp_path / "t.csv", ["2024-03-01 10:00:00", "", "2024-03-03 12:00:00", "2024-03-04"])
    with pytest.raises(ValueError, match=r"t.csv, line 3: column 'when': empty time.*--impute median"):
        encode(table, infer_schema(table, "y"))
    data = encode(table, infer_schema(table, "y", impute="median"))
    assert data.imputed == {"when.hour": 1, "when.weekday": 1} and data.numeric[1, 0] == 10.0
    for bad in ("nan", "inf", "1e400", "NA"):
        table = _times_table(tmp_path / f"{bad}.csv", ["2024-03-01 10:00", bad, "2024-03-02", "2024-03-03"])
        with pytest.raises(ValueError, match=rf"line 3: column 'when': '{bad}' is not a time; expected ISO"):
            infer_schema(table, "y", impute="median")                          # refused, not imputed


def test_id_like_columns_are_left_out_and_recorded(tmp_path):
    n = 40
    rows = [(f"T{(i * 7) % n:04d}", 1000 + i, f"{10 + i * 1.37:.2f}", i % 4, i % 2) for i in range(n)]
    table = read_table(write_csv(tmp_path / "t.csv", ["ref", "order_no", "amount", "hour", "y"], rows))
    schema = infer_schema(table, "y")
    assert set(schema.id_like) == {"ref", "order_no"}                           # unique text, counting up
    assert schema.numeric == ["amount", "hour"] and schema.categorical == []     # amounts with cents stay
    assert schema.input_columns() == ["amount", "hour"]
    kept = infer_schema(table, "y", keep=["order_no"])
    assert "order_no" in kept.numeric and set(kept.id_like) == {"ref"}
    only_ids = read_table(write_csv(tmp_path / "ids.csv", ["id", "y"], [(i, i % 2) for i in range(n)]))
    with pytest.raises(ValueError, match=r"no feature column left.*id looks like an id.*--keep"):
        infer_schema(only_ids, "y")


def test_the_taiwan_layout_loses_no_feature_to_the_id_rule():
    """The credit benchmark drops ``ID`` by name (``drop=["ID"]``); no other column may look like
    an id, so its recorded numbers cannot move (30,000 customers: amounts repeat, codes repeat)."""
    rng = np.random.default_rng(0)
    n = 300
    columns = ["ID", "LIMIT_BAL", "SEX", "AGE", *(f"PAY_{k}" for k in (0, 2, 3, 4, 5, 6)),
               *(f"BILL_AMT{k}" for k in range(1, 7)), *(f"PAY_AMT{k}" for k in range(1, 7)), "default"]
    rows = [[str(i + 1), str(rng.choice([20000, 50000, 120000])), str(rng.integers(1, 3)),
             str(rng.integers(21, 70)), *(str(rng.integers(-2, 3)) for _ in range(6)),
             *(str(rng.integers(0, 90000)) for _ in range(12)), str(i % 4 == 0)] for i in range(n)]
    table = Table(columns, rows, "taiwan")
    assert infer_schema(table, "default", drop=["ID"]).id_like == {}
    assert list(infer_schema(table, "default").id_like) == ["ID"]               # and without --drop ID


def test_tables_built_in_memory_are_checked():
    with pytest.raises(ValueError, match="row 2: expected 2 fields"):
        as_table(Table(["a", "y"], [["1", "0"], ["2"]], "mine"))
    with pytest.raises(ValueError, match="row 1: every cell must be text"):
        as_table(Table(["a", "y"], [[1, "0"]], "mine"))
    with pytest.raises(ValueError, match="column 'a' appears 2 times"):
        as_table(Table(["a", "a"], [["1", "0"]], "mine"))
    with pytest.raises(ValueError, match="data: expected a CSV path"):
        as_table(42)
