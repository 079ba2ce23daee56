"""Assistant: questions answered from the creator's own transcripts, cited to the second."""

import hashlib
import uuid

import streamlit as st

from chronos_data import chat, page_data, videos
from chronos_data.errors import ChronosError
from chronos_data.rag import OFFLINE_MODEL, Citation, QuestionNotAnswered, Scope, model_label
from components import layout, state
from components.assistant_view import linked_answer, render_moment_player, render_sources

state.require_router()

_SESSION = "assistant_session"  # the open conversation (None: a new one)
_PLAY = "assistant_play"  # (message id, video id, second): the player open under that answer
_RESTORE = "assistant_restore_scope"  # a conversation was just opened: its scope goes into the control
_SCOPES = ("All videos", "One course", "Chosen videos")


def _open(session_id: uuid.UUID | None) -> None:
    st.session_state[_SESSION] = session_id
    st.session_state.pop(_PLAY, None)
    if session_id is not None:
        st.session_state[_RESTORE] = True
    else:  # a new conversation searches where the control is
        st.session_state.pop(_RESTORE, None)


def _play(message_id: uuid.UUID, citation: Citation) -> None:
    st.session_state[_PLAY] = (message_id, citation.video_id, citation.start_seconds)


def _history(sessions: list[chat.ChatSession], students: list[chat.ChatSession]) -> None:
    if st.button("New conversation", icon=":material/add_comment:", key="assistant_new", width="stretch"):
        _open(None)
        st.rerun()
    whose = st.segmented_control("Conversations", ["Mine", "Students"], default="Mine", key="assistant_whose",
                                 label_visibility="collapsed") or "Mine"
    shown = sessions if whose == "Mine" else students
    if not shown:
        st.caption("No conversations yet." if whose == "Mine" else
                   "Your students' conversations with the assistant appear here (read-only).")
    current = st.session_state.get(_SESSION)
    with st.container(height=420 if len(shown) > 8 else "content", border=False):
        for session in shown:
            label = layout.inert(session.title) if session.title else "Untitled conversation"
            if session.student_email:
                label = f"{layout.inert(session.student_email)}: {label}"
            if st.button(label, key=f"assistant_open_{session.id}", width="stretch",
                         type="primary" if session.id == current else "secondary",
                         help=f"{layout.plural(session.message_count, 'message')} · last active "
                              f"{(session.last_message_at or session.created_at):%d %b %Y %H:%M}"):
                _open(session.id)
                st.rerun()
    _trash()


def _trash() -> None:
    with state.workspace() as t:
        deleted = chat.list_sessions(t, trash=True)
    if not deleted:
        return
    with st.expander(f"Trash ({len(deleted)})", icon=":material/delete:"):
        for session in deleted:
            left, right = st.columns([3, 2], vertical_alignment="center")
            left.caption(layout.inert(session.title) if session.title else "Untitled conversation")
            if state.can_edit() and right.button("Restore", key=f"assistant_restore_{session.id}"):
                _restore(session.id)


def _session_actions(session: chat.ChatSession) -> None:
    if session.read_only:
        st.info(f"A conversation of your student {session.student_email}: you can read it, not ask in it.",
                icon=":material/visibility:")
        return
    if not state.can_edit():  # an analyst teammate reads conversations, changes none
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        with st.popover("Rename", icon=":material/edit:"):
            with st.form(f"assistant_rename_{session.id}", border=False):
                # Keyed by the stored title too: a keyed box keeps what it showed, so a rename made in
                # another tab would otherwise leave the old title in it (and Save would bring it back).
                stored = hashlib.sha256((session.title or "").encode()).hexdigest()[:12]
                title = st.text_input("Title", value=session.title or "", key=f"assistant_title_{session.id}_{stored}")
                if st.form_submit_button("Save"):
                    try:
                        with state.workspace() as t:
                            chat.rename_session(t, session.id, title)
                        st.rerun()
                    except ChronosError as exc:
                        st.error(str(exc))
        with st.popover("Delete", icon=":material/delete:"):
            st.markdown("Move this conversation to the trash? You can restore it from there.")
            if st.button("Move to trash", key=f"assistant_delete_{session.id}", type="primary"):
                with state.workspace() as t:
                    chat.delete_session(t, session.id)
                _open(None)
                st.session_state["assistant_flash"] = "Conversation moved to the trash (restore it below the list)."
                st.rerun()


