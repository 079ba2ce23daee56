"""Publishing a course: its pre-publish checklist, publish (anyway) and unpublish."""

from __future__ import annotations

import uuid
from collections.abc import Collection

import sqlalchemy as sa

from ..db import Workspace
from ..errors import StaleEdit, ValidationError
from ._locks import _check_revision, _lock_course
from .catalog import get_course
from .model import CHECKLIST_STALE, COURSE_STALE, NO_LESSONS, PublishProblem
from .outline import course_outline

__all__ = ["publish_anyway", "publish_checklist", "publish_course", "unpublish_course"]


def publish_checklist(t: Workspace, course_id: uuid.UUID) -> list[PublishProblem]:
    """What a student would trip over in a course (empty when it is ready). Raises NotFound."""
    return course_outline(t, course_id).checklist


def publish_course(
    t: Workspace,
    course_id: uuid.UUID,
    *,
    expected_revision: int | None = None,
    accepted: Collection[PublishProblem] | None = None,
) -> None:
    """Make a course visible to students.

    ``published_at`` records the FIRST publication: unpublishing keeps it and publishing again
    does not move it, so "published since" stays the date students first saw the course.

    Args:
        expected_revision: the course's revision the caller showed; publishing bumps it, so a
            second tab's Publish or Unpublish drawn before this one is refused.
        accepted: the checklist the caller showed (empty when it showed a clean one), the creator
            choosing to publish anyway. A problem not in it (a video failed after the page was
            drawn) refuses the publish: the creator never saw it. None: publish only a course
            without problems.

    Raises:
        ValidationError: the course has no lessons, or it is in the trash, or it has problems
            and ``accepted`` is None.
        StaleEdit: the course changed since ``expected_revision``, or the checklist holds a
            problem ``accepted`` does not.
        NotFound: the course is not in this workspace.
    """
    revision = _lock_course(t, course_id, live=False)  # NotFound for a foreign id
    _check_revision(expected_revision, revision, COURSE_STALE)
    course = get_course(t, course_id)
    if course.is_deleted:
        raise ValidationError("This course is in the trash; restore it before publishing it.")
    checklist = publish_checklist(t, course_id)
    if any(problem.blocks for problem in checklist):
        raise ValidationError(NO_LESSONS)
    unseen = [problem for problem in checklist if problem not in set(accepted or ())]
    if unseen and accepted is not None:
        raise StaleEdit(CHECKLIST_STALE)
    if unseen:
        raise ValidationError(
            "This course has problems a student would trip over: " + "; ".join(p.message for p in unseen)
            + ". Fix them, or publish anyway after looking at them."
        )
    t.conn.execute(
        sa.text(
            "UPDATE courses SET is_published = true, published_at = coalesce(published_at, now()), "
            "  revision = revision + 1 "
            "WHERE creator_id = :creator AND id = :course"
        ),
        {"creator": t.creator_id, "course": course_id},
    )


def publish_anyway(t: Workspace, course_id: uuid.UUID, *, anyway: bool,
                   expected_revision: int | None = None) -> list[PublishProblem]:
    """Publish a course, with the problems its checklist lists if ``anyway`` (the command line's
    ``course publish --anyway``); returns the problems accepted (empty for a clean course).

    Raises:
        ValidationError: the course has no lessons (never published, even ``anyway``), or it has
            problems and not ``anyway``; the message lists them and says what to do.
        StaleEdit: the course changed since ``expected_revision``.
        NotFound: the course is not in this workspace.
    """
    problems = publish_checklist(t, course_id)  # NotFound for a foreign id
    if problems and not (anyway and not any(problem.blocks for problem in problems)):
        advice = ("Add a lesson first." if any(problem.blocks for problem in problems)
                  else "Fix them on the Courses page, or run again with --anyway.")
        raise ValidationError("Before you publish: " + " ".join(f"{p.message}." for p in problems) + " " + advice)
    publish_course(t, course_id, expected_revision=expected_revision, accepted=problems)
    return problems


def unpublish_course(t: Workspace, course_id: uuid.UUID, *, expected_revision: int | None = None) -> None:
    """Make a course a draft again (``published_at`` is kept).

    Raises NotFound, StaleEdit (``expected_revision`` is the course's).
    """
    revision = _lock_course(t, course_id, live=False)
    _check_revision(expected_revision, revision, COURSE_STALE)
    t.conn.execute(
        sa.text("UPDATE courses SET is_published = false, revision = revision + 1 "
                "WHERE creator_id = :creator AND id = :course"),
        {"creator": t.creator_id, "course": course_id},
    )
