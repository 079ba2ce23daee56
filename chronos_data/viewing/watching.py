"""The student side of viewing: a watch session, its progress milestones, rewatches.

A player calls ``start_viewing`` when a student presses play, ``report_progress`` as the video
plays (as often as it likes: each milestone is written once per session), ``report_rewind``
when the student jumps back, and ``end_viewing`` when they leave; ``record_player_event`` does
all of it for one event of the Chronos player. Events follow the seeds: ``video_started``,
``video_progress`` at 10/25/50/75/90 %, ``video_completed`` at 90 % or more, ``video_rewatched``
when a student starts a video they completed before.

How far a session got (``percent_complete``, milestones, completion) is the share of the video
actually played: the union of the played ranges the player reports (``chronos_data.viewing.played``),
kept in the session's ``metadata -> 'played'``. A jump forward plays nothing in between.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..db import Workspace
from ..errors import NotFound, ValidationError
from . import played as played_ranges
from .analytics import check_session_context

__all__ = ["COMPLETION_PERCENT", "MILESTONES", "PlayerViewing", "Progress", "VideoProgress", "end_viewing",
           "record_player_event", "report_progress", "report_rewind", "session_summary", "start_viewing",
           "video_progress"]

MILESTONES = (10, 25, 50, 75, 90)
#: Seeds: a video counts as completed once 90 % of it has been watched.
COMPLETION_PERCENT = 90
_MAX_REWINDS = 200  # rewinds kept per session: enough for a confused student, bounded for a buggy player
_MAX_RANGES = 500  # separate played ranges per session: one per jump forward; bounds a buggy player's row
_PLAYER_KINDS = frozenset({"play", "progress", "pause", "seek", "ended"})


@dataclass(frozen=True)
class Progress:
    """What a progress report changed."""

    percent_complete: int
    new_milestones: tuple[int, ...]
    completed_now: bool


def _event(t: Workspace, event_type: str, session: Any, metadata: dict[str, Any], at: datetime | None) -> bool:
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


def _events(t: Workspace, session: Any, events: list[tuple[str, dict[str, Any]]],
            at: datetime | None) -> set[tuple[str, str | None]]:
    """Write once-per-session events in one statement; returns the (type, milestone) of those written
    (the others were already there)."""
    rows = t.conn.execute(
        sa.text("""
            INSERT INTO video_analytics_events (event_type, video_id, creator_id, student_id, course_id, module_id,
                                                metadata, "timestamp")
            SELECT e.type, :video, :creator, :student, :course, :module, e.metadata,
                   coalesce(CAST(:at AS timestamptz), now())
            FROM jsonb_to_recordset(CAST(:events AS jsonb)) AS e(type text, metadata jsonb)
            ON CONFLICT (creator_id, (metadata ->> 'session_id'), event_type, (coalesce(metadata ->> 'milestone', '')))
              WHERE metadata ? 'session_id' AND event_type IN ('video_started', 'video_progress', 'video_completed')
            DO NOTHING RETURNING event_type, metadata ->> 'milestone'
        """),
        {"video": session.video_id, "creator": t.creator_id, "student": session.student_id,
         "course": session.course_id, "module": session.module_id, "at": at,
         "events": json.dumps([{"type": kind, "metadata": {"session_id": str(session.id), **metadata}}
                               for kind, metadata in events])},
    )
    return {(kind, milestone) for kind, milestone in rows}


def _require_own(t: Workspace, video_id: uuid.UUID, student_id: uuid.UUID, course_id: uuid.UUID | None,
                 module_id: uuid.UUID | None) -> None:
    """Refuse, in words, a video, student, course or module that is not this workspace's (the
    database's foreign keys would refuse it too, as an IntegrityError no one can act on)."""
    found = t.conn.execute(
        sa.text("SELECT EXISTS (SELECT 1 FROM videos WHERE id = :video AND creator_id = :c) AS video, "
                "EXISTS (SELECT 1 FROM students WHERE id = :student AND creator_id = :c) AS student, "
                "(CAST(:course AS uuid) IS NULL OR EXISTS (SELECT 1 FROM courses WHERE id = :course "
                "AND creator_id = :c)) AS course, "
                "(CAST(:module AS uuid) IS NULL OR EXISTS (SELECT 1 FROM course_modules WHERE id = :module "
                "AND creator_id = :c)) AS module"),
        {"video": video_id, "student": student_id, "course": course_id, "module": module_id, "c": t.creator_id},
    ).one()
    for missing, what in ((not found.video, "video"), (not found.student, "student"), (not found.course, "course"),
                          (not found.module, "module")):
        if missing:
            raise NotFound(f"That {what} is not in this workspace.")


