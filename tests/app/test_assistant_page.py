"""The Assistant page through AppTest: a chat exchange, its citations, history and the question log."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import chat, creators, students
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
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
    with db.tenant(creator) as t:
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

    at.tabs[1].run()
    log = at.dataframe[0].value
    assert list(log["Question"]) == ["Can a tuple be used as a dictionary key?"]
    assert list(log["Answered"]) == ["yes"] and list(log["Sources"]) == [TUPLES.title]


def test_a_follow_up_continues_the_conversation(workspace, db):
    at = _assistant()
    at.chat_input(key="assistant_question").set_value("How do I swap two variables?").run()
    at.chat_input(key="assistant_question").set_value("and can it return several values?").run()
    assert not at.exception
    session_id = _only_session(db, workspace)
    with db.tenant(workspace) as t:
        messages = chat.list_messages(t, session_id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[3].metadata["query"] == "How do I swap two variables? and can it return several values?"


def test_a_students_conversation_is_shown_read_only(workspace, db):
    with db.tenant(workspace) as t:
        student = students.create_student(t, "learner@example.com")
        session = chat.create_session(t, "Dictionary keys", student_id=student)
        chat.add_message(t, session, "user", "Why can't a list be a key?")
    at = _assistant()
    at.segmented_control(key="assistant_whose").set_value("Students").run()
    at.button(key=f"assistant_open_{session}").click().run()
    assert not at.exception
    assert any("learner@example.com" in i.value and "read it" in i.value for i in at.info)
    assert "Why can't a list be a key?" in _markdown(at).replace("\\", "")
    assert len(at.chat_input) == 0  # no asking in a student's conversation


def _only_session(db, creator) -> uuid.UUID:
    with db.tenant(creator) as t:
        (session,) = chat.list_sessions(t, whose="mine")
    return session.id
