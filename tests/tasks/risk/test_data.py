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
    with pytest.raises(ValueError, match=r"column 'b', row 2 \(line 3\).*--impute median"):
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
