"""Lesson order: a module's new order, one lesson up or down, a lesson into another module, and a
whole drag and drop saved at once.

Positions are kept exactly 1..n within a module; every change locks the modules it touches and
bumps their revisions, and is refused (StaleEdit) over an order the caller never saw.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..db import Workspace
from ..errors import StaleEdit, ValidationError
from ._locks import (
    _apply_lesson_order,
    _bump_module,
    _check_revision,
    _clamp,
    _lesson_ids,
    _lesson_module,
    _lock_lesson_module,
    _lock_module,
)
from .catalog import get_course
from .model import DUPLICATE_LESSON, MODULE_STALE, CourseOutline
from .outline import course_outline

__all__ = ["arrange_lessons", "move_lesson", "move_lesson_to_module", "reorder_lessons"]


def reorder_lessons(
    t: Workspace, module_id: uuid.UUID, lesson_ids: Sequence[uuid.UUID], *, expected_revision: int | None = None
) -> None:
    """Give a module's lessons a new order: ``lesson_ids`` lists all of them, first to last.

    Raises:
        ValidationError: the list is not exactly the module's current lessons.
        NotFound: the module is not in this workspace.
        StaleEdit: ``expected_revision`` is not the module's revision.
    """
    _course_id, revision = _lock_module(t, module_id)
    _check_revision(expected_revision, revision, MODULE_STALE)
    current = _lesson_ids(t, module_id)
    wanted = list(lesson_ids)
    if len(wanted) != len(current) or set(wanted) != set(current):
        raise ValidationError(
            "The new order does not list exactly this module's lessons; reload the page and arrange them again."
        )
    if wanted != current:
        _apply_lesson_order(t, module_id, wanted)
        _bump_module(t, module_id)


def move_lesson(t: Workspace, lesson_id: uuid.UUID, offset: int, *, expected_revision: int | None = None) -> None:
    """Move a lesson ``offset`` places (-1 up, +1 down), stopping at the first and last place.

    Raises NotFound, StaleEdit (``expected_revision`` is the module's).
    """
    module_id, _course_id, revision = _lock_lesson_module(t, lesson_id)
    _check_revision(expected_revision, revision, MODULE_STALE)
    order = _lesson_ids(t, module_id)
    index = order.index(lesson_id)
    target = min(max(index + offset, 0), len(order) - 1)
    if target == index:
        return
    order.insert(target, order.pop(index))
    _apply_lesson_order(t, module_id, order)
    _bump_module(t, module_id)


def move_lesson_to_module(
    t: Workspace,
    lesson_id: uuid.UUID,
    target_module_id: uuid.UUID,
    *,
    position: int | None = None,
    expected_revision: int | None = None,
) -> None:
    """Move a lesson into another module of the workspace (any course), at 1-based ``position``
    (default: last); both modules close up their positions.

    Raises:
        ValidationError: the target module already has this lesson's video.
        NotFound: the lesson or the target module is not in this workspace.
        StaleEdit: ``expected_revision`` is not the revision of the module the lesson is in.
    """
    source_module_id = _lesson_module(t, lesson_id)
    if source_module_id == target_module_id:
        revision = _lock_module(t, source_module_id)[1]
        _check_revision(expected_revision, revision, MODULE_STALE)
        if position is not None:
            _move_within(t, lesson_id, source_module_id, position)
        return
    # Two modules are locked in id order, so two opposite moves cannot deadlock.
    revisions = {mid: _lock_module(t, mid)[1] for mid in sorted({source_module_id, target_module_id}, key=str)}
    if _lesson_module(t, lesson_id) != source_module_id:  # moved by someone else while we waited
        raise StaleEdit(MODULE_STALE)
    _check_revision(expected_revision, revisions[source_module_id], MODULE_STALE)
    duplicate = t.conn.execute(
        sa.text(
            "SELECT 1 FROM module_lessons l JOIN module_lessons o ON o.creator_id = l.creator_id "
            "  AND o.module_id = :target AND o.video_id = l.video_id "
            "WHERE l.creator_id = :creator AND l.id = :lesson"
        ),
        {"creator": t.creator_id, "lesson": lesson_id, "target": target_module_id},
    ).first()
    if duplicate:
        raise ValidationError(DUPLICATE_LESSON)
    target_order = _lesson_ids(t, target_module_id)
    place = len(target_order) + 1 if position is None else _clamp(position, len(target_order) + 1)
    target_order.insert(place - 1, lesson_id)
    try:
        with t.conn.begin_nested():
            t.conn.execute(
                sa.text(
                    "UPDATE module_lessons SET module_id = :target, lesson_order = :place "
                    "WHERE creator_id = :creator AND id = :lesson"
                ),
                {"creator": t.creator_id, "lesson": lesson_id, "target": target_module_id, "place": place},
            )
    except IntegrityError as exc:
        if "idx_module_lessons_unique_video_per_module" in str(exc.orig):
            raise ValidationError(DUPLICATE_LESSON) from exc
        raise
    _apply_lesson_order(t, source_module_id, _lesson_ids(t, source_module_id))
    _apply_lesson_order(t, target_module_id, target_order)
    _bump_module(t, source_module_id)
    _bump_module(t, target_module_id)


def _move_within(t: Workspace, lesson_id: uuid.UUID, module_id: uuid.UUID, position: int) -> None:
    _lock_module(t, module_id)
    order = _lesson_ids(t, module_id)
    if lesson_id not in order:
        raise StaleEdit(MODULE_STALE)
    new_order = list(order)
    new_order.remove(lesson_id)
    new_order.insert(_clamp(position, len(order)) - 1, lesson_id)
    if new_order != order:
        _apply_lesson_order(t, module_id, new_order)
        _bump_module(t, module_id)


def arrange_lessons(
    t: Workspace,
    course_id: uuid.UUID,
    layout: Mapping[uuid.UUID, Sequence[uuid.UUID]],
    expected_revisions: Mapping[uuid.UUID, int],
) -> CourseOutline:
    """Save a drag and drop: ``layout`` gives the new lessons, first to last, of each module
    whose list changed; lessons listed under another module than their own move there.
    Returns the course as it now is.

    ``expected_revisions`` holds the revision the caller saw of each module it showed; every
    module the change touches (those in ``layout`` and those its lessons come from) must still
    be at that revision, or nothing is saved.

    Raises:
        StaleEdit: a touched module changed since the caller drew it (another tab saved first).
        ValidationError: a module's new list is not exactly its lessons after the moves.
        NotFound: the course, a module or a lesson is not in this workspace.
    """
    get_course(t, course_id)
    homes = {
        row.id: row.module_id
        for row in t.conn.execute(
            sa.text("SELECT id, module_id FROM module_lessons "
                    "WHERE creator_id = :creator AND id = ANY(CAST(:ids AS uuid[]))"),
            {"creator": t.creator_id, "ids": [lid for order in layout.values() for lid in order]},
        )
    }
    touched = set(layout) | set(homes.values())
    # Locked in id order, as move_lesson_to_module does, so two drags cannot deadlock.
    for module_id in sorted(touched, key=str):
        module_course, revision = _lock_module(t, module_id)
        if module_course != course_id or expected_revisions.get(module_id) != revision:
            raise StaleEdit(MODULE_STALE)
    if any(lid not in homes for order in layout.values() for lid in order):
        raise StaleEdit(MODULE_STALE)  # a lesson was removed since the caller drew it
    for module_id, order in layout.items():
        for position, lesson_id in enumerate(order, start=1):
            if homes[lesson_id] != module_id:
                move_lesson_to_module(t, lesson_id, module_id, position=position)
                homes[lesson_id] = module_id
    for module_id, order in layout.items():
        reorder_lessons(t, module_id, order)
    return course_outline(t, course_id)