def _trashed_notice(session: chat.ChatSession) -> None:
    then = ("restore it to continue, or start a new conversation." if state.can_edit()
            else "the workspace's owner can restore it.")
    st.warning(f"This conversation is in the trash: {then}", icon=":material/delete:")
    if state.can_edit() and st.button("Restore", key=f"assistant_reopen_{session.id}",
                                      icon=":material/restore_from_trash:"):
        _restore(session.id)


def _restore(session_id: uuid.UUID) -> None:
    """Bring a conversation back from the trash and open it."""
    with state.workspace() as t:
        chat.restore_session(t, session_id)
    _open(session_id)
    st.rerun()


def _scope(course_list, library, trashed_courses, trashed_videos) -> Scope | None:
    """Where the next question searches; None when it cannot be asked (the chosen course went to the
    trash meanwhile, or every chosen video, or no video is chosen yet: a warning or caption says so, and
    the chat box is disabled rather than the search widened)."""
    # No default=: a reopened conversation sets the value through the session state (_restore_scope).
    st.session_state.setdefault("assistant_scope", "All videos")
    choice = st.segmented_control("Search in", list(_SCOPES), key="assistant_scope") or "All videos"
    if choice == "One course":
        titles = {c.id: c.title for c in course_list}
        # The course chosen before (in this tab, or the reopened conversation's) stays chosen when it
        # leaves the list, so the selectbox never silently falls to another course.
        chosen = st.session_state.get("assistant_scope_course")
        gone = chosen if chosen is not None and chosen not in titles else None
        if not titles and gone is None:
            st.caption("No courses yet: the assistant searches all videos.")
            return Scope()
        names = {**titles}
        if gone is not None:
            trashed = {c.id: c.title for c in trashed_courses}
            names[gone] = f"{trashed[gone]} (in the trash)" if gone in trashed else "A deleted course"
        course_id = st.selectbox("Course", list(names), format_func=names.get, key="assistant_scope_course")
        if course_id == gone:
            what = (f"The course “{layout.inert(trashed[gone])}” was moved to the trash" if gone in trashed
                    else "The course chosen here is no longer in this workspace")
            restore = ", or restore it on the Courses page" if state.can_edit() else ""
            st.warning(f"{what}, so there is nothing to search: choose another course or search all videos"
                       f"{restore}.", icon=":material/warning:")
            return None
        return Scope(course_id=course_id)
    if choice == "Chosen videos":
        titles = {v.id: v.title for v in library}
        # Chosen videos that left the library meanwhile stay in the choice, marked, so the search is
        # never widened to every video behind the user's back.
        trashed = {v.id: v.title for v in trashed_videos}
        gone = [v for v in st.session_state.get("assistant_scope_videos") or [] if v not in titles]
        names = {**titles, **{v: f"{trashed[v]} (in the trash)" if v in trashed else "A video no longer searchable"
                              for v in gone}}
        chosen = st.multiselect("Videos", list(names), format_func=names.get, key="assistant_scope_videos",
                                placeholder="Choose the videos to search")
        remaining = [v for v in chosen if v in titles]
        missing = [v for v in chosen if v not in titles]
        if missing:
            what = ", ".join(f"“{layout.inert(trashed[v])}”" for v in missing if v in trashed)
            what = (f"{what} {'was' if len(missing) == 1 else 'were'} moved to the trash" if what
                    else f"{layout.plural(len(missing), 'chosen video')} can no longer be searched")
            if not remaining:
                st.warning(f"{what}, so no chosen video is left to search: choose "
                           "others, or search all videos.", icon=":material/warning:")
                return None
            st.warning(f"{what}: only the other "
                       f"{layout.plural(len(remaining), 'chosen video')} {'is' if len(remaining) == 1 else 'are'} "
                       "searched.", icon=":material/warning:")
        if not chosen:
            # Searching every video here would answer from videos the user meant to leave out.
            st.caption("Choose at least one video to search, or pick “All videos”.")
            return None
        return Scope(video_ids=tuple(remaining))
    return Scope()


def _restore_scope(session: chat.ChatSession) -> None:
    """Set the scope control to what ``session`` searches (before the control is drawn)."""
    # A course or videos gone since are shown as gone (_scope), never replaced by all videos.
    if session.context_course_id is not None:
        st.session_state["assistant_scope"] = "One course"
        st.session_state["assistant_scope_course"] = session.context_course_id
    elif session.context_video_ids:
        st.session_state["assistant_scope"] = "Chosen videos"
        st.session_state["assistant_scope_videos"] = list(session.context_video_ids)
    else:
        st.session_state["assistant_scope"] = "All videos"


