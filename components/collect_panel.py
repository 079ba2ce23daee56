"""Settings → Collect viewing: write keys for the event collector, and the snippet a site pastes."""

from __future__ import annotations

import json

import streamlit as st

from chronos_data.collector import keys
from chronos_data.errors import ChronosError
from components import layout, state

__all__ = ["render_collect_panel", "snippet_html"]

_NEW_KEY = "collect_new_key"
_FLASH = "collect_flash"
_CONFIRM = "collect_confirm_revoke"
_PLACEHOLDER_KEY = "chr_live_…"


def snippet_html(collector_url: str, key: str, video: str = "Lesson 1") -> str:
    """What a site pastes into the page that plays a lesson (an HTML5 video; YouTube in the README)."""
    return (
        f'<script src="{collector_url}/v1/collector.js" data-key="{key}"\n'
        '        data-student="STUDENT@EXAMPLE.COM"></script>\n'
        f'<video src="lesson-1.mp4" controls data-chronos-video={json.dumps(video)}></video>\n'
        "<!-- A YouTube IFrame player: Chronos.trackYouTube(player, {video: \"YOUTUBE_ID\"}).\n"
        "     The student known after sign-in: Chronos.identify(\"student@example.com\"). -->"
    )


def render_collect_panel() -> None:
    """Keys to create, list and revoke (the owner only), and the snippet with the collector's address."""
    st.subheader("Collect viewing")
    collector_url = state.get_settings().collector_url
    st.caption(
        "Students who watch on your own site, a Whop app or another player can send what they watched to "
        f"Chronos: run `python -m chronos_data serve` beside the app (it listens at {collector_url}; set "
        "CHRONOS_COLLECTOR_URL to the address students reach), create a write key here and paste the snippet "
        "into the page that plays your lessons. Viewing shows on Analytics after the next rollup."
    )
    if flash := st.session_state.pop(_FLASH, None):
        st.success(flash, icon=":material/check_circle:")
    created = st.session_state.pop(_NEW_KEY, None)
    if created:
        st.warning("Copy this key now: Chronos keeps only its fingerprint and cannot show it again.",
                   icon=":material/key:")
        st.code(created, language=None)
    with state.workspace() as t:
        current = keys.list_keys(t)
    if not current:
        st.caption("No write keys yet. Create one for each site or player, so one can be revoked without the others.")
    for key in current:
        _key_row(key)
    st.markdown("**Snippet**")
    st.code(snippet_html(collector_url, created or _PLACEHOLDER_KEY), language="html")
    if state.can_edit():
        _create_form()


def _key_row(key: keys.WriteKey) -> None:
    left, right = st.columns([4, 1], vertical_alignment="center")
    origins = ", ".join(key.origins) if key.origins else "servers only (no web origin)"
    used = f"last used {key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "not used yet"
    left.markdown(f"**{layout.inert(key.name)}** · `{key.key_prefix}…` · {layout.inert(origins)} · {used}")
    if not state.can_edit():
        return
    if st.session_state.get(_CONFIRM) == str(key.id):
        left.warning(f"Revoke {layout.inert(key.name)}? Every page and server using it stops sending at once; "
                     "a new key means pasting a new snippet.", icon=":material/warning:")
        yes, no = left.columns(2)
        if yes.button("Revoke it", key=f"collect_revoke_yes_{key.id}", type="primary"):
            with state.workspace() as t:
                keys.revoke_key(t, key.name)
            st.session_state.pop(_CONFIRM, None)
            st.session_state[_FLASH] = f"Key revoked: {key.name} can no longer send events."
            st.rerun()
        if no.button("Keep it", key=f"collect_revoke_no_{key.id}"):
            st.session_state.pop(_CONFIRM, None)
            st.rerun()
    elif right.button("Revoke", key=f"collect_revoke_{key.id}", icon=":material/key_off:"):
        st.session_state[_CONFIRM] = str(key.id)
        st.rerun()


def _create_form() -> None:
    with st.form("collect_create", clear_on_submit=False, border=False):
        name = st.text_input("Key name", key="collect_name", placeholder="School site", max_chars=100,
                             help="Where the key is used, so you can tell keys apart and revoke one.")
        origins = st.text_area(
            "Web origins allowed to send with it (one per line)", key="collect_origins", placeholder="https://school.example.com",
            help="The address of each site whose pages send viewing, scheme and host only. Leave empty for a "
                 "key that only a server uses.", height=80)
        if st.form_submit_button("Create key", key="collect_create_submit", icon=":material/key:"):
            try:
                with state.workspace() as t:
                    created = keys.create_key(t, name, [line for line in origins.splitlines() if line.strip()])
            except ChronosError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.session_state[_NEW_KEY] = created.key
                st.session_state[_FLASH] = f"Key created: {created.write_key.name}."
                st.rerun()
