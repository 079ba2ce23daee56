"""The CSV downloads' formula guard on the odd cells a table can hold."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from chronos_data.spreadsheet import csv_bytes


def _rows(table: pd.DataFrame) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))


def test_text_that_starts_a_formula_is_inert_whatever_the_column_holds():
    table = pd.DataFrame({
        "text": ["=1+1", "-5", "+1 555 0100", None, "é @ ümlaut 👍"],
        "mixed": ["@SUM(A1)", 3, np.nan, 2.5, "ok"],  # object column: text and numbers
        "category": pd.Categorical(["=HYPERLINK(\"x\")", "a", "a", "-b", None]),
        "number": [-5, 1, 2, 3, 4],
        "decimal": [-1.5, np.nan, 0.0, 2.0, 3.0],
    })
    rows = _rows(table)
    assert rows[1:] == [
        ["'=1+1", "'@SUM(A1)", "'=HYPERLINK(\"x\")", "-5", "-1.5"],
        ["'-5", "3", "a", "1", ""],
        ["'+1 555 0100", "", "a", "2", "0.0"],
        ["", "2.5", "'-b", "3", "2.0"],
        ["é @ ümlaut 👍", "ok", "", "4", "3.0"],
    ]


def test_a_column_named_from_someones_text_is_inert_too():
    # A table whose columns come from data (a lesson or referrer as a column) writes them as the header.
    rows = _rows(pd.DataFrame({"=cmd|' /C calc'!A0": [1], "Views": [2]}))
    assert rows == [["'=cmd|' /C calc'!A0", "Views"], ["1", "2"]]


def test_columns_named_by_numbers_or_twice_are_written_as_they_are():
    table = pd.DataFrame([["=a", 1, "=b"]], columns=[0, "Views", "Views"])
    assert _rows(table) == [["0", "Views", "Views"], ["'=a", "1", "'=b"]]



def test_a_download_tells_excel_it_is_utf8_and_pandas_reads_it_back_unchanged():
    table = pd.DataFrame({"title": ["Café crème 👍"], "views": [3]})
    written = csv_bytes(table)
    assert written.startswith(b"\xef\xbb\xbf")  # Excel reads the file as UTF-8 only with this mark
    assert pd.read_csv(io.BytesIO(written)).to_dict("records") == [{"title": "Café crème 👍", "views": 3}]
