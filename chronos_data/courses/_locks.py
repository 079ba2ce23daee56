"""Locks, revisions and positions shared by every change to courses, modules and lessons.

Every change to a module's lessons locks the module row (``FOR UPDATE``) and bumps its
``revision``; every change to a course's list of modules locks the course row and bumps the
course's ``revision``; every change to the course list locks the workspace's live courses. Two
modules are always locked in id order, so two changes cannot deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from ..db import Workspace
from ..errors import NotFound, StaleEdit, ValidationError
from .model import _COURSE_NOT_FOUND, _LESSON_NOT_FOUND, _MODULE_NOT_FOUND, MODULE_STALE


def _lock_course_list(t: Workspace) -> list[uuid.UUID]:
    """Lock the workspace's live courses, so two reorders cannot interleave; returns their ids
    in display order."""
    return list(
        t.conn.execute(
            sa.text(
                "SELECT id FROM courses WHERE creator_id = :creator AND NOT is_deleted "
                "ORDER BY display_order, created_at, id FOR UPDATE"
            ),
            {"creator": t.creator_id},
        ).scalars()
    )


def _live_course_ids(t: Workspace) -> list[uuid.UUID]:
    return list(
        t.conn.execute(
            sa.text(
                "SELECT id FROM courses WHERE creator_id = :creator AND NOT is_deleted "
                "ORDER BY display_order, created_at, id"
            ),
            {"creator": t.creator_id},
        ).scalars()
    )


def _apply_course_order(t: Workspace, order: Sequence[uuid.UUID]) -> None:
    t.conn.execute(
        sa.text(
            "UPDATE courses c SET display_order = o.n "
            "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, n) "
            "WHERE c.creator_id = :creator AND c.id = o.id AND c.display_order <> o.n"
        ),
        {"creator": t.creator_id, "ids": list(order)},
    )


#: A change to a trashed course, from a tab that still shows it: refused, as publishing it is.
IN_TRASH = "This course is in the trash (perhaps from another tab); restore it to change it."


def _lock_course(t: Workspace, course_id: uuid.UUID, *, live: bool = True) -> int:
    """Lock a course row for a change to its modules; returns its revision.

    Raises NotFound, or ValidationError for a course in the trash unless ``live`` is False."""
    row = t.conn.execute(
        sa.text("SELECT revision, is_deleted FROM courses WHERE creator_id = :creator AND id = :course FOR UPDATE"),
        {"creator": t.creator_id, "course": course_id},
    ).one_or_none()
    if row is None:
        raise NotFound(_COURSE_NOT_FOUND)
    if live and row.is_deleted:
        raise ValidationError(IN_TRASH)
    return row.revision


def _bump_course(t: Workspace, course_id: uuid.UUID) -> None:
    t.conn.execute(
        sa.text("UPDATE courses SET revision = revision + 1 WHERE creator_id = :creator AND id = :course"),
        {"creator": t.creator_id, "course": course_id},
    )


def _module_course(t: Workspace, module_id: uuid.UUID) -> uuid.UUID:
    course_id = t.conn.execute(
        sa.text("SELECT course_id FROM course_modules WHERE creator_id = :creator AND id = :module"),
        {"creator": t.creator_id, "module": module_id},
    ).scalar_one_or_none()
    if course_id is None:
        raise NotFound(_MODULE_NOT_FOUND)
    return course_id


def _apply_module_order(t: Workspace, course_id: uuid.UUID, order: Sequence[uuid.UUID]) -> None:
    t.conn.execute(
        sa.text(
            "UPDATE course_modules m SET display_order = o.n "
            "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, n) "
            "WHERE m.creator_id = :creator AND m.course_id = :course AND m.id = o.id AND m.display_order <> o.n"
        ),
        {"creator": t.creator_id, "course": course_id, "ids": list(order)},
    )


def _lock_module(t: Workspace, module_id: uuid.UUID, *, live: bool = True) -> tuple[uuid.UUID, int]:
    """Lock a module row for a change to its lessons; returns (course id, revision).

    Raises NotFound, or ValidationError when its course is in the trash unless ``live`` is False."""
    row = t.conn.execute(
        sa.text("SELECT m.course_id, m.revision, c.is_deleted FROM course_modules m "
                "JOIN courses c ON c.id = m.course_id AND c.creator_id = m.creator_id "
                "WHERE m.creator_id = :creator AND m.id = :module FOR UPDATE OF m"),
        {"creator": t.creator_id, "module": module_id},
    ).one_or_none()
    if row is None:
        raise NotFound(_MODULE_NOT_FOUND)
    if live and row.is_deleted:
        raise ValidationError(IN_TRASH)
    return row.course_id, row.revision


def _lesson_module(t: Workspace, lesson_id: uuid.UUID) -> uuid.UUID:
    module_id = t.conn.execute(
        sa.text("SELECT module_id FROM module_lessons WHERE creator_id = :creator AND id = :lesson"),
        {"creator": t.creator_id, "lesson": lesson_id},
    ).scalar_one_or_none()
    if module_id is None:
        raise NotFound(_LESSON_NOT_FOUND)
    return module_id


def _lock_lesson_module(t: Workspace, lesson_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID, int]:
    """Lock the module that holds a lesson; returns (module id, course id, module revision).

    Raises NotFound, or StaleEdit when the lesson left the module while this waited for the lock.
    """
    module_id = _lesson_module(t, lesson_id)
    course_id, revision = _lock_module(t, module_id)
    if _lesson_module(t, lesson_id) != module_id:
        raise StaleEdit(MODULE_STALE)
    return module_id, course_id, revision


def _check_revision(expected: int | None, stored: int, message: str) -> None:
    if expected is not None and expected != stored:
        raise StaleEdit(message)


def _bump_module(t: Workspace, module_id: uuid.UUID) -> None:
    t.conn.execute(
        sa.text("UPDATE course_modules SET revision = revision + 1 WHERE creator_id = :creator AND id = :module"),
        {"creator": t.creator_id, "module": module_id},
    )


def _lesson_ids(t: Workspace, module_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        t.conn.execute(
            sa.text(
                "SELECT id FROM module_lessons WHERE creator_id = :creator AND module_id = :module "
                "ORDER BY lesson_order, created_at, id"
            ),
            {"creator": t.creator_id, "module": module_id},
        ).scalars()
    )


def _apply_lesson_order(t: Workspace, module_id: uuid.UUID, order: Sequence[uuid.UUID]) -> None:
    """Number ``order`` 1..n in one UPDATE (the deferred UNIQUE lets positions pass through
    duplicates until commit)."""
    t.conn.execute(
        sa.text(
            "UPDATE module_lessons l SET lesson_order = o.n "
            "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, n) "
            "WHERE l.creator_id = :creator AND l.module_id = :module AND l.id = o.id AND l.lesson_order <> o.n"
        ),
        {"creator": t.creator_id, "module": module_id, "ids": list(order)},
    )


def _clamp(position: int, count: int) -> int:
    """``position`` limited to 1..count (1 when the list is empty)."""
    return min(max(int(position), 1), max(count, 1))
