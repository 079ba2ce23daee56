"""A module's lessons: videos added as lessons, their details, taking one out, and swapping the
video every lesson plays. Every change bumps the module's revision."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .._rows import require_text, to_record
from ..db import Workspace
from ..errors import NotFound, ValidationError
from ..viewing.analytics import track_event
from ._fields import _check_minutes, _optional_text, _set_clause, _storable
from ._locks import (
    _apply_lesson_order,
    _bump_module,
    _check_revision,
    _lesson_ids,
    _lock_lesson_module,
    _lock_module,
)
from .model import DUPLICATE_LESSON, MODULE_STALE, Lesson

__all__ = ["add_lesson", "add_lessons", "list_lessons", "remove_lesson", "swap_lesson_video", "update_lesson"]

_LESSON_COLUMNS = (
    "l.id, l.module_id, l.video_id, l.lesson_order, l.title, l.description, l.is_required, "
    "l.estimated_duration_minutes, v.title AS video_title, v.status AS video_status, "
    "v.is_deleted AS video_is_deleted, v.duration_seconds AS video_duration_seconds, v.source_type, "
    "v.youtube_video_id, v.embed_id, v.storage_path, v.mux_playback_id"
)


@dataclass(frozen=True)
class _NewLesson:
    video_id: uuid.UUID
    title: str | None = None  # None: the video's title
    description: str | None = None
    is_required: bool = True
    estimated_duration_minutes: int | None = None  # None: the video's length, rounded up


def add_lesson(
    t: Workspace,
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


def add_lessons(t: Workspace, module_id: uuid.UUID, video_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Append videos to a module as lessons, in the given order; returns the new lesson ids in
    that order. All or nothing.

    Raises:
        ValidationError: a video is already in the module (or listed twice); nothing is added.
        NotFound: the module or one of the videos is not in this workspace.
    """
    return _add_new_lessons(t, module_id, [_NewLesson(video_id) for video_id in video_ids])


def _add_new_lessons(t: Workspace, module_id: uuid.UUID, items: Sequence[_NewLesson]) -> list[uuid.UUID]:
    """Lock the module, append ``items`` as lessons and bump its revision; returns their ids
    (shared with outline import, which sets titles, descriptions and durations too)."""
    course_id, _ = _lock_module(t, module_id)
    if not items:
        return []
    ids = _append_lessons(t, module_id, course_id, items)
    _bump_module(t, module_id)
    return ids


def _append_lessons(
    t: Workspace,
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


def list_lessons(t: Workspace, module_id: uuid.UUID) -> list[Lesson]:
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
    t: Workspace,
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


def remove_lesson(t: Workspace, lesson_id: uuid.UUID, *, expected_revision: int | None = None) -> None:
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


def swap_lesson_video(t: Workspace, old_video_id: uuid.UUID, new_video_id: uuid.UUID) -> int:
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
    for module_id in modules:  # in id order, as every multi-module change locks; trashed courses too
        _lock_module(t, module_id, live=False)
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
