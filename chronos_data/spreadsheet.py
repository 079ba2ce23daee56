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
    """``table`` as UTF-8 CSV (no index) whose text cells never start a formula; numbers stay numbers."""
    text = table.select_dtypes(include=["object", "string"]).columns
    return table.assign(**{column: table[column].map(inert_cell) for column in text}).to_csv(index=False).encode()
