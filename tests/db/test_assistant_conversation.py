"""Conversations with the assistant (offline, the real local model): follow-ups, the scope kept with
the conversation, and questions it cannot use, through ``Assistant`` and ``python -m chronos_data ask``."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from chronos_data import chat, cli, courses
from chronos_data.db import Database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.errors import ValidationError
from chronos_data.ingest.worker import run_until_done
from chronos_data.rag import OFFLINE_LABEL, OFFLINE_MODEL, Assistant, Scope
from tests.conftest import import_lecture, new_creator
from tests.rag_eval_set import LECTURES

TITLES = ("SQL joins explained", "Python tuples and immutability", "Undoing mistakes in git", "HTTP caching headers")
LANGUAGE_NOTE = "Your videos are in English; try asking in English."


@dataclass(frozen=True)
class Workspace:
    creator: uuid.UUID
    email: str
    video: dict[str, uuid.UUID]


@pytest.fixture(scope="module")
def workspace(db: Database, embedder: LocalEmbedder) -> Workspace:
    creator = new_creator(db, "conversation")
    video = {title: import_lecture(db, creator, next(lec for lec in LECTURES if lec.title == title))
             for title in TITLES}
    run_until_done(db, creator, embedder, list(video.values()), timeout=120)
    with db.workspace(creator) as t:
        email = t.conn.execute(sa.text("SELECT email FROM creators WHERE id = :c"), {"c": creator}).scalar_one()
    return Workspace(creator, email, video)


@pytest.fixture
def offline(db, embedder) -> Assistant:
    return Assistant(db, embedder)


def _videos(answer) -> set[uuid.UUID]:
    return {c.video_id for c in answer.citations}


def test_a_follow_up_that_names_its_own_subject_is_answered_from_its_own_video(workspace, offline):
    first = offline.ask(workspace.creator, "What is a left join?")
    assert _videos(first) == {workspace.video["SQL joins explained"]}
    second = offline.ask(workspace.creator, "Is a tuple hashable?", session_id=first.session_id)
    assert second.query == "Is a tuple hashable?"  # searched as typed, not with the join question
    assert second.found and _videos(second) == {workspace.video["Python tuples and immutability"]}
    assert "join" not in second.text.lower()


def test_what_about_another_subject_is_answered_about_it(workspace, offline):
    first = offline.ask(workspace.creator, "What is a left join?")
    tuples = offline.ask(workspace.creator, "what about tuples?", session_id=first.session_id)
    assert tuples.found and _videos(tuples) == {workspace.video["Python tuples and immutability"]}
    right = offline.ask(workspace.creator, "and a right join?", session_id=tuples.session_id)
    assert right.query == "What is a a right join?"
    assert right.citations[0].snippet.startswith("A right join is the mirror image")


def test_an_elliptical_follow_up_stays_on_the_conversations_topic(workspace, offline):
    first = offline.ask(workspace.creator, "How do I undo my last commit if I have not pushed yet?")
    follow = offline.ask(workspace.creator, "and if I already pushed it?", session_id=first.session_id)
    assert follow.query.startswith("How do I undo my last commit") and follow.query.endswith("already pushed it?")
    assert follow.found and _videos(follow) == {workspace.video["Undoing mistakes in git"]}
    again = offline.ask(workspace.creator, "What does it do with the history?", session_id=follow.session_id)
    assert again.query == f"{first.query} and if I already pushed it? What does it do with the history?"
    assert _videos(again) == {workspace.video["Undoing mistakes in git"]}


def test_the_scope_is_kept_with_the_conversation_and_follow_ups_search_it(db, workspace, offline):
    with db.workspace(workspace.creator) as t:
        course = courses.create_course(t, "Data and Python")
        module = courses.create_module(t, course, "Basics")
        courses.add_lessons(t, module, [workspace.video["SQL joins explained"],
                                        workspace.video["Python tuples and immutability"]])
    first = offline.ask(workspace.creator, "What is a left join?", scope=Scope(course_id=course))
    with db.workspace(workspace.creator) as t:
        session = chat.get_session(t, first.session_id)
    assert session.context_course_id == course and session.context_video_ids == []
    # A follow-up without a scope searches the conversation's: git's lesson is outside the course.
    follow = offline.ask(workspace.creator, "How do I undo my last commit with git reset?", session_id=first.session_id)
    assert workspace.video["Undoing mistakes in git"] not in _videos(follow)

    chosen = (workspace.video["HTTP caching headers"],)
    offline.ask(workspace.creator, "What does Cache-Control max-age mean?", session_id=first.session_id,
                scope=Scope(video_ids=chosen))
    with db.workspace(workspace.creator) as t:
        session = chat.get_session(t, first.session_id)
    assert session.context_course_id is None and session.context_video_ids == list(chosen)


def test_a_refusal_in_a_scope_lists_only_the_videos_inside_it(db, workspace, offline):
    with db.workspace(workspace.creator) as t:
        course = courses.create_course(t, "Git only")
        module = courses.create_module(t, course, "Undo")
        courses.add_lessons(t, module, [workspace.video["Undoing mistakes in git"]])
    refused = offline.ask(workspace.creator, "How do I bake sourdough bread at home?", scope=Scope(course_id=course))
    assert not refused.found
    assert "This course covers: “Undoing mistakes in git”." in refused.text
    assert all(f"“{title}”" not in refused.text for title in TITLES if title != "Undoing mistakes in git")
    chosen = offline.ask(workspace.creator, "How do I bake sourdough bread at home?",
                         scope=Scope(video_ids=(workspace.video["HTTP caching headers"],)))
    assert "The chosen videos cover: “HTTP caching headers”." in chosen.text
    everywhere = offline.ask(workspace.creator, "How do I bake sourdough bread at home?")
    assert all(f"“{title}”" in everywhere.text for title in TITLES) and LANGUAGE_NOTE not in everywhere.text


@pytest.mark.parametrize("question, message", [
    ("", "empty"), ("x" * 10_000, "10,000 characters"), ("🙂🤔🎉", "no words"), ("?!… 👍", "no words"),
])
def test_unusable_questions_get_a_one_line_reason(db, workspace, offline, question, message):
    with pytest.raises(ValidationError, match=message) as raised:
        offline.ask(workspace.creator, question)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("question", [
    "Kann ein Tupel ein Schlüssel in einem Wörterbuch sein?", "¿Puede una tupla ser una clave de diccionario?",
    "Comment faire une jointure gauche ?", "元组可以作为字典的键吗？", "Можно ли использовать кортеж как ключ словаря?",
])
def test_a_question_in_another_language_says_which_to_ask_in_when_nothing_matches(workspace, offline, question):
    answer = offline.ask(workspace.creator, question)
    assert not answer.found and answer.text.startswith("I could not find this in the videos.")
    assert answer.text.endswith(LANGUAGE_NOTE)


def test_the_language_note_is_only_for_questions_in_another_language(workspace, offline):
    english = offline.ask(workspace.creator, "How do I bake sourdough bread at home?")
    assert not english.found and LANGUAGE_NOTE not in english.text
    # "commit" is in the git lesson, the other words in none: quoted, it has no note; refused (most
    # of its weight is on words no lesson says), it says which language to ask in.
    mixed = offline.ask(workspace.creator, "¿Cómo deshago mi último commit?")
    assert (LANGUAGE_NOTE in mixed.text) == (not mixed.found)


def test_sql_looking_questions_are_text(db, workspace, offline):
    answer = offline.ask(workspace.creator, "'; DROP TABLE videos; --")
    assert answer.text and answer.model == OFFLINE_MODEL
    with db.workspace(workspace.creator) as t:
        assert t.conn.execute(sa.text("SELECT count(*) FROM videos WHERE creator_id = :c"),
                              {"c": workspace.creator}).scalar_one() == len(TITLES)


@pytest.fixture
def env(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.mark.parametrize("question", [
    "", "x" * 10_000, "🙂🤔🎉", "'; DROP TABLE videos; --", "¿Cómo deshago mi último commit?", "Is a tuple hashable?",
])
def test_the_command_line_answers_or_gives_one_line_for_any_question(env, workspace, capsys, question):
    code = cli.main(["ask", question, "--creator", workspace.email])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if code:
        assert out == "" and err.startswith("error: ") and err.count("\n") == 1
    else:
        assert f"model: {OFFLINE_LABEL}" in out and "extractive" not in out
    assert cli.main(["ask", question, "--creator", workspace.email, "--json"]) == code
    printed = json.loads(capsys.readouterr().out)
    assert ("error" in printed) if code else (printed["model_label"] == OFFLINE_LABEL and printed["answer"])


def test_a_command_line_follow_up_keeps_its_conversations_scope(env, db, workspace, capsys):
    video = str(workspace.video["HTTP caching headers"])
    assert cli.main(["ask", "What does max-age do?", "--video", video, "--creator", workspace.email, "--json"]) == 0
    session = json.loads(capsys.readouterr().out)["session_id"]
    assert cli.main(["ask", "Is a tuple hashable?", "--session", session, "--creator", workspace.email, "--json"]) == 0
    follow = json.loads(capsys.readouterr().out)
    assert {c["video_id"] for c in follow["citations"]} <= {video}
