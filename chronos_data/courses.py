"""Courses, their modules, and the ordered lessons (videos) inside each module.

Positions are kept exactly 1..n: courses' ``display_order`` over the workspace's live (not
deleted) courses, modules' ``display_order`` within a course, lessons' ``lesson_order`` within a
module. Every change that touches a list rewrites its positions in one UPDATE.

Concurrent edits: every change to a module's lessons locks the module row (``FOR UPDATE``) and
bumps its ``revision``; every change to a course's list of modules locks the course row and bumps
the course's ``revision``. A caller that passes ``expected_revision`` (the revision its page
showed) gets :class:`StaleEdit` instead of a change made over an order it never saw.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ._rows import require_text, to_record, unstorable
from .analytics import track_event
from .db import Tenant
from .errors import NotFound, StaleEdit, ValidationError

__all__ = [
    "Course",
    "CourseOutline",
    "Lesson",
    "Module",
    "ModuleOutline",
    "PublishProblem",
    "add_lesson",
    "add_lessons",
    "arrange_lessons",
    "course_outline",
    "create_course",
    "create_module",
    "delete_course",
    "delete_module",
    "duplicate_course",
    "get_course",
    "list_courses",
    "list_lessons",
    "list_modules",
    "move_course",
    "move_lesson",
    "move_lesson_to_module",
    "move_module",
    "publish_checklist",
    "publish_course",
    "remove_lesson",
    "reorder_lessons",
    "restore_course",
    "swap_lesson_video",
    "unpublish_course",
    "update_course",
    "update_lesson",
    "update_module",
]

MODULE_STALE = (
    "This module was changed in another tab — here is the current version; nothing of yours was saved, "
    "so make your change again if it is still needed."
)
COURSE_STALE = (
    "This course was changed in another tab — here is the current version; nothing of yours was saved, "
    "so make your change again if it is still needed."
)
COURSE_LIST_STALE = (
    "Your course list was changed in another tab — here is the current version; nothing of yours was saved, "
    "so make your change again if it is still needed."
)
CHECKLIST_STALE = (
    "This course changed since its checklist was drawn (in another tab, or a video's import moved on) — here "
    "is the current version; nothing was published, so look at the checklist again."
)
DUPLICATE_LESSON = "This video is already a lesson in this module; a module holds each video once."
NO_LESSONS = (
    "A course needs at least one lesson before it can be published; add a video to one of its modules."
)
_COURSE_NOT_FOUND = "That course is not in this workspace."
_MODULE_NOT_FOUND = "That module is not in this workspace."
_LESSON_NOT_FOUND = "That lesson is not in this workspace."
#: Statuses in which a video is still on its way through the import pipeline.
_IN_PROGRESS = {"pending", "uploading", "transcribing", "processing", "embedding"}
_HEALTH = {"video_deleted": "video deleted", "video_failed": "video failed to import",
           "video_processing": "video still processing"}


@dataclass(frozen=True)
class Course:
    id: uuid.UUID
    title: str
    description: str | None
    thumbnail_url: str | None
    is_published: bool
    display_order: int
    published_at: datetime | None  # the FIRST publish: kept when unpublished and re-published
    created_at: datetime
    is_deleted: bool
    revision: int
    module_count: int
    lesson_count: int
    total_minutes: int


@dataclass(frozen=True)
class Module:
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    description: str | None
    display_order: int
    revision: int


@dataclass(frozen=True)
class Lesson:
    id: uuid.UUID
    module_id: uuid.UUID
    video_id: uuid.UUID
    lesson_order: int
    title: str
    description: str | None
    is_required: bool
    estimated_duration_minutes: int | None
    video_title: str
    video_status: str
    video_is_deleted: bool
    video_duration_seconds: int | None
    source_type: str
    youtube_video_id: str | None
    embed_id: str | None
    storage_path: str | None = None  # an uploaded video's file
    mux_playback_id: str | None = None  # a Mux video's (the player needs every source's key column)

    @property
    def problem_kind(self) -> str | None:
        """None when a student can watch the lesson; else ``video_deleted``, ``video_failed`` or
        ``video_processing``."""
        if self.video_is_deleted:
            return "video_deleted"
        if self.video_status == "failed":
            return "video_failed"
        if self.video_status in _IN_PROGRESS:
            return "video_processing"
        return None

    @property
    def health(self) -> str | None:
        """None when a student can watch the lesson; else a short phrase saying why not."""
        return _HEALTH.get(self.problem_kind)


@dataclass(frozen=True)
class ModuleOutline:
    module: Module
    lessons: list[Lesson]


@dataclass(frozen=True)
class CourseOutline:
    course: Course
    modules: list[ModuleOutline]

    @property
    def total_minutes(self) -> int:
        """Minutes of all lessons: the lesson's estimate, else its video's length rounded up."""
        return sum(_lesson_minutes(lesson) for entry in self.modules for lesson in entry.lessons)

    @property
    def checklist(self) -> list[PublishProblem]:
        """Everything a student would trip over, in course order: broken lessons, empty modules,
        and a course without any lesson."""
        found: list[PublishProblem] = []
        for number, entry in enumerate(self.modules, start=1):
            module = entry.module
            if not entry.lessons:
                found.append(PublishProblem("empty_module", f"Module {number} ('{module.title}') has no lessons yet.",
                                            module.id))
            for lesson in entry.lessons:
                if kind := lesson.problem_kind:
                    found.append(PublishProblem(kind, f"Lesson '{lesson.title}' (Module {number}): {lesson.health}",
                                                module.id, lesson.id, lesson.video_id))
        if not any(entry.lessons for entry in self.modules):
            found.insert(0, PublishProblem("no_lessons", NO_LESSONS))
        return found


@dataclass(frozen=True)
class PublishProblem:
    """One item of a course's pre-publish checklist, with the ids a page needs to link to its fix.

    ``kind`` is one of ``no_lessons`` (blocks publishing), ``empty_module``, ``video_deleted``,
    ``video_failed``, ``video_processing``.
    """

    kind: str
    message: str
    module_id: uuid.UUID | None = None
    lesson_id: uuid.UUID | None = None
    video_id: uuid.UUID | None = None

    @property
    def blocks(self) -> bool:
        """Whether even "publish anyway" is refused (a course with nothing to watch)."""
        return self.kind == "no_lessons"


def _lesson_minutes(lesson: Lesson) -> int:
    if lesson.estimated_duration_minutes:
        return lesson.estimated_duration_minutes
    if lesson.video_duration_seconds:
        return math.ceil(lesson.video_duration_seconds / 60)
    return 0


# --------------------------------------------------------------------------------------------
# SQL shared by the readers
# --------------------------------------------------------------------------------------------

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
_MODULE_COLUMNS = "id, course_id, title, description, display_order, revision"
_LESSON_COLUMNS = (
    "l.id, l.module_id, l.video_id, l.lesson_order, l.title, l.description, l.is_required, "
    "l.estimated_duration_minutes, v.title AS video_title, v.status AS video_status, "
    "v.is_deleted AS video_is_deleted, v.duration_seconds AS video_duration_seconds, v.source_type, "
    "v.youtube_video_id, v.embed_id, v.storage_path, v.mux_playback_id"
)


# --------------------------------------------------------------------------------------------
# Courses
# --------------------------------------------------------------------------------------------


def create_course(t: Tenant, title: str, description: str | None = None) -> uuid.UUID:
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


def get_course(t: Tenant, course_id: uuid.UUID) -> Course:
    """One course of the workspace (deleted or not) with its counts. Raises NotFound."""
    row = t.conn.execute(
        sa.text(_COURSE_SELECT + "WHERE c.creator_id = :creator AND c.id = :course"),
        {"creator": t.creator_id, "course": course_id},
    ).one_or_none()
    if row is None:
        raise NotFound(_COURSE_NOT_FOUND)
    return to_record(Course, row)


def list_courses(t: Tenant, *, include_deleted: bool = False, only_deleted: bool = False) -> list[Course]:
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
    t: Tenant,
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


def _set_clause(changes: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The SET list and parameters for column -> new value (column names are this module's own)."""
    return (", ".join(f"{column} = :set_{column}" for column in changes),
            {f"set_{column}": value for column, value in changes.items()})


