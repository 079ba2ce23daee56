"""The student side of viewing: a watch session, its progress milestones, rewatches.

A player calls ``start_viewing`` when a learner presses play, ``report_progress`` as the video
plays (as often as it likes: each milestone is written once per session), ``report_rewind``
when the learner jumps back, and ``end_viewing`` when they leave. Events follow the seeds:
``video_started``, ``video_progress`` at 10/25/50/75/90 %, ``video_completed`` at 90 % or more,
``video_rewatched`` when a learner starts a video they completed before.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .analytics import check_session_context
from .db import Tenant
from .errors import NotFound, ValidationError

__all__ = ["COMPLETION_PERCENT", "MILESTONES", "Progress", "end_viewing", "report_progress", "report_rewind",
           "session_summary", "start_viewing"]

MILESTONES = (10, 25, 50, 75, 90)
#: Seeds: a video counts as completed once 90 % of it has been watched.
COMPLETION_PERCENT = 90
_MAX_REWINDS = 200  # rewinds kept per session: enough for a confused learner, bounded for a buggy player


@dataclass(frozen=True)
class Progress:
    """What a progress report changed."""

    percent_complete: int
    new_milestones: tuple[int, ...]
    completed_now: bool


def _event(t: Tenant, event_type: str, session: Any, metadata: dict[str, Any], at: datetime | None) -> bool:
    """Write one once-per-session event; False when it was already written."""
    inserted = t.conn.execute(
        sa.text("""
            INSERT INTO video_analytics_events (event_type, video_id, creator_id, student_id, course_id, module_id,
                                                metadata, "timestamp")
            VALUES (:type, :video, :creator, :student, :course, :module, CAST(:metadata AS jsonb),
                    coalesce(CAST(:at AS timestamptz), now()))
            ON CONFLICT (creator_id, (metadata ->> 'session_id'), event_type, (coalesce(metadata ->> 'milestone', '')))
              WHERE metadata ? 'session_id' AND event_type IN ('video_started', 'video_progress', 'video_completed')
            DO NOTHING RETURNING id
        """),
        {"type": event_type, "video": session.video_id, "creator": t.creator_id, "student": session.student_id,
         "course": session.course_id, "module": session.module_id, "at": at,
         "metadata": json.dumps({"session_id": str(session.id), **metadata})},
    ).scalar_one_or_none()
    return inserted is not None


def start_viewing(
    t: Tenant,
    video_id: uuid.UUID,
    student_id: uuid.UUID,
    *,
    course_id: uuid.UUID | None = None,
    module_id: uuid.UUID | None = None,
    device_type: str | None = None,
    referrer_type: str | None = None,
    at: datetime | None = None,
) -> uuid.UUID:
    """Open a watch session and record ``video_started`` (and ``video_rewatched`` for a learner who
    completed this video before); returns the session's id."""
    check_session_context(device_type, referrer_type)
    completed_before = t.conn.execute(
        sa.text("SELECT EXISTS (SELECT 1 FROM video_watch_sessions WHERE creator_id = :creator "
                "AND student_id = :student AND video_id = :video AND completed)"),
        {"creator": t.creator_id, "student": student_id, "video": video_id},
    ).scalar_one()
    session_id = t.conn.execute(
        sa.text("""
            INSERT INTO video_watch_sessions (creator_id, video_id, student_id, device_type, referrer_type,
                                              session_start, metadata)
            VALUES (:creator, :video, :student, :device, :referrer, coalesce(CAST(:at AS timestamptz), now()),
                    CAST(:metadata AS jsonb))
            RETURNING id
        """),
        {"creator": t.creator_id, "video": video_id, "student": student_id, "device": device_type,
         "referrer": referrer_type, "at": at,
         "metadata": json.dumps({"course_id": str(course_id) if course_id else None,
                                 "module_id": str(module_id) if module_id else None})},
    ).scalar_one()
    session = _session(t, session_id, course_id, module_id)
    _event(t, "video_started", session, {"device": device_type, "referrer": referrer_type}, at)
    if completed_before:
        t.conn.execute(
            sa.text("""INSERT INTO video_analytics_events (event_type, video_id, creator_id, student_id, course_id,
                                                           module_id, metadata, "timestamp")
                       VALUES ('video_rewatched', :video, :creator, :student, :course, :module,
                               CAST(:metadata AS jsonb), coalesce(CAST(:at AS timestamptz), now()))"""),
            {"video": video_id, "creator": t.creator_id, "student": student_id, "course": course_id,
             "module": module_id, "at": at, "metadata": json.dumps({"rewatch_session_id": str(session_id)})},
        )
    return session_id


