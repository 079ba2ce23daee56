"""Videos: the creator's library and each video's processing status."""

import streamlit as st

from components import layout, state
from chronos_data import videos

st.title("Video library")

with state.tenant() as t:
    library = videos.list_videos(t)

if not library:
    layout.render_empty_state(
        "Your library is empty",
        "Videos you add appear here with their processing status: YouTube links, playlists and "
        "channels, Loom and Mux videos with subtitle files, or your own audio and video files. "
        "Each transcript is split into timestamped passages the assistant can cite.",
    )
else:
    st.dataframe(
        [
            {"Title": v.title, "Source": v.source_type, "Status": v.status,
             "Duration (min)": round(v.duration_seconds / 60, 1) if v.duration_seconds else None,
             "Added": v.created_at}
            for v in library
        ],
        hide_index=True,
        use_container_width=True,
    )