def _scope_caption(session: chat.ChatSession, course_list, library, trashed_courses, trashed_videos) -> str:
    """What a conversation searches, in words (titles made inert); a course or video in the trash is
    named and marked, as the warning under "Search in" names it."""
    if session.context_course_id is not None:
        title = {c.id: c.title for c in course_list}.get(session.context_course_id)
        trashed = {c.id: c.title for c in trashed_courses}.get(session.context_course_id)
        return (f"Searches the course “{layout.inert(title)}”" if title is not None
                else f"Searches the course “{layout.inert(trashed)}” (in the trash)" if trashed is not None
                else "Searched a course that is no longer in this workspace")
    if session.context_video_ids:
        titles = {v.id: v.title for v in library}
        trashed = {v.id: v.title for v in trashed_videos}
        names = [f"“{layout.inert(titles[v])}”" if v in titles else f"“{layout.inert(trashed[v])}” (in the trash)"
                 for v in session.context_video_ids if v in titles or v in trashed]
        gone = len(session.context_video_ids) - len(names)
        return (f"Searches {layout.plural(len(session.context_video_ids), 'chosen video')}: " + ", ".join(names)
                + (f" ({gone} no longer searchable)" if gone else ""))
    return "Searches all your videos"


def _message(message: chat.ChatMessage, *, read_only: bool) -> None:
    with st.chat_message(message.role):
        if message.role == "user":
            st.markdown(layout.inert(message.content))
            return
        citations = [Citation.from_json(ref) for ref in message.video_references]
        st.markdown(linked_answer(message.content, citations, quoted=message.model == OFFLINE_MODEL))
        if message.metadata.get("notice"):
            st.caption(f":orange[{layout.inert(message.metadata['notice'])}]")
        render_sources(citations, key=f"assistant_src_{message.id}",
                       on_play=lambda citation, message_id=message.id: _play(message_id, citation))
        _player(message.id)
        _footer(message, read_only=read_only)


def _footer(message: chat.ChatMessage, *, read_only: bool) -> None:
    facts = [model_label(message.model), f"{message.latency_ms / 1000:.1f} s" if message.latency_ms else ""]
    if message.token_count:
        facts.append(f"{message.token_count:,} tokens")
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.caption(" · ".join(f for f in facts if f))
    if read_only or not state.can_edit():
        return
    key = f"assistant_feedback_{message.id}"
    # Drawn from what is stored (another tab may have rated it); written only when clicked here.
    st.session_state[key] = None if message.feedback is None else (1 if message.feedback > 0 else 0)
    with right:
        st.feedback("thumbs", key=key, on_change=_rate, args=(message.id, key))


def _rate(message_id: uuid.UUID, key: str) -> None:
    value = st.session_state.get(key)
    try:
        with state.workspace() as t:
            chat.set_feedback(t, message_id, None if value is None else (1 if value == 1 else -1))
    except ChronosError as exc:
        st.toast(str(exc), icon=":material/error:")


def _ask(question: str, session_id: uuid.UUID | None, scope: Scope) -> None:
    with st.chat_message("user"):
        st.markdown(layout.inert(question))
    run = None
    with st.chat_message("assistant"):
        try:
            with st.spinner("Searching your transcripts…"):
                run = state.get_assistant().start(state.current_creator_id(state.get_database()), question,
                                                  session_id=session_id, scope=scope)
            st.session_state[_SESSION] = run.session_id
            st.write_stream(run)  # a written answer streams; an offline one arrives whole
        except QuestionNotAnswered as exc:  # the question is kept: the conversation shows it next time
            st.session_state[_SESSION] = exc.session_id
            st.error(str(exc), icon=":material/error:")
            return
        except ChronosError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        finally:
            # A click elsewhere stops this run at its next Streamlit call (once the transcripts are
            # searched, or while the answer streams): the question is stored, so its answer is read
            # and stored all the same.
            if run is not None:
                run.read_to_end()
    st.rerun()  # show it as stored: linked citations, sources, feedback


def _player(message_id: uuid.UUID) -> None:
    playing = st.session_state.get(_PLAY)
    if not playing or playing[0] != message_id:
        return
    _, video_id, second = playing
    with state.workspace() as t:
        try:
            video = videos.get_video(t, video_id)
        except ChronosError:
            st.session_state.pop(_PLAY, None)
            return
    with st.container(border=True):
        render_moment_player(video, second)  # another workspace's file (a restored backup's) plays nothing
        st.button("Close player", key="assistant_close_player", icon=":material/close:",
                  on_click=lambda: st.session_state.pop(_PLAY, None))


