"""The assistant on the real database with the real local model; language models faked over HTTP.

Four lectures of the evaluation set are imported through the import pipeline. Offline answers
use the local model; generated answers come from the protocol-true fake OpenAI server on
127.0.0.1, so the real `openai` client streams them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace

import pytest
import sqlalchemy as sa

from chronos_data import chat, courses, students
from chronos_data.db import Database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.errors import LimitReached, NotFound, ValidationError
from chronos_data.ingest.worker import run_until_done
from chronos_data.rag import OFFLINE_MODEL, Assistant, OpenAIChat, Scope
from tests.conftest import import_lecture, new_creator
from tests.fakes.openai_server import FakeOpenAI
from tests.rag_eval_set import LECTURES

TITLES = ("Python lists in depth", "Python tuples and immutability", "HTTP caching headers",
          "HTTP cookies and sessions")


@dataclass(frozen=True)
class Workspace:
    creator: uuid.UUID
    video: dict[str, uuid.UUID]
    loom_id: dict[str, str]
    neighbour: uuid.UUID
    neighbour_video: uuid.UUID


def _import(db: Database, creator: uuid.UUID, title: str) -> tuple[uuid.UUID, str]:
    lecture = next(lecture for lecture in LECTURES if lecture.title == title)
    loom_id = uuid.uuid4().hex
    return import_lecture(db, creator, lecture, loom_id=loom_id), loom_id


@pytest.fixture(scope="module")
def workspace(db: Database, embedder: LocalEmbedder) -> Workspace:
    creator = new_creator(db, "assistant")
    imported = {title: _import(db, creator, title) for title in TITLES}
    neighbour = new_creator(db, "neighbour")
    neighbour_video, _ = _import(db, neighbour, "HTTP cookies and sessions")
    run_until_done(db, creator, embedder, [v for v, _ in imported.values()], timeout=120)
    run_until_done(db, neighbour, embedder, [neighbour_video], timeout=120)
    return Workspace(creator, {k: v for k, (v, _) in imported.items()}, {k: key for k, (_, key) in imported.items()},
                     neighbour, neighbour_video)


@pytest.fixture
def offline(db, embedder) -> Assistant:
    return Assistant(db, embedder)


def _generating(db, embedder, fake: FakeOpenAI, key: str = "sk-test", **kwargs) -> Assistant:
    from chronos_data.config import Settings

    settings = Settings(database_url=None, data_dir=None, openai_api_key=key, openai_base_url=fake.base_url)
    return Assistant(db, embedder, OpenAIChat(settings, **kwargs))


def test_offline_answer_quotes_the_transcript_and_cites_the_second(db, workspace, offline):
    answer = offline.ask(workspace.creator, "Can a tuple be used as a key in a dictionary?")
    assert answer.found and answer.model == OFFLINE_MODEL and answer.token_count == 0
    tuples = workspace.video["Python tuples and immutability"]
    lecture = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")
    assert answer.citations and {c.video_id for c in answer.citations} == {tuples}
    for citation in answer.citations:
        # Each quoted sentence is cited at the caption where it is spoken (captions last 5 s).
        assert citation.snippet in lecture.captions
        assert citation.start_seconds == lecture.captions.index(citation.snippet) * 5
        assert f"[{citation.number}]" in answer.text and citation.snippet in answer.text
        assert citation.url == f"https://www.loom.com/share/{workspace.loom_id[citation.title]}" + (
            f"?t={citation.start_seconds}" if citation.start_seconds else "")
    assert any("dictionary keys" in c.snippet for c in answer.citations)


def test_answers_and_their_sources_are_stored_with_the_conversation(db, workspace, offline):
    answer = offline.ask(workspace.creator, "How do I make JavaScript bundles cacheable forever but still ship updates?")
    with db.workspace(workspace.creator) as t:
        messages = chat.list_messages(t, answer.session_id)
        session = chat.get_session(t, answer.session_id)
        interactions = t.conn.execute(
            sa.text("SELECT ai_interactions FROM video_analytics WHERE video_id = :v AND date = current_date"),
            {"v": workspace.video["HTTP caching headers"]}).scalar_one()
    assert [m.role for m in messages] == ["user", "assistant"]
    stored = messages[1]
    assert stored.id == answer.message_id and stored.content == answer.text and stored.model == OFFLINE_MODEL
    assert stored.latency_ms is not None and stored.latency_ms >= 0 and stored.token_count == 0
    assert [ref["start_seconds"] for ref in stored.video_references] == [c.start_seconds for c in answer.citations]
    assert stored.video_references[0]["title"] == "HTTP caching headers" and stored.metadata["found"] is True
    assert session.title == "How do I make JavaScript bundles cacheable forever but…"
    assert interactions >= 1


def test_a_question_the_videos_do_not_cover_says_so_and_suggests_what_they_do(db, workspace, offline):
    answer = offline.ask(workspace.creator, "How do I bake sourdough bread at home?")
    assert not answer.found and answer.citations == []
    assert answer.text.startswith("I could not find this in the videos.")
    assert all(f"“{title}”" in answer.text for title in TITLES)


def test_a_follow_up_is_searched_with_the_question_it_follows(db, workspace, offline):
    first = offline.ask(workspace.creator, "What does the HttpOnly flag do for a cookie?")
    follow = offline.ask(workspace.creator, "and what about SameSite?", session_id=first.session_id)
    assert follow.query == "What does the do for a SameSite?"  # the same question, about SameSite
    assert {c.video_id for c in follow.citations} == {workspace.video["HTTP cookies and sessions"]}
    standalone = offline.ask(workspace.creator, "Why is inserting at the front of a long list slow?",
                             session_id=first.session_id)
    assert standalone.query == "Why is inserting at the front of a long list slow?"


def test_scope_limits_answers_to_a_course_or_chosen_videos(db, workspace, offline):
    with db.workspace(workspace.creator) as t:
        course = courses.create_course(t, "Web basics")
        module = courses.create_module(t, course, "HTTP")
        courses.add_lessons(t, module, [workspace.video["HTTP caching headers"]])
    question = "Can a tuple be used as a key in a dictionary?"
    in_course = offline.ask(workspace.creator, question, scope=Scope(course_id=course))
    assert not in_course.found  # the course has no lesson about tuples
    chosen = offline.ask(workspace.creator, question, scope=Scope(video_ids=(workspace.video["Python lists in depth"],
                                                                           workspace.video["HTTP caching headers"])))
    assert {c.video_id for c in chosen.citations} <= {workspace.video["Python lists in depth"],
                                                       workspace.video["HTTP caching headers"]}
    with pytest.raises(NotFound, match="course"):
        offline.ask(workspace.creator, question, scope=Scope(course_id=uuid.uuid4()))


def test_one_creator_never_sees_another_creators_passages_or_conversations(db, workspace, offline):
    mine = offline.ask(workspace.creator, "What is the difference between SameSite Strict and Lax?")
    theirs = offline.ask(workspace.neighbour, "What is the difference between SameSite Strict and Lax?")
    assert {c.video_id for c in mine.citations} == {workspace.video["HTTP cookies and sessions"]}
    assert {c.video_id for c in theirs.citations} == {workspace.neighbour_video}
    with pytest.raises(NotFound):
        offline.ask(workspace.neighbour, "and Lax?", session_id=mine.session_id)
    with db.workspace(workspace.neighbour) as t:
        assert mine.session_id not in {s.id for s in chat.list_sessions(t)}
        assert chat.list_messages(t, mine.session_id) == []
        assert all(q.session_id != mine.session_id for q in chat.question_log(t))


@pytest.mark.parametrize("question, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("x" * 2_001, "2,001 characters"),
])
def test_unusable_questions_are_refused_before_anything_is_stored(db, workspace, offline, question, message):
    with db.workspace(workspace.creator) as t:
        before = chat.questions_today(t)
    with pytest.raises(ValidationError, match=message):
        offline.ask(workspace.creator, question)
    with db.workspace(workspace.creator) as t:
        assert chat.questions_today(t) == before


@pytest.mark.parametrize("question", [
    "<script>alert('x')</script> what is a tuple?", "'; DROP TABLE chat_messages; --", "tuple\x00key\x1b[31m?",
])
def test_hostile_questions_are_stored_as_text_and_answered(db, workspace, offline, question):
    answer = offline.ask(workspace.creator, question)
    with db.workspace(workspace.creator) as t:
        stored = chat.list_messages(t, answer.session_id)[0].content
    assert "\x00" not in stored and "\x1b" not in stored
    assert stored == " ".join(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", question).split())


def test_the_daily_question_cap_stops_the_next_question_with_a_clear_message(db, embedder, workspace, monkeypatch):
    creator = new_creator(db, "capped")
    assistant = Assistant(db, embedder)
    monkeypatch.setitem(chat.DAILY_QUESTION_CAP, "basic", 2)
    assistant.ask(creator, "What is a tuple?")
    assistant.ask(creator, "What is a list?")
    with pytest.raises(LimitReached, match="2 questions for today"):
        assistant.ask(creator, "What is a cookie?")
    with db.workspace(creator) as t:
        assert chat.questions_today(t) == 2
        sent = t.conn.execute(sa.text("SELECT chat_messages_sent FROM usage_metrics WHERE creator_id = :c "
                                      "AND date = current_date"), {"c": creator}).scalar_one()
    assert sent == 2


def test_conversations_can_be_renamed_trashed_restored_and_rated(db, workspace, offline):
    answer = offline.ask(workspace.creator, "Why is pop cheap?")
    with db.workspace(workspace.creator) as t:
        chat.rename_session(t, answer.session_id, "Lists: pop")
        chat.set_feedback(t, answer.message_id, -1)
        assert chat.get_session(t, answer.session_id).title == "Lists: pop"
        chat.delete_session(t, answer.session_id)
        assert answer.session_id not in {s.id for s in chat.list_sessions(t)}
        assert answer.session_id in {s.id for s in chat.list_sessions(t, trash=True)}
    with pytest.raises(NotFound, match="trash"):
        offline.ask(workspace.creator, "and append?", session_id=answer.session_id)
    with db.workspace(workspace.creator) as t:
        chat.restore_session(t, answer.session_id)
        logged = next(q for q in chat.question_log(t) if q.question_id == answer.question_id)
        with pytest.raises(ValidationError):
            chat.set_feedback(t, answer.message_id, 5)
        with pytest.raises(ValidationError, match="empty"):
            chat.rename_session(t, answer.session_id, "  ")
    assert logged.feedback == -1 and logged.sources == ["Python lists in depth"] and logged.found is True


def test_students_conversations_are_readable_but_not_writable(db, workspace, offline):
    with db.workspace(workspace.creator) as t:
        student = students.create_student(t, f"student-{uuid.uuid4().hex[:6]}@example.com")
        session = chat.create_session(t, "Cookies?", student_id=student)
        chat.add_message(t, session, "user", "How do cookies keep me logged in?")
        listed = chat.list_sessions(t, whose="students")
        assert [s.id for s in listed if s.id == session] == [session] and listed[0].read_only
        assert session not in {s.id for s in chat.list_sessions(t, whose="mine")}
        with pytest.raises(ValidationError, match="student"):
            chat.rename_session(t, session, "Mine now")
        logged = next(q for q in chat.question_log(t) if q.session_id == session)
        assert logged.student_email.startswith("student-") and logged.answer is None
    with pytest.raises(ValidationError, match="student"):
        offline.ask(workspace.creator, "and sessions?", session_id=session)


def test_generated_answer_streams_with_citations_tokens_and_credits(db, embedder, workspace):
    with FakeOpenAI() as fake:
        assistant = _generating(db, embedder, fake)
        run = assistant.start(workspace.creator, "Can a tuple be used as a key in a dictionary?")
        pieces = list(run)
        answer = run.answer
    assert len(pieces) > 2 and "".join(pieces) == answer.text
    assert answer.text.startswith("From the videos: ") and "[1]" in answer.text
    assert answer.model == "gpt-4o-mini" and answer.token_count > 0 and answer.found
    assert answer.citations[0].video_id == workspace.video["Python tuples and immutability"]
    request = fake.requests[-1]["body"]
    assert request["stream"] is True and request["messages"][0]["content"].startswith("You are the teaching")
    assert "Question: Can a tuple be used as a key in a dictionary?" in request["messages"][1]["content"]
    with db.workspace(workspace.creator) as t:
        stored = chat.list_messages(t, answer.session_id)[-1]
    assert stored.token_count == answer.token_count and stored.metadata["completion_tokens"] > 0


def test_a_model_rewrites_follow_ups_before_searching(db, embedder, workspace):
    with FakeOpenAI() as fake:
        assistant = _generating(db, embedder, fake)
        first = assistant.ask(workspace.creator, "What does the HttpOnly flag do?")
        follow = assistant.ask(workspace.creator, "and SameSite?", session_id=first.session_id)
        rewrites = [r for r in fake.requests if r["body"]["messages"][0]["content"].startswith("You rewrite")]
    assert len(rewrites) == 1  # the first question had no history to resolve
    assert follow.query == "What does the HttpOnly flag do? and SameSite?"


def test_a_rejected_key_falls_back_to_a_quoted_answer_and_says_why(db, embedder, workspace):
    with FakeOpenAI() as fake:
        answer = _generating(db, embedder, fake, key="sk-rejected").ask(workspace.creator, "What is a tuple?")
    assert answer.model == OFFLINE_MODEL and answer.found and answer.citations
    assert "rejected the API key" in answer.notice
    with db.workspace(workspace.creator) as t:
        assert chat.list_messages(t, answer.session_id)[0].content == "What is a tuple?"  # the question is kept


def test_server_errors_are_retried_and_rate_limits_explained(db, embedder, workspace):
    with FakeOpenAI() as fake:
        flaky = _generating(db, embedder, fake, key="sk-flaky").ask(workspace.creator, "What is a tuple?")
        limited = _generating(db, embedder, fake, key="sk-ratelimited", max_retries=1).ask(
            workspace.creator, "What is a list?")
    assert flaky.model == "gpt-4o-mini" and flaky.notice is None
    assert limited.model == OFFLINE_MODEL and "rate-limiting" in limited.notice


def test_an_answer_cut_off_mid_stream_keeps_what_arrived(db, embedder, workspace):
    with FakeOpenAI() as fake:
        answer = _generating(db, embedder, fake, key="sk-dropstream").ask(workspace.creator, "What is a tuple?")
    assert answer.text.startswith("From the videos:") and "cut off" in answer.text
    assert "broke off" in answer.notice


def test_citations_link_youtube_moments_in_seconds():
    from chronos_data.rag.citations import Citation

    citation = Citation(1, uuid.uuid4(), "Intro", "youtube", "dQw4w9WgXcQ", "dQw4w9WgXcQ", 75, 90, "Hello")
    assert citation.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=75s"
    assert replace(citation, source_type="upload", source_key=None).url is None
    assert Citation.from_json(citation.to_json()) == citation


def test_a_scope_outside_the_workspace_is_refused_before_anything_is_stored(db, workspace, offline):
    with db.workspace(workspace.creator) as t:
        trashed = courses.create_course(t, "Trashed course")
        courses.add_lessons(t, courses.create_module(t, trashed, "HTTP"), [workspace.video["HTTP caching headers"]])
        courses.delete_course(t, trashed)
        first = offline.ask(workspace.creator, "What is a tuple?").session_id
    bad = [Scope(course_id=uuid.uuid4()), Scope(course_id=trashed), Scope(video_ids=(workspace.neighbour_video,)),
           Scope(video_ids=(uuid.uuid4(), workspace.video["HTTP caching headers"]))]
    for scope in bad:
        for session_id in (None, first):
            with db.workspace(workspace.creator) as t:
                before = (len(chat.list_sessions(t)), chat.questions_today(t), chat.get_session(t, first))
            with pytest.raises(NotFound, match="not in this workspace"):
                offline.ask(workspace.creator, "What is max-age?", scope=scope, session_id=session_id)
            with db.workspace(workspace.creator) as t:  # no conversation, question or scope change kept
                assert (len(chat.list_sessions(t)), chat.questions_today(t), chat.get_session(t, first)) == before


def test_an_answer_whose_reader_stops_early_is_still_read_to_its_end_and_stored(db, embedder, workspace, offline):
    # The page's st.write_stream stops reading when the user clicks elsewhere mid-answer (a rerun).
    with FakeOpenAI() as fake:
        run = _generating(db, embedder, fake).start(workspace.creator, "Can a tuple be used as a key in a dictionary?")
        pieces = iter(run)
        first = next(pieces)
        pieces.close()
    quoted = offline.start(workspace.creator, "Can a tuple be used as a key in a dictionary?")
    whole = iter(quoted)
    next(whole)  # an offline answer arrives in one piece
    whole.close()
    for interrupted in (run, quoted):
        assert interrupted.answer is not None
        with db.workspace(workspace.creator) as t:
            stored = chat.list_messages(t, interrupted.session_id)
        assert [m.role for m in stored] == ["user", "assistant"] and stored[1].content == interrupted.answer.text
    assert run.answer.text.startswith(first) and len(run.answer.text) > len(first) and "[1]" in run.answer.text


def test_a_students_answers_cannot_be_rated_by_the_creator(db, workspace):
    with db.workspace(workspace.creator) as t:
        student = students.create_student(t, f"student-{uuid.uuid4().hex[:6]}@example.com")
        session = chat.create_session(t, "Lists?", student_id=student)
        chat.add_message(t, session, "user", "Why is pop cheap?")
        answer = chat.add_message(t, session, "assistant", "Because it removes the last item.")
        with pytest.raises(ValidationError, match="student"):
            chat.set_feedback(t, answer, -1)
        assert chat.list_messages(t, session)[-1].feedback is None


def test_an_answer_in_a_conversation_trashed_elsewhere_cannot_be_rated(db, workspace):
    # A stale tab still shows the thumbs of a conversation another tab moved to the trash.
    with db.workspace(workspace.creator) as t:
        session = chat.create_session(t, "Lists?")
        chat.add_message(t, session, "user", "Why is pop cheap?")
        answer = chat.add_message(t, session, "assistant", "Because it removes the last item.")
        chat.delete_session(t, session)
        with pytest.raises(ValidationError, match="in the trash"):
            chat.set_feedback(t, answer, 1)
        assert chat.list_messages(t, session)[-1].feedback is None
        chat.restore_session(t, session)
        chat.set_feedback(t, answer, 1)
        assert chat.list_messages(t, session)[-1].feedback == 1


def test_an_answer_nobody_reads_is_read_once_and_stored(db, embedder, workspace, offline):
    # The page reads the rest when it stops (a click elsewhere): before reading began, or while a
    # reader it left behind still holds the stream; the model is asked once, the answer stored once.
    with FakeOpenAI() as fake:
        assistant = _generating(db, embedder, fake)
        unread = assistant.start(workspace.creator, "Can a tuple be used as a key in a dictionary?")
        unread.read_to_end()
        asked = len(fake.requests)
        started = assistant.start(workspace.creator, "Can a tuple be used as a key in a dictionary?")
        reader = iter(started)
        next(reader)
        started.read_to_end()
        reader.close()
        started.read_to_end()
        assert len(fake.requests) == 2 * asked
    for run in (unread, started):
        assert run.answer is not None and "[1]" in run.answer.text
        with db.workspace(workspace.creator) as t:
            stored = chat.list_messages(t, run.session_id)
        assert [m.role for m in stored] == ["user", "assistant"] and stored[1].content == run.answer.text


def test_two_questions_asked_at_once_in_one_conversation_each_show_their_own_answer_in_the_log(db, workspace,
                                                                                               offline):
    # Two tabs on one conversation: both questions are stored before either answer.
    opened = offline.ask(workspace.creator, "How do I swap two variables?")
    tuples = offline.start(workspace.creator, "Can a tuple be used as a key in a dictionary?",
                           session_id=opened.session_id)
    swap = offline.start(workspace.creator, "How do I swap two variables?", session_id=opened.session_id)
    for run in (tuples, swap):
        for _ in run:
            pass
    with db.workspace(workspace.creator) as t:
        logged = {q.question_id: q.answer for q in chat.question_log(t) if q.session_id == opened.session_id}
    assert logged[tuples.question_id] == tuples.answer.text and logged[swap.question_id] == swap.answer.text
    assert tuples.answer.text != swap.answer.text


def test_an_older_question_left_without_an_answer_shows_none_in_the_log_not_the_next_questions(t):
    # Stored before answers named their question: the first question got no answer (the model
    # failed), then the next one was asked and answered in the same conversation.
    session = chat.create_session(t, "Older conversation")
    unanswered = chat.add_message(t, session, "user", "What is a tuple?")
    answered = chat.add_message(t, session, "user", "Can a tuple be a dictionary key?")
    chat.add_message(t, session, "assistant", "Yes, when its items are hashable [1].", metadata={"found": True})
    logged = {q.question_id: q for q in chat.question_log(t)}
    assert logged[answered].answer == "Yes, when its items are hashable [1]." and logged[answered].found is True
    assert logged[unanswered].answer is None and logged[unanswered].found is None
