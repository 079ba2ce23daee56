"""A course's modules: added at the end, renamed, moved, deleted with their lessons.

Positions are kept exactly 1..n within a course; a change to the list bumps the course's revision.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from .._rows import require_text, to_record
from ..db import Workspace
from ..errors import NotFound, StaleEdit
from ._fields import _optional_text, _set_clause
from ._locks import (
    _apply_module_order,
    _bump_course,
    _check_revision,
    _clamp,
    _lock_course,
    _lock_module,
    _module_course,
)
from .model import _MODULE_NOT_FOUND, COURSE_STALE, MODULE_STALE, Module

__all__ = ["create_module", "delete_module", "list_modules", "move_module", "update_module"]

_MODULE_COLUMNS = "id, course_id, title, description, display_order, revision"


def create_module(t: Workspace, course_id: uuid.UUID, title: str, description: str | None = None) -> uuid.UUID:
    """A module at the end of ``course_id``; returns its id. Raises NotFound."""
    title = require_text(title, "module title")
    _lock_course(t, course_id)
    module_id = t.conn.execute(
        sa.text(
            "INSERT INTO course_modules (creator_id, course_id, title, description, display_order) "
            "SELECT :creator, c.id, :title, :description, "
            "  coalesce((SELECT max(display_order) FROM course_modules m "
            "            WHERE m.creator_id = c.creator_id AND m.course_id = c.id), 0) + 1 "
            "FROM courses c WHERE c.creator_id = :creator AND c.id = :course RETURNING id"
        ),
        {"creator": t.creator_id, "course": course_id, "title": title,
         "description": description and _optional_text(description)},
    ).scalar_one()
    _bump_course(t, course_id)
    return module_id


def list_modules(t: Workspace, course_id: uuid.UUID) -> list[Module]:
    """A course's modules in order (empty for a course outside the workspace)."""
    rows = t.conn.execute(
        sa.text(
            f"SELECT {_MODULE_COLUMNS} FROM course_modules "
            "WHERE creator_id = :creator AND course_id = :course ORDER BY display_order, created_at, id"
        ),
        {"creator": t.creator_id, "course": course_id},
    )
    return [to_record(Module, row) for row in rows]


def update_module(
    t: Workspace,
    module_id: uuid.UUID,
    *,
    title: str | None = None,
    description: str | None = None,
    expected_revision: int | None = None,
) -> None:
    """Change a module's title or description (None leaves it; an empty description clears it).

    Raises NotFound, StaleEdit (``expected_revision`` is the module's).
    """
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = require_text(title, "module title")
    if description is not None:
        changes["description"] = _optional_text(description)
    _course_id, revision = _lock_module(t, module_id)
    _check_revision(expected_revision, revision, MODULE_STALE)
    clause, params = _set_clause(changes)
    t.conn.execute(
        sa.text("UPDATE course_modules SET revision = revision + 1" + (f", {clause}" if clause else "")
                + " WHERE creator_id = :creator AND id = :module"),
        {**params, "creator": t.creator_id, "module": module_id},
    )


def move_module(t: Workspace, module_id: uuid.UUID, position: int, *, expected_revision: int | None = None) -> None:
    """Put a module at 1-based ``position`` in its course (clamped to the ends).

    ``expected_revision`` is the COURSE's revision the caller saw. Raises NotFound, StaleEdit.
    """
    course_id = _module_course(t, module_id)
    revision = _lock_course(t, course_id)
    _check_revision(expected_revision, revision, COURSE_STALE)
    order = [m.id for m in list_modules(t, course_id)]
    if module_id not in order:  # moved to another course between the two reads
        raise StaleEdit(COURSE_STALE)
    new_order = list(order)
    new_order.remove(module_id)
    new_order.insert(_clamp(position, len(order)) - 1, module_id)
    if new_order != order:
        _apply_module_order(t, course_id, new_order)
        _bump_course(t, course_id)


def delete_module(t: Workspace, module_id: uuid.UUID, *, expected_revision: int | None = None) -> None:
    """Delete a module and its lessons (the videos stay in the library); the course's other
    modules close the gap.

    Raises NotFound, StaleEdit (``expected_revision`` is the MODULE's: its lessons are deleted
    with it, so they must be the ones the caller saw).
    """
    course_id = _module_course(t, module_id)
    _lock_course(t, course_id)
    _check_revision(expected_revision, _lock_module(t, module_id)[1], MODULE_STALE)
    result = t.conn.execute(
        sa.text("DELETE FROM course_modules WHERE creator_id = :creator AND id = :module"),
        {"creator": t.creator_id, "module": module_id},
    )
    if result.rowcount == 0:
        raise NotFound(_MODULE_NOT_FOUND)
    _apply_module_order(t, course_id, [m.id for m in list_modules(t, course_id)])
    _bump_course(t, course_id)
