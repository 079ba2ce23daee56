"""Students in a course: one student's progress, who is at risk of leaving, each lesson's students and
drop-off, and a student found by e-mail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from ...db import Workspace
from .filters import Filters, _frame
from .viewing import course_funnel, first_activity_day

_AT_RISK_INACTIVE_DAYS = 14
#: Rows of the at-risk list: a creator nudges the most recently lapsed first, not ten thousand at once.
AT_RISK_LIMIT = 500


def student_progress(t: Workspace, course_id: uuid.UUID, student_id: uuid.UUID) -> pd.DataFrame:
    """One student through one course: each lesson's best completion, watch time and last view."""
    return _frame(t, """
        SELECT row_number() OVER (ORDER BY m.display_order, m.created_at, m.id, l.lesson_order, l.created_at,
                                  l.id)::int AS position, m.title AS module,
               coalesce(l.title, v.title) AS lesson, coalesce(max(s.percent_complete), 0)::int AS best_percent,
               coalesce(sum(s.watch_time_seconds), 0)::int AS watch_seconds, coalesce(bool_or(s.completed), false)
                 AS completed, max(s.session_start) AS last_watched, count(s.id)::int AS sessions
        FROM module_lessons l JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id
        JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id
        LEFT JOIN video_watch_sessions s ON s.creator_id = l.creator_id AND s.video_id = l.video_id
              AND s.student_id = :student
        WHERE l.creator_id = :creator AND m.course_id = :course
        GROUP BY m.display_order, m.created_at, m.id, l.lesson_order, l.created_at, l.id, m.title, l.title, v.title
        ORDER BY position
    """, {"creator": t.creator_id, "course": course_id, "student": student_id})


def at_risk_students(t: Workspace, course_id: uuid.UUID, *, now: datetime | None = None,
                     limit: int = AT_RISK_LIMIT) -> pd.DataFrame:
    """Students of a course who have not finished it and are inactive for 14 days or more, or
    whose last lesson was left unfinished a week ago and not resumed: the most recently lapsed
    first (the ones a nudge can still bring back), at most ``limit`` of them."""
    return _frame(t, f"""
        WITH lessons AS (
          SELECT count(*) AS n FROM module_lessons l JOIN course_modules m ON m.id = l.module_id
          WHERE l.creator_id = :creator AND m.course_id = :course
        ),
        clock AS (SELECT coalesce(CAST(:now AS timestamptz), now()) AS now)
        SELECT p.student_id, st.email, p.last_seen, cardinality(p.completed_videos) AS lessons_completed,
               lessons.n::int AS lessons, v.title AS last_lesson,
               extract(day FROM clock.now - p.last_seen)::int AS inactive_days,
               CASE WHEN clock.now - p.last_seen >= interval '{_AT_RISK_INACTIVE_DAYS} days'
                    THEN 'inactive' ELSE 'stalled on a lesson' END AS reason
        FROM course_students p CROSS JOIN lessons CROSS JOIN clock
        JOIN students st ON st.id = p.student_id AND st.creator_id = :creator
        LEFT JOIN videos v ON v.id = p.last_video_id AND v.creator_id = :creator
        WHERE p.creator_id = :creator AND p.course_id = :course AND p.last_seen <= clock.now - interval '7 days'
          AND cardinality(p.completed_videos) < lessons.n
          AND (p.last_seen <= clock.now - interval '{_AT_RISK_INACTIVE_DAYS} days'
               OR NOT p.last_video_id = ANY (p.completed_videos))
        ORDER BY p.last_seen DESC, st.email, p.student_id
        LIMIT :limit
    """, {"creator": t.creator_id, "course": course_id, "now": now, "limit": limit})


def lesson_stats(t: Workspace, course_id: uuid.UUID) -> dict[tuple[uuid.UUID, uuid.UUID], dict]:
    """For the course builder: each lesson's students, completion and drop-off (the share of its
    students who did not start the next lesson), over all time, keyed by (module id, video id)."""
    first = first_activity_day(t)
    if first is None:
        return {}
    today = datetime.now(UTC).date()
    funnel = course_funnel(t, course_id, Filters(min(first, today), today))
    stats = {}
    for index, row in funnel.iterrows():
        following = funnel["started"].iloc[index + 1] if index + 1 < len(funnel) else None
        drop = None if following is None or not row["started"] else max(0.0, 1 - following / row["started"]) * 100
        stats[(row["module_id"], row["video_id"])] = {"students": int(row["started"]),
                                                      "completion_rate": row["completion_rate"], "drop_off": drop}
    return stats


def find_student(t: Workspace, email: str) -> uuid.UUID | None:
    """The id of the workspace's student with this e-mail address (any case), or None."""
    return t.conn.execute(
        sa.text("SELECT id FROM students WHERE creator_id = :creator AND lower(email) = lower(:email) "
                "ORDER BY created_at LIMIT 1"), {"creator": t.creator_id, "email": email.strip()},
    ).scalar_one_or_none()
