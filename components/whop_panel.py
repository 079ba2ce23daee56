"""Settings → Whop: connect a Whop company (its API key is stored encrypted and never shown again),
sync its members, courses and completions with a progress bar, see the lesson mapping, disconnect."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chronos_data import videos, whop
from chronos_data.errors import ChronosError
from chronos_data.whop import webhooks
from components import layout, state

__all__ = ["render_whop"]

_FLASH = "settings_whop_flash"
_CONFIRM = "settings_whop_confirm_disconnect"


def render_whop() -> None:
    """The Whop section of Settings."""
    st.subheader("Whop")
    if flash := st.session_state.pop(_FLASH, None):
        kind, text = flash
        (st.success if kind == "success" else st.warning)(layout.inert(text), icon=":material/sync:")
    with state.workspace() as t:
        connection = whop.status(t)
        lessons = whop.list_lessons(t) if connection is not None else []
        library = {v.id: v.title for v in videos.list_videos(t)} if lessons else {}
    if connection is None:
        _render_connect()
    else:
        _render_connection(connection)
        _render_mapping(lessons)
        if lessons and state.can_edit():
            _render_mapping_edit(lessons, library)


def _render_connect() -> None:
    st.caption("Connect your Whop company to bring its members in as students (active or cancelled), map its "
               "course lessons to your videos, and count the lesson completions Whop reports. Use a company API "
               "key from Whop's developer settings; it is stored encrypted and never shown again.")
    if not state.can_edit():
        return
    with st.form("settings_whop_connect", clear_on_submit=True, border=False):
        key = st.text_input("Company API key", type="password", key="settings_whop_key")
        company = st.text_input("Company id", placeholder="biz_…", key="settings_whop_company")
        if st.form_submit_button("Connect", icon=":material/link:", key="settings_whop_connect_submit"):
            try:
                with state.workspace() as t:
                    found = whop.connect(t, key, company, settings=state.get_settings())
            except ChronosError as exc:
                st.error(layout.inert(str(exc)), icon=":material/error:")
            else:
                st.session_state[_FLASH] = ("success", f"Connected to Whop company {found.company_id}. "
                                                       "Sync to bring its members and courses in.")
                st.rerun()


def _render_connection(connection: whop.WhopConnection) -> None:
    name = f"{connection.company_title} ({connection.company_id})" if connection.company_title else connection.company_id
    synced = f"last synced {connection.last_synced_at:%Y-%m-%d %H:%M}" if connection.last_synced_at else "not synced yet"
    st.markdown(f"Connected to **{layout.inert(name)}** · since {connection.connected_at:%Y-%m-%d} · {synced}")
    if connection.last_summary:
        st.caption(layout.inert(f"Last sync: {connection.last_summary.get('text', '')}"))
    if connection.last_error:
        st.warning(layout.inert(f"The last sync stopped early: {connection.last_error} The next sync resumes there."),
                   icon=":material/sync_problem:")
    if not state.can_edit():
        return
    left, right = st.columns([1, 1])
    if left.button("Resume sync" if connection.resumable else "Sync now", key="settings_whop_sync",
                   icon=":material/sync:"):
        _sync()
    if right.button("Disconnect", key="settings_whop_disconnect", icon=":material/link_off:"):
        st.session_state[_CONFIRM] = True
    _render_webhook_secret(connection)
    if st.session_state.get(_CONFIRM):
        st.warning("Disconnect from Whop? The key is forgotten; students, their history and the lesson mapping stay.",
                   icon=":material/link_off:")
        yes, no = st.columns([1, 1])
        if yes.button("Yes, disconnect", key="settings_whop_disconnect_confirm", type="primary"):
            with state.workspace() as t:
                whop.disconnect(t)
            st.session_state.pop(_CONFIRM, None)
            st.session_state[_FLASH] = ("success", "Disconnected from Whop; the key is forgotten.")
            st.rerun()
        if no.button("Cancel", key="settings_whop_disconnect_cancel"):
            st.session_state.pop(_CONFIRM, None)
            st.rerun()


def _render_webhook_secret(connection: whop.WhopConnection) -> None:
    ready = "set: Whop's deliveries are checked with it" if connection.webhook_ready else "not set yet"
    with st.expander(f"Webhook signing secret ({ready})"):
        st.caption("For live updates (a cancellation, a completed lesson) without waiting for the next sync, run "
                   "the collector (`python -m chronos_data serve`), add a webhook with this address in Whop's "
                   "developer settings and paste the signing secret (ws_…) Whop shows for it. It is stored "
                   "encrypted and never shown again.")
        with state.workspace() as t:
            workspace = t.creator_id
        st.code(f"{state.get_settings().collector_url}/v1/webhooks/whop/{workspace}", language=None)
        with st.form("settings_whop_webhook", clear_on_submit=True, border=False):
            secret = st.text_input("Webhook signing secret", type="password", key="settings_whop_webhook_secret")
            if st.form_submit_button("Save secret", key="settings_whop_webhook_submit"):
                try:
                    with state.workspace() as t:
                        webhooks.set_webhook_secret(t, secret, settings=state.get_settings())
                except ChronosError as exc:
                    st.error(layout.inert(str(exc)), icon=":material/error:")
                else:
                    st.session_state[_FLASH] = ("success", "Webhook secret saved.")
                    st.rerun()


def _sync() -> None:
    steps = whop.sync_steps()
    bar = st.progress(0.0, text="Starting the sync…")

    def show(progress: whop.SyncProgress) -> None:
        bar.progress(progress.fraction, text=f"Step {progress.step_number} of {len(steps)}: {progress.text}")

    try:
        with state.workspace() as t:
            summary = whop.sync(t, show, settings=state.get_settings())
    except ChronosError as exc:
        bar.empty()
        st.error(layout.inert(str(exc)), icon=":material/error:")
        return
    st.session_state[_FLASH] = ("success" if summary.complete else "warning", summary.text)
    st.rerun()


def _render_mapping(lessons: list[whop.LessonMapping]) -> None:
    if not lessons:
        return
    st.markdown("**Course mapping**: each Whop lesson next to the library video it plays")
    table = pd.DataFrame([{
        "Whop course": m.course_title or m.whop_course_id,
        "Chapter": m.chapter_title or "",
        "Whop lesson": m.title or m.whop_lesson_id,
        "Plays": m.source or m.lesson_type,
        "Chronos video": (m.video_title if m.video_id else ("unmatched: import it to the library" if m.source
                                                            else "no video"))
                         + (" (chosen by hand)" if m.chosen else ""),
    } for m in lessons])
    st.dataframe(table, hide_index=True, width="stretch")
    unmatched = [m for m in lessons if m.video_id is None and m.source]
    if unmatched:
        st.caption(layout.inert(f"{layout.plural(len(unmatched), 'video lesson')} have no match in the library: "
                                + "; ".join(f"{m.title} ({m.source})" for m in unmatched)
                                + ". Import them on the Videos page (paste the link) and sync again."))


def _render_mapping_edit(lessons: list[whop.LessonMapping], library: dict) -> None:
    """Match a lesson by hand (kept by the next syncs), or import the unmatched YouTube lessons."""
    unmatched = [m for m in lessons if m.video_id is None and m.source and not m.chosen]
    if unmatched and st.button(f"Import {layout.plural(len(unmatched), 'unmatched lesson')}",
                               key="settings_whop_import", icon=":material/download:"):
        with state.workspace() as t:
            result = whop.import_unmatched_lessons(t)
        parts = [f"{layout.plural(len(result.queued), 'lesson')} queued for import and matched"]
        if result.needs_subtitles:
            parts.append("import these with their subtitle file on the Videos page: " + "; ".join(result.needs_subtitles))
        if result.failed:
            parts.append("not imported: " + "; ".join(result.failed))
        st.session_state[_FLASH] = ("success" if not result.failed else "warning", ". ".join(parts) + ".")
        st.rerun()
    with st.expander("Change a match"):
        by_id = {m.whop_lesson_id: m for m in lessons}
        with st.form("settings_whop_match", border=False):
            lesson = st.selectbox("Whop lesson", list(by_id), key="settings_whop_match_lesson",
                                  format_func=lambda i: f"{by_id[i].course_title or ''} › {by_id[i].title or i}")
            video = st.selectbox("Library video", [None, *library], key="settings_whop_match_video",
                                 format_func=lambda v: "no video" if v is None else library[v])
            if st.form_submit_button("Save match", key="settings_whop_match_save"):
                try:
                    with state.workspace() as t:
                        whop.set_lesson_video(t, lesson, video)
                except ChronosError as exc:
                    st.error(layout.inert(str(exc)), icon=":material/error:")
                else:
                    st.session_state[_FLASH] = ("success", f"Matched: {by_id[lesson].title} → "
                                                           f"{library[video] if video else 'no video'}. "
                                                           "Syncs keep this choice.")
                    st.rerun()
