"""A course with its modules and their lessons, in order: what the builder, the preview and the
checklist draw."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from .._rows import to_record
from ..db import Workspace
from .catalog import get_course
from .lessons import _LESSON_COLUMNS
from .model import CourseOutline, Lesson, Module, ModuleOutline

__all__ = ["course_outline"]


def course_outline(t: Workspace, course_id: uuid.UUID) -> CourseOutline:
    """A course with its modules and their lessons, in order, read in two queries. Raises NotFound."""
    course = get_course(t, course_id)
    rows = t.conn.execute(
        sa.text(
            "SELECT m.id AS m_id, m.course_id AS m_course_id, m.title AS m_title, m.description AS m_description, "
            "  m.display_order AS m_display_order, m.revision AS m_revision, "
            f"  {_LESSON_COLUMNS} "
            "FROM course_modules m "
            "LEFT JOIN module_lessons l ON l.creator_id = m.creator_id AND l.module_id = m.id "
            "LEFT JOIN videos v ON v.creator_id = l.creator_id AND v.id = l.video_id "
            "WHERE m.creator_id = :creator AND m.course_id = :course "
            "ORDER BY m.display_order, m.created_at, m.id, l.lesson_order, l.created_at, l.id"
        ),
        {"creator": t.creator_id, "course": course_id},
    )
    modules: list[ModuleOutline] = []
    for row in rows:
        if not modules or modules[-1].module.id != row.m_id:
            module = Module(row.m_id, row.m_course_id, row.m_title, row.m_description, row.m_display_order,
                            row.m_revision)
            modules.append(ModuleOutline(module, []))
        if row.id is not None:
            modules[-1].lessons.append(to_record(Lesson, row))
    return CourseOutline(course, modules)
