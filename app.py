"""Chronos: the creator dashboard. Entry point and router (`streamlit run app.py`)."""

import streamlit as st

from chronos_data import creators
from chronos_data.errors import ChronosError
from components import layout, state

st.set_page_config(page_title="Chronos", page_icon=":material/schedule:", layout="wide")
state.load_secrets_into_env()

problem = state.startup_error()
if problem:
    st.title("Chronos could not start")
    st.error(problem, icon=":material/database_off:")
    st.caption("Fix the setting above, then reload this page.")
    st.stop()

state.get_import_worker()  # resumes videos left unfinished by the last run

pages = {
    "Workspace": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/videos.py", title="Videos", icon=":material/video_library:"),
        st.Page("pages/courses.py", title="Courses", icon=":material/school:"),
        st.Page("pages/preview.py", title="Student preview", icon=":material/play_lesson:"),
        st.Page("pages/assistant.py", title="Assistant", icon=":material/forum:"),
        st.Page("pages/analytics.py", title="Analytics", icon=":material/monitoring:"),
    ],
    "Account": [
        st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
    ],
}
navigation = st.navigation(pages)
state.mark_routed()

with state.tenant() as t:
    creator = creators.get_creator(t)
layout.render_workspace_badge(creator.email, single_user=True, demo=state.in_demo_workspace(),
                              on_leave_demo=state.leave_demo_workspace)

try:
    navigation.run()
except ChronosError as exc:
    st.error(str(exc), icon=":material/error:")
