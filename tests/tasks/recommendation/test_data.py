"""The recommendation head's data: four file formats, the item map, the leave-one-out split."""

from __future__ import annotations

import pytest

from tasks.recommendation.data import ItemMap, detect_format, load_sequences, load_split


def test_sequence_pairs_and_csv_formats_agree(tmp_path):
    (tmp_path / "seq.txt").write_text("u1 a b c\nu2 b c\n\nu3 x\n")
    (tmp_path / "pairs.txt").write_text("u1 a\nu1 b\nu1 c\nu2 b\nu2 c\nu3 x\n")
    # CSV out of time order, with a tie (stable: file order) and an extra column
    (tmp_path / "log.csv").write_text("timestamp,item_id,rating,user_id\n"
                                      "30,c,5,u1\n10,a,1,u1\n20,b,2,u1\n5,b,1,u2\n5,c,1,u2\n1,x,3,u3\n")
    expected = {"u1": ["a", "b", "c"], "u2": ["b", "c"], "u3": ["x"]}
    for name, fmt in (("seq.txt", "sequence"), ("pairs.txt", "pairs"), ("log.csv", "csv")):
        assert detect_format(tmp_path / name) == fmt
        assert load_sequences(tmp_path / name) == (expected, fmt)


def test_leave_one_out_split_and_short_users_stay_in_training(tmp_path):
    (tmp_path / "seq.txt").write_text("u1 a b c d\nu2 e\nu3 a e\n")
    split = load_split(tmp_path / "seq.txt")
    a, b, c, d, e = (split.item_map.index[t] for t in "abcde")
    assert (a, b, c, d, e) == (1, 2, 3, 4, 5)  # contiguous, first appearance, 0 = padding
    assert split.train == [[a, b], [e], [a, e]]
    assert split.valid.users == ["u1"] and split.valid.inputs == [[a, b]] and split.valid.targets == [c]
    assert split.test.inputs == [[a, b, c]] and split.test.targets == [d]


def test_ml1m_folder_split(tmp_path):
    for sub in ("train", "val", "test"):
        (tmp_path / sub).mkdir()
    # 3 users; user 2 is the validation user (its train line lacks 3 items, the others 2)
    (tmp_path / "train" / "input.txt").write_text("1 2 3\n4 5\n1 4 6\n")
    (tmp_path / "val" / "input.txt").write_text("4 5 7\n")
    (tmp_path / "val" / "output.txt").write_text("8\n")
    (tmp_path / "test" / "output.txt").write_text("9\n2\n3\n")
    split = load_split(tmp_path)
    ids = split.item_map.index
    assert split.format == "ml1m" and split.valid.users == ["2"]
    assert split.valid.inputs == [[ids["4"], ids["5"], ids["7"]]] and split.valid.targets == [ids["8"]]
    assert split.test.inputs == [[ids[t] for t in "4578"]] and split.test.targets == [ids["2"]]
    # the final fit's data: user 2's line becomes val/input + val/output, the others unchanged
    assert split.refit_sequences() == [[ids[t] for t in "123"], [ids[t] for t in "4578"],
                                       [ids[t] for t in "146"]]


def test_refit_sequences_put_back_the_validation_item_and_never_the_test_item(tmp_path):
    (tmp_path / "seq.txt").write_text("u1 a b c d\nu2 e\nu3 a e c b\n")
    split = load_split(tmp_path / "seq.txt")
    a, b, c, d, e = (split.item_map.index[t] for t in "abcde")
    assert split.refit_sequences() == [[a, b, c], [e], [a, e, c]]   # = the test inputs
    assert split.train == [[a, b], [e], [a, e]]                     # unchanged
    assert [split.refit_sequences()[row] for row in split.valid_rows] == split.test.inputs


@pytest.mark.parametrize("name, text, fmt, message", [
    ("pairs.txt", "u1 a\nu1 b\nu2 a b c\n", "pairs", "line 3"),
    ("seq.txt", "u1 a b\nu2\n", "sequence", "line 2"),
    ("log.csv", "user_id,item_id,timestamp\nu1,a,1\nu1,b,yesterday\n", "csv", "line 3"),
    ("log.csv", "user_id,item_id,timestamp\nu1,a\n", "csv", "line 2"),
    ("log.csv", "user,item_id,timestamp\nu1,a,1\n", "csv", "line 1"),
])
def test_malformed_lines_name_the_line(tmp_path, name, text, fmt, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=message):
        load_sequences(tmp_path / name, fmt)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="empty"):
        load_split(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError):
        load_split(tmp_path / "missing.txt")


def test_item_map_round_trip_and_unknown_items(tmp_path):
    item_map = ItemMap()
    for token in ("x", "y", "z"):
        item_map.add(token)
    item_map.save(tmp_path / "map.json")
    loaded = ItemMap.load(tmp_path / "map.json")
    assert loaded.encode(["z", "nope", "x"]) == ([3, 1], ["nope"])
