"""Layout pieces every page uses: empty states, the sidebar's workspace badge."""

from __future__ import annotations

import re

import streamlit as st

__all__ = ["plain", "render_empty_state", "render_workspace_badge"]


def render_empty_state(title: str, body: str, *, next_page: str | None = None, next_label: str | None = None,
                       icon: str = ":material/lightbulb:") -> None:
    """A friendly box for a page with nothing to show yet, pointing at the next step."""
    with st.container(border=True):
        st.markdown(f"#### {title}")
        st.markdown(body)
        if next_page and next_label:
            st.page_link(next_page, label=next_label, icon=icon)


def render_workspace_badge(email: str, *, single_user: bool) -> None:
    """Which workspace is active, shown in the sidebar on every page."""
    with st.sidebar:
        st.caption("Active workspace")
        if single_user:
            st.markdown(f"**Local workspace**  \n{plain(email)}")
            st.caption("Single-user mode: no sign-in is configured.")
        else:
            st.markdown(f"**{plain(email)}**")


def plain(text: str) -> str:
    """``text`` for st.markdown without markup or auto-links (an e-mail stays text, not mailto)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~@:])", r"\\\1", text)