def report_progress(
    t: Tenant,
    session_id: uuid.UUID,
    *,
    position_seconds: float,
    watched_seconds: float,
    duration_seconds: float | None = None,
    at: datetime | None = None,
) -> Progress:
    """Record how far a learner got (``position_seconds``) and how long they watched in total.

    Completion only grows within a session (jumping back does not undo a milestone). The
    duration is the video's own, or ``duration_seconds`` from the player when the library does
    not know it.
    """
    if position_seconds < 0 or watched_seconds < 0 or not math.isfinite(position_seconds + watched_seconds):
        raise ValidationError("Position and watch time must be zero or more seconds.")
    session = _session(t, session_id)
    duration = session.duration_seconds or duration_seconds
    if not duration or duration <= 0:
        raise ValidationError("This video's length is unknown; report its duration with the progress.")
    percent = min(100, int(position_seconds * 100 // duration))
    updated = t.conn.execute(
        sa.text("""
            UPDATE video_watch_sessions
            SET percent_complete = greatest(percent_complete, :percent),
                watch_time_seconds = greatest(watch_time_seconds, :watched)
            WHERE creator_id = :creator AND id = :id
            RETURNING percent_complete
        """),
        {"creator": t.creator_id, "id": session_id, "percent": percent, "watched": int(watched_seconds)},
    ).scalar_one()
    reached = [m for m in MILESTONES if m <= updated]
    new = tuple(m for m in reached if _event(
        t, "video_progress", session, {"milestone": m, "percent_complete": m, "watch_time_seconds": int(watched_seconds)},
        at))
    completed_now = updated >= COMPLETION_PERCENT and _event(
        t, "video_completed", session, {"percent_complete": updated, "watch_time_seconds": int(watched_seconds)}, at)
    return Progress(updated, new, completed_now)


def report_rewind(t: Tenant, session_id: uuid.UUID, *, from_seconds: float, to_seconds: float) -> None:
    """A jump back from ``from_seconds`` to ``to_seconds``: that span is watched again (the
    retention chart's rewatch overlay)."""
    if not 0 <= to_seconds < from_seconds:
        raise ValidationError("A rewind goes back: its target must be before where it started.")
    updated = t.conn.execute(
        sa.text("""
            UPDATE video_watch_sessions
            SET metadata = jsonb_set(metadata, '{rewinds}',
                                     coalesce(metadata -> 'rewinds', '[]'::jsonb) || CAST(:span AS jsonb))
            WHERE creator_id = :creator AND id = :id
              AND jsonb_array_length(coalesce(metadata -> 'rewinds', '[]'::jsonb)) < :most
        """),
        {"creator": t.creator_id, "id": session_id, "span": json.dumps([[int(to_seconds), int(from_seconds)]]),
         "most": _MAX_REWINDS},
    )
    if updated.rowcount == 0:
        _session(t, session_id)  # raises NotFound for a session of another workspace


def end_viewing(t: Tenant, session_id: uuid.UUID, at: datetime | None = None) -> None:
    """Close a session (idempotent: a second end keeps the first end time)."""
    updated = t.conn.execute(
        sa.text("UPDATE video_watch_sessions SET session_end = greatest(coalesce(CAST(:at AS timestamptz), now()), "
                "session_start) WHERE creator_id = :creator AND id = :id AND session_end IS NULL"),
        {"creator": t.creator_id, "id": session_id, "at": at},
    )
    if updated.rowcount == 0:
        _session(t, session_id)


def session_summary(t: Tenant, session_id: uuid.UUID) -> dict[str, Any]:
    """A session's completion, watch time, milestones written and whether it completed."""
    row = t.conn.execute(
        sa.text("""SELECT s.percent_complete, s.watch_time_seconds, s.completed,
                          coalesce(array_agg((e.metadata ->> 'milestone')::int ORDER BY (e.metadata ->> 'milestone')::int)
                                   FILTER (WHERE e.event_type = 'video_progress'), '{}') AS milestones
                   FROM video_watch_sessions s
                   LEFT JOIN video_analytics_events e ON e.creator_id = s.creator_id
                        AND e.metadata ? 'session_id' AND e.metadata ->> 'session_id' = s.id::text
                   WHERE s.creator_id = :creator AND s.id = :id
                   GROUP BY s.id"""),
        {"creator": t.creator_id, "id": session_id},
    ).one_or_none()
    if row is None:
        raise NotFound("That watch session is not in this workspace.")
    return dict(row._mapping)


@dataclass(frozen=True)
class _Session:
    id: uuid.UUID
    video_id: uuid.UUID
    student_id: uuid.UUID
    course_id: uuid.UUID | None
    module_id: uuid.UUID | None
    duration_seconds: int | None


def _session(t: Tenant, session_id: uuid.UUID, course_id: uuid.UUID | None = None,
             module_id: uuid.UUID | None = None) -> _Session:
    row = t.conn.execute(
        sa.text("SELECT s.id, s.video_id, s.student_id, s.metadata, v.duration_seconds FROM video_watch_sessions s "
                "JOIN videos v ON v.id = s.video_id AND v.creator_id = s.creator_id "
                "WHERE s.creator_id = :creator AND s.id = :id"),
        {"creator": t.creator_id, "id": session_id},
    ).one_or_none()
    if row is None:
        raise NotFound("That watch session is not in this workspace.")
    meta = row.metadata or {}
    course = course_id or (uuid.UUID(meta["course_id"]) if meta.get("course_id") else None)
    module = module_id or (uuid.UUID(meta["module_id"]) if meta.get("module_id") else None)
    return _Session(row.id, row.video_id, row.student_id, course, module, row.duration_seconds)