def start_viewing(
    t: Workspace,
    video_id: uuid.UUID,
    student_id: uuid.UUID,
    *,
    course_id: uuid.UUID | None = None,
    module_id: uuid.UUID | None = None,
    device_type: str | None = None,
    referrer_type: str | None = None,
    at: datetime | None = None,
) -> uuid.UUID:
    """Open a watch session and record ``video_started`` (and ``video_rewatched`` for a student who
    completed this video before); returns the session's id."""
    check_session_context(device_type, referrer_type)
    _require_own(t, video_id, student_id, course_id, module_id)
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
    t: Workspace,
    session_id: uuid.UUID,
    *,
    position_seconds: float,
    watched_seconds: float,
    duration_seconds: float | None = None,
    played: Sequence[Sequence[float]] | None = None,
    at: datetime | None = None,
) -> Progress:
    """Record what a student played so far and how long they watched in total.

    Args:
        position_seconds: where the playhead is.
        watched_seconds: seconds of playing in this session (a second played twice counts twice).
        duration_seconds: the player's duration, used when the library does not know the video's.
        played: the ranges played so far, ``[(start, end), ...]`` seconds; merged with those
            reported before. Without them the student is taken to have played from the start
            to ``position_seconds`` (a player that reports only its position).

    Completion only grows within a session: played ranges are never taken back.
    """
    if position_seconds < 0 or watched_seconds < 0 or not math.isfinite(position_seconds + watched_seconds):
        raise ValidationError("Position and watch time must be zero or more seconds.")
    reported = (played_ranges.parse_ranges(list(played), most=_MAX_RANGES) if played is not None
                else [(0.0, float(position_seconds))])
    session = _session(t, session_id, lock=True)
    duration = session.duration_seconds or duration_seconds
    if not duration or duration <= 0:
        raise ValidationError("This video's length is unknown; report its duration with the progress.")
    union = played_ranges.merge_ranges([*session.played, *reported])
    if len(union) > _MAX_RANGES:
        raise ValidationError(f"A viewing keeps at most {_MAX_RANGES} separate played ranges.")
    updated = t.conn.execute(
        sa.text("""
            UPDATE video_watch_sessions
            SET percent_complete = greatest(percent_complete, :percent),
                watch_time_seconds = greatest(watch_time_seconds, :watched),
                metadata = jsonb_set(metadata, '{played}', CAST(:played AS jsonb))
            WHERE creator_id = :creator AND id = :id
            RETURNING percent_complete
        """),
        {"creator": t.creator_id, "id": session_id, "percent": played_ranges.percent_played(union, duration),
         "watched": int(watched_seconds), "played": json.dumps([[round(a, 2), round(b, 2)] for a, b in union])},
    ).scalar_one()
    # Only what this report crossed (a player reports every few seconds; trying every milestone again
    # cost a statement each). The session row is locked, so a report of another tab that got there
    # first is already in session.percent_complete; the once-per-session index stays the final guard.
    crossed = [(m, {"milestone": m, "percent_complete": m, "watch_time_seconds": int(watched_seconds)})
               for m in MILESTONES if session.percent_complete < m <= updated]
    completing = session.percent_complete < COMPLETION_PERCENT <= updated
    if not crossed and not completing:
        return Progress(updated, (), False)
    written = _events(t, session, [("video_progress", metadata) for _, metadata in crossed]
                      + ([("video_completed", {"percent_complete": updated, "watch_time_seconds": int(watched_seconds)})]
                         if completing else []), at)
    new = tuple(m for m, _ in crossed if ("video_progress", str(m)) in written)
    return Progress(updated, new, ("video_completed", None) in written)


