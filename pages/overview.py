"""Overview: the workspace at a glance and the next step to take."""

import streamlit as st

from chronos_data import workspace
from components import layout, state

state.require_router()

st.title("Overview")

with state.tenant() as t:
    counts = workspace.row_counts(t)

videos, courses, students, chats = st.columns(4)
videos.metric("Videos", counts["videos"])
courses.metric("Courses", counts["courses"])
students.metric("Students", counts["students"])
chats.metric("Assistant conversations", counts["chat_sessions"])

if counts["videos"] == 0:
    layout.render_empty_state(
        "Welcome to Chronos",
        "Chronos turns your course videos into a searchable library, courses, an assistant that "
        "answers from your own transcripts, and engagement analytics.\n\n"
        "1. **Add videos**: YouTube links, playlists, Loom, Mux or your own files.\n"
        "2. **Build a course** from modules and ordered lessons.\n"
        "3. **Ask the assistant**: answers cite the video and the second they come from.\n"
        "4. **Explore analytics**: views, watch time, retention and completion.",
        next_page="pages/videos.py",
        next_label="Start with your video library",
        icon=":material/video_library:",
    )
