"""Students: the students of one creator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ._rows import require_text, to_record
from .db import Workspace

__all__ = ["PREVIEW_STUDENT_EMAIL", "Student", "create_student", "ensure_student", "list_students"]

#: The student a creator watches as in the student preview (their views count like a student's).
PREVIEW_STUDENT_EMAIL = "preview-student@chronos.localhost"


@dataclass(frozen=True)
class Student:
    id: uuid.UUID
    email: str | None
    name: str | None
    created_at: datetime
    last_active_at: datetime | None
    is_active: bool


def create_student(t: Workspace, email: str, name: str | None = None) -> uuid.UUID:
    """Add a student to the workspace; returns the new id."""
    email = require_text(email, "e-mail address", max_length=320)
    return t.conn.execute(
        sa.text(
            "INSERT INTO students (creator_id, email, name) VALUES (:creator, :email, :name) RETURNING id"
        ),
        {"creator": t.creator_id, "email": email, "name": name},
    ).scalar_one()


def list_students(t: Workspace, *, limit: int = 1000) -> list[Student]:
    """The workspace's students, newest first."""
    rows = t.conn.execute(
        sa.text(
            "SELECT id, email, name, created_at, last_active_at, is_active FROM students "
            "WHERE creator_id = :creator ORDER BY created_at DESC, email LIMIT :limit"
        ),
        {"creator": t.creator_id, "limit": limit},
    )
    return [to_record(Student, row) for row in rows]


def ensure_student(t: Workspace, email: str, name: str | None = None) -> uuid.UUID:
    """The id of the workspace's student with ``email``, adding them if new."""
    email = require_text(email, "e-mail address", max_length=320)
    found = t.conn.execute(
        sa.text("SELECT id FROM students WHERE creator_id = :creator AND lower(email) = lower(:email) "
                "ORDER BY created_at LIMIT 1"),
        {"creator": t.creator_id, "email": email},
    ).scalar_one_or_none()
    return found if found is not None else create_student(t, email, name)
