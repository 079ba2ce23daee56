"""Assistant conversations: sessions and their messages."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ._rows import to_record
from .db import Tenant
from .errors import NotFound, ValidationError

__all__ = ["ChatMessage", "ChatSession", "ROLES", "add_message", "create_session", "list_messages", "list_sessions"]

ROLES = ("user", "assistant", "system")


@dataclass(frozen=True)
class ChatSession:
    id: uuid.UUID
    title: str | None
    student_id: uuid.UUID | None
    created_at: datetime
    last_message_at: datetime | None


@dataclass(frozen=True)
class ChatMessage:
    id: uuid.UUID
    session_id: uuid.UUID
    role: str
    content: str
    video_references: list[dict[str, Any]]
    token_count: int | None
    model: str | None
    created_at: datetime


def create_session(t: Tenant, title: str | None = None, *, student_id: uuid.UUID | None = None) -> uuid.UUID:
    """A new conversation (the creator's own when ``student_id`` is None)."""
    return t.conn.execute(
        sa.text(
            "INSERT INTO chat_sessions (creator_id, student_id, title) VALUES (:creator, :student, :title) "
            "RETURNING id"
        ),
        {"creator": t.creator_id, "student": student_id, "title": title},
    ).scalar_one()


def add_message(
    t: Tenant,
    session_id: uuid.UUID,
    role: str,
    content: str,
    *,
    video_references: list[dict[str, Any]] | None = None,
    token_count: int | None = None,
    model: str | None = None,
) -> uuid.UUID:
    """Append a message to a session and mark the session as active now."""
    if role not in ROLES:
        raise ValidationError(f"'{role}' is not a chat role; use one of {', '.join(ROLES)}.")
    touched = t.conn.execute(
        sa.text(
            "UPDATE chat_sessions SET last_message_at = now() WHERE creator_id = :creator AND id = :session"
        ),
        {"creator": t.creator_id, "session": session_id},
    )
    if touched.rowcount == 0:
        raise NotFound("That conversation is not in this workspace.")
    return t.conn.execute(
        sa.text(
            "INSERT INTO chat_messages (creator_id, session_id, role, content, video_references, token_count, model) "
            "VALUES (:creator, :session, :role, :content, CAST(:refs AS jsonb), :tokens, :model) RETURNING id"
        ),
        {
            "creator": t.creator_id,
            "session": session_id,
            "role": role,
            "content": content,
            "refs": json.dumps(video_references or []),
            "tokens": token_count,
            "model": model,
        },
    ).scalar_one()


def list_sessions(t: Tenant) -> list[ChatSession]:
    """Conversations, most recently active first."""
    rows = t.conn.execute(
        sa.text(
            "SELECT id, title, student_id, created_at, last_message_at FROM chat_sessions "
            "WHERE creator_id = :creator ORDER BY last_message_at DESC NULLS LAST, created_at DESC"
        ),
        {"creator": t.creator_id},
    )
    return [to_record(ChatSession, row) for row in rows]


def list_messages(t: Tenant, session_id: uuid.UUID) -> list[ChatMessage]:
    """A conversation's messages, oldest first."""
    rows = t.conn.execute(
        sa.text(
            "SELECT id, session_id, role, content, video_references, token_count, model, created_at "
            "FROM chat_messages WHERE creator_id = :creator AND session_id = :session ORDER BY created_at, id"
        ),
        {"creator": t.creator_id, "session": session_id},
    )
    return [to_record(ChatMessage, row) for row in rows]
