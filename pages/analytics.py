"""Analytics: how students watch, where they stop, and what it costs."""

import streamlit as st

from chronos_data import workspace
from components import layout, state

state.require_router()

st.title("Analytics")

with state.tenant() as t:
    counts = workspace.row_counts(t)

if counts["video_analytics_events"] == 0 and counts["video_watch_sessions"] == 0:
    layout.render_empty_state(
        "No viewing data yet",
        "Charts of views, watch time, retention, completion funnels and engagement appear here once "
        "students watch your lessons.",
        next_page="pages/courses.py",
        next_label="Build a course for students to watch",
        icon=":material/school:",
    )
else:
    st.metric("Watch sessions", counts["video_watch_sessions"])
    st.metric("Events", counts["video_analytics_events"])
