"""Viewing data: watch sessions, the event stream, and per-student progress."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .db import Tenant
from .errors import NotFound, ValidationError

__all__ = [
    "DEVICE_TYPES",
    "EVENT_TYPES",
    "REFERRER_TYPES",
    "StudentProgress",
    "check_session_context",
    "end_watch_session",
    "record_progress",
    "start_watch_session",
    "student_progress",
    "track_event",
]

EVENT_TYPES = (
    "video_imported", "video_transcribed", "video_embedded", "video_added_to_course",
    "video_started", "video_progress", "video_completed", "video_rewatched",
)
DEVICE_TYPES = ("desktop", "mobile", "tablet")
REFERRER_TYPES = ("course_page", "direct_link", "search", "chat_reference")


@dataclass(frozen=True)
class StudentProgress:
    total_watch_time_seconds: int
    highest_completion: int
    completed: bool


def track_event(
    t: Tenant,
    event_type: str,
    video_id: uuid.UUID,
    *,
    student_id: uuid.UUID | None = None,
    course_id: uuid.UUID | None = None,
    module_id: uuid.UUID | None = None,
    metadata: dict[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> uuid.UUID:
    """Record one event through the seeds' ``track_video_event``; returns its id."""
    if event_type not in EVENT_TYPES:
        raise ValidationError(f"'{event_type}' is not an event type; use one of {', '.join(EVENT_TYPES)}.")
    return t.conn.execute(
        sa.text(
            "SELECT track_video_event(:type, :video, :creator, :student, :course, :module, "
            "CAST(:metadata AS jsonb), coalesce(CAST(:ts AS timestamptz), now()))"
        ),
        {
            "type": event_type, "video": video_id, "creator": t.creator_id, "student": student_id,
            "course": course_id, "module": module_id, "metadata": json.dumps(metadata or {}), "ts": timestamp,
        },
    ).scalar_one()


def start_watch_session(
    t: Tenant,
    video_id: uuid.UUID,
    student_id: uuid.UUID,
    *,
    device_type: str | None = None,
    referrer_type: str | None = None,
) -> uuid.UUID:
    """Open a watch session for a student on a video; returns its id."""
    check_session_context(device_type, referrer_type)
    return t.conn.execute(
        sa.text(
            "INSERT INTO video_watch_sessions (creator_id, video_id, student_id, device_type, referrer_type) "
            "VALUES (:creator, :video, :student, :device, :referrer) RETURNING id"
        ),
        {"creator": t.creator_id, "video": video_id, "student": student_id, "device": device_type,
         "referrer": referrer_type},
    ).scalar_one()


def check_session_context(device_type: str | None, referrer_type: str | None) -> None:
    """Refuse a device or referrer outside the seeds' CHECK lists, in words."""
    if device_type is not None and device_type not in DEVICE_TYPES:
        raise ValidationError(f"'{device_type}' is not a device type; use one of {', '.join(DEVICE_TYPES)}.")
    if referrer_type is not None and referrer_type not in REFERRER_TYPES:
        raise ValidationError(f"'{referrer_type}' is not a referrer; use one of {', '.join(REFERRER_TYPES)}.")


def record_progress(t: Tenant, session_id: uuid.UUID, *, watch_time_seconds: int, percent_complete: int) -> bool:
    """Update a session's watch time and completion; returns whether it now counts as completed."""
    _check_progress(watch_time_seconds, percent_complete)
    completed = t.conn.execute(
        sa.text(
            "UPDATE video_watch_sessions SET watch_time_seconds = :watch, percent_complete = :percent "
            "WHERE creator_id = :creator AND id = :id RETURNING completed"
        ),
        {"creator": t.creator_id, "id": session_id, "watch": watch_time_seconds, "percent": percent_complete},
    ).scalar_one_or_none()
    if completed is None:
        raise NotFound("That watch session is not in this workspace.")
    return bool(completed)


def end_watch_session(t: Tenant, session_id: uuid.UUID) -> None:
    """Close a session (its end time is now)."""
    result = t.conn.execute(
        sa.text(
            "UPDATE video_watch_sessions SET session_end = greatest(now(), session_start) "
            "WHERE creator_id = :creator AND id = :id AND session_end IS NULL"
        ),
        {"creator": t.creator_id, "id": session_id},
    )
    if result.rowcount == 0:
        raise NotFound("That watch session is not open in this workspace.")


def student_progress(t: Tenant, student_id: uuid.UUID, video_id: uuid.UUID) -> StudentProgress:
    """A student's total watch time, best completion and completion flag on one video."""
    # The seeds' helpers filter by student and video only; asking them about this workspace's own
    # learner and video keeps the creator filter here too, not in row-level security alone.
    row = t.conn.execute(
        sa.text(
            "SELECT get_student_total_watch_time(s.id, v.id), get_student_highest_completion(s.id, v.id), "
            "has_student_completed_video(s.id, v.id) "
            "FROM students s JOIN videos v ON v.creator_id = s.creator_id "
            "WHERE s.creator_id = :creator AND s.id = :student AND v.id = :video"
        ),
        {"creator": t.creator_id, "student": student_id, "video": video_id},
    ).one_or_none()
    if row is None:  # not this workspace's learner or video
        return StudentProgress(0, 0, False)
    return StudentProgress(int(row[0]), int(row[1]), bool(row[2]))


def _check_progress(watch_time_seconds: int, percent_complete: int) -> None:
    if watch_time_seconds < 0:
        raise ValidationError("Watch time cannot be negative.")
    if not 0 <= percent_complete <= 100:
        raise ValidationError(f"Completion must be between 0 and 100 %, not {percent_complete}.")
