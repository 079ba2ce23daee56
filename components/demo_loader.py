"""The "Load demo workspace" button: builds the demo with a progress bar, then switches to it."""

from __future__ import annotations

import streamlit as st

from chronos_data.demo import load_demo
from chronos_data.errors import ChronosError
from components import state

__all__ = ["render_demo_loader"]


def render_demo_loader(*, key: str) -> None:
    """A button that (re)creates the demo workspace and opens it in this browser session."""
    if not st.button("Load demo workspace", key=key, icon=":material/science:",
                     help="Ten sample lectures, two courses, 300 students and 90 days of viewing and questions, "
                          "in a workspace of their own. Your own workspace is not touched."):
        return
    bar = st.progress(0.0, text="Preparing the demo workspace…")
    try:
        result = load_demo(state.get_database(), state.get_embedder(), email=state.demo_email(),
                           on_progress=lambda share, step: bar.progress(share, text=f"{step}…"))
    except ChronosError as exc:
        bar.empty()
        st.error(str(exc), icon=":material/error:")
        return
    state.use_demo_workspace(result.creator_id)
    st.session_state["overview_flash"] = (
        f"Demo workspace ready: {result.students:,} students, {result.sessions:,} watch sessions and "
        f"{result.events:,} events in {result.seconds:.0f} s.")
    st.rerun()
