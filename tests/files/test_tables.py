"""``read_csv``: what a spreadsheet writes is read right, anything else is refused in one line
naming the file and the line; ``compare_columns`` lists what is missing and what is extra."""

from __future__ import annotations

import csv
import io
import os

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minitransformer.files.tables import compare_columns, decode_utf8, read_csv


def write(tmp_path, data: bytes | str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    return message


# ---------------------------------------------------------------------------- accepted


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    """Excel's "CSV UTF-8" starts with EF BB BF; the first column is still ``user_id``."""
    table = read_csv(write(tmp_path, b"\xef\xbb\xbfuser_id,item_id\nu1,a\n"), required=["user_id"])
    assert table.header == ["user_id", "item_id"] and table.column("user_id") == ["u1"]


def test_fields_longer_than_the_csv_modules_default_limit(tmp_path):
    """Python's csv stops at 131072 characters a field; a 200 KiB description is read whole."""
    long = "x" * (200 * 1024)
    table = read_csv(write(tmp_path, f'id,text\n1,"{long}"\n2,{long}\n'))
    assert table.column("text") == [long, long]


def test_blank_lines_are_skipped_and_line_numbers_are_the_files(tmp_path):
    table = read_csv(write(tmp_path, "a,b\n\n1,2\n   \n,\n3,4\n"))
    assert table.rows == [(3, ["1", "2"]), (6, ["3", "4"])]


def test_crlf_and_lf_read_the_same(tmp_path):
    lf = read_csv(write(tmp_path, "a,b\n1,\"x\ny\"\n2,3\n", "lf.csv"))
    crlf = read_csv(write(tmp_path, "a,b\r\n1,\"x\ny\"\r\n2,3\r\n", "crlf.csv"))
    assert lf.header == crlf.header and [r for _, r in lf.rows] == [r for _, r in crlf.rows]


def test_names_and_fields_are_stripped_and_chinese_text_is_kept(tmp_path):
    table = read_csv(write(tmp_path, " 问题 , 类别 \n 我的卡在哪里？ , 卡片 \n"))
    assert table.header == ["问题", "类别"] and table.rows == [(2, ["我的卡在哪里？", "卡片"])]


def test_ragged_rows_on_request(tmp_path):
    """M4's wide files pad series of different lengths: ``ragged=True`` keeps the short rows."""
    table = read_csv(write(tmp_path, "V1,V2,V3\nT1,1,2\nT2,5\n"), ragged=True)
    assert table.rows == [(2, ["T1", "1", "2"]), (3, ["T2", "5"])] and table.column("V3") == ["2", ""]


def test_a_header_without_rows_on_request(tmp_path):
    assert read_csv(write(tmp_path, "a,b\n"), allow_empty=True).rows == []


# ---------------------------------------------------------------------------- refused


@pytest.mark.parametrize("data, line, byte", [
    ("a,b\n1,2\ncaf\u00e9,3\n".encode("latin-1"), 3, "0xe9"),                 # Windows-1252 export
    ("text,label\n退款,r\n".encode("gbk"), 2, "0xcd"),                          # a GBK export
    ("a,b\n1,2\n".encode("utf-16"), 1, "0xff"),                                 # Excel "Unicode text"
])
def test_bytes_that_are_not_utf8_name_the_line_and_the_byte(tmp_path, data, line, byte):
    path = write(tmp_path, data)
    with pytest.raises(ValueError) as err:
        read_csv(path)
    assert one_line(err) == f"{path}, line {line}: not UTF-8 text (byte {byte}); save the file as UTF-8"


def test_decode_utf8_accepts_one_bom():
    assert decode_utf8(b"\xef\xbb\xbfa,b", "x.csv") == "a,b"
    assert decode_utf8(b"\xef\xbb\xbf\xef\xbb\xbfa", "x.csv") == "\ufeffa"  # a second one is text


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_the_line_and_byte_are_the_files_with_or_without_a_byte_order_mark(tmp_path, bom):
    path = write(tmp_path, bom + b"a,b\n1,2\n3,x\xe9\n")
    with pytest.raises(ValueError, match=r", line 3: not UTF-8 text \(byte 0xe9\)"):
        read_csv(path)


def test_a_nul_byte_names_its_line(tmp_path):
    path = write(tmp_path, b"a,b\n1,2\n3,\x004\n")
    with pytest.raises(ValueError) as err:
        read_csv(path)
    assert one_line(err) == f"{path}, line 3: a NUL byte; this is not a text CSV file"


@pytest.mark.parametrize("header, name, times", [("a,b,a", "a", 2), ("x, y ,y,y", "y", 3)])
def test_a_column_name_given_twice_is_refused(tmp_path, header, name, times):
    """Otherwise one of the two columns is silently ignored (a label read as a question...)."""
    path = write(tmp_path, f"{header}\n" + ",".join("1" * len(header.split(","))) + "\n")
    with pytest.raises(ValueError) as err:
        read_csv(path)
    assert one_line(err) == (f"{path}, line 1: column {name!r} appears {times} times in the header; "
                             "column names must be unique")


@pytest.mark.parametrize("row, got", [("1,2,3", 3), ("1", 1)])
def test_a_ragged_row_names_its_line_and_both_counts(tmp_path, row, got):
    path = write(tmp_path, f"a,b\n1,2\n\n{row}\n")
    with pytest.raises(ValueError) as err:
        read_csv(path)
    assert one_line(err) == f"{path}, line 4: expected 2 fields as in the header, got {got}"


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty (expected a header row and data rows)"),
    (b"\xef\xbb\xbf\n\n  \n", "the file is empty (expected a header row and data rows)"),
    (b"a,b\n\n", "the file has a header but no data rows"),
])
def test_empty_files_and_headers_without_rows(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(ValueError) as err:
        read_csv(path)
    assert one_line(err) == f"{path}: {message}"


def test_an_unnamed_column_is_refused(tmp_path):
    path = write(tmp_path, "a,,c\n1,2,3\n")
    with pytest.raises(ValueError, match=r", line 1: column 2 of the header has no name$"):
        read_csv(path)


@pytest.mark.parametrize("data", ['a,b\n1,"never closed\n', 'a,b\n1,"x"y\n'])
def test_malformed_quoting_names_the_line(tmp_path, data):
    path = write(tmp_path, data)
    with pytest.raises(ValueError) as err:
        read_csv(path)
    assert one_line(err).startswith(f"{path}, line 2: malformed CSV (")


def test_missing_columns_are_all_named_with_the_hint(tmp_path):
    path = write(tmp_path, "user,item\nu,i\n")
    with pytest.raises(ValueError) as err:
        read_csv(path, required=["user_id", "item", "timestamp"], hint="see --format")
    assert one_line(err) == (f"{path}: line 1: missing column(s) user_id, timestamp; the header has "
                             "user, item (see --format)")


def test_a_missing_file_a_folder_and_a_device(tmp_path):
    with pytest.raises(FileNotFoundError, match="data file not found"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="expected a CSV file, got a folder"):
        read_csv(tmp_path)
    if os.path.exists(os.devnull) and os.name != "nt":
        with pytest.raises(FileNotFoundError, match="expected a CSV file, got a device or pipe"):
            read_csv(os.devnull)


def test_compare_columns_lists_missing_and_extra():
    compare_columns(["amount", "hour"], ["hour", "amount", "note"], "new.csv")  # order and extras: fine
    with pytest.raises(ValueError) as err:
        compare_columns(["amount", "hour", "mcc"], ["amount", "day", "weekday"], "new.csv")
    assert one_line(err) == ("new.csv: the columns differ from those the model was trained with: "
                             "missing hour, mcc; extra day, weekday")


# ---------------------------------------------------------------------------- round trip

# What read_csv gives back is stripped, so the generated text is already stripped; NUL bytes are
# refused (above) and surrogates cannot be written as UTF-8.
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_cells = _text.filter(lambda s: s == s.strip())
_names = _cells.filter(lambda s: s and not s.startswith("\ufeff"))


@st.composite
def tables(draw):
    header = draw(st.lists(_names, min_size=1, max_size=5, unique=True))
    row = st.lists(_cells, min_size=len(header), max_size=len(header)).filter(any)  # blank rows skipped
    return header, draw(st.lists(row, min_size=1, max_size=6))


@settings(max_examples=60)
@given(table=tables(), bom=st.booleans(), crlf=st.booleans(),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
def test_any_table_written_by_csv_writer_reads_back_equal(tmp_path_factory, table, bom, crlf, quoting):
    header, rows = table
    # with "\n" line ends csv.writer leaves a lone "\r" unquoted, which every CSV reader (Python's
    # own included) takes for a line end: such a file is not the table it was meant to be
    assume(crlf or not any("\r" in cell for cell in header + sum(rows, [])))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n", quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("round") / "t.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8-sig" if bom else "utf-8"))
    read = read_csv(path)
    assert read.header == header
    assert [fields for _, fields in read.rows] == rows
