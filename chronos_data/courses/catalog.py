"""The workspace's courses: their details, their place in the course list, copies, and the trash.

Positions are kept exactly 1..n over the workspace's live (not deleted) courses; every change
that touches the list rewrites them in one UPDATE.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from .._rows import require_text, to_record
from ..db import Workspace
from ..errors import NotFound, StaleEdit, ValidationError
from ._fields import _optional_text, _set_clause, _thumbnail
from ._locks import _apply_course_order, _check_revision, _clamp, _live_course_ids, _lock_course, _lock_course_list
from .model import _COURSE_NOT_FOUND, COURSE_LIST_STALE, COURSE_STALE, Course

__all__ = ["create_course", "delete_course", "duplicate_course", "get_course", "list_courses", "move_course",
           "restore_course", "update_course"]

_COURSE_SELECT = (
    "SELECT c.id, c.title, c.description, c.thumbnail_url, c.is_published, c.display_order, "
    "  c.published_at, c.created_at, c.is_deleted, c.revision, "
    "  coalesce(s.module_count, 0) AS module_count, coalesce(s.lesson_count, 0) AS lesson_count, "
    "  coalesce(s.total_minutes, 0) AS total_minutes "
    "FROM courses c "
    "LEFT JOIN LATERAL ("
    "  SELECT count(DISTINCT m.id)::int AS module_count, count(l.id)::int AS lesson_count, "
    "    sum(coalesce(l.estimated_duration_minutes, "
    "      CASE WHEN v.duration_seconds > 0 THEN ceil(v.duration_seconds / 60.0)::int END))::int AS total_minutes "
    "  FROM course_modules m "
    "  LEFT JOIN module_lessons l ON l.creator_id = m.creator_id AND l.module_id = m.id "
    "  LEFT JOIN videos v ON v.creator_id = l.creator_id AND v.id = l.video_id "
    "  WHERE m.creator_id = c.creator_id AND m.course_id = c.id"
    ") s ON true "
)


def create_course(t: Workspace, title: str, description: str | None = None) -> uuid.UUID:
    """A new draft course, placed after the workspace's other courses; returns its id."""
    title = require_text(title, "course title")
    _lock_course_list(t)  # two creates at once must not take the same place
    return t.conn.execute(
        sa.text(
            "INSERT INTO courses (creator_id, title, description, display_order) "
            "SELECT :creator, :title, :description, coalesce(max(display_order), 0) + 1 "
            "FROM courses WHERE creator_id = :creator AND NOT is_deleted RETURNING id"
        ),
        {"creator": t.creator_id, "title": title, "description": description and _optional_text(description)},
    ).scalar_one()


def get_course(t: Workspace, course_id: uuid.UUID) -> Course:
    """One course of the workspace (deleted or not) with its counts. Raises NotFound."""
    row = t.conn.execute(
        sa.text(_COURSE_SELECT + "WHERE c.creator_id = :creator AND c.id = :course"),
        {"creator": t.creator_id, "course": course_id},
    ).one_or_none()
    if row is None:
        raise NotFound(_COURSE_NOT_FOUND)
    return to_record(Course, row)


def list_courses(t: Workspace, *, include_deleted: bool = False, only_deleted: bool = False) -> list[Course]:
    """The workspace's courses in display order, with counts; deleted ones only when asked
    (``only_deleted`` lists the trash)."""
    rows = t.conn.execute(
        sa.text(
            _COURSE_SELECT + "WHERE c.creator_id = :creator "
            "AND (CASE WHEN :only_deleted THEN c.is_deleted WHEN :include_deleted THEN true ELSE NOT c.is_deleted END) "
            "ORDER BY c.display_order, c.created_at, c.id"
        ),
        {"creator": t.creator_id, "include_deleted": include_deleted, "only_deleted": only_deleted},
    )
    return [to_record(Course, row) for row in rows]


def update_course(
    t: Workspace,
    course_id: uuid.UUID,
    *,
    title: str | None = None,
    description: str | None = None,
    thumbnail_url: str | None = None,
    expected_revision: int | None = None,
) -> None:
    """Change a course's details. None leaves a field as it is; an empty description or
    thumbnail URL clears it.

    Raises:
        StaleEdit: ``expected_revision`` is not the course's revision (another tab saved first).
    """
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = require_text(title, "course title")
    if description is not None:
        changes["description"] = _optional_text(description)
    if thumbnail_url is not None:
        changes["thumbnail_url"] = _thumbnail(thumbnail_url)
    revision = _lock_course(t, course_id)  # NotFound for a foreign id
    _check_revision(expected_revision, revision, COURSE_STALE)
    if not changes:
        return
    clause, params = _set_clause(changes)
    t.conn.execute(
        sa.text(f"UPDATE courses SET {clause}, revision = revision + 1 WHERE creator_id = :creator AND id = :course"),
        {**params, "creator": t.creator_id, "course": course_id},
    )


