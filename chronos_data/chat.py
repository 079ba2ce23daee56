"""Assistant conversations: sessions, their messages, feedback, the trash and the question log.

A session with a ``student_id`` is a student's conversation: the creator may read it (the seeds'
policy) but never write into it. The creator's own sessions have no student.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ._rows import require_text, to_record
from .db import Workspace
from .errors import LimitReached, NotFound, ValidationError

__all__ = [
    "DAILY_QUESTION_CAP",
    "MAX_QUESTION_CHARS",
    "ROLES",
    "ChatMessage",
    "ChatSession",
    "LoggedQuestion",
    "add_message",
    "answers_question",
    "auto_title",
    "check_daily_cap",
    "clean_question",
    "count_questions",
    "create_session",
    "delete_session",
    "get_session",
    "list_messages",
    "list_sessions",
    "question_log",
    "questions_today",
    "rename_session",
    "restore_session",
    "set_feedback",
    "set_session_scope",
]

ROLES = ("user", "assistant", "system")
#: Questions a workspace may ask per day, by subscription tier (None: no cap). Each question
#: may call a paid model; the cap keeps a runaway script or a shared link from running up a bill.
DAILY_QUESTION_CAP: dict[str, int | None] = {"basic": 200, "pro": 2_000, "enterprise": None}
#: Longer than any real question; a pasted document is refused instead of silently truncated.
MAX_QUESTION_CHARS = 2_000
_TITLE_CHARS = 60
# Control characters, and half surrogate pairs (undecodable command-line bytes; no UTF-8 form).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


_ALIAS = re.compile(r"^[a-z_][a-z0-9_]*$")


def answers_question(answer: str, question: str) -> str:
    """SQL condition that the ``chat_messages`` row aliased ``answer`` is the answer to the one
    aliased ``question``: the rule every reader pairing questions with answers shares.

    An answer names its question (``metadata.question_id``): two tabs may ask in one conversation
    at once, both questions stored before either answer, so the message after a question can be the
    other question's answer. An answer stored before answers named their question is the one of
    the question just before it (nothing in between), as positions said then.
    """
    if not (_ALIAS.fullmatch(answer) and _ALIAS.fullmatch(question)) or answer == question:
        raise ValueError(f"answers_question needs two distinct plain aliases, not {answer!r} and {question!r}")
    a, q = answer, question
    return f"""(
      {a}.role = 'assistant' AND {q}.role = 'user'
      AND {a}.creator_id = {q}.creator_id AND {a}.session_id = {q}.session_id
      AND CASE WHEN {a}.metadata ->> 'question_id' IS NOT NULL
               THEN {a}.metadata ->> 'question_id' = CAST({q}.id AS text)
               ELSE ({a}.created_at, {a}.id) > ({q}.created_at, {q}.id)
                    AND NOT EXISTS (
                      SELECT 1 FROM chat_messages between_them
                      WHERE between_them.creator_id = {q}.creator_id AND between_them.session_id = {q}.session_id
                        AND (between_them.created_at, between_them.id) > ({q}.created_at, {q}.id)
                        AND (between_them.created_at, between_them.id) < ({a}.created_at, {a}.id))
          END)"""


@dataclass(frozen=True)
class ChatSession:
    id: uuid.UUID
    title: str | None
    student_id: uuid.UUID | None
    student_email: str | None
    created_at: datetime
    last_message_at: datetime | None
    message_count: int
    deleted_at: datetime | None
    #: What the conversation searches (the seeds' context_video_ids; a course in its metadata):
    #: neither is every video.
    context_video_ids: list[uuid.UUID] = field(default_factory=list)
    context_course_id: uuid.UUID | None = None

    @property
    def read_only(self) -> bool:
        """A student's conversation: the creator reads it but does not write into it."""
        return self.student_id is not None


@dataclass(frozen=True)
class ChatMessage:
    id: uuid.UUID
    session_id: uuid.UUID
    role: str
    content: str
    video_references: list[dict[str, Any]]
    token_count: int | None
    model: str | None
    feedback: int | None
    latency_ms: int | None
    metadata: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class LoggedQuestion:
    """One question asked anywhere in the workspace, with what answered it."""

    question_id: uuid.UUID
    session_id: uuid.UUID
    session_title: str | None
    student_email: str | None
    question: str
    asked_at: datetime
    answer: str | None
    found: bool | None
    model: str | None
    sources: list[str]
    feedback: int | None
    token_count: int | None
    latency_ms: int | None