def _optional_text(text: str) -> str | None:
    """A description as typed; an empty one clears the field."""
    _storable(text, "description")
    return text.strip() or None


def _thumbnail(url: str) -> str | None:
    url = _storable(url, "thumbnail URL").strip()
    if url and not url.lower().startswith(("https://", "http://")):
        raise ValidationError("The thumbnail URL must start with https:// or http://; paste the image's web address.")
    return url or None


def _storable(text: str, what: str) -> str:
    if problem := unstorable(text):
        raise ValidationError(f"The {what} contains {problem}, which cannot be stored; remove it and try again.")
    return text


def move_course(
    t: Tenant, course_id: uuid.UUID, position: int, *, expected_order: Sequence[uuid.UUID] | None = None
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


def duplicate_course(t: Tenant, course_id: uuid.UUID) -> uuid.UUID:
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


def delete_course(t: Tenant, course_id: uuid.UUID) -> None:
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


def restore_course(t: Tenant, course_id: uuid.UUID) -> None:
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


def publish_checklist(t: Tenant, course_id: uuid.UUID) -> list[PublishProblem]:
    """What a student would trip over in a course (empty when it is ready). Raises NotFound."""
    return course_outline(t, course_id).checklist


def publish_course(
    t: Tenant,
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
    revision = _lock_course(t, course_id)  # NotFound for a foreign id
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


def unpublish_course(t: Tenant, course_id: uuid.UUID, *, expected_revision: int | None = None) -> None:
    """Make a course a draft again (``published_at`` is kept).

    Raises NotFound, StaleEdit (``expected_revision`` is the course's).
    """
    revision = _lock_course(t, course_id)
    _check_revision(expected_revision, revision, COURSE_STALE)
    t.conn.execute(
        sa.text("UPDATE courses SET is_published = false, revision = revision + 1 "
                "WHERE creator_id = :creator AND id = :course"),
        {"creator": t.creator_id, "course": course_id},
    )


def _lock_course_list(t: Tenant) -> list[uuid.UUID]:
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


def _live_course_ids(t: Tenant) -> list[uuid.UUID]:
    return list(
        t.conn.execute(
            sa.text(
                "SELECT id FROM courses WHERE creator_id = :creator AND NOT is_deleted "
                "ORDER BY display_order, created_at, id"
            ),
            {"creator": t.creator_id},
        ).scalars()
    )


def _apply_course_order(t: Tenant, order: Sequence[uuid.UUID]) -> None:
    t.conn.execute(
        sa.text(
            "UPDATE courses c SET display_order = o.n "
            "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, n) "
            "WHERE c.creator_id = :creator AND c.id = o.id AND c.display_order <> o.n"
        ),
        {"creator": t.creator_id, "ids": list(order)},
    )


# --------------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------------


def create_module(t: Tenant, course_id: uuid.UUID, title: str, description: str | None = None) -> uuid.UUID:
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


def list_modules(t: Tenant, course_id: uuid.UUID) -> list[Module]:
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
    t: Tenant,
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


def move_module(t: Tenant, module_id: uuid.UUID, position: int, *, expected_revision: int | None = None) -> None:
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


def delete_module(t: Tenant, module_id: uuid.UUID, *, expected_revision: int | None = None) -> None:
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


def _module_course(t: Tenant, module_id: uuid.UUID) -> uuid.UUID:
    course_id = t.conn.execute(
        sa.text("SELECT course_id FROM course_modules WHERE creator_id = :creator AND id = :module"),
        {"creator": t.creator_id, "module": module_id},
    ).scalar_one_or_none()
    if course_id is None:
        raise NotFound(_MODULE_NOT_FOUND)
    return course_id


def _lock_course(t: Tenant, course_id: uuid.UUID) -> int:
    """Lock a course row for a change to its modules; returns its revision. Raises NotFound."""
    revision = t.conn.execute(
        sa.text("SELECT revision FROM courses WHERE creator_id = :creator AND id = :course FOR UPDATE"),
        {"creator": t.creator_id, "course": course_id},
    ).scalar_one_or_none()
    if revision is None:
        raise NotFound(_COURSE_NOT_FOUND)
    return revision


def _bump_course(t: Tenant, course_id: uuid.UUID) -> None:
    t.conn.execute(
        sa.text("UPDATE courses SET revision = revision + 1 WHERE creator_id = :creator AND id = :course"),
        {"creator": t.creator_id, "course": course_id},
    )


def _apply_module_order(t: Tenant, course_id: uuid.UUID, order: Sequence[uuid.UUID]) -> None:
    t.conn.execute(
        sa.text(
            "UPDATE course_modules m SET display_order = o.n "
            "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, n) "
            "WHERE m.creator_id = :creator AND m.course_id = :course AND m.id = o.id AND m.display_order <> o.n"
        ),
        {"creator": t.creator_id, "course": course_id, "ids": list(order)},
    )


# --------------------------------------------------------------------------------------------
# Lessons
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NewLesson:
    video_id: uuid.UUID
    title: str | None = None  # None: the video's title
    description: str | None = None
    is_required: bool = True
    estimated_duration_minutes: int | None = None  # None: the video's length, rounded up


def add_lesson(
    t: Tenant,
    module_id: uuid.UUID,
    video_id: uuid.UUID,
    *,
    title: str | None = None,
    is_required: bool = True,
    expected_revision: int | None = None,
) -> uuid.UUID:
    """Append a video to a module as its last lesson (the title defaults to the video's);
    returns the lesson's id.

    Raises:
        ValidationError: the video is already a lesson of this module.
        NotFound: the module or the video is not in this workspace.
        StaleEdit: ``expected_revision`` is not the module's revision.
    """
    course_id, revision = _lock_module(t, module_id)
    _check_revision(expected_revision, revision, MODULE_STALE)
    [lesson_id] = _append_lessons(t, module_id, course_id, [_NewLesson(video_id, title, None, is_required)],
                                  duplicate_message=DUPLICATE_LESSON)
    _bump_module(t, module_id)
    return lesson_id


def add_lessons(t: Tenant, module_id: uuid.UUID, video_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Append videos to a module as lessons, in the given order; returns the new lesson ids in
    that order. All or nothing.

    Raises:
        ValidationError: a video is already in the module (or listed twice); nothing is added.
        NotFound: the module or one of the videos is not in this workspace.
    """
    return _add_new_lessons(t, module_id, [_NewLesson(video_id) for video_id in video_ids])


def _add_new_lessons(t: Tenant, module_id: uuid.UUID, items: Sequence[_NewLesson]) -> list[uuid.UUID]:
    """Lock the module, append ``items`` as lessons and bump its revision; returns their ids
    (shared with outline import, which sets titles, descriptions and durations too)."""
    course_id, _ = _lock_module(t, module_id)
    if not items:
        return []
    ids = _append_lessons(t, module_id, course_id, items)
    _bump_module(t, module_id)
    return ids


def _append_lessons(
    t: Tenant,
    module_id: uuid.UUID,
    course_id: uuid.UUID,
    items: Sequence[_NewLesson],
    *,
    duplicate_message: str | None = None,
) -> list[uuid.UUID]:
    """Insert lessons after the module's last one (its row must be locked) and record one
    ``video_added_to_course`` event each; returns their ids in order.

    A video already in the module is refused with ``duplicate_message``, or by default with a
    message naming the video.
    """
    video_ids = [item.video_id for item in items]
    videos = {
        row.id: row.title
        for row in t.conn.execute(
            sa.text("SELECT id, title FROM videos WHERE creator_id = :creator AND id = ANY(CAST(:ids AS uuid[]))"),
            {"creator": t.creator_id, "ids": video_ids},
        )
    }
    if any(video_id not in videos for video_id in video_ids):
        raise NotFound("That video is not in this workspace.")
    present = set(
        t.conn.execute(
            sa.text("SELECT video_id FROM module_lessons WHERE creator_id = :creator AND module_id = :module"),
            {"creator": t.creator_id, "module": module_id},
        ).scalars()
    )
    seen: set[uuid.UUID] = set()
    for video_id in video_ids:
        if video_id in present or video_id in seen:
            if duplicate_message:
                raise ValidationError(duplicate_message)
            raise ValidationError(
                f"The video '{videos[video_id]}' is already a lesson in this module; a module holds each "
                "video once, so leave it out and add the others."
            )
        seen.add(video_id)
    for item in items:
        if item.estimated_duration_minutes is not None:
            _check_minutes(item.estimated_duration_minutes)
    try:
        with t.conn.begin_nested():
            rows = t.conn.execute(
                sa.text(
                    "INSERT INTO module_lessons (creator_id, module_id, video_id, lesson_order, title, description, "
                    "  is_required, estimated_duration_minutes) "
                    "SELECT :creator, :module, v.id, "
                    "  coalesce((SELECT max(lesson_order) FROM module_lessons l "
                    "            WHERE l.creator_id = :creator AND l.module_id = :module), 0) + i.n, "
                    "  coalesce(nullif(btrim(i.title), ''), v.title), nullif(btrim(i.description), ''), i.required, "
                    "  coalesce(i.minutes, CASE WHEN v.duration_seconds > 0 THEN ceil(v.duration_seconds / 60.0)::int END) "
                    "FROM unnest(CAST(:videos AS uuid[]), CAST(:titles AS text[]), CAST(:descriptions AS text[]), "
                    "            CAST(:required AS boolean[]), CAST(:minutes AS integer[])) "
                    "     WITH ORDINALITY AS i(video_id, title, description, required, minutes, n) "
                    "JOIN videos v ON v.creator_id = :creator AND v.id = i.video_id "
                    "ORDER BY i.n "
                    "RETURNING id, video_id"
                ),
                {
                    "creator": t.creator_id,
                    "module": module_id,
                    "videos": video_ids,
                    "titles": [item.title for item in items],
                    "descriptions": [item.description and _storable(item.description, "description")
                                     for item in items],
                    "required": [item.is_required for item in items],
                    "minutes": [item.estimated_duration_minutes for item in items],
                },
            ).all()
    except IntegrityError as exc:  # a concurrent writer that did not lock the module
        if "idx_module_lessons_unique_video_per_module" in str(exc.orig):
            raise ValidationError(DUPLICATE_LESSON) from exc
        raise
    by_video = {row.video_id: row.id for row in rows}
    for video_id in video_ids:
        track_event(t, "video_added_to_course", video_id, course_id=course_id, module_id=module_id)
    return [by_video[video_id] for video_id in video_ids]


def list_lessons(t: Tenant, module_id: uuid.UUID) -> list[Lesson]:
    """A module's lessons in order with their videos' state; lessons whose video is in the trash
    are included (``health`` says so). Empty for a module outside the workspace."""
    rows = t.conn.execute(
        sa.text(
            f"SELECT {_LESSON_COLUMNS} FROM module_lessons l "
            "JOIN videos v ON v.creator_id = l.creator_id AND v.id = l.video_id "
            "WHERE l.creator_id = :creator AND l.module_id = :module ORDER BY l.lesson_order, l.created_at, l.id"
        ),
        {"creator": t.creator_id, "module": module_id},
    )
    return [to_record(Lesson, row) for row in rows]


def update_lesson(
    t: Tenant,
    lesson_id: uuid.UUID,
    *,
    title: str | None = None,
    description: str | None = None,
    is_required: bool | None = None,
    estimated_duration_minutes: int | None = None,
    expected_revision: int | None = None,
) -> None:
    """Change a lesson's details; None leaves a field as it is, an empty description clears it.

    Raises:
        ValidationError: an empty title, or minutes that are not a whole number above 0.
        NotFound: the lesson is not in this workspace.
        StaleEdit: ``expected_revision`` is not the revision of the lesson's module (a lesson's
            edits bump its module's revision, so an edit drawn before them is refused).
    """
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = require_text(title, "lesson title")
    if description is not None:
        changes["description"] = _optional_text(description)
    if is_required is not None:
        changes["is_required"] = bool(is_required)
    if estimated_duration_minutes is not None:
        changes["estimated_duration_minutes"] = _check_minutes(estimated_duration_minutes)
    module_id, _course_id, revision = _lock_lesson_module(t, lesson_id)
    _check_revision(expected_revision, revision, MODULE_STALE)
    if not changes:
        return
    clause, params = _set_clause(changes)
    t.conn.execute(
        sa.text(f"UPDATE module_lessons SET {clause} WHERE creator_id = :creator AND id = :lesson"),
        {**params, "creator": t.creator_id, "lesson": lesson_id},
    )
    _bump_module(t, module_id)


def _check_minutes(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise ValidationError(
            f"The estimated duration is {minutes!r}; give a whole number of minutes above 0."
        )
    return minutes


def reorder_lessons(
    t: Tenant, module_id: uuid.UUID, lesson_ids: Sequence[uuid.UUID], *, expected_revision: int | None = None
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


def move_lesson(t: Tenant, lesson_id: uuid.UUID, offset: int, *, expected_revision: int | None = None) -> None:
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
    t: Tenant,
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


def _move_within(t: Tenant, lesson_id: uuid.UUID, module_id: uuid.UUID, position: int) -> None:
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


def remove_lesson(t: Tenant, lesson_id: uuid.UUID, *, expected_revision: int | None = None) -> None:
    """Take a lesson out of its module (the video stays in the library); the lessons after it
    move up. Raises NotFound, StaleEdit (``expected_revision`` is the module's)."""
    module_id, _course_id, revision = _lock_lesson_module(t, lesson_id)
    _check_revision(expected_revision, revision, MODULE_STALE)
    t.conn.execute(
        sa.text("DELETE FROM module_lessons WHERE creator_id = :creator AND id = :lesson"),
        {"creator": t.creator_id, "lesson": lesson_id},
    )
    _apply_lesson_order(t, module_id, _lesson_ids(t, module_id))
    _bump_module(t, module_id)


def swap_lesson_video(t: Tenant, old_video_id: uuid.UUID, new_video_id: uuid.UUID) -> int:
    """Make every lesson that plays ``old_video_id`` play ``new_video_id`` instead (two copies of
    one video becoming one). A module that already has the new video keeps that lesson alone and
    closes the gap. Returns how many lessons were given the new video. Raises NotFound."""
    if t.conn.execute(sa.text("SELECT 1 FROM videos WHERE creator_id = :creator AND id = :new"),
                      {"creator": t.creator_id, "new": new_video_id}).first() is None:
        raise NotFound("That video is not in this workspace.")
    modules = sorted(set(t.conn.execute(
        sa.text("SELECT module_id FROM module_lessons WHERE creator_id = :creator AND video_id = :old"),
        {"creator": t.creator_id, "old": old_video_id},
    ).scalars()), key=str)
    for module_id in modules:  # in id order, as every multi-module change locks
        _lock_module(t, module_id)
    moved = t.conn.execute(
        sa.text(
            "UPDATE module_lessons l SET video_id = :new WHERE l.creator_id = :creator AND l.video_id = :old "
            "AND NOT EXISTS (SELECT 1 FROM module_lessons o WHERE o.creator_id = l.creator_id "
            "                AND o.module_id = l.module_id AND o.video_id = :new)"
        ),
        {"creator": t.creator_id, "old": old_video_id, "new": new_video_id},
    ).rowcount
    t.conn.execute(sa.text("DELETE FROM module_lessons WHERE creator_id = :creator AND video_id = :old"),
                   {"creator": t.creator_id, "old": old_video_id})
    for module_id in modules:
        _apply_lesson_order(t, module_id, _lesson_ids(t, module_id))
        _bump_module(t, module_id)
    return moved


def arrange_lessons(
    t: Tenant,
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


def course_outline(t: Tenant, course_id: uuid.UUID) -> CourseOutline:
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


# --------------------------------------------------------------------------------------------
# Locks, revisions and positions
# --------------------------------------------------------------------------------------------


def _lock_module(t: Tenant, module_id: uuid.UUID) -> tuple[uuid.UUID, int]:
    """Lock a module row for a change to its lessons; returns (course id, revision). Raises NotFound."""
    row = t.conn.execute(
        sa.text("SELECT course_id, revision FROM course_modules WHERE creator_id = :creator AND id = :module FOR UPDATE"),
        {"creator": t.creator_id, "module": module_id},
    ).one_or_none()
    if row is None:
        raise NotFound(_MODULE_NOT_FOUND)
    return row.course_id, row.revision


def _lesson_module(t: Tenant, lesson_id: uuid.UUID) -> uuid.UUID:
    module_id = t.conn.execute(
        sa.text("SELECT module_id FROM module_lessons WHERE creator_id = :creator AND id = :lesson"),
        {"creator": t.creator_id, "lesson": lesson_id},
    ).scalar_one_or_none()
    if module_id is None:
        raise NotFound(_LESSON_NOT_FOUND)
    return module_id


def _lock_lesson_module(t: Tenant, lesson_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID, int]:
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


def _bump_module(t: Tenant, module_id: uuid.UUID) -> None:
    t.conn.execute(
        sa.text("UPDATE course_modules SET revision = revision + 1 WHERE creator_id = :creator AND id = :module"),
        {"creator": t.creator_id, "module": module_id},
    )


def _lesson_ids(t: Tenant, module_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        t.conn.execute(
            sa.text(
                "SELECT id FROM module_lessons WHERE creator_id = :creator AND module_id = :module "
                "ORDER BY lesson_order, created_at, id"
            ),
            {"creator": t.creator_id, "module": module_id},
        ).scalars()
    )


def _apply_lesson_order(t: Tenant, module_id: uuid.UUID, order: Sequence[uuid.UUID]) -> None:
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
