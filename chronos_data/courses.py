"""Courses, their modules, and the ordered lessons (videos) inside each module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ._rows import require_text, to_record
from .db import Tenant
from .errors import NotFound, ValidationError

__all__ = [
    "Course",
    "Lesson",
    "Module",
    "add_lesson",
    "create_course",
    "create_module",
    "list_courses",
    "list_lessons",
    "list_modules",
]


@dataclass(frozen=True)
class Course:
    id: uuid.UUID
    title: str
    description: str | None
    is_published: bool
    display_order: int
    published_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Module:
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    description: str | None
    display_order: int


@dataclass(frozen=True)
class Lesson:
    id: uuid.UUID
    module_id: uuid.UUID
    video_id: uuid.UUID
    lesson_order: int
    title: str
    is_required: bool
    estimated_duration_minutes: int | None


def create_course(t: Tenant, title: str, description: str | None = None) -> uuid.UUID:
    """A new draft course, placed after the workspace's other courses."""
    title = require_text(title, "course title")
    return t.conn.execute(
        sa.text(
            "INSERT INTO courses (creator_id, title, description, display_order) "
            "SELECT :creator, :title, :description, coalesce(max(display_order), 0) + 1 "
            "FROM courses WHERE creator_id = :creator RETURNING id"
        ),
        {"creator": t.creator_id, "title": title, "description": description},
    ).scalar_one()


def list_courses(t: Tenant, *, include_deleted: bool = False) -> list[Course]:
    """The workspace's courses in display order."""
    rows = t.conn.execute(
        sa.text(
            "SELECT id, title, description, is_published, display_order, published_at, created_at "
            "FROM courses WHERE creator_id = :creator AND (:include_deleted OR NOT is_deleted) "
            "ORDER BY display_order, created_at"
        ),
        {"creator": t.creator_id, "include_deleted": include_deleted},
    )
    return [to_record(Course, row) for row in rows]


def create_module(t: Tenant, course_id: uuid.UUID, title: str, description: str | None = None) -> uuid.UUID:
    """A module at the end of ``course_id``."""
    title = require_text(title, "module title")
    module_id = t.conn.execute(
        sa.text(
            "INSERT INTO course_modules (creator_id, course_id, title, description, display_order) "
            "SELECT :creator, c.id, :title, :description, "
            "  coalesce((SELECT max(display_order) FROM course_modules m WHERE m.course_id = c.id), 0) + 1 "
            "FROM courses c WHERE c.creator_id = :creator AND c.id = :course RETURNING id"
        ),
        {"creator": t.creator_id, "course": course_id, "title": title, "description": description},
    ).scalar_one_or_none()
    if module_id is None:
        raise NotFound("That course is not in this workspace.")
    return module_id


def list_modules(t: Tenant, course_id: uuid.UUID) -> list[Module]:
    """A course's modules in order."""
    rows = t.conn.execute(
        sa.text(
            "SELECT id, course_id, title, description, display_order FROM course_modules "
            "WHERE creator_id = :creator AND course_id = :course ORDER BY display_order, created_at"
        ),
        {"creator": t.creator_id, "course": course_id},
    )
    return [to_record(Module, row) for row in rows]


def add_lesson(
    t: Tenant, module_id: uuid.UUID, video_id: uuid.UUID, *, title: str | None = None, is_required: bool = True
) -> uuid.UUID:
    """Append a video to a module as its last lesson; the title defaults to the video's.

    Raises:
        ValidationError: the video is already a lesson of this module.
        NotFound: the module or the video is not in this workspace.
    """
    try:
        with t.conn.begin_nested():
            lesson_id = t.conn.execute(
                sa.text(
                    "INSERT INTO module_lessons (creator_id, module_id, video_id, lesson_order, title, "
                    "  is_required, estimated_duration_minutes) "
                    "SELECT :creator, m.id, v.id, "
                    "  coalesce((SELECT max(lesson_order) FROM module_lessons l WHERE l.module_id = m.id), 0) + 1, "
                    "  coalesce(nullif(btrim(:title), ''), v.title), :required, "
                    "  CASE WHEN v.duration_seconds > 0 THEN ceil(v.duration_seconds / 60.0)::int END "
                    "FROM course_modules m, videos v "
                    "WHERE m.creator_id = :creator AND m.id = :module AND v.creator_id = :creator AND v.id = :video "
                    "RETURNING id"
                ),
                {"creator": t.creator_id, "module": module_id, "video": video_id, "title": title,
                 "required": is_required},
            ).scalar_one_or_none()
    except IntegrityError as exc:
        if "idx_module_lessons_unique_video_per_module" in str(exc.orig):
            raise ValidationError(
                "This video is already a lesson in this module; a module holds each video once."
            ) from exc
        raise
    if lesson_id is None:
        raise NotFound("That module or video is not in this workspace.")
    return lesson_id


def list_lessons(t: Tenant, module_id: uuid.UUID) -> list[Lesson]:
    """A module's lessons in order."""
    rows = t.conn.execute(
        sa.text(
            "SELECT id, module_id, video_id, lesson_order, title, is_required, estimated_duration_minutes "
            "FROM module_lessons WHERE creator_id = :creator AND module_id = :module ORDER BY lesson_order"
        ),
        {"creator": t.creator_id, "module": module_id},
    )
    return [to_record(Lesson, row) for row in rows]