def clean_question(text: str | None) -> str:
    """The question as it will be stored and searched; raises ValidationError when unusable.

    Control characters (a paste from a terminal, a NUL byte PostgreSQL would refuse) become
    spaces; blank, wordless (emoji only) and overlong questions are refused with what to do.
    """
    cleaned = " ".join(_CONTROL.sub(" ", text or "").split())
    if not cleaned:
        raise ValidationError("The question is empty; type what you want to know about your videos.")
    if not any(ch.isalnum() for ch in cleaned):  # "🙂🙂", "???": nothing a transcript could say
        raise ValidationError("The question has no words, only symbols or emoji; type in words what you want "
                              "to know about your videos.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise ValidationError(f"The question is {len(cleaned):,} characters long; keep it under "
                              f"{MAX_QUESTION_CHARS:,} (ask about one thing at a time).")
    return cleaned


def auto_title(question: str) -> str:
    """A conversation title from its first question: its first words, cut at a word boundary."""
    text = " ".join(question.split())
    if len(text) <= _TITLE_CHARS:
        return text
    cut = text[:_TITLE_CHARS].rsplit(" ", 1)[0] or text[:_TITLE_CHARS]
    return cut.rstrip(",;:.-") + "…"


def create_session(
    t: Workspace,
    title: str | None = None,
    *,
    student_id: uuid.UUID | None = None,
    context_video_ids: list[uuid.UUID] | None = None,
    context_course_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A new conversation (the creator's own when ``student_id`` is None), searching one course,
    chosen videos, or (neither given) every video."""
    return t.conn.execute(
        sa.text(
            "INSERT INTO chat_sessions (creator_id, student_id, title, context_video_ids, metadata) "
            "VALUES (:creator, :student, :title, CAST(:videos AS uuid[]), CAST(:metadata AS jsonb)) RETURNING id"
        ),
        {"creator": t.creator_id, "student": student_id, "title": title, "videos": list(context_video_ids or []),
         "metadata": json.dumps(_scope_metadata(context_course_id))},
    ).scalar_one()


def set_session_scope(t: Workspace, session_id: uuid.UUID, *, context_video_ids: list[uuid.UUID] | None = None,
                      context_course_id: uuid.UUID | None = None) -> None:
    """What a conversation searches from now on: one course, chosen videos, or (neither) every video."""
    _update_own(t, session_id, "context_video_ids = CAST(:videos AS uuid[]), "
                "metadata = (metadata - 'course_id') || CAST(:scope AS jsonb)",
                {"videos": list(context_video_ids or []), "scope": json.dumps(_scope_metadata(context_course_id))})


def _scope_metadata(course_id: uuid.UUID | None) -> dict[str, str]:
    return {"course_id": str(course_id)} if course_id else {}


def add_message(
    t: Workspace,
    session_id: uuid.UUID,
    role: str,
    content: str,
    *,
    video_references: list[dict[str, Any]] | None = None,
    token_count: int | None = None,
    model: str | None = None,
    latency_ms: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Append a message to a live session and mark the session as active now."""
    if role not in ROLES:
        raise ValidationError(f"'{role}' is not a chat role; use one of {', '.join(ROLES)}.")
    touched = t.conn.execute(
        sa.text(
            "UPDATE chat_sessions SET last_message_at = clock_timestamp() "
            "WHERE creator_id = :creator AND id = :session AND deleted_at IS NULL"
        ),
        {"creator": t.creator_id, "session": session_id},
    )
    if touched.rowcount == 0:
        raise NotFound("That conversation is not in this workspace (or it is in the trash).")
    return t.conn.execute(
        sa.text(
            # clock_timestamp, not now(): a question and its answer written in one transaction
            # must still sort in the order they were said.
            "INSERT INTO chat_messages (creator_id, session_id, role, content, video_references, token_count, "
            "model, latency_ms, metadata, created_at) VALUES (:creator, :session, :role, :content, "
            "CAST(:refs AS jsonb), :tokens, :model, :latency, CAST(:metadata AS jsonb), clock_timestamp()) "
            "RETURNING id"
        ),
        {
            "creator": t.creator_id,
            "session": session_id,
            "role": role,
            "content": content,
            "refs": json.dumps(video_references or [], default=str),
            "tokens": token_count,
            "model": model,
            "latency": latency_ms,
            "metadata": json.dumps(metadata or {}, default=str),
        },
    ).scalar_one()


_SESSION_SELECT = """
SELECT s.id, s.title, s.student_id, st.email AS student_email, s.created_at, s.last_message_at, s.deleted_at,
       s.context_video_ids, CAST(s.metadata ->> 'course_id' AS uuid) AS context_course_id,
       (SELECT count(*) FROM chat_messages m WHERE m.creator_id = s.creator_id AND m.session_id = s.id)
         AS message_count
FROM chat_sessions s
LEFT JOIN students st ON st.id = s.student_id AND st.creator_id = s.creator_id
WHERE s.creator_id = :creator
"""


def list_sessions(t: Workspace, *, whose: str = "all", trash: bool = False) -> list[ChatSession]:
    """Conversations, most recently active first.

    Args:
        whose: "mine" (the creator's own), "students" (read-only), or "all".
        trash: list the deleted conversations instead of the live ones.
    """
    owner = {"all": "", "mine": " AND s.student_id IS NULL", "students": " AND s.student_id IS NOT NULL"}
    if whose not in owner:
        raise ValidationError(f"'{whose}' is not a conversation filter; use mine, students or all.")
    deleted = " AND s.deleted_at IS NOT NULL" if trash else " AND s.deleted_at IS NULL"
    rows = t.conn.execute(
        sa.text(_SESSION_SELECT + owner[whose] + deleted
                + " ORDER BY coalesce(s.last_message_at, s.created_at) DESC, s.id"),
        {"creator": t.creator_id},
    )
    return [to_record(ChatSession, row) for row in rows]


def get_session(t: Workspace, session_id: uuid.UUID) -> ChatSession:
    """One conversation (live or in the trash); raises NotFound outside this workspace."""
    row = t.conn.execute(sa.text(_SESSION_SELECT + " AND s.id = :session"),
                         {"creator": t.creator_id, "session": session_id}).one_or_none()
    if row is None:
        raise NotFound("That conversation is not in this workspace.")
    return to_record(ChatSession, row)


def rename_session(t: Workspace, session_id: uuid.UUID, title: str) -> None:
    """Give one of the creator's own conversations a new title."""
    title = require_text(title, "title", max_length=200)
    _update_own(t, session_id, "title = :title", {"title": title})


def delete_session(t: Workspace, session_id: uuid.UUID) -> None:
    """Move a conversation to the trash (``restore_session`` brings it back)."""
    _update_own(t, session_id, "deleted_at = now()", {}, live=True)


def restore_session(t: Workspace, session_id: uuid.UUID) -> None:
    """Bring a conversation back from the trash."""
    restored = t.conn.execute(
        sa.text("UPDATE chat_sessions SET deleted_at = NULL WHERE creator_id = :creator AND id = :session"),
        {"creator": t.creator_id, "session": session_id},
    )
    if restored.rowcount == 0:
        raise NotFound("That conversation is not in this workspace.")


def _update_own(t: Workspace, session_id: uuid.UUID, assignments: str, params: dict[str, Any], *,
                live: bool = False) -> None:
    session = get_session(t, session_id)
    if session.read_only:
        raise ValidationError("This is a student's conversation: you can read it, but not change it.")
    if live and session.deleted_at is not None:
        return  # already in the trash: deleting twice changes nothing
    t.conn.execute(
        sa.text(f"UPDATE chat_sessions SET {assignments} WHERE creator_id = :creator AND id = :session"),
        {"creator": t.creator_id, "session": session_id, **params},
    )


def list_messages(t: Workspace, session_id: uuid.UUID) -> list[ChatMessage]:
    """A conversation's messages, oldest first."""
    rows = t.conn.execute(
        sa.text(
            "SELECT id, session_id, role, content, video_references, token_count, model, feedback, latency_ms, "
            "metadata, created_at FROM chat_messages "
            "WHERE creator_id = :creator AND session_id = :session ORDER BY created_at, id"
        ),
        {"creator": t.creator_id, "session": session_id},
    )
    return [to_record(ChatMessage, row) for row in rows]


def set_feedback(t: Workspace, message_id: uuid.UUID, feedback: int | None) -> None:
    """Thumbs up (1), down (-1) or none (None) on one of the assistant's answers in the creator's
    own conversations (a student's feedback is the student's: their conversations are read-only)."""
    if feedback not in (1, -1, None):
        raise ValidationError("Feedback is 1 (helpful), -1 (not helpful) or empty.")
    conversation = t.conn.execute(
        sa.text("SELECT s.student_id IS NOT NULL AS students, s.deleted_at IS NOT NULL AS trashed "
                "FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id AND s.creator_id = m.creator_id "
                "WHERE m.creator_id = :creator AND m.id = :message AND m.role = 'assistant'"),
        {"creator": t.creator_id, "message": message_id},
    ).one_or_none()
    if conversation is None:
        raise NotFound("That answer is not in this workspace.")
    if conversation.students:
        raise ValidationError("This answer is in a student's conversation: you can read it, but not rate it.")
    if conversation.trashed:
        raise ValidationError("This conversation is in the trash (perhaps from another tab): restore it to rate "
                              "its answers.")
    t.conn.execute(
        sa.text("UPDATE chat_messages SET feedback = :feedback "
                "WHERE creator_id = :creator AND id = :message AND role = 'assistant'"),
        {"creator": t.creator_id, "message": message_id, "feedback": feedback},
    )


def count_questions(t: Workspace) -> int:
    """Questions ever asked in this workspace (the creator's and students', trash included), as the
    question log lists them: it shows the latest ones and says of how many."""
    return int(t.conn.execute(
        sa.text("SELECT count(*) FROM chat_messages WHERE creator_id = :creator AND role = 'user'"),
        {"creator": t.creator_id},
    ).scalar_one())


def questions_today(t: Workspace) -> int:
    """Questions asked in this workspace since midnight (the database's time zone)."""
    return int(t.conn.execute(
        sa.text("SELECT count(*) FROM chat_messages WHERE creator_id = :creator AND role = 'user' "
                "AND created_at >= date_trunc('day', now())"),
        {"creator": t.creator_id},
    ).scalar_one())


def check_daily_cap(t: Workspace, tier: str) -> int | None:
    """Raise LimitReached when today's questions reached the tier's cap; return what is left."""
    cap = DAILY_QUESTION_CAP.get(tier, DAILY_QUESTION_CAP["basic"])
    if cap is None:
        return None
    asked = questions_today(t)
    if asked >= cap:
        raise LimitReached(f"Your workspace has asked its {cap:,} questions for today (the {tier} plan's daily "
                           "limit); the count starts again at midnight, or upgrade the plan for more.")
    return cap - asked


def question_log(t: Workspace, *, limit: int = 1_000, since: datetime | None = None) -> list[LoggedQuestion]:
    """Every question asked in the workspace (the creator's and students'), newest first, with its
    answer (``answers_question``; none when it got none): sources, feedback, tokens and time."""
    rows = t.conn.execute(
        sa.text(f"""
            SELECT q.id AS question_id, q.session_id, s.title AS session_title, st.email AS student_email,
                   q.content AS question, q.created_at AS asked_at, a.content AS answer,
                   (a.metadata ->> 'found')::boolean AS found, a.model, a.feedback, a.token_count, a.latency_ms,
                   coalesce((SELECT array_agg(DISTINCT r ->> 'title')
                             FROM jsonb_array_elements(a.video_references) r), '{{}}') AS sources
            FROM chat_messages q
            JOIN chat_sessions s ON s.id = q.session_id AND s.creator_id = q.creator_id
            LEFT JOIN students st ON st.id = s.student_id AND st.creator_id = s.creator_id
            LEFT JOIN LATERAL (
              SELECT m.content, m.metadata, m.model, m.feedback, m.token_count, m.latency_ms, m.video_references
              FROM chat_messages m
              WHERE m.creator_id = q.creator_id AND m.session_id = q.session_id AND {answers_question("m", "q")}
              ORDER BY m.created_at, m.id LIMIT 1
            ) a ON true
            WHERE q.creator_id = :creator AND q.role = 'user'
              AND (CAST(:since AS timestamptz) IS NULL OR q.created_at >= CAST(:since AS timestamptz))
            ORDER BY q.created_at DESC, q.id
            LIMIT :limit
        """),
        {"creator": t.creator_id, "since": since, "limit": limit},
    )
    return [to_record(LoggedQuestion, row) for row in rows]
