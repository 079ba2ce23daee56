"""The Assistant page through AppTest: a chat exchange, its citations, history and the question log."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import chat, courses, creators, students
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from tests.app.shown import shown
from tests.rag_eval_set import LECTURES, to_srt

APP = str(Path(__file__).resolve().parents[2] / "app.py")
LOOM_ID = "0123456789abcdef0123456789abcdef"
TUPLES = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")


@pytest.fixture
def workspace(app_env, monkeypatch, db):
    email = f"assistant-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        video_id = pipeline.add_subtitled_video(
            t, source_type="loom", source=f"https://www.loom.com/share/{LOOM_ID}", subtitle_bytes=to_srt(TUPLES),
            subtitle_filename="tuples.srt", title=TUPLES.title)
    run_until_done(db, creator, LocalEmbedder(), [video_id])
    return creator


def _assistant() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    return at.switch_page("pages/assistant.py").run()


def _markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def test_a_question_gets_a_quoted_answer_linked_to_the_second(workspace, db):
    at = _assistant()
    assert not at.exception and "Offline mode" in "\n".join(c.value for c in at.caption)
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    assert not at.exception and not at.error

    text = _markdown(at)
    second = TUPLES.captions.index("Because they cannot change, tuples can be used as dictionary keys.") * 5
    assert "Because they cannot change, tuples can be used as dictionary keys" in text
    assert f"](https://www.loom.com/share/{LOOM_ID}?t={second} " in text  # the [n · mm:ss] link
    assert at.expander[0].label.startswith("Sources (")
    assert at.button(key=f"assistant_open_{_only_session(db, workspace)}")  # listed in the history

    assert any("Quoted from your videos" in c.value for c in at.caption)  # the answer's footer

    at.tabs[1].run()
    log = at.dataframe[0].value
    assert list(log["Question"]) == ["Can a tuple be used as a dictionary key?"]
    assert list(log["Answered"]) == ["yes"] and list(log["Sources"]) == [TUPLES.title]
    assert list(log["Model"]) == ["Quoted from your videos"]  # stored as "extractive", shown by its name


def test_a_follow_up_continues_the_conversation(workspace, db):
    at = _assistant()
    at.chat_input(key="assistant_question").set_value("How do I swap two variables?").run()
    at.chat_input(key="assistant_question").set_value("and can it return several values?").run()
    assert not at.exception
    session_id = _only_session(db, workspace)
    with db.workspace(workspace) as t:
        messages = chat.list_messages(t, session_id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[3].metadata["query"] == "How do I swap two variables? and can it return several values?"


def test_a_students_conversation_is_shown_read_only(workspace, db):
    with db.workspace(workspace) as t:
        student = students.create_student(t, "student@example.com")
        session = chat.create_session(t, "Dictionary keys", student_id=student)
        chat.add_message(t, session, "user", "Why can't a list be a key?")
    at = _assistant()
    at.segmented_control(key="assistant_whose").set_value("Students").run()
    at.button(key=f"assistant_open_{session}").click().run()
    assert not at.exception
    assert any("student@example.com" in i.value and "read it" in i.value for i in at.info)
    assert "Why can't a list be a key?" in shown(_markdown(at))
    assert len(at.chat_input) == 0  # no asking in a student's conversation


def _video_id(db, creator) -> uuid.UUID:
    from chronos_data import videos

    with db.workspace(creator) as t:
        (video,) = videos.list_videos(t)
    return video.id


def _scoped_conversations(db, workspace, course_title: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    """(the video, a course holding it, a conversation searching that course, one searching the video)."""
    video = _video_id(db, workspace)
    with db.workspace(workspace) as t:
        course = courses.create_course(t, course_title)
        courses.add_lessons(t, courses.create_module(t, course, "Tuples"), [video])
        in_course = chat.create_session(t, "Keys in a course", context_course_id=course)
        chosen = chat.create_session(t, "Keys in one video", context_video_ids=[video])
    return video, course, in_course, chosen


def test_reopening_a_conversation_restores_the_scope_it_searches(workspace, db):
    video, course, in_course, chosen = _scoped_conversations(db, workspace, "Python <b>basics</b>")
    with db.workspace(workspace) as t:
        everywhere = chat.create_session(t, "Keys everywhere")
    at = _assistant()
    at.button(key=f"assistant_open_{in_course}").click().run()
    assert not at.exception
    assert at.segmented_control(key="assistant_scope").value == "One course"
    assert at.selectbox(key="assistant_scope_course").value == course
    assert any(shown(c.value) == "Searches the course “Python <b>basics</b>”" for c in at.caption), \
        [c.value for c in at.caption]

    at.button(key=f"assistant_open_{chosen}").click().run()
    assert at.segmented_control(key="assistant_scope").value == "Chosen videos"
    assert at.multiselect(key="assistant_scope_videos").value == [video]
    assert any(shown(c.value) == f"Searches 1 chosen video: “{TUPLES.title}”" for c in at.caption)
    assert not at.warning  # the control's value came through the session state without a clash

    at.button(key=f"assistant_open_{everywhere}").click().run()
    assert at.segmented_control(key="assistant_scope").value == "All videos"
    assert any(c.value == "Searches all your videos" for c in at.caption)


def test_a_question_asked_in_a_scope_is_kept_with_its_conversation(workspace, db):
    video = _video_id(db, workspace)
    at = _assistant()
    at.segmented_control(key="assistant_scope").set_value("Chosen videos").run()
    at.multiselect(key="assistant_scope_videos").set_value([video]).run()
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    assert not at.exception
    with db.workspace(workspace) as t:
        session = chat.get_session(t, _only_session(db, workspace))
    assert session.context_video_ids == [video] and session.context_course_id is None


@pytest.mark.parametrize("question, reason", [
    ("🙂🤔🎉", "no words"), ("?!… 👍", "no words"), ("'; DROP TABLE videos; --", None),
    # The chat box keeps the first 2,000 characters of a paste (its max_chars), as the browser does.
    ("x" * 10_000, None), ("¿Puede una tupla ser una clave de diccionario?", "try asking in English"),
])
def test_any_question_gets_an_answer_or_a_one_line_reason(workspace, db, question, reason):
    at = _assistant()
    at.chat_input(key="assistant_question").set_value(question).run()
    assert not at.exception
    if reason == "no words":
        assert len(at.error) == 1 and reason in at.error[0].value and "\n" not in at.error[0].value
        return
    assert not at.error
    with db.workspace(workspace) as t:
        messages = chat.list_messages(t, _only_session(db, workspace))
    assert [m.role for m in messages] == ["user", "assistant"] and messages[1].content
    assert len(messages[0].content) <= chat.MAX_QUESTION_CHARS
    if reason:
        assert reason in _markdown(at)


def test_an_empty_question_does_nothing(workspace, db):
    at = _assistant()
    at.chat_input(key="assistant_question").set_value("").run()
    assert not at.exception and not at.error
    with db.workspace(workspace) as t:
        assert chat.list_sessions(t, whose="mine") == []


def _only_session(db, creator) -> uuid.UUID:
    with db.workspace(creator) as t:
        (session,) = chat.list_sessions(t, whose="mine")
    return session.id


def test_a_follow_up_in_a_conversation_trashed_in_another_tab_is_refused_and_stores_nothing(workspace, db):
    at = _assistant()
    at.chat_input(key="assistant_question").set_value("How do I swap two variables?").run()
    session_id = _only_session(db, workspace)
    with db.workspace(workspace) as t:  # another tab moves it to the trash
        chat.delete_session(t, session_id)
    at.chat_input(key="assistant_question").set_value("and can it return several values?").run()
    assert not at.exception
    assert any("This conversation is in the trash" in w.value and "restore it to continue" in w.value
               for w in at.warning), [w.value for w in at.warning]
    with db.workspace(workspace) as t:
        assert chat.list_sessions(t, whose="mine") == []  # no new conversation took the question
        assert [m.role for m in chat.list_messages(t, session_id)] == ["user", "assistant"]
    at.button(key=f"assistant_reopen_{session_id}").click().run()  # restore it from the warning
    assert not at.exception and not at.warning
    at.chat_input(key="assistant_question").set_value("and can it return several values?").run()
    with db.workspace(workspace) as t:
        assert len(chat.list_messages(t, session_id)) == 4


def test_a_conversation_restored_in_another_tab_keeps_searching_its_course(workspace, db):
    _, python, session, _ = _scoped_conversations(db, workspace, "Python basics")
    at = _assistant()
    at.button(key=f"assistant_open_{session}").click().run()
    with db.workspace(workspace) as t:  # another tab moves it to the trash, then restores it
        chat.delete_session(t, session)
    at.run()
    assert any("This conversation is in the trash" in w.value for w in at.warning)
    with db.workspace(workspace) as t:
        chat.restore_session(t, session)
    at.run()
    assert not at.exception and not at.warning
    assert at.segmented_control(key="assistant_scope").value == "One course"  # not all videos
    assert at.selectbox(key="assistant_scope_course").value == python
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    with db.workspace(workspace) as t:
        assert chat.get_session(t, session).context_course_id == python  # the follow-up did not widen it


def test_a_conversation_left_for_another_page_keeps_its_scope_when_the_user_comes_back(workspace, db):
    video, python, in_course, chosen = _scoped_conversations(db, workspace, "Python basics")
    at = _assistant()
    for session in (in_course, chosen):
        at.button(key=f"assistant_open_{session}").click().run()
        at.switch_page("pages/courses.py").run()  # a look at another page: the conversation stays open
        at.switch_page("pages/assistant.py").run()
        assert not at.exception
        assert at.segmented_control(key="assistant_scope").value != "All videos"
        at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    with db.workspace(workspace) as t:  # the follow-ups searched where their conversations do
        assert chat.get_session(t, in_course).context_course_id == python
        assert chat.get_session(t, chosen).context_video_ids == [video]


def test_a_chosen_course_trashed_in_another_tab_stops_the_chat_and_says_so(workspace, db):
    video = _video_id(db, workspace)
    with db.workspace(workspace) as t:
        python = courses.create_course(t, "Python <i>basics</i>")
        courses.add_lessons(t, courses.create_module(t, python, "Tuples"), [video])
        other = courses.create_course(t, "Web basics")
    at = _assistant()
    at.segmented_control(key="assistant_scope").set_value("One course").run()
    at.selectbox(key="assistant_scope_course").set_value(python).run()
    with db.workspace(workspace) as t:  # another tab moves the course to the trash
        courses.delete_course(t, python)
    at.run()
    assert not at.exception
    assert at.selectbox(key="assistant_scope_course").value == python  # not silently another course
    assert any("Python <i>basics</i>" in shown(w.value) and "trash" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert at.chat_input(key="assistant_question").disabled  # nothing can be asked (or stored) there
    at.selectbox(key="assistant_scope_course").set_value(other).run()  # choosing another course asks again
    assert not at.warning and not at.chat_input(key="assistant_question").disabled
    with db.workspace(workspace) as t:
        in_trashed = chat.create_session(t, "Keys in the trashed course", context_course_id=python)
    at.run().button(key=f"assistant_open_{in_trashed}").click().run()  # reopened: named, not widened to all videos
    assert at.segmented_control(key="assistant_scope").value == "One course"
    assert any("Python <i>basics</i>" in shown(w.value) for w in at.warning)
    assert at.chat_input(key="assistant_question").disabled


def test_chosen_videos_trashed_in_another_tab_never_widen_the_search(workspace, db):
    from chronos_data import videos
    from tests.conftest import import_lecture

    tuples = _video_id(db, workspace)
    lists = import_lecture(db, workspace, next(lec for lec in LECTURES if lec.title == "Python lists in depth"))
    run_until_done(db, workspace, LocalEmbedder(), [lists])
    at = _assistant()
    at.segmented_control(key="assistant_scope").set_value("Chosen videos").run()
    at.multiselect(key="assistant_scope_videos").set_value([tuples, lists]).run()
    with db.workspace(workspace) as t:  # another tab moves one chosen video to the trash
        videos.soft_delete_video(t, lists)
    at.run()
    assert not at.exception
    assert any("Python lists in depth" in shown(w.value) and "trash" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    with db.workspace(workspace) as t:
        session = chat.get_session(t, _only_session(db, workspace))
    assert session.context_video_ids == [tuples]  # the remaining chosen video, not every video

    with db.workspace(workspace) as t:  # and then the other one
        videos.soft_delete_video(t, tuples)
    at.run()
    assert not at.exception
    assert any(TUPLES.title in shown(w.value) and "trash" in w.value for w in at.warning)
    assert at.chat_input(key="assistant_question").disabled  # nothing chosen is left to search


def _answer_id(db, creator) -> uuid.UUID:
    with db.workspace(creator) as t:
        return chat.list_messages(t, _only_session(db, creator))[-1].id


def test_thumbs_given_in_another_tab_are_kept_and_shown(workspace, db):
    at = _assistant()
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    answer = _answer_id(db, workspace)
    assert at.feedback(key=f"assistant_feedback_{answer}").value is None
    with db.workspace(workspace) as t:  # another tab gives a thumb up
        chat.set_feedback(t, answer, 1)
    at.run()
    assert not at.exception
    with db.workspace(workspace) as t:
        assert chat.list_messages(t, _only_session(db, workspace))[-1].feedback == 1  # not wiped by this tab
    assert at.feedback(key=f"assistant_feedback_{answer}").value == 1  # and shown here
    at.feedback(key=f"assistant_feedback_{answer}").set_value(0).run()  # this tab's thumb down is kept
    with db.workspace(workspace) as t:
        assert chat.list_messages(t, _only_session(db, workspace))[-1].feedback == -1


def test_an_analyst_reads_conversations_without_any_control_to_change_them(workspace, db, monkeypatch):
    from chronos_data.errors import ReadOnlyAccess
    from components import state

    at = _assistant()
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    session, answer = _only_session(db, workspace), _answer_id(db, workspace)
    with db.workspace(workspace) as t:
        trashed = chat.create_session(t, "Old keys question")
        chat.delete_session(t, trashed)
    monkeypatch.setattr(state, "can_edit", lambda: False)  # pages then run as the read-only role
    at.run()
    assert not at.exception
    assert not at.feedback and not at.get("popover")  # no thumbs, no rename, no delete
    assert not [b for b in at.button if b.key and b.key.startswith(("assistant_restore_", "assistant_delete_"))]
    assert any("Old keys question" in c.value for c in at.caption)  # the trash is listed, read-only
    with pytest.raises(ReadOnlyAccess), db.workspace(workspace, read_only=True) as t:
        chat.set_feedback(t, answer, 1)
    with pytest.raises(ReadOnlyAccess), db.workspace(workspace, read_only=True) as t:
        chat.rename_session(t, session, "Renamed by an analyst")


def test_the_rename_box_shows_the_title_renamed_in_another_tab(workspace, db):
    at = _assistant()
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    session = _only_session(db, workspace)
    (box,) = [b for b in at.text_input if b.label == "Title"]
    assert box.value == "Can a tuple be used as a dictionary key?"
    with db.workspace(workspace) as t:  # another tab renames it
        chat.rename_session(t, session, "Tuples as keys")
    at.run()
    assert not at.exception
    assert [b.value for b in at.text_input if b.label == "Title"] == ["Tuples as keys"]
    (box,) = [b for b in at.text_input if b.label == "Title"]
    box.set_value("Tuples as dictionary keys")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    with db.workspace(workspace) as t:
        assert chat.get_session(t, session).title == "Tuples as dictionary keys"
    assert [b.value for b in at.text_input if b.label == "Title"] == ["Tuples as dictionary keys"]


def test_the_question_log_says_when_it_shows_only_the_latest_questions(workspace, db):
    with db.workspace(workspace) as t:
        session = chat.create_session(t, "Many questions")
        for n in range(1_001):
            chat.add_message(t, session, "user", f"Question {n}?")
    at = _assistant()
    at.tabs[1].run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 1_000
    assert any(c.value.startswith("The latest 1,000 of 1,001 questions · 0 of them not found")
               and c.value.endswith("model tokens for them") for c in at.caption), [c.value for c in at.caption]


def test_chosen_videos_with_none_chosen_asks_for_a_choice_instead_of_searching_everything(workspace, db):
    _video_id(db, workspace)
    at = _assistant()
    at.segmented_control(key="assistant_scope").set_value("Chosen videos").run()
    assert not at.exception
    assert at.chat_input(key="assistant_question").disabled
    assert any("Choose at least one video" in c.value for c in at.caption), [c.value for c in at.caption]
    with db.workspace(workspace) as t:
        assert chat.list_sessions(t) == []


def test_an_analyst_is_not_told_to_restore_a_conversation_trashed_elsewhere(workspace, db, monkeypatch):
    from components import state

    at = _assistant()
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    with db.workspace(workspace) as t:  # the owner, in another tab, moves it to the trash
        chat.delete_session(t, _only_session(db, workspace))
    monkeypatch.setattr(state, "can_edit", lambda: False)
    at.run()
    assert not at.exception
    (notice,) = [w.value for w in at.warning if "in the trash" in w.value]
    assert "restore it to continue" not in notice and "owner can restore" in notice, notice


def test_a_click_elsewhere_while_the_transcripts_are_searched_still_stores_the_answer(workspace, db, monkeypatch):
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from chronos_data.rag import answer

    found = answer.Assistant.start

    def start(self, *args, **kwargs):
        run = found(self, *args, **kwargs)
        # The user clicks elsewhere under "Searching your transcripts…": the browser asks for a rerun,
        # which stops this run at its next Streamlit call, before the answer is read.
        get_script_run_ctx().script_requests.request_rerun(RerunData())
        return run

    monkeypatch.setattr(answer.Assistant, "start", start)
    at = _assistant()
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    assert not at.exception
    with db.workspace(workspace) as t:
        stored = chat.list_messages(t, _only_session(db, workspace))
    assert [m.role for m in stored] == ["user", "assistant"] and stored[1].content  # not left unanswered



def test_a_conversation_trashed_while_its_answer_is_written_gets_a_one_line_error(workspace, db, monkeypatch):
    from chronos_data.rag import answer

    found = answer.Assistant.start

    def start(self, creator, *args, **kwargs):
        run = found(self, creator, *args, **kwargs)
        with db.workspace(creator) as t:  # another tab moves the new conversation to the trash meanwhile
            chat.delete_session(t, run.session_id)
        return run

    monkeypatch.setattr(answer.Assistant, "start", start)
    at = _assistant()
    at.chat_input(key="assistant_question").set_value("Can a tuple be used as a dictionary key?").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["That conversation is not in this workspace (or it is in the trash)."]


def test_a_conversation_whose_course_or_video_is_in_the_trash_says_so_in_its_caption_too(workspace, db):
    from chronos_data import videos

    video, python, in_course, chosen = _scoped_conversations(db, workspace, "Python basics")
    with db.workspace(workspace) as t:
        courses.delete_course(t, python)
        videos.soft_delete_video(t, video)
    at = _assistant()
    at.button(key=f"assistant_open_{in_course}").click().run()
    assert not at.exception
    # The caption and the warning under it tell the same story: the course is in the trash.
    assert any(shown(c.value) == "Searches the course “Python basics” (in the trash)" for c in at.caption), \
        [c.value for c in at.caption]
    at.button(key=f"assistant_open_{chosen}").click().run()
    assert any(shown(c.value) == f"Searches 1 chosen video: “{TUPLES.title}” (in the trash)" for c in at.caption), \
        [c.value for c in at.caption]

