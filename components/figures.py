"""Plotly figures built once per data, for pages that rerun on every click.

Building a plotly figure validates every property through plotly's object tree, which cost more
than all of the Analytics page's (cached) queries together; the figure's plain dict is cached
instead, keyed by the builder and its DataFrames.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import charts

__all__ = ["figure"]


@st.cache_data(max_entries=300, show_spinner=False)
def figure(builder: str, *args: Any, **kwargs: Any) -> dict:
    """``charts.<builder>(*args, **kwargs)`` as a dict ``st.plotly_chart`` accepts."""
    return getattr(charts, builder)(*args, **kwargs).to_dict()
