"""Settings → Teammates: the owner gives people read-only analyst access, and takes it away (with undo)."""

from __future__ import annotations

import streamlit as st

from chronos_data import access
from chronos_data.errors import ChronosError
from components import layout, state

__all__ = ["render_teammates"]

_FLASH = "teammates_flash"


def render_teammates() -> None:
    """The Teammates section of Settings (only with sign-in configured; only the owner may change it)."""
    st.subheader("Teammates")
    if not state.sign_in_required():
        st.caption("Teammates need sign-in: configure an OpenID Connect provider in `[auth]` of "
                   ".streamlit/secrets.toml (see the README's Sign-in section).")
        return
    if flash := st.session_state.pop(_FLASH, None):
        st.success(flash, icon=":material/check_circle:")
    with state.workspace() as t:
        mates = access.list_teammates(t, include_removed=True)
    current = [m for m in mates if m.removed_at is None]
    removed = [m for m in mates if m.removed_at is not None]
    if not current:
        st.caption("Nobody else can open this workspace. Add a teammate's e-mail address to give them read-only "
                   "access to its videos, courses and analytics.")
    for mate in current:
        left, right = st.columns([4, 1], vertical_alignment="center")
        seen = f"last seen {mate.last_seen_at:%Y-%m-%d %H:%M}" if mate.last_seen_at else "not signed in yet"
        left.markdown(f"{layout.email_html(mate.email)} · analyst (read-only) · {seen}", unsafe_allow_html=True)
        if state.can_edit() and right.button("Remove", key=f"teammate_remove_{mate.id}", icon=":material/person_remove:"):
            _change(access.remove_teammate, mate, "Teammate removed: they can no longer open this workspace (undo below).")
    if not state.can_edit():
        return
    with st.form("teammate_add", clear_on_submit=True, border=False):
        email = st.text_input("Teammate's e-mail address", placeholder="analyst@example.com")
        if st.form_submit_button("Add as analyst", icon=":material/person_add:"):
            try:
                with state.workspace() as t:
                    access.add_teammate(t, email)
            except ChronosError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.session_state[_FLASH] = "Teammate added: they can open this workspace read-only after signing in."
                st.rerun()
    for mate in removed:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(f"Removed: {layout.email_html(mate.email)}", unsafe_allow_html=True)
        if right.button("Undo", key=f"teammate_restore_{mate.id}", icon=":material/undo:"):
            _change(access.restore_teammate, mate, "Teammate restored: they have read-only access again.")


def _change(action, mate: access.Teammate, message: str) -> None:
    with state.workspace() as t:
        action(t, mate.id)
    st.session_state[_FLASH] = message
    st.rerun()
