"""Sign-in with the configured OpenID Connect provider, and the signed-in person's workspace menu."""

from __future__ import annotations

import streamlit as st

from chronos_data.access import Membership
from components import layout, state

__all__ = ["render_sign_in_screen", "render_workspace_menu"]


def render_sign_in_screen() -> None:
    """The only thing a visitor sees before signing in."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle, st.container(border=True):
        st.title("Chronos")
        st.markdown("Sign in to open your workspace: your videos, courses, assistant and analytics. "
                    "Your first sign-in creates your workspace.")
        st.button("Sign in", key="sign_in", type="primary", icon=":material/login:", on_click=st.login,
                  use_container_width=True)
        st.caption("Teammates a creator added as analysts see that creator's workspace read-only.")


def render_workspace_menu(workspaces: list[Membership], current: Membership | None) -> None:
    """Sidebar: who is signed in, which workspace is open (a choice when there are several), sign out.

    ``current`` is None while the person looks at the demo workspace.
    """
    with st.sidebar:
        st.caption("Signed in as")
        st.markdown(layout.email_html(str(st.user.get("email", ""))), unsafe_allow_html=True)
        if current is not None and len(workspaces) > 1:
            labels = {w.creator_id: _label(w) for w in workspaces}
            chosen = st.selectbox("Workspace", list(labels), index=list(labels).index(current.creator_id),
                                  format_func=labels.__getitem__, key="workspace_choice")
            if chosen != current.creator_id:
                state.choose_workspace(chosen)
                st.rerun()
        if current is not None and current.read_only:
            st.info(f"Read-only: you are an analyst in {layout.inert(current.email)}'s workspace.",
                    icon=":material/visibility:")
        st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)


def _label(workspace: Membership) -> str:
    return "My workspace" if workspace.role == "owner" else f"{workspace.email} (analyst)"