def move_course(
    t: Workspace, course_id: uuid.UUID, position: int, *, expected_order: Sequence[uuid.UUID] | None = None
) -> None:
    """Put a live course at 1-based ``position`` among the workspace's live courses (clamped to
    the ends).

    ``expected_order`` is the list of live courses, first to last, that the caller showed (the
    list's revision: positions are read against it); another order refuses the move.

    Raises NotFound, StaleEdit, or ValidationError for a course in the trash.
    """
    order = _lock_course_list(t)
    if expected_order is not None and list(expected_order) != order:
        raise StaleEdit(COURSE_LIST_STALE)
    if course_id not in order:
        course = get_course(t, course_id)  # NotFound for a foreign id
        if course.is_deleted:
            raise ValidationError("This course is in the trash; restore it before moving it.")
    order.remove(course_id)
    order.insert(_clamp(position, len(order) + 1) - 1, course_id)
    _apply_course_order(t, order)


def duplicate_course(t: Workspace, course_id: uuid.UUID) -> uuid.UUID:
    """Copy a course with its modules and lessons as a draft named "Copy of <title>", placed
    right after the original; returns the copy's id. Raises NotFound."""
    order = _lock_course_list(t)
    original = get_course(t, course_id)
    new_id = t.conn.execute(
        sa.text(
            "INSERT INTO courses (creator_id, title, description, thumbnail_url, metadata, display_order) "
            "SELECT creator_id, 'Copy of ' || title, description, thumbnail_url, metadata, display_order "
            "FROM courses WHERE creator_id = :creator AND id = :course RETURNING id"
        ),
        {"creator": t.creator_id, "course": course_id},
    ).scalar_one()
    # One statement: new module ids are drawn first, so the lessons can be copied to them.
    t.conn.execute(
        sa.text(
            "WITH src AS ("
            "  SELECT id AS old_id, gen_random_uuid() AS new_id, title, description, display_order, metadata "
            "  FROM course_modules WHERE creator_id = :creator AND course_id = :course"
            "), copied AS ("
            "  INSERT INTO course_modules (id, course_id, creator_id, title, description, display_order, metadata) "
            "  SELECT new_id, :new_course, :creator, title, description, display_order, metadata FROM src"
            ") "
            "INSERT INTO module_lessons (module_id, video_id, creator_id, lesson_order, title, description, "
            "  is_required, estimated_duration_minutes, metadata) "
            "SELECT src.new_id, l.video_id, l.creator_id, l.lesson_order, l.title, l.description, l.is_required, "
            "  l.estimated_duration_minutes, l.metadata "
            "FROM module_lessons l JOIN src ON l.module_id = src.old_id WHERE l.creator_id = :creator"
        ),
        {"creator": t.creator_id, "course": course_id, "new_course": new_id},
    )
    if original.is_deleted:
        order.append(new_id)  # a copy of a course in the trash is live: it goes last
    else:
        order.insert(order.index(course_id) + 1, new_id)
    _apply_course_order(t, order)
    return new_id


def delete_course(t: Workspace, course_id: uuid.UUID) -> None:
    """Move a course to the trash: it is hidden from the list (and from students) with its
    modules and lessons intact, and keeps its published flag for when it is restored."""
    _lock_course_list(t)
    result = t.conn.execute(
        sa.text("UPDATE courses SET is_deleted = true WHERE creator_id = :creator AND id = :course"),
        {"creator": t.creator_id, "course": course_id},
    )
    if result.rowcount == 0:
        raise NotFound(_COURSE_NOT_FOUND)
    _apply_course_order(t, _live_course_ids(t))


def restore_course(t: Workspace, course_id: uuid.UUID) -> None:
    """Take a course out of the trash; it goes to the end of the list."""
    order = _lock_course_list(t)
    result = t.conn.execute(
        sa.text("UPDATE courses SET is_deleted = false WHERE creator_id = :creator AND id = :course"),
        {"creator": t.creator_id, "course": course_id},
    )
    if result.rowcount == 0:
        raise NotFound(_COURSE_NOT_FOUND)
    if course_id not in order:
        order.append(course_id)
    _apply_course_order(t, order)
