"""The Insights page's findings, computed once per workspace and data version (they read every
lesson's curve and every question), and its confusion map's frame."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from chronos_data.insights import Insight, all_insights
from components import state

__all__ = ["confusion_frame", "forget_insights", "moment_insights", "workspace_insights"]


@st.cache_data(ttl=600, show_spinner=False, max_entries=50)
def workspace_insights(creator_id: uuid.UUID, course_id: uuid.UUID | None, include_decided: bool,
                       as_of: str) -> list[Insight]:
    """Every insight (``as_of``, the rollups' time, is part of the key: new viewing recomputes)."""
    # Insights only read: the read-only role for everyone (and nothing per visitor in a shared cache).
    with state.get_database().tenant(creator_id, read_only=True) as t:
        return all_insights(t, state.get_embedder(), course_id=course_id, chat_model=state.get_assistant().chat_model,
                            include_decided=include_decided)


@st.cache_data(ttl=600, show_spinner=False, max_entries=50)
def moment_insights(creator_id: uuid.UUID, as_of: str) -> list[Insight]:
    """Only the confusion and drop-off findings (the Analytics page's retention panel)."""
    with state.get_database().tenant(creator_id, read_only=True) as t:
        return all_insights(t, state.get_embedder(), kinds=("confusion", "dropoff"))


def forget_insights() -> None:
    """A suggestion was marked done or reopened: compute again."""
    workspace_insights.clear()


@st.cache_data(ttl=600, show_spinner=False, max_entries=100)
def confusion_frame(creator_id: uuid.UUID, video_id: uuid.UUID) -> pd.DataFrame:
    from chronos_data.insights import timeline

    with state.get_database().tenant(creator_id, read_only=True) as t:
        return timeline.confusion_map(t, video_id)
