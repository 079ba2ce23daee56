"""Assistant: questions answered from the creator's own transcripts, cited to the second."""

import streamlit as st

from chronos_data import chat, workspace
from components import layout, state

state.require_router()

st.title("Assistant")

with state.tenant() as t:
    counts = workspace.row_counts(t)
    sessions = chat.list_sessions(t)

if counts["video_chunks"] == 0:
    layout.render_empty_state(
        "Nothing to search yet",
        "The assistant answers only from your own transcripts and links each answer to the video "
        "and the second it comes from. Add a video with a transcript to start asking.",
        next_page="pages/videos.py",
        next_label="Add your first video",
        icon=":material/video_library:",
    )
elif not sessions:
    st.info("No conversations yet. Ask a question about your videos to start one.")
