"""Table selections kept by id: a ticked row stays on its record when filters reorder or shrink the table.

``st.dataframe`` reports selections as row positions of the frame the user clicked; after a filter
change the same positions point at other records (or past the end: an IndexError). So the id of the
clicked row is stored when the selection event arrives, and each later run looks that id up in
whatever frame it draws, ticking the row where it now is, or saying plainly that it is not shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

__all__ = ["clear_pick", "id_at", "position_of", "render_pickable_table", "table_key"]


def id_at(ids: Sequence[Any], rows: Sequence[int]) -> Any | None:
    """The id of the first selected row, or None (no row, or a position the frame no longer has)."""
    return ids[rows[0]] if rows and 0 <= rows[0] < len(ids) else None


def position_of(ids: Sequence[Any], picked: Any | None) -> int | None:
    """Where ``picked`` is in this frame's ids, or None when the frame does not hold it."""
    if picked is None:
        return None
    return next((index for index, value in enumerate(ids) if str(value) == str(picked)), None)


def table_key(prefix: str, ids: Sequence[Any]) -> str:
    """A widget key that changes with the rows shown: a new table starts from the stored pick
    (``selection_default``) instead of carrying the old table's row positions over."""
    digest = hashlib.blake2s("\n".join(map(str, ids)).encode(), digest_size=6).hexdigest()
    return f"{prefix}_{digest}"


def clear_pick(pick_key: str) -> None:
    st.session_state.pop(pick_key, None)


def _on_select(key: str, pick_key: str, ids: list[Any]) -> Callable[[], None]:
    def store() -> None:
        # Runs before the rerun, while ``ids`` are still those of the frame the user clicked.
        event = st.session_state.get(key)
        rows = list(event["selection"]["rows"]) if event else []
        st.session_state[pick_key] = id_at(ids, rows)
    return store


def render_pickable_table(frame: pd.DataFrame, *, id_column: str, key: str, pick_key: str,
                          **dataframe_options: Any) -> tuple[Any | None, bool]:
    """``frame`` (without ``id_column``) as a single-row selectable table.

    Returns:
        The picked id (or None) and whether that record is among the rows shown.
    """
    ids = list(frame[id_column])
    picked = st.session_state.get(pick_key)
    where = position_of(ids, picked)
    widget_key = table_key(key, ids)
    st.dataframe(frame.drop(columns=[id_column]), hide_index=True, width="stretch", key=widget_key,
                 on_select=_on_select(widget_key, pick_key, ids), selection_mode="single-row",
                 selection_default={"selection": {"rows": [] if where is None else [where]}},
                 **dataframe_options)
    return picked, where is not None
