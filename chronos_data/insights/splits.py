"""One video, many courses: how the same lesson video does in each course that uses it.

Viewing events carry the course (and module) the student watched in, so a video that is a lesson
of several courses can be measured per course: views, students, completion, how much of it is
watched, how far sessions get (coarse retention) and the questions asked about it. A finding is
raised when its completion differs between two courses by enough, over enough students, that it
is unlikely to be chance: the video works in one course and not in another (its place in the
course, what the lessons before it prepared, who takes the course).
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..chat import answers_question
from ..db import Workspace
from ..timecode import format_seconds
from ..viewing.dashboards import Filters
from ..viewing.watching import MILESTONES
from .model import Insight

__all__ = ["MAX_P_VALUE", "MIN_GAP_POINTS", "MIN_STUDENTS", "course_splits", "multi_course_videos",
           "video_by_course"]

#: Students a course needs on the video before its completion is compared: below this, one or
#: two students swing the rate by ten points or more.
MIN_STUDENTS = 10
#: Percentage points of completion between two courses that are worth a creator's time.
MIN_GAP_POINTS = 15.0
#: Two-sided p-value of the two-proportion z-test below which the gap is not taken for chance;
#: strict (1 %) because every shared video of the workspace is tested.
MAX_P_VALUE = 0.01
_REACHED = tuple(f"reached_{m}" for m in MILESTONES)
_COLUMNS = ["video_id", "course_id", "course_title", "lesson", "position", "lessons", "views", "students",
            "completed_students", "completion_rate", "avg_watch_share", *_REACHED, "questions",
            "questions_per_student"]
# All time, when no date range is given (timestamptz spans both).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)

_SQL = f"""
WITH placed AS (
  -- Every live course that has the video as a lesson, with the lesson's place in that course.
  SELECT o.video_id, o.course_id, c.title AS course_title, c.display_order,
         (array_agg(o.title ORDER BY o.position))[1] AS lesson, min(o.position)::int AS position,
         max(o.lessons)::int AS lessons
  FROM (
    SELECT l.video_id, m.course_id, l.title,
           row_number() OVER (PARTITION BY m.course_id ORDER BY m.display_order, m.created_at, m.id, l.lesson_order,
                                                l.created_at, l.id) AS position,
           count(*) OVER (PARTITION BY m.course_id) AS lessons
    FROM module_lessons l JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id
    WHERE l.creator_id = :creator AND m.course_id IN (
      SELECT m2.course_id FROM module_lessons l2
      JOIN course_modules m2 ON m2.id = l2.module_id AND m2.creator_id = l2.creator_id
      WHERE l2.creator_id = :creator AND l2.video_id = ANY(:videos))
  ) o
  JOIN courses c ON c.id = o.course_id AND c.creator_id = :creator AND NOT c.is_deleted
  WHERE o.video_id = ANY(:videos)
  GROUP BY o.video_id, o.course_id, c.title, c.display_order
),
viewing AS (
  -- Students are students (or, for anonymous viewing, sessions); retention counts sessions.
  SELECT e.video_id, e.course_id,
         count(*) FILTER (WHERE e.event_type = 'video_started') AS views,
         count(DISTINCT coalesce(e.student_id::text, e.metadata ->> 'session_id'))
           FILTER (WHERE e.event_type = 'video_started') AS students,
         count(DISTINCT coalesce(e.student_id::text, e.metadata ->> 'session_id'))
           FILTER (WHERE e.event_type = 'video_completed') AS completed_students,
         {", ".join(f"count(*) FILTER (WHERE e.event_type = 'video_progress' AND e.metadata ->> 'milestone' = '{m}') "
                    f"AS reached_{m}" for m in MILESTONES)}
  FROM video_analytics_events e
  WHERE e.creator_id = :creator AND e.video_id = ANY(:videos) AND e.course_id IS NOT NULL
    AND e.event_type IN ('video_started', 'video_progress', 'video_completed')
    AND e."timestamp" >= :start AND e."timestamp" < :after
  GROUP BY e.video_id, e.course_id
),
watched AS (
  -- Watch sessions keep their course in their metadata (the player's start_viewing, imports).
  SELECT s.video_id, s.metadata ->> 'course_id' AS course,
         avg(least(1.0, coalesce(s.watch_time_seconds::float8 / nullif(v.duration_seconds, 0),
                                 s.percent_complete / 100.0))) AS share
  FROM video_watch_sessions s JOIN videos v ON v.id = s.video_id AND v.creator_id = s.creator_id
  WHERE s.creator_id = :creator AND s.video_id = ANY(:videos) AND s.metadata ? 'course_id'
    AND s.session_start >= :start AND s.session_start < :after
  GROUP BY 1, 2
),
asked AS (
  -- A question is about the video when its answer (chat.answers_question) cites the video.
  SELECT cited.id AS video_id, q.created_at, s.student_id, q.metadata -> 'scope' ->> 'course_id' AS scoped
  FROM chat_messages q
  JOIN chat_sessions s ON s.id = q.session_id AND s.creator_id = q.creator_id
  JOIN LATERAL (
    SELECT m.video_references FROM chat_messages m
    WHERE m.creator_id = q.creator_id AND m.session_id = q.session_id AND {answers_question("m", "q")}
    ORDER BY m.created_at, m.id LIMIT 1
  ) a ON true
  JOIN unnest(CAST(:video_texts AS text[])) AS cited(id)
    ON a.video_references @> jsonb_build_array(jsonb_build_object('video_id', cited.id))
  WHERE q.creator_id = :creator AND q.role = 'user' AND q.created_at >= :start AND q.created_at < :after
),
attributed AS (
  -- Its course: the one the question was scoped to, else the one the asking student watched the
  -- video in (the last time before asking, else the first time after).
  SELECT a.video_id, coalesce(p.course_id::text, w.course_id::text) AS course
  FROM asked a
  LEFT JOIN placed p ON p.video_id::text = a.video_id AND p.course_id::text = a.scoped
  LEFT JOIN LATERAL (
    SELECT e.course_id FROM video_analytics_events e
    WHERE e.creator_id = :creator AND e.student_id = a.student_id AND e.video_id = CAST(a.video_id AS uuid)
      AND e.course_id IS NOT NULL
    ORDER BY e."timestamp" > a.created_at, abs(extract(epoch FROM e."timestamp" - a.created_at)), e.course_id
    LIMIT 1
  ) w ON a.student_id IS NOT NULL
)
SELECT p.video_id, p.course_id, p.course_title, p.lesson, p.position, p.lessons,
       coalesce(v.views, 0)::int AS views, coalesce(v.students, 0)::int AS students,
       least(coalesce(v.completed_students, 0), coalesce(v.students, 0))::int AS completed_students,
       w.share::float8 AS avg_watch_share,
       {", ".join(f"coalesce(v.reached_{m}, 0)::int AS reached_{m}" for m in MILESTONES)},
       (SELECT count(*) FROM attributed q WHERE q.video_id = p.video_id::text AND q.course = p.course_id::text)::int
         AS questions
FROM placed p
LEFT JOIN viewing v ON v.video_id = p.video_id AND v.course_id = p.course_id
LEFT JOIN watched w ON w.video_id = p.video_id AND w.course = p.course_id::text
ORDER BY p.video_id, p.display_order, p.course_title, p.course_id
"""


def _bounds(f: Filters | None) -> tuple[datetime, datetime]:
    if f is None:
        return _EARLIEST, _LATEST
    return (datetime.combine(f.start, time(), UTC), datetime.combine(f.end + timedelta(days=1), time(), UTC))


def _split_frame(t: Workspace, video_ids: list[uuid.UUID], f: Filters | None) -> pd.DataFrame:
    if not video_ids:
        return pd.DataFrame(columns=_COLUMNS)
    start, after = _bounds(f)
    result = t.conn.execute(sa.text(_SQL), {"creator": t.creator_id, "videos": video_ids,
                                            "video_texts": [str(v) for v in video_ids],
                                            "start": start, "after": after})
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    if frame.empty:
        return pd.DataFrame(columns=_COLUMNS)
    students = frame["students"].where(frame["students"] > 0)
    views = frame["views"].where(frame["views"] > 0)
    frame["completion_rate"] = (100.0 * frame["completed_students"] / students).round(1)
    for column in _REACHED:
        frame[column] = (frame[column] / views).clip(upper=1.0).astype(float)
    frame["avg_watch_share"] = frame["avg_watch_share"].astype(float)
    frame["questions_per_student"] = (frame["questions"] / students).astype(float)
    return frame[_COLUMNS].reset_index(drop=True)


def video_by_course(t: Workspace, video_id: uuid.UUID, f: Filters | None = None) -> pd.DataFrame:
    """One row per live course that has the video as a lesson, in the workspace's course order.

    Columns: ``course_id``, ``course_title``, ``lesson`` (its title there), ``position`` and
    ``lessons`` (its place in the course), ``views`` (sessions started in that course),
    ``students`` and ``completed_students`` (distinct students), ``completion_rate`` (% of its
    students who completed it, NaN without students), ``avg_watch_share`` (watch time over the
    video's length, 0–1), ``reached_10`` … ``reached_90`` (share of sessions that got that far),
    ``questions`` (asked about the video by students of that course, or in its scope) and
    ``questions_per_student``.

    ``f`` limits it to a date range (its course and video choices do not apply: the split is over
    every course); None means all time. Empty for a video of another workspace.
    """
    return _split_frame(t, [video_id], f).drop(columns=["video_id"])


def multi_course_videos(t: Workspace, video_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Videos of the workspace (not in the trash) that are lessons of two live courses or more."""
    return list(t.conn.execute(
        sa.text("SELECT l.video_id FROM module_lessons l "
                "JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id "
                "JOIN courses c ON c.id = m.course_id AND c.creator_id = m.creator_id AND NOT c.is_deleted "
                "JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id AND NOT v.is_deleted "
                "WHERE l.creator_id = :creator AND (CAST(:video AS uuid) IS NULL OR l.video_id = :video) "
                "GROUP BY l.video_id HAVING count(DISTINCT m.course_id) >= 2 ORDER BY l.video_id"),
        {"creator": t.creator_id, "video": video_id},
    ).scalars())


def _z_test(c1: int, n1: int, c2: int, n2: int) -> tuple[float, float]:
    """Two-proportion z-test (pooled): z and its two-sided p-value."""
    pooled = (c1 + c2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (c1 / n1 - c2 / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def _divergence(better: pd.Series, worse: pd.Series) -> tuple[int, int]:
    """The stretch of the video (percent from, to) where the worse course loses the most
    sessions more than the better one."""
    points = [0, *MILESTONES]
    reach_b = [1.0, *(float(better[c]) for c in _REACHED)]
    reach_w = [1.0, *(float(worse[c]) for c in _REACHED)]
    gaps = [(reach_w[k] - reach_w[k + 1]) - (reach_b[k] - reach_b[k + 1]) for k in range(len(points) - 1)]
    k = max(range(len(gaps)), key=lambda n: gaps[n])
    return points[k], points[k + 1]


def _passage_at(t: Workspace, video_id: uuid.UUID, second: float) -> str | None:
    """What is said at ``second``: the caption spoken then, else the chunk that holds it."""
    row = t.conn.execute(
        sa.text("SELECT s ->> 2 FROM videos v, jsonb_array_elements(coalesce(v.transcript_segments, '[]')) s "
                "WHERE v.creator_id = :creator AND v.id = :video AND (s ->> 0)::float8 <= :second "
                "ORDER BY (s ->> 0)::float8 DESC LIMIT 1"),
        {"creator": t.creator_id, "video": video_id, "second": second},
    ).scalar_one_or_none()
    if row:
        return row
    return t.conn.execute(
        sa.text("SELECT chunk_text FROM video_chunks WHERE creator_id = :creator AND video_id = :video "
                "AND coalesce(start_time_seconds, 0) <= :second ORDER BY start_time_seconds DESC NULLS LAST LIMIT 1"),
        {"creator": t.creator_id, "video": video_id, "second": second},
    ).scalar_one_or_none()


def _course_json(row: pd.Series) -> dict[str, Any]:
    def number(value: Any) -> float | None:
        return None if value is None or pd.isna(value) else round(float(value), 3)

    return {"course_id": str(row["course_id"]), "course_title": row["course_title"], "lesson": row["lesson"],
            "position": int(row["position"]), "lessons": int(row["lessons"]), "views": int(row["views"]),
            "students": int(row["students"]), "completed_students": int(row["completed_students"]),
            "completion_rate": number(row["completion_rate"]), "avg_watch_share": number(row["avg_watch_share"]),
            **{c: number(row[c]) for c in _REACHED}, "questions": int(row["questions"]),
            "questions_per_student": number(row["questions_per_student"])}


def _split_insight(t: Workspace, video_id: uuid.UUID, title: str, duration: int | None,
                   rows: pd.DataFrame) -> Insight | None:
    eligible = rows[rows["students"] >= MIN_STUDENTS]
    if len(eligible) < 2:
        return None
    ordered = eligible.sort_values(["completion_rate", "students"], ascending=[False, False])
    better, worse = ordered.iloc[0], ordered.iloc[-1]
    gap = float(better["completion_rate"] - worse["completion_rate"])
    z, p_value = _z_test(int(better["completed_students"]), int(better["students"]),
                         int(worse["completed_students"]), int(worse["students"]))
    if gap < MIN_GAP_POINTS or p_value > MAX_P_VALUE:
        return None
    low, high = _divergence(better, worse)
    second = duration * low / 100 if duration else None
    return Insight(
        kind="course_split",
        title=(f"'{title}' is completed by {better['completion_rate']:.0f} % in {better['course_title']} "
               f"but {worse['completion_rate']:.0f} % in {worse['course_title']}"),
        score=round(gap, 1),
        video_id=video_id,
        video_title=title,
        second=second,
        passage=_passage_at(t, video_id, second) if second is not None else None,
        course_id=worse["course_id"],
        course_title=worse["course_title"],
        lesson=worse["lesson"],
        evidence={
            "courses": [_course_json(row) for _, row in rows.iterrows()],
            "better_course_id": str(better["course_id"]),
            "worse_course_id": str(worse["course_id"]),
            "difference_points": round(gap, 1),
            "students_better": int(better["students"]),
            "students_worse": int(worse["students"]),
            "z": round(z, 2),
            "p_value": float(f"{p_value:.3g}"),
            "test": "two-proportion z-test on students' completion",
            "min_students": MIN_STUDENTS,
            "diverges_between_percent": [low, high],
            "diverges_at": format_seconds(second) if second is not None else None,
        },
        key=f"course_split:{video_id}:{worse['course_id']}:{better['course_id']}",
    )


def course_splits(t: Workspace, video_id: uuid.UUID | None = None) -> list[Insight]:
    """Videos that are completed much less in one course than in another (all time).

    Every video used as a lesson in two live courses or more (or only ``video_id``) is measured
    per course; a ``course_split`` insight is raised when the best and the worst course, each
    with at least ``MIN_STUDENTS`` students on it, differ by ``MIN_GAP_POINTS`` points of
    completion or more and a two-proportion z-test puts the gap below ``MAX_P_VALUE``. The
    insight points at the worse course's lesson and at the stretch of the video where its
    students fall behind; ``evidence["courses"]`` holds every course's numbers. Largest gap first.
    """
    videos = multi_course_videos(t, video_id)
    if not videos:
        return []
    frame = _split_frame(t, videos, None)
    info = {row.id: (row.title, row.duration_seconds) for row in t.conn.execute(
        sa.text("SELECT id, title, duration_seconds FROM videos WHERE creator_id = :creator AND id = ANY(:ids)"),
        {"creator": t.creator_id, "ids": videos})}
    found = []
    for vid, rows in frame.groupby("video_id", sort=False):
        title, duration = info[vid]
        insight = _split_insight(t, vid, title, duration, rows)
        if insight is not None:
            found.append(insight)
    return sorted(found, key=lambda i: (-i.score, i.title))