@dataclass(frozen=True)
class PlayerViewing:
    """The watch session one viewing in the Chronos player is recorded in.

    ``viewing`` is the player's own id for the viewing: a new one each time the player is
    mounted (every visit of the page) and for each play after the end.
    """

    viewing: str
    session_id: uuid.UUID


@dataclass(frozen=True)
class _PlayerEvent:
    kind: str
    viewing: str
    position: float
    watched: float
    duration: float | None
    rewound_from: float | None
    played: list[played_ranges.PlayedRange]


def _seconds(value: object, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValidationError(f"The player sent a bad {name}: it must be zero or more seconds.")
    return float(value)


def _player_event(event: Mapping[str, Any]) -> _PlayerEvent:
    kind, viewing = event.get("kind"), event.get("viewing")
    if kind not in _PLAYER_KINDS:
        raise ValidationError(f"The player sent an event of an unknown kind: {str(kind)[:40]!r}.")
    if not isinstance(viewing, str) or not 0 < len(viewing) <= 64:
        raise ValidationError("The player sent an event without its viewing id.")
    duration = _seconds(event.get("duration"), "duration", optional=True)
    return _PlayerEvent(kind, viewing, _seconds(event.get("position") or 0, "position"),
                        _seconds(event.get("watched") or 0, "watch time"), duration or None,
                        _seconds(event.get("from"), "jump start", optional=True) if kind == "seek" else None,
                        played_ranges.parse_ranges(event.get("played") or [], most=_MAX_RANGES))


def record_player_event(
    t: Workspace,
    event: Mapping[str, Any],
    viewing: PlayerViewing | None,
    *,
    video_id: uuid.UUID,
    student_id: uuid.UUID,
    course_id: uuid.UUID | None = None,
    module_id: uuid.UUID | None = None,
    device_type: str | None = None,
    referrer_type: str | None = None,
) -> PlayerViewing:
    """Record one event of the Chronos player (components/player.py) in the viewing's session.

    An event of a new viewing (the player was mounted again, or played again after the end)
    opens a session, which keeps the player's viewing id, and closes ``viewing``'s. A jump back is kept as a
    rewind; every event carries the ranges played so far, from which completion and milestones
    are reckoned; ``ended`` closes the session.

    Args:
        event: ``{"kind", "viewing", "position", "watched", "duration", "played", "from"}``.
        viewing: what the previous call returned (None for none yet).

    Returns:
        The viewing this event was recorded in, to pass with the next event.

    Raises:
        ValidationError: a malformed event.
    """
    e = _player_event(event)
    if viewing is None or viewing.viewing != e.viewing:
        # The session is found by the player's viewing id, not only by what the caller kept: a
        # page's state can miss a rerun, and Streamlit can run two reruns of one page at once
        # (seen: a replay's play and first progress, 0.3 s apart, opened a session each). The
        # lock makes the second wait for the first's session, then find it.
        t.conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                       {"key": f"chronos.viewing:{t.creator_id}:{e.viewing}"})
        session_id = t.conn.execute(
            sa.text("SELECT id FROM video_watch_sessions WHERE creator_id = :creator AND student_id = :student "
                    "AND video_id = :video AND metadata ->> 'viewing' = :viewing ORDER BY session_start DESC LIMIT 1"),
            {"creator": t.creator_id, "student": student_id, "video": video_id, "viewing": e.viewing},
        ).scalar_one_or_none()
        if session_id is None:
            session_id = start_viewing(t, video_id, student_id, course_id=course_id, module_id=module_id,
                                       device_type=device_type, referrer_type=referrer_type)
            t.conn.execute(
                sa.text("UPDATE video_watch_sessions SET metadata = jsonb_set(metadata, '{viewing}', "
                        "to_jsonb(CAST(:viewing AS text))) WHERE creator_id = :creator AND id = :id"),
                {"creator": t.creator_id, "id": session_id, "viewing": e.viewing})
        if viewing is not None and viewing.session_id != session_id:
            try:
                end_viewing(t, viewing.session_id)
            except NotFound:
                pass  # a viewing of the workspace the visitor left stays as it was
        viewing = PlayerViewing(e.viewing, session_id)
    if e.rewound_from is not None and e.rewound_from > e.position:
        report_rewind(t, viewing.session_id, from_seconds=e.rewound_from, to_seconds=e.position)
    if e.duration:  # unknown until the player has loaded the video's metadata
        report_progress(t, viewing.session_id, position_seconds=min(e.position, e.duration), watched_seconds=e.watched,
                        duration_seconds=e.duration, played=e.played)
    if e.kind == "ended":
        end_viewing(t, viewing.session_id)
    return viewing


