"""Daily rollups: the seeds' second analytics tier, computed from the raw events and sessions.

Each run recomputes whole days and writes the computed values (never increments), so re-running
a day changes nothing. Days are UTC days (the database's ``current_date``). A past day is rolled
up once and recorded in ``rollup_days``; today is recomputed on every run because it is still
happening, and a day that receives imported rows is marked stale and recomputed.

What each number counts is defined once, in ``metrics``; the rollup counts it per day:
  viewing_days     per video and course context (the course the viewing happened in, or none):
                   views, completions, repeat views, sessions, completed and rewound sessions,
                   watch seconds, the assistant's questions and cited answers, and the day's
                   viewing shape (hours, reach, rewinds, devices, referrers). The dashboards read it.
  video_analytics  the seeds' per-video table: the same, all contexts together (the insights
                   read its shape; the assistant bumps ``ai_interactions`` as it answers).
  usage_metrics    active students, questions and model credits of the workspace.

Distinct students over any period, and each student's standing per course, are kept as well
(``students``), so no dashboard has to read raw events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from .. import metrics
from ..db import Workspace
from . import student_sets

__all__ = ["RollupResult", "mark_days_stale", "pending_days", "rollup"]


@dataclass(frozen=True)
class RollupResult:
    days: list[date]
    video_rows: int
    usage_rows: int


def pending_days(t: Workspace, *, since: date | None = None) -> list[date]:
    """Days to roll up, oldest first: stale days, days with activity that are not final (looked
    for from ``since``, or after the last final day), and today."""
    rows = t.conn.execute(
        sa.text("""
            WITH final AS (SELECT max(date) AS last FROM rollup_days WHERE creator_id = :creator AND NOT stale),
            bounds AS (
              SELECT CAST(coalesce(CAST(:since AS date), final.last + 1) AS timestamp) AT TIME ZONE 'UTC' AS scan_from
              FROM final
            ),
            active AS (
              SELECT DISTINCT (e."timestamp" AT TIME ZONE 'UTC')::date AS day FROM video_analytics_events e, bounds
              WHERE e.creator_id = :creator AND e.event_type IN ('video_started', 'video_completed')
                AND (bounds.scan_from IS NULL OR e."timestamp" >= bounds.scan_from)
              UNION
              SELECT DISTINCT (m.created_at AT TIME ZONE 'UTC')::date FROM chat_messages m, bounds
              WHERE m.creator_id = :creator AND (bounds.scan_from IS NULL OR m.created_at >= bounds.scan_from)
              UNION
              SELECT date FROM rollup_days
              WHERE creator_id = :creator AND stale AND (CAST(:since AS date) IS NULL OR date >= CAST(:since AS date))
              UNION SELECT (now() AT TIME ZONE 'UTC')::date
            )
            SELECT a.day FROM active a
            WHERE a.day = (now() AT TIME ZONE 'UTC')::date
               OR NOT EXISTS (SELECT 1 FROM rollup_days r WHERE r.creator_id = :creator AND r.date = a.day
                              AND NOT r.stale)
            ORDER BY a.day
        """),
        {"creator": t.creator_id, "since": since},
    )
    return [row[0] for row in rows]


_LOCK_KEY = "hashtextextended('chronos.rollup:' || :c, 0)"


def mark_days_stale(t: Workspace, days: list[date]) -> None:
    """These days received new rows (an import): the next run recomputes them.

    Holds the rollup lock shared until the caller commits: a rollup running meanwhile would not
    see these rows yet and would then mark the days final over this mark.
    """
    t.conn.execute(sa.text(f"SELECT pg_advisory_xact_lock_shared({_LOCK_KEY})"), {"c": str(t.creator_id)})
    t.conn.execute(
        sa.text("INSERT INTO rollup_days (creator_id, date, stale) SELECT :creator, d, true "
                "FROM unnest(CAST(:days AS date[])) d ON CONFLICT (creator_id, date) DO UPDATE SET stale = true"),
        {"creator": t.creator_id, "days": list(days)})


def rollup(t: Workspace, *, since: date | None = None, days: list[date] | None = None) -> RollupResult:
    """Roll up ``days`` (default: every pending day since ``since``) into ``viewing_days``,
    ``video_analytics``, ``usage_metrics`` and the student bitmaps; idempotent."""
    # One rollup per workspace at a time (student numbers must stay dense and unique), and none
    # while an import that marked days stale is uncommitted (see mark_days_stale).
    t.conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"), {"c": str(t.creator_id)})
    todo = sorted(set(days)) if days is not None else pending_days(t, since=since)
    if not todo:
        return RollupResult([], 0, 0)
    # The day list bounds a time range too, so the (creator, type, time) indexes narrow the scan.
    params = {"creator": t.creator_id, "days": todo, "first": todo[0], "after": todo[-1] + timedelta(days=1)}
    # Replaced whole: a (video, course) pair whose viewing moved to another context leaves no row.
    t.conn.execute(sa.text("DELETE FROM viewing_days WHERE creator_id = :creator AND date = ANY (CAST(:days AS date[]))"),
                   params)
    t.conn.execute(sa.text(_VIEWING_ROLLUP), params)
    video_rows = t.conn.execute(sa.text(_VIDEO_ROLLUP), params).rowcount
    usage_rows = t.conn.execute(sa.text(_USAGE_ROLLUP), params).rowcount
    student_sets.roll_days(t, todo)
    t.conn.execute(
        sa.text("INSERT INTO rollup_days (creator_id, date) SELECT :creator, d FROM unnest(CAST(:days AS date[])) d "
                "WHERE d < (now() AT TIME ZONE 'UTC')::date "
                "ON CONFLICT (creator_id, date) DO UPDATE SET rolled_at = now(), stale = false"),
        params,
    )
    return RollupResult(todo, video_rows, usage_rows)


_NO_COURSE = "CAST('00000000-0000-0000-0000-000000000000' AS uuid)"


def _shape(*, by_course: bool) -> str:
    """CTEs of the rolled days' watch sessions per (video, ``ctx``, day): ``watching`` (sessions, watch
    seconds, completed and rewound sessions) and ``shapes`` (the day's viewing shape as jsonb).

    ``ctx`` is the course a session happened in (``by_course``) or one constant for all, never
    null: the histograms are hash-joined on it, which a null-safe comparison would prevent."""
    context, joins = ("sc.id", metrics.SESSION_CONTEXT) if by_course else ("NULL", "")
    return f"""
session_rows AS MATERIALIZED (
  SELECT s.id, s.video_id, coalesce({context}, {_NO_COURSE}) AS ctx, (s.session_start AT TIME ZONE 'UTC')::date AS day,
         extract(hour FROM s.session_start AT TIME ZONE 'UTC')::int AS hour, s.percent_complete,
         coalesce(s.device_type, 'unknown') AS device, coalesce(s.referrer_type, 'unknown') AS referrer,
         CASE WHEN jsonb_typeof(s.metadata -> 'rewinds') = 'array' THEN s.metadata -> 'rewinds' ELSE '[]' END AS rewinds,
         s.watch_time_seconds, s.completed
  FROM video_watch_sessions s {joins}
  WHERE s.creator_id = :creator
    AND s.session_start >= CAST(:first AS timestamp) AT TIME ZONE 'UTC'
    AND s.session_start < CAST(:after AS timestamp) AT TIME ZONE 'UTC'
    AND (s.session_start AT TIME ZONE 'UTC')::date = ANY (CAST(:days AS date[]))
),
watching AS MATERIALIZED (
  SELECT video_id, ctx, day, count(*) AS sessions, sum(watch_time_seconds) AS watch,
         count(*) FILTER (WHERE completed) AS completed_sessions,
         count(*) FILTER (WHERE jsonb_array_length(rewinds) > 0) AS rewound_sessions
  FROM session_rows GROUP BY 1, 2, 3
),
-- MATERIALIZED: each histogram is computed once and hash-joined. Inlined, the planner joined
-- them by nested loops that re-aggregated the whole CTE for every (video, day) row: quadratic,
-- 7.7 s for a 30-day demo of 100 students, 0.2 s materialized.
-- The shape of the day's viewing, so dashboards never rescan sessions: sessions per hour (UTC),
-- how far each got (a histogram over 0..100 %), how many rewound over each percent, and sessions,
-- watch seconds and completions per device and per referrer.
hours AS MATERIALIZED (
  SELECT k.video_id, k.ctx, k.day, jsonb_agg(coalesce(c.n, 0) ORDER BY h.hour) AS hours
  FROM watching k CROSS JOIN generate_series(0, 23) h(hour)
  LEFT JOIN (SELECT video_id, ctx, day, hour, count(*) AS n FROM session_rows GROUP BY 1, 2, 3, 4) c
         ON c.video_id = k.video_id AND c.ctx = k.ctx AND c.day = k.day AND c.hour = h.hour
  GROUP BY 1, 2, 3
),
reached AS MATERIALIZED (
  SELECT k.video_id, k.ctx, k.day, jsonb_agg(coalesce(c.n, 0) ORDER BY p.percent) AS reached
  FROM watching k CROSS JOIN generate_series(0, 100) p(percent)
  LEFT JOIN (SELECT video_id, ctx, day, percent_complete AS percent, count(*) AS n FROM session_rows
             GROUP BY 1, 2, 3, 4) c
         ON c.video_id = k.video_id AND c.ctx = k.ctx AND c.day = k.day AND c.percent = p.percent
  GROUP BY 1, 2, 3
),
rewound AS MATERIALIZED (
  SELECT k.video_id, k.ctx, k.day, jsonb_agg(coalesce(c.n, 0) ORDER BY p.percent) AS rewound
  FROM watching k CROSS JOIN generate_series(0, 100) p(percent)
  LEFT JOIN (
    SELECT s.video_id, s.ctx, s.day, g.percent, count(DISTINCT s.id) AS n
    FROM session_rows s JOIN videos v ON v.id = s.video_id AND v.creator_id = :creator,
         jsonb_array_elements(s.rewinds) r,
         generate_series(ceil((r ->> 0)::numeric * 100 / v.duration_seconds)::int,
                         ceil((r ->> 1)::numeric * 100 / v.duration_seconds)::int - 1) g(percent)
    WHERE v.duration_seconds > 0 AND g.percent BETWEEN 0 AND 100
    GROUP BY 1, 2, 3, 4
  ) c ON c.video_id = k.video_id AND c.ctx = k.ctx AND c.day = k.day AND c.percent = p.percent
  GROUP BY 1, 2, 3
),
devices AS MATERIALIZED (
  SELECT video_id, ctx, day, jsonb_object_agg(device, jsonb_build_array(n, watch, done)) AS devices
  FROM (SELECT video_id, ctx, day, device, count(*) AS n, sum(watch_time_seconds) AS watch,
               count(*) FILTER (WHERE completed) AS done FROM session_rows GROUP BY 1, 2, 3, 4) x
  GROUP BY 1, 2, 3
),
referrers AS MATERIALIZED (
  SELECT video_id, ctx, day, jsonb_object_agg(referrer, jsonb_build_array(n, watch, done)) AS referrers
  FROM (SELECT video_id, ctx, day, referrer, count(*) AS n, sum(watch_time_seconds) AS watch,
               count(*) FILTER (WHERE completed) AS done FROM session_rows GROUP BY 1, 2, 3, 4) x
  GROUP BY 1, 2, 3
),
shapes AS MATERIALIZED (
  SELECT w.video_id, w.ctx, w.day, w.sessions, w.watch, w.completed_sessions, w.rewound_sessions,
         jsonb_build_object('hours', h.hours, 'reached', r.reached, 'rewound', rw.rewound, 'devices', d.devices,
                            'referrers', rf.referrers) AS shape
  FROM watching w
  JOIN hours h ON h.video_id = w.video_id AND h.ctx = w.ctx AND h.day = w.day
  JOIN reached r ON r.video_id = w.video_id AND r.ctx = w.ctx AND r.day = w.day
  JOIN rewound rw ON rw.video_id = w.video_id AND rw.ctx = w.ctx AND rw.day = w.day
  JOIN devices d ON d.video_id = w.video_id AND d.ctx = w.ctx AND d.day = w.day
  JOIN referrers rf ON rf.video_id = w.video_id AND rf.ctx = w.ctx AND rf.day = w.day
),
-- The assistant's answers of the days: each cited video's answers, and each answer once more
-- under its first source (the question's video when the dashboards filter by video).
answers AS MATERIALIZED (
  SELECT v.id AS video_id, {_NO_COURSE} AS ctx, x.day, count(DISTINCT x.id) AS cited,
         count(DISTINCT x.id) FILTER (WHERE x.position = 1) AS questions
  FROM (SELECT m.id, (m.created_at AT TIME ZONE 'UTC')::date AS day, r.position, r.ref ->> 'video_id' AS video_id
        FROM chat_messages m, jsonb_array_elements(CASE WHEN jsonb_typeof(m.video_references) = 'array'
                                                        THEN m.video_references ELSE '[]' END)
                              WITH ORDINALITY r(ref, position)
        WHERE m.creator_id = :creator AND m.role = 'assistant'
          AND m.created_at >= CAST(:first AS timestamp) AT TIME ZONE 'UTC'
          AND m.created_at < CAST(:after AS timestamp) AT TIME ZONE 'UTC'
          AND (m.created_at AT TIME ZONE 'UTC')::date = ANY (CAST(:days AS date[]))) x
  JOIN videos v ON v.id::text = x.video_id AND v.creator_id = :creator
  GROUP BY 1, 2, 3
)"""


# viewing_days, what the dashboards read: per video, course context and day, each count as
# metrics.METRICS defines it.
_VIEWING_ROLLUP = f"""
WITH {metrics.VIEWINGS},
counted AS MATERIALIZED (
  SELECT video_id, coalesce(course_id, {_NO_COURSE}) AS ctx, day,
         count(*) FILTER (WHERE kind = 'video_started') AS views,
         count(*) FILTER (WHERE kind = 'video_completed') AS completions,
         count(*) FILTER (WHERE kind = 'video_rewatched') AS repeat_views
  FROM viewings GROUP BY 1, 2, 3
),
{_shape(by_course=True)},
keys AS (
  SELECT video_id, ctx, day FROM counted UNION SELECT video_id, ctx, day FROM shapes
  UNION SELECT video_id, ctx, day FROM answers
)
INSERT INTO viewing_days (creator_id, date, video_id, course_id, views, completions, repeat_views, sessions,
                          completed_sessions, rewound_sessions, watch_seconds, questions, cited_answers, shape)
SELECT :creator, k.day, k.video_id, nullif(k.ctx, {_NO_COURSE}), coalesce(c.views, 0), coalesce(c.completions, 0),
       coalesce(c.repeat_views, 0), coalesce(s.sessions, 0), coalesce(s.completed_sessions, 0),
       coalesce(s.rewound_sessions, 0), coalesce(s.watch, 0), coalesce(a.questions, 0), coalesce(a.cited, 0),
       coalesce(s.shape, '{{}}'::jsonb)
FROM keys k
JOIN videos v ON v.id = k.video_id AND v.creator_id = :creator
LEFT JOIN counted c ON c.video_id = k.video_id AND c.ctx = k.ctx AND c.day = k.day
LEFT JOIN shapes s ON s.video_id = k.video_id AND s.ctx = k.ctx AND s.day = k.day
LEFT JOIN answers a ON a.video_id = k.video_id AND a.ctx = k.ctx AND a.day = k.day
"""

# video_analytics, the seeds' per-(video, day) table, kept for the assistant's live counter and the
# insights: the same definitions with every course context added together. Every (video, day)
# pair that has viewing or cited answers gets a row.
_VIDEO_ROLLUP = f"""
WITH {metrics.VIEWINGS},
events AS MATERIALIZED (
  SELECT video_id, {_NO_COURSE} AS ctx, day,
         count(*) FILTER (WHERE kind = 'video_started') AS views,
         count(DISTINCT student_id) FILTER (WHERE kind = 'video_started') AS unique_viewers,
         count(*) FILTER (WHERE kind = 'video_completed') AS completions,
         count(*) FILTER (WHERE kind = 'video_rewatched') AS rewatches
  FROM viewings GROUP BY 1, 2, 3
),
{_shape(by_course=False)},
keys AS (
  SELECT video_id, ctx, day FROM events UNION SELECT video_id, ctx, day FROM shapes
  UNION SELECT video_id, ctx, day FROM answers
)
INSERT INTO video_analytics (video_id, creator_id, date, views, unique_viewers, total_watch_time_seconds,
                             average_watch_time_seconds, completion_rate, ai_interactions, metadata)
SELECT k.video_id, :creator, k.day, coalesce(e.views, 0), coalesce(e.unique_viewers, 0), coalesce(s.watch, 0),
       CASE WHEN s.sessions > 0 THEN round(s.watch::numeric / s.sessions) END,
       CASE WHEN e.views > 0 THEN least(100, round(100.0 * e.completions / e.views, 2)) END,
       coalesce(a.cited, 0),
       coalesce(s.shape, '{{}}'::jsonb)
       || CASE WHEN e.rewatches > 0 THEN jsonb_build_object('rewatches', e.rewatches) ELSE '{{}}'::jsonb END
FROM keys k
JOIN videos v ON v.id = k.video_id AND v.creator_id = :creator
LEFT JOIN events e ON e.video_id = k.video_id AND e.ctx = k.ctx AND e.day = k.day
LEFT JOIN shapes s ON s.video_id = k.video_id AND s.ctx = k.ctx AND s.day = k.day
LEFT JOIN answers a ON a.video_id = k.video_id AND a.ctx = k.ctx AND a.day = k.day
ON CONFLICT (video_id, date) DO UPDATE SET
  views = EXCLUDED.views, unique_viewers = EXCLUDED.unique_viewers,
  total_watch_time_seconds = EXCLUDED.total_watch_time_seconds,
  average_watch_time_seconds = EXCLUDED.average_watch_time_seconds,
  completion_rate = EXCLUDED.completion_rate, ai_interactions = EXCLUDED.ai_interactions,
  metadata = EXCLUDED.metadata
WHERE (video_analytics.views, video_analytics.unique_viewers, video_analytics.total_watch_time_seconds,
       video_analytics.average_watch_time_seconds, video_analytics.completion_rate, video_analytics.ai_interactions,
       video_analytics.metadata)
      IS DISTINCT FROM (EXCLUDED.views, EXCLUDED.unique_viewers, EXCLUDED.total_watch_time_seconds,
       EXCLUDED.average_watch_time_seconds, EXCLUDED.completion_rate, EXCLUDED.ai_interactions, EXCLUDED.metadata)
"""

# usage_metrics: the counters computed from rows (active students, questions, model credits) are
# recomputed; the ones counted as work happens (uploads, storage, transcription) are kept.
# Active students are metrics' "active_students" of one day: the students of its views and
# completions (the KPI reads them here when no filter applies, instead of a day of bitmaps).
_USAGE_ROLLUP = f"""
WITH days AS (SELECT unnest(CAST(:days AS date[])) AS day),
{metrics.VIEWINGS},
students AS (
  SELECT day, count(DISTINCT student_id) AS active FROM viewings
  WHERE student_id IS NOT NULL AND kind IN ('video_started', 'video_completed')
  GROUP BY 1
),
questions AS (
  SELECT (m.created_at AT TIME ZONE 'UTC')::date AS day,
         count(*) FILTER (WHERE m.role = 'user') AS sent,
         coalesce(sum(ceil(m.token_count / 1000.0)) FILTER (WHERE m.role = 'assistant'), 0) AS credits
  FROM chat_messages m
  WHERE m.creator_id = :creator
    AND m.created_at >= CAST(:first AS timestamp) AT TIME ZONE 'UTC'
    AND m.created_at < CAST(:after AS timestamp) AT TIME ZONE 'UTC'
    AND (m.created_at AT TIME ZONE 'UTC')::date = ANY (CAST(:days AS date[]))
  GROUP BY 1
)
INSERT INTO usage_metrics (creator_id, date, active_students, chat_messages_sent, ai_credits_used)
SELECT :creator, d.day, coalesce(s.active, 0), coalesce(q.sent, 0), coalesce(q.credits, 0)
FROM days d LEFT JOIN students s ON s.day = d.day LEFT JOIN questions q ON q.day = d.day
WHERE s.day IS NOT NULL OR q.day IS NOT NULL
ON CONFLICT (creator_id, date) DO UPDATE SET
  active_students = EXCLUDED.active_students, chat_messages_sent = EXCLUDED.chat_messages_sent,
  ai_credits_used = EXCLUDED.ai_credits_used
WHERE (usage_metrics.active_students, usage_metrics.chat_messages_sent, usage_metrics.ai_credits_used)
      IS DISTINCT FROM (EXCLUDED.active_students, EXCLUDED.chat_messages_sent, EXCLUDED.ai_credits_used)
"""
