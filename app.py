"""Chronos: the creator dashboard. Entry point and router (`streamlit run app.py`)."""

import time

import streamlit as st

from chronos_data import creators
from chronos_data.db import is_connection_lost
from chronos_data.errors import ChronosError
from components import layout, sign_in, state

st.set_page_config(page_title="Chronos", page_icon=":material/schedule:", layout="wide")
state.load_secrets_into_env()

problem = state.startup_error()
if problem:
    st.title("Chronos could not start")
    st.error(problem, icon=":material/database_off:")
    st.caption("Fix the setting above, then reload this page.")
    st.stop()

if state.refuses_remote_visitor():
    st.title("This Chronos serves only the computer it runs on")
    st.warning("It has no sign-in, so anyone who opens it would own its workspace. To use it from other "
               "computers, configure sign-in ([auth] in .streamlit/secrets.toml); on a network where everyone "
               "may use it, set CHRONOS_TRUSTED_NETWORK=on.", icon=":material/lock:")
    st.stop()

state.tidy_data_folder()  # upload copies a killed process left unfinished
state.get_import_worker()  # resumes videos left unfinished by the last run

signed_in = state.sign_in_required()
if signed_in and not st.user.is_logged_in:
    # A navigation of one page: the sidebar must not list pages a visitor cannot open yet.
    st.navigation([st.Page(sign_in.render_sign_in_screen, title="Sign in", icon=":material/login:")],
                  position="hidden").run()
    st.stop()

pages = {
    "Workspace": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/videos.py", title="Videos", icon=":material/video_library:"),
        st.Page("pages/courses.py", title="Courses", icon=":material/school:"),
        st.Page("pages/preview.py", title="Student preview", icon=":material/play_lesson:"),
        st.Page("pages/assistant.py", title="Assistant", icon=":material/forum:"),
        st.Page("pages/analytics.py", title="Analytics", icon=":material/monitoring:"),
        st.Page("pages/insights.py", title="Insights", icon=":material/lightbulb:"),
    ],
    "Account": [
        st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
    ],
}


def render_sidebar() -> None:
    """Which workspace is open; when signed in, the person's workspaces and the sign-out button."""
    with state.workspace() as t:
        creator = creators.get_creator(t)
    if not signed_in or state.in_demo_workspace():
        layout.render_workspace_badge(creator.email, single_user=not signed_in, demo=state.in_demo_workspace(),
                                      on_leave_demo=state.leave_demo_workspace)
    if signed_in:
        sign_in.render_workspace_menu(state.signed_in_workspaces(), state.current_workspace())


try:
    navigation = st.navigation(pages)
    state.mark_routed()
    state.follow_workspace_url()
    render_sidebar()
    navigation.run()
    state.database_reached()
except Exception as exc:  # noqa: BLE001 - a lost database is recognised by its cause, whatever raised it
    if is_connection_lost(exc):
        delay = state.retry_database()
        layout.render_database_unavailable(delay)
        time.sleep(delay)
        st.rerun()
    if isinstance(exc, ChronosError):
        st.error(str(exc), icon=":material/error:")
        if signed_in:
            st.button("Sign out", key="app_sign_out", icon=":material/logout:", on_click=st.logout)
    else:
        raise
