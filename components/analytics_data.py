"""The Analytics page's queries, cached per workspace, filters and data freshness.

Every widget change reruns the page; at millions of events some queries take seconds, so their
results are kept (``st.cache_data``) until the rollups change: the key includes the "data as of"
time, which moves whenever a rollup writes new numbers (a new viewing, an import).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import streamlit as st

from chronos_data import dashboards
from components import state

__all__ = ["CACHE_SECONDS", "Queries"]

CACHE_SECONDS = 600  # an upper bound; a rollup that changes anything invalidates sooner
_CACHED = frozenset({"kpis", "views_over_time", "engagement_heatmap", "top_videos", "retention_curve",
                     "typical_retention", "course_funnel", "at_risk_learners", "student_progress", "breakdown",
                     "costs", "lesson_stats"})


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=500)
def _run(name: str, creator_id: uuid.UUID, args: tuple, as_of: str) -> Any:
    with state.get_database().tenant(creator_id) as t:
        return getattr(dashboards, name)(t, *args)


class Queries:
    """``dashboards`` functions for one workspace, without the transaction argument, cached."""

    def __init__(self, creator_id: uuid.UUID, as_of: object) -> None:
        self.creator_id = creator_id
        self.as_of = str(as_of)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in _CACHED:
            raise AttributeError(name)
        return lambda *args: _run(name, self.creator_id, args, self.as_of)