def report_rewind(t: Workspace, session_id: uuid.UUID, *, from_seconds: float, to_seconds: float) -> None:
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


def end_viewing(t: Workspace, session_id: uuid.UUID, at: datetime | None = None) -> None:
    """Close a session (idempotent: a second end keeps the first end time)."""
    updated = t.conn.execute(
        sa.text("UPDATE video_watch_sessions SET session_end = greatest(coalesce(CAST(:at AS timestamptz), now()), "
                "session_start) WHERE creator_id = :creator AND id = :id AND session_end IS NULL"),
        {"creator": t.creator_id, "id": session_id, "at": at},
    )
    if updated.rowcount == 0:
        _session(t, session_id)


def session_summary(t: Workspace, session_id: uuid.UUID) -> dict[str, Any]:
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
class VideoProgress:
    """One student on one video, over all their sessions (the seeds' helper functions)."""

    total_watch_time_seconds: int
    highest_completion: int
    completed: bool


def video_progress(t: Workspace, student_id: uuid.UUID, video_id: uuid.UUID) -> VideoProgress:
    """A student's total watch time, best completion and completion flag on one video."""
    # The seeds' helpers filter by student and video only; asking them about this workspace's own
    # student and video keeps the creator filter here too, not in row-level security alone.
    row = t.conn.execute(
        sa.text(
            "SELECT get_student_total_watch_time(s.id, v.id), get_student_highest_completion(s.id, v.id), "
            "has_student_completed_video(s.id, v.id) "
            "FROM students s JOIN videos v ON v.creator_id = s.creator_id "
            "WHERE s.creator_id = :creator AND s.id = :student AND v.id = :video"
        ),
        {"creator": t.creator_id, "student": student_id, "video": video_id},
    ).one_or_none()
    if row is None:  # not this workspace's student or video
        return VideoProgress(0, 0, False)
    return VideoProgress(int(row[0]), int(row[1]), bool(row[2]))


@dataclass(frozen=True)
class _Session:
    id: uuid.UUID
    video_id: uuid.UUID
    student_id: uuid.UUID
    course_id: uuid.UUID | None
    module_id: uuid.UUID | None
    duration_seconds: int | None
    played: list[played_ranges.PlayedRange]
    percent_complete: int


def _session(t: Workspace, session_id: uuid.UUID, course_id: uuid.UUID | None = None,
             module_id: uuid.UUID | None = None, *, lock: bool = False) -> _Session:
    # lock: the played ranges are read, merged and written back; two reports at once would
    # otherwise each write their own union and lose the other's ranges.
    row = t.conn.execute(
        sa.text("SELECT s.id, s.video_id, s.student_id, s.metadata, s.percent_complete, v.duration_seconds "
                "FROM video_watch_sessions s "
                "JOIN videos v ON v.id = s.video_id AND v.creator_id = s.creator_id "
                "WHERE s.creator_id = :creator AND s.id = :id" + (" FOR UPDATE OF s" if lock else "")),
        {"creator": t.creator_id, "id": session_id},
    ).one_or_none()
    if row is None:
        raise NotFound("That watch session is not in this workspace.")
    meta = row.metadata or {}
    course = course_id or (uuid.UUID(meta["course_id"]) if meta.get("course_id") else None)
    module = module_id or (uuid.UUID(meta["module_id"]) if meta.get("module_id") else None)
    stored = meta.get("played")
    played = [(float(a), float(b)) for a, b in stored] if isinstance(stored, list) else []
    return _Session(row.id, row.video_id, row.student_id, course, module, row.duration_seconds, played,
                    row.percent_complete)
