"""Layout pieces every page uses: empty states, the sidebar's workspace badge."""

from __future__ import annotations

import html
from collections.abc import Callable

import streamlit as st

__all__ = ["email_html", "inert", "plural", "render_database_unavailable", "render_empty_state",
           "render_icon_only_buttons", "render_read_only_note", "render_workspace_badge"]


def render_empty_state(title: str, body: str, *, next_page: str | None = None, next_label: str | None = None,
                       icon: str = ":material/lightbulb:") -> None:
    """A friendly box for a page with nothing to show yet, pointing at the next step."""
    with st.container(border=True):
        st.markdown(f"#### {title}")
        st.markdown(body)
        if next_page and next_label:
            st.page_link(next_page, label=next_label, icon=icon)


def render_database_unavailable(retry_in_seconds: int) -> None:
    """What a page shows while the database is down (restarting, unreachable): no traceback."""
    st.warning(f"**The database is unavailable right now; retrying in {retry_in_seconds} s.**  \n"
               "Chronos reconnects by itself as soon as it answers again; nothing saved is lost. "
               "If this lasts, check that PostgreSQL is running.", icon=":material/database_off:")


def render_read_only_note(what: str) -> None:
    """In place of a form an analyst teammate may not use."""
    st.info(f"Read-only access: {what} is for the workspace's owner.", icon=":material/visibility:")


def render_workspace_badge(email: str, *, single_user: bool, demo: bool = False,
                           on_leave_demo: Callable[[], None] | None = None) -> None:
    """Which workspace is active, shown in the sidebar on every page."""
    with st.sidebar:
        st.caption("Active workspace")
        if demo:
            st.markdown(f"**Demo workspace**  \n{email_html(email)}", unsafe_allow_html=True)
            st.caption("Sample lectures, students and activity made by Chronos.")
            st.button("Back to my workspace", key="app_leave_demo", icon=":material/logout:",
                      on_click=on_leave_demo)
        elif single_user:
            st.markdown(f"**Local workspace**  \n{email_html(email)}", unsafe_allow_html=True)
            st.caption("Single-user mode: no sign-in is configured.")
        else:
            st.markdown(f"**{email_html(email)}**", unsafe_allow_html=True)


def email_html(email: str) -> str:
    """``email`` as inert HTML for st.markdown(..., unsafe_allow_html=True): escaped, and with the
    @ in its own span so Markdown does not turn a workspace label into a mailto: link."""
    local, at, domain = email.partition("@")
    return f"{html.escape(local)}<span>{at}</span>{html.escape(domain)}" if at else html.escape(email)


_MARKUP = frozenset("\\`*_{}[]()#+-.!|<>~$&:@=^%\"'")


def inert(text: str) -> str:
    """``text`` for st.markdown, a widget label or an expander, shown exactly as typed.

    Every character Markdown or Streamlit could read as markup becomes a numeric character
    reference, which Markdown decodes to the literal character after parsing: ``*`` does not
    format, ``![x](url)`` fetches nothing, ``$…$`` is not LaTeX, ``:red[…]`` and ``:smile:`` are
    not directives, and ``http://…`` or ``a@b.com`` are not turned into links (a backslash escape
    left the backslashes inside such automatic links).
    """
    return "".join(f"&#{ord(ch)};" if ch in _MARKUP else ch for ch in text)


def plural(count: int, noun: str) -> str:
    """``1 video``, ``3 videos``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def render_icon_only_buttons(key_prefixes: tuple[str, ...]) -> None:
    """Buttons whose key starts with one of ``key_prefixes`` show only their icon; their label stays
    in the page, visually hidden, as the name a screen reader reads (Streamlit gives a button no
    aria-label: its name is its text, and its icon is aria-hidden)."""
    selectors = ", ".join(f'[class*="st-key-{prefix}"] button [data-testid="stMarkdownContainer"]'
                          for prefix in key_prefixes)
    st.html(f"<style>{selectors} {{ position: absolute; width: 1px; height: 1px; overflow: hidden; "
            "clip-path: inset(50%); white-space: nowrap; }}</style>")