def _chat_tab(sessions, students, course_list, library, trashed_courses, trashed_videos) -> None:
    side, main = st.columns([1, 3])
    with side:
        _history(sessions, students)
    with main:
        if flash := st.session_state.pop("assistant_flash", None):
            st.toast(flash, icon=":material/delete:")
        session_id = st.session_state.get(_SESSION)
        session, messages = None, []
        if session_id is not None:
            try:
                with state.workspace() as t:
                    session = chat.get_session(t, session_id)
                    messages = chat.list_messages(t, session_id)
            except ChronosError:
                _open(None)
                session_id = None
        # Trashed in another tab (this tab's delete opens a new conversation): shown, never asked in,
        # so a follow-up typed here is not stored in a new conversation the user did not start.
        trashed = session is not None and session.deleted_at is not None
        if session is not None:
            # "Search in" shows the conversation's scope when it is opened, and again after a run that did
            # not draw it (the trash notice showed, or another page was open): Streamlit then dropped its
            # state, and the control would fall to all videos and widen the conversation's next question.
            reopened = st.session_state.pop(_RESTORE, False) or "assistant_scope" not in st.session_state
            if reopened and not session.read_only and not trashed:
                _restore_scope(session)
            st.subheader(layout.inert(session.title) if session.title else "Untitled conversation")
            st.caption(_scope_caption(session, course_list, library, trashed_courses, trashed_videos),
                       help="Questions asked in this conversation search these videos; change it with “Search in” "
                            "below.")
            if trashed:
                _trashed_notice(session)
            else:
                _session_actions(session)
        if trashed:
            for message in messages:
                _message(message, read_only=True)
            return
        scope = Scope() if (session and session.read_only) else _scope(course_list, library, trashed_courses, trashed_videos)
        if not messages:
            st.caption("Ask anything your videos explain. Each answer cites the video and the second it comes "
                       "from; follow-up questions keep the conversation's context.")
        for message in messages:
            _message(message, read_only=bool(session and session.read_only))
        if session is not None and session.read_only:
            return
        if not state.can_edit():
            layout.render_read_only_note("asking the assistant (each question is saved in this workspace)")
            return
        question = st.chat_input("Ask a question about your videos", key="assistant_question",
                                 max_chars=chat.MAX_QUESTION_CHARS, disabled=scope is None)
        if question and scope is not None:
            _ask(question, session_id, scope)


def _log_tab() -> None:
    with state.workspace() as t:
        log = page_data.question_log(t)
    if not log.questions:
        st.caption("Every question asked in this workspace, yours and your students', appears here with its "
                   "sources, feedback and cost.")
        return
    table = log.table
    shown = (f"The latest {log.questions:,} of {layout.plural(log.total, 'question')}"
             if log.total is not None and log.total > log.questions else layout.plural(log.questions, "question"))
    # Over the latest only: say so, or the two counts read as the whole workspace's.
    of, them = (" of them", " for them") if log.total is not None and log.total > log.questions else ("", "")
    st.caption(f"{shown} · {log.not_found:,}{of} not found in your videos · {log.tokens:,} model tokens{them}")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"Asked": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm")})
    st.download_button("Download CSV", log.csv, "chronos-questions.csv", "text/csv",
                       icon=":material/download:", key="assistant_log_csv")


st.title("Assistant")

with state.workspace() as t:
    page = page_data.assistant_page(t)
has_transcripts, sessions, students = page.has_transcripts, page.sessions, page.student_sessions
course_list, library = page.courses, page.videos

if state.get_assistant().chat_model is None:
    st.caption(":material/cloud_off: **Offline mode**: answers are quoted from your videos, word for word. Set "
               "`OPENAI_API_KEY` (or an OpenAI-compatible `OPENAI_BASE_URL`) for written answers.")
else:
    st.caption(f":material/auto_awesome: Answers written by **{state.get_assistant().chat_model.model}** from "
               "your transcripts only, with citations.")

if not has_transcripts and not sessions and not students:
    layout.render_empty_state(
        "Nothing to search yet",
        "The assistant answers only from your own transcripts and links each answer to the video "
        "and the second it comes from. Add a video with a transcript to start asking.",
        next_page="pages/videos.py",
        next_label="Add your first video",
        icon=":material/video_library:",
    )
else:
    chat_tab, log_tab = st.tabs(["Chat", "Question log"])
    with chat_tab:
        _chat_tab(sessions, students, course_list, library, page.trashed_courses, page.trashed_videos)
    with log_tab:
        _log_tab()
