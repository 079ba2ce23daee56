"""The Insights page's findings, computed once per workspace and data version (they read every
lesson's curve and every question), its confusion map's frame, and the findings as a table (CSV)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date

import pandas as pd
import streamlit as st

from chronos_data.insights import Insight, all_insights
from chronos_data.insights.gaps import GapTally, gap_tally
from chronos_data.timecode import format_seconds
from components import state

__all__ = ["confusion_frame", "insights_table", "moment_insights", "question_tally", "retention_moments",
           "workspace_insights"]

# The key holds the data version, so a change shows on the next page load; the ttl only bounds memory.
_TTL_SECONDS = 3_600


@st.cache_data(ttl=_TTL_SECONDS, show_spinner=False, max_entries=50)
def workspace_insights(creator_id: uuid.UUID, course_id: uuid.UUID | None, include_decided: bool,
                       version: str) -> list[Insight]:
    """Every insight (``version``, ``insights.data_version``, is part of the key: a new question,
    a decision or new viewing recomputes)."""
    # Insights only read: the read-only role for everyone (and nothing per visitor in a shared cache).
    with state.get_database().workspace(creator_id, read_only=True) as t:
        return all_insights(t, state.get_embedder(), course_id=course_id, chat_model=state.get_assistant().chat_model,
                            include_decided=include_decided)


@st.cache_data(ttl=_TTL_SECONDS, show_spinner=False, max_entries=50)
def question_tally(creator_id: uuid.UUID, version: str) -> GapTally:
    """How many questions went unanswered or weakly answered (the content-gap tab's empty state)."""
    with state.get_database().workspace(creator_id, read_only=True) as t:
        return gap_tally(t, state.get_embedder())


@st.cache_data(ttl=600, show_spinner=False, max_entries=50)
def moment_insights(creator_id: uuid.UUID, as_of: str, start: date | None = None, end: date | None = None
                    ) -> list[Insight]:
    """Only the confusion and drop-off findings of the days ``start``..``end`` (the Analytics page's
    retention panel, under a chart of those days)."""
    with state.get_database().workspace(creator_id, read_only=True) as t:
        return all_insights(t, state.get_embedder(), kinds=("confusion", "dropoff"), start=start, end=end)


@st.cache_data(ttl=600, show_spinner=False, max_entries=200)
def retention_moments(creator_id: uuid.UUID, video_id: uuid.UUID, start: date, end: date,
                      course_id: uuid.UUID | None, as_of: str) -> dict:
    """The retention chart's marks (0:30, dips, rewatch spikes), as the Insights page finds them."""
    from chronos_data.insights import timeline

    with state.get_database().workspace(creator_id, read_only=True) as t:
        return timeline.retention_moments(t, video_id, start, end, course_id)


@st.cache_data(ttl=600, show_spinner=False, max_entries=100)
def confusion_frame(creator_id: uuid.UUID, video_id: uuid.UUID) -> pd.DataFrame:
    from chronos_data.insights import timeline

    with state.get_database().workspace(creator_id, read_only=True) as t:
        return timeline.confusion_map(t, video_id)


def insights_table(found: Sequence[Insight]) -> pd.DataFrame:
    """One row per finding: what it is, where, its sentence and passage, then every number behind it
    (nested evidence flattened to ``evidence.<name>.<name>``; lists as JSON)."""
    base = pd.DataFrame([{
        "kind": i.kind, "title": i.title, "course": i.course_title, "lesson": i.lesson, "video": i.video_title,
        "second": i.second, "moment": format_seconds(i.second) if i.second is not None else None,
        "passage": i.passage, "score": i.score, "link": i.url, "video_id": str(i.video_id) if i.video_id else None,
        "course_id": str(i.course_id) if i.course_id else None, "key": i.key,
    } for i in found], columns=["kind", "title", "course", "lesson", "video", "second", "moment", "passage", "score",
                                "link", "video_id", "course_id", "key"])
    evidence = pd.json_normalize([i.evidence for i in found], sep=".") if found else pd.DataFrame()
    evidence = evidence.map(lambda v: json.dumps(v, default=str) if isinstance(v, list | dict) else v)
    return pd.concat([base, evidence.add_prefix("evidence.")], axis=1)
