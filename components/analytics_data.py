"""The Analytics page's queries, cached per workspace, filters and data freshness.

Every widget change reruns the page, so results are kept (``st.cache_data``) until the rollups
change: the key includes the "data as of" time, which moves whenever a rollup writes new numbers
(a new viewing, an import). Rolling up today's viewing is itself the slowest step of a rerun in a
large workspace (it recomputes the day), so pages do it at most every ``ROLLUP_SECONDS``, or at
once after this app recorded viewing (``viewing_recorded``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import streamlit as st

from chronos_data import page_data
from chronos_data.viewing import dashboards, rollups
from components import state

__all__ = ["CACHE_SECONDS", "ROLLUP_SECONDS", "Queries", "refresh_rollups", "viewing_recorded"]

CACHE_SECONDS = 600  # an upper bound; a rollup that changes anything invalidates sooner
ROLLUP_SECONDS = 30
_CACHED = frozenset({"kpis", "views_over_time", "engagement_heatmap", "top_videos", "retention_curve",
                     "slice_videos", "cost_lines", "find_student", "typical_retention", "course_funnel",
                     "at_risk_students", "student_progress", "breakdown", "costs", "lesson_stats"})


# The KPI cards come with each metric's unit (page_data.kpis); the rest as dashboards reads them.
_FUNCTIONS = {**{name: getattr(dashboards, name) for name in _CACHED}, "kpis": page_data.kpis}


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=500)
def _run(name: str, creator_id: uuid.UUID, args: tuple, as_of: str, options: tuple = ()) -> Any:
    # Dashboards only read: run them as the read-only role, for owners and analysts alike.
    with state.get_database().workspace(creator_id, read_only=True) as t:
        return _FUNCTIONS[name](t, *args, **dict(options))


class Queries:
    """``dashboards`` functions for one workspace, without the transaction argument, cached."""

    def __init__(self, creator_id: uuid.UUID, as_of: object) -> None:
        self.creator_id = creator_id
        self.as_of = str(as_of)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in _CACHED:
            raise AttributeError(name)
        return lambda *args, **options: _run(name, self.creator_id, args, self.as_of, tuple(sorted(options.items())))


def refresh_rollups(creator_id: uuid.UUID) -> None:
    """Roll new viewing up into the dashboards' tables, at most once per ``ROLLUP_SECONDS``."""
    _roll_up(creator_id, int(time.time() // ROLLUP_SECONDS))


def viewing_recorded() -> None:
    """This app just recorded viewing: the next page roll-up should not wait for its window."""
    _roll_up.clear()


@st.cache_data(show_spinner=False, max_entries=200)
def _roll_up(creator_id: uuid.UUID, window: int) -> None:
    with state.get_database().workspace(creator_id) as t:
        rollups.rollup(t)
