"""Lesson moves made in the course builder, each saved with the concept-order problems it causes.

A move that makes a lesson use a term before the lesson that explains it is still saved (the
creator may mean it), and the problem comes back with it so the page can name it at once: the
course's concept-order findings are read before and after the move, in the same transaction, and
those that are new are returned. A problem the course already had is not reported again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .. import courses
from ..db import Workspace
from ..insights import Insight, concepts

__all__ = ["DraggedLayout", "LessonMove", "LessonStep", "LessonToModule", "save_lesson_move"]


@dataclass(frozen=True)
class LessonStep:
    """A lesson ``offset`` places up (-1) or down (+1) in its module; ``expected_revision`` is the
    module's revision the page showed."""

    lesson_id: uuid.UUID
    offset: int
    expected_revision: int | None = None


@dataclass(frozen=True)
class LessonToModule:
    """A lesson moved to the end of another module; ``expected_revision`` is the revision the page
    showed of the module the lesson is in."""

    lesson_id: uuid.UUID
    module_id: uuid.UUID
    expected_revision: int | None = None


@dataclass(frozen=True)
class DraggedLayout:
    """A drag and drop: each changed module's lessons, first to last, and the revision the page
    showed of every module (see :func:`courses.arrange_lessons`)."""

    layout: Mapping[uuid.UUID, Sequence[uuid.UUID]]
    expected_revisions: Mapping[uuid.UUID, int]


LessonMove = LessonStep | LessonToModule | DraggedLayout


def save_lesson_move(t: Workspace, course_id: uuid.UUID, move: LessonMove) -> list[Insight]:
    """Save one lesson move of ``course_id``'s builder; returns the concept-order findings the new
    order has and the old one did not, most lessons apart first (empty when it causes none).

    Raises:
        StaleEdit: a module the move touches changed since the page drew it; nothing is saved.
        ValidationError: the move is not possible (e.g. the target module has the video already).
        NotFound: the course, a module or the lesson is not in this workspace.
    """
    before = {insight.key for insight in concepts.concept_order(t, course_id)}
    match move:
        case LessonStep(lesson_id, offset, expected_revision):
            courses.move_lesson(t, lesson_id, offset, expected_revision=expected_revision)
        case LessonToModule(lesson_id, module_id, expected_revision):
            courses.move_lesson_to_module(t, lesson_id, module_id, expected_revision=expected_revision)
        case DraggedLayout(layout, expected_revisions):
            courses.arrange_lessons(t, course_id, layout, expected_revisions)
        case _:
            raise TypeError(f"not a lesson move: {move!r}")
    return [insight for insight in concepts.concept_order(t, course_id) if insight.key not in before]
