"""Property tests of the assistant's data functions and the titles people type, on the real
database: hostile questions (very long, empty, control characters, NUL, SQL, HTML, tsquery syntax)
are answered and kept in the conversation as cleaned text, or refused before anything is stored;
answers, conversation titles and course, module and lesson titles come back exactly as written."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chronos_data import chat, courses, videos
from chronos_data.db import Database
from chronos_data.errors import ValidationError
from chronos_data.ingest.worker import run_until_done
from chronos_data.rag import Assistant
from tests.conftest import import_lecture, new_creator
from tests.fuzz._support import DB, INJECTIONS, assert_plain_message, examples, hostile_text, rolled_back, storable_text
from tests.rag_eval_set import LECTURES

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: What websearch_to_tsquery and the keyword search's rewrite of it might trip over.
_TSQUERY = ("a & b | !c <-> d", "'':*", "\\", "(((", "!!!", "tuple:*", "\"unterminated", "or -", "- -x", " | ",
            "a <-> ", "&", "'; SELECT 1; --", "tuple & key | !", "\"\"", "::", "c++ & c#", "e-mail@host.com")
QUESTIONS = st.one_of(
    st.sampled_from(INJECTIONS + _TSQUERY),
    hostile_text,
    st.text(st.sampled_from(" \t\n\r\x00\x1b\x7f\x0b\x0c\x85\u2028"), max_size=10),
    st.text(min_size=1995, max_size=2010),
    st.builds(lambda q, junk: q + junk, st.sampled_from(["Can a tuple be a dictionary key?", "why are tuples immutable"]),
              st.sampled_from(["\x00", "\x1b[31m", " <script>x</script>", " '; DROP TABLE chat_messages;--", ""])),
)


@pytest.fixture(scope="module")
def workspace(db: Database, embedder) -> uuid.UUID:
    """A creator with one searchable lecture, so every question runs the whole hybrid search."""
    creator = new_creator(db, "fuzz-chat")
    tuples = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")
    run_until_done(db, creator, embedder, [import_lecture(db, creator, tuples)], timeout=120)
    return creator


@settings(DB, max_examples=examples(6))  # each asks twice through the local model: ~1 s an example on 2 cores
@given(QUESTIONS)
@example("tuple\x00key\x1b[31m?")
@example("'; DROP TABLE chat_messages; --")
@example("a & b | !c <-> d")
@example("x" * 2_001)
def test_a_question_is_answered_and_kept_as_cleaned_text_or_refused_storing_nothing(db, embedder, workspace,
                                                                                      question):
    assistant = Assistant(db, embedder)
    with db.workspace(workspace) as t:
        asked = chat.questions_today(t)
        sessions = len(chat.list_sessions(t))
    cleaned = " ".join(_CONTROL.sub(" ", question).split())
    try:
        answer = assistant.ask(workspace, question)
    except ValidationError as error:
        assert_plain_message(error)
        # empty, overlong, or without a letter or digit ("🙂", "?!"): nothing a transcript could say
        assert not cleaned or len(cleaned) > chat.MAX_QUESTION_CHARS or not any(ch.isalnum() for ch in cleaned)
        with db.workspace(workspace) as t:
            assert (chat.questions_today(t), len(chat.list_sessions(t))) == (asked, sessions)
        return
    assert answer.text.strip()
    with db.workspace(workspace) as t:
        messages = chat.list_messages(t, answer.session_id)
        assert [(m.role, m.content) for m in messages] == [("user", cleaned), ("assistant", answer.text)]
        assert chat.get_session(t, answer.session_id).title == chat.auto_title(cleaned)
        assert chat.question_log(t, limit=1)[0].question == cleaned
    # A follow-up keeps the first question in the conversation's history.
    follow_up = assistant.ask(workspace, "and why?", session_id=answer.session_id)
    with db.workspace(workspace) as t:
        assert [m.content for m in chat.list_messages(t, answer.session_id)][::2] == [cleaned, "and why?"]
    assert follow_up.session_id == answer.session_id


def test_a_question_with_half_a_surrogate_pair_is_refused_or_cleaned(db, embedder, workspace):
    try:
        Assistant(db, embedder).ask(workspace, "tuples \udcff key?")
    except ValidationError:
        pass


@settings(DB, max_examples=examples(40))
@given(st.one_of(storable_text, st.sampled_from(INJECTIONS), st.text(min_size=5000, max_size=6000)),
       st.sampled_from(["user", "assistant", "system"]))
def test_any_message_is_stored_and_listed_verbatim(t, content, role):
    with rolled_back(t):
        session = chat.create_session(t, chat.auto_title(content) if content.strip() else None)
        message = chat.add_message(t, session, role, content, metadata={"note": content},
                                   video_references=[{"title": content}])
        [stored] = chat.list_messages(t, session)
        assert (stored.id, stored.role, stored.content) == (message, role, content)
        assert stored.metadata == {"note": content} and stored.video_references == [{"title": content}]


@settings(DB, max_examples=examples(40))
@given(st.one_of(st.none(), hostile_text, st.text(min_size=195, max_size=205)))
@example("a\x00b")  # reached PostgreSQL: DataError
@example("<img src=x onerror=alert(1)>")
def test_a_conversation_is_renamed_as_typed_or_refused_plainly(t, title):
    with rolled_back(t):
        session = chat.create_session(t, "Before")
        try:
            chat.rename_session(t, session, title)
        except ValidationError as error:
            assert_plain_message(error)
            assert chat.get_session(t, session).title == "Before"
        else:
            assert chat.get_session(t, session).title == title.strip()


_TITLES = st.one_of(st.none(), hostile_text, st.text(min_size=495, max_size=505),
                    st.sampled_from(["a\x00b", "\ud800", "   ", "\t\n"]))


def _acceptable(title: str | None) -> bool:
    text = (title or "").strip()
    return bool(text) and len(text) <= 500 and not re.search("[\x00\ud800-\udfff]", text)


@settings(DB, max_examples=examples(25))
@given(_TITLES, _TITLES, _TITLES)
@example("'; DROP TABLE courses;--", "<script>alert(1)</script>", "\x00")  # the NUL was a DataError
def test_course_module_and_lesson_titles_are_kept_as_typed_or_refused_plainly(t, course_title, module_title,
                                                                               lesson_title):
    with rolled_back(t):
        video = videos.create_video(t, title="A video", source_type="loom", source_id=uuid.uuid4().hex)
        course = courses.create_course(t, "C")
        module = courses.create_module(t, course, "M")
        lesson = courses.add_lesson(t, module, video)
        edits = (
            (course_title, lambda text: courses.create_course(t, text),
             lambda made: courses.get_course(t, made).title),
            (module_title, lambda text: courses.create_module(t, course, text),
             lambda made: next(m.title for m in courses.list_modules(t, course) if m.id == made)),
            (lesson_title, lambda text: courses.update_lesson(t, lesson, title=text),
             lambda _: courses.list_lessons(t, module)[0].title),
        )
        for title, make, read in edits:
            if title is None and make is edits[2][1]:
                continue  # update_lesson(title=None) leaves the title as it is
            try:
                with t.conn.begin_nested():
                    made = make(title)
            except ValidationError as error:
                assert_plain_message(error)
                assert not _acceptable(title)
            else:
                assert _acceptable(title) and read(made) == title.strip()


def test_a_course_description_with_a_nul_is_refused_plainly(t):
    with pytest.raises(ValidationError):
        with t.conn.begin_nested():
            courses.create_course(t, "Title", "desc\x00ription")
