"""Tables as files people open in a spreadsheet program.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) is a
formula to Excel, LibreOffice and Google Sheets, so text anyone typed (a student's question)
could run there ("CSV injection"). Such text cells get a leading apostrophe, the OWASP-recommended
guard, which the spreadsheet shows as plain text and does not display. ``defusedcsv`` does the same
for the ``csv`` module but not for pandas' writer, and also rewrites ``|`` inside cells; these few
lines keep the text as it was typed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["csv_bytes", "inert_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: Any) -> Any:
    """``value``, with a leading apostrophe when it is text a spreadsheet would read as a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def csv_bytes(table: pd.DataFrame) -> bytes:
    """``table`` as UTF-8 CSV (no index) whose text cells and column names never start a formula;
    numbers stay numbers. It starts with a byte-order mark: without one, Excel opens a double-clicked
    CSV in the computer's legacy code page and shows accented titles and emoji as garbage (pandas,
    Google Sheets, LibreOffice and Numbers read the mark and drop it)."""
    guarded = table.copy()
    for position, dtype in enumerate(table.dtypes):  # by position: names may repeat or not be text
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype):
            guarded.isetitem(position, table.iloc[:, position].map(inert_cell))
    guarded.columns = [inert_cell(column) for column in table.columns]
    return guarded.to_csv(index=False).encode("utf-8-sig")
