"""Overview: the workspace at a glance and the next step to take."""

import streamlit as st

from chronos_data import page_data
from components import layout, state
from components.analytics_data import Queries, refresh_rollups
from components.demo_loader import render_demo_loader
from components.kpi_cards import render_kpi_cards

state.require_router()

st.title("Overview")
if flash := st.session_state.pop("overview_flash", None):
    st.success(flash, icon=":material/check_circle:")

# Today's viewing rolled up first (at most every ROLLUP_SECONDS), so the cards include it.
refresh_rollups(state.current_creator_id(state.get_database()))
with state.workspace() as t:
    page = page_data.overview_page(t)
last_30 = None
if page.as_of is not None:
    last_30 = Queries(state.current_creator_id(state.get_database()), page.as_of).kpis(page.last_30_days)

videos, courses, students, chats = st.columns(4)
videos.metric("Videos", page.videos)
courses.metric("Courses", page.courses)
students.metric("Students", page.students)
chats.metric("Assistant conversations", page.conversations)

if last_30 is not None:
    st.subheader("Last 30 days")
    st.caption("Changes compare with the 30 days before.")
    render_kpi_cards(last_30)
    st.page_link("pages/analytics.py", label="Explore the analytics", icon=":material/monitoring:")

if page.videos == 0:
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
if not state.in_demo_workspace():
    with st.container(border=True):
        st.markdown("**Just looking around?** Open a demo workspace with sample lectures, courses, students "
                    "and three months of activity to see every chart and the assistant at work.")
        render_demo_loader(key="overview_demo")
