"""What viewing shows: the KPI cards, trends, retention curves, the course funnel, the heatmap, the
top videos and breakdowns (and a chart slice's videos), and how fresh the rollups are."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ... import metrics, periods
from ...db import Workspace
from ...errors import ValidationError
from .. import student_sets
from .filters import _ASKED, _COMPLETION_RATE, _IN_FILTERS, _SCOPE, _VIEWING, Filters, _frame

GRANULARITIES = ("day", "week", "month")



def kpis(t: Workspace, f: Filters) -> pd.DataFrame:
    """One row per KPI: value in the period, value in the previous period, the change (%), and
    its definition (``help``)."""
    now, before = _kpi_values(t, f), _kpi_values(t, f.previous())
    rows = []
    for name in now:
        change = None if not before[name] else (now[name] - before[name]) / before[name] * 100
        rows.append({"metric": name, "value": now[name], "previous": before[name], "change_percent": change,
                     "help": metrics.METRICS[metrics.KPI_METRICS[name]].help})
    return pd.DataFrame(rows)


def _kpi_values(t: Workspace, f: Filters) -> dict[str, float]:
    bits = student_sets.bitmap_bits(t)
    row = t.conn.execute(sa.text(f"""
        WITH {_VIEWING}, {_ASKED},
        rolled AS (
          SELECT coalesce(sum(views), 0) AS views, coalesce(sum(watch_seconds), 0) AS watch,
                 coalesce({_COMPLETION_RATE.format(p="")}, 0) AS completion
          FROM viewing
        ),
        viewers AS (
          SELECT coalesce(bit_count(bit_or(CAST(s.started AS bit({bits})))), 0) AS unique_viewers
          FROM student_sets s WHERE {_IN_FILTERS} AND {student_sets.IN_COVER}
        ),
        -- Without a filter, the workspace's daily counts (the same definition, kept by the
        -- rollup); with one, each day's union of the scope's bitmaps.
        workspace AS (
          SELECT coalesce(sum(u.active_students), 0) AS active, coalesce(sum(u.chat_messages_sent), 0) AS questions
          FROM usage_metrics u
          WHERE u.creator_id = :creator AND u.date BETWEEN :start AND :end
            AND CAST(:course AS uuid) IS NULL AND CAST(:videos AS uuid[]) IS NULL
        ),
        scoped AS (
          SELECT coalesce(sum(x.n), 0) AS active, (SELECT coalesce(sum(questions), 0) FROM asked) AS questions
          FROM (SELECT bit_count(bit_or(CAST(s.started AS bit({bits}))) | bit_or(CAST(s.completed AS bit({bits}))))
                  AS n
                FROM student_sets s
                WHERE {_IN_FILTERS} AND s.grain = 'day' AND s.period BETWEEN :start AND :end
                  AND (CAST(:course AS uuid) IS NOT NULL OR CAST(:videos AS uuid[]) IS NOT NULL)
                GROUP BY s.period) x
        ),
        active AS (
          SELECT CASE WHEN CAST(:course AS uuid) IS NULL AND CAST(:videos AS uuid[]) IS NULL
                      THEN workspace.active ELSE scoped.active END / CAST(:days AS numeric) AS active,
                 CASE WHEN CAST(:course AS uuid) IS NULL AND CAST(:videos AS uuid[]) IS NULL
                      THEN workspace.questions ELSE scoped.questions END AS questions
          FROM workspace, scoped
        )
        SELECT rolled.views, viewers.unique_viewers, rolled.watch, rolled.completion, active.active,
               active.questions
        FROM rolled, viewers, active
    """), {**f.params(t), **student_sets.cover(f.start, f.end).params(), "days": f.days}).one()
    return {"Views": float(row.views), "Unique viewers": float(row.unique_viewers),
            "Watch time (hours)": float(row.watch) / 3600, "Completion rate (%)": float(row.completion),
            "Active students (daily)": float(row.active), "AI questions": float(row.questions)}


def views_over_time(t: Workspace, f: Filters, granularity: str = "day") -> pd.DataFrame:
    """Views, watch hours and completion rate per day, week or month (from the rollups)."""
    if granularity not in GRANULARITIES:
        raise ValidationError(f"'{granularity}' is not a granularity; use day, week or month.")
    frame = _frame(t, f"""
        WITH {_VIEWING},
        periods AS (
          SELECT DISTINCT date_trunc(:unit, d)::date AS period
          FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') d
        )
        SELECT p.period, coalesce(sum(a.views), 0)::int AS views,
               round(coalesce(sum(a.watch_seconds), 0) / 3600.0, 2)::float8 AS watch_hours,
               round(coalesce({_COMPLETION_RATE.format(p="a.")}, 0), 1)::float8 AS completion_rate
        FROM periods p
        LEFT JOIN viewing a ON date_trunc(:unit, a.date)::date = p.period
        GROUP BY p.period ORDER BY p.period
    """, {**f.params(t), "unit": granularity})
    return frame


def retention_curve(t: Workspace, video_id: uuid.UUID, f: Filters) -> pd.DataFrame:
    """Per percent of the video (0–100): the share of sessions still watching there, and the share
    that watched that point again (rewound over it)."""
    # From the rollups' per-day histograms of how far sessions got and where they rewound: summed
    # over the range, then accumulated from the end (101 rows), without reading a session.
    return _frame(t, """
        WITH target AS (SELECT duration_seconds AS d FROM videos WHERE creator_id = :creator AND id = :video),
        days AS (
          SELECT a.shape FROM viewing_days a
          WHERE a.creator_id = :creator AND a.video_id = :video AND a.date BETWEEN :start AND :end
            AND (CAST(:course AS uuid) IS NULL OR a.course_id = CAST(:course AS uuid)) AND a.shape ? 'reached'
        ),
        -- Each histogram is unpacked once per day row (WITH ORDINALITY): indexing into the jsonb
        -- 101 times per row would detoast the whole document each time.
        reach AS (
          SELECT (r.ord - 1)::int AS percent, sum(r.n::int) AS n
          FROM days d, jsonb_array_elements_text(d.shape -> 'reached') WITH ORDINALITY r(n, ord) GROUP BY 1
        ),
        rewind AS (
          SELECT (r.ord - 1)::int AS percent, sum(r.n::int) AS n
          FROM days d, jsonb_array_elements_text(d.shape -> 'rewound') WITH ORDINALITY r(n, ord) GROUP BY 1
        ),
        points AS (
          SELECT p.percent, coalesce(a.n, 0) AS reached, coalesce(b.n, 0) AS rewound
          FROM generate_series(0, 100) p(percent)
          LEFT JOIN reach a ON a.percent = p.percent LEFT JOIN rewind b ON b.percent = p.percent
        ),
        total AS (SELECT sum(reached) AS n FROM points)
        SELECT p.percent, round(p.percent * target.d / 100.0)::int AS second,
               coalesce(sum(p.reached) OVER (ORDER BY p.percent DESC) / nullif(total.n, 0), 0)::float8 AS watching,
               coalesce(p.rewound / nullif(total.n, 0), 0)::float8 AS rewatching, coalesce(total.n, 0)::int AS sessions
        FROM points p CROSS JOIN total LEFT JOIN target ON true
        ORDER BY p.percent
    """, {**f.params(t), "video": video_id})


def typical_retention(t: Workspace, video_id: uuid.UUID, f: Filters) -> pd.DataFrame:
    """The creator's usual retention for videos of similar length (half to double this one's):
    the 25th and 75th percentile of their curves at each percent (from the rollups)."""
    # The histograms are summed and the percentiles taken here: unpacking ~100 jsonb numbers per
    # video and day in SQL cost 60 ms for a 90-day range, this costs a few.
    reach: dict[uuid.UUID, np.ndarray] = {}
    for other, reached in t.conn.execute(sa.text("""
        WITH target AS (SELECT duration_seconds AS d FROM videos WHERE creator_id = :creator AND id = :video)
        SELECT a.video_id, a.shape -> 'reached'
        FROM viewing_days a JOIN videos v ON v.id = a.video_id AND v.creator_id = a.creator_id, target
        WHERE a.creator_id = :creator AND a.date BETWEEN :start AND :end AND a.shape ? 'reached'
          AND (CAST(:course AS uuid) IS NULL OR a.course_id = CAST(:course AS uuid))
          AND v.id <> :video AND NOT v.is_deleted AND v.duration_seconds BETWEEN target.d / 2 AND target.d * 2
    """), {**f.params(t), "video": video_id}):
        reach[other] = reach.get(other, 0) + np.asarray(reached, dtype=float)
    curves = [np.cumsum(r[::-1])[::-1] / r.sum() for r in reach.values() if r.sum() > 0]
    if not curves:
        return pd.DataFrame(columns=["percent", "low", "high", "videos"])
    low, high = np.percentile(np.vstack(curves), [25, 75], axis=0)  # linear, as percentile_cont
    return pd.DataFrame({"percent": np.arange(len(low)), "low": low, "high": high, "videos": len(curves)})


def course_funnel(t: Workspace, course_id: uuid.UUID, f: Filters) -> pd.DataFrame:
    """Lessons in course order: students who started each (in this course) and completed it."""
    bits = student_sets.bitmap_bits(t)
    return _frame(t, f"""
        WITH lessons AS (
          SELECT row_number() OVER (ORDER BY m.display_order, m.created_at, m.id, l.lesson_order, l.created_at, l.id) AS position,
                 m.title AS module,
                 coalesce(l.title, v.title) AS lesson, l.video_id, l.module_id
          FROM module_lessons l JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id
          JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id
          WHERE l.creator_id = :creator AND m.course_id = :course
        ),
        reached AS (
          SELECT s.module_id, s.video_id, bit_count(bit_or(CAST(s.started AS bit({bits})))) AS started,
                 bit_count(bit_or(CAST(s.completed AS bit({bits})))) AS completed
          FROM student_sets s
          WHERE s.creator_id = :creator AND s.course_id = :course AND {student_sets.IN_COVER}
          GROUP BY 1, 2
        )
        SELECT l.position::int, l.module, l.lesson, l.video_id, l.module_id, coalesce(r.started, 0)::int AS started,
               coalesce(r.completed, 0)::int AS completed,
               round(100.0 * coalesce(r.completed, 0) / nullif(r.started, 0), 1)::float8 AS completion_rate
        FROM lessons l LEFT JOIN reached r ON r.module_id = l.module_id AND r.video_id = l.video_id
        ORDER BY l.position
    """, {**f.params(t), **student_sets.cover(f.start, f.end).params(), "course": course_id})


def engagement_heatmap(t: Workspace, f: Filters, offset_minutes: int = 0) -> pd.DataFrame:
    """Sessions by weekday (1 = Monday) and hour of day, from the rollups' hourly counts (kept in
    UTC), in the zone ``offset_minutes`` east of UTC (``periods.local_weekday_hour``); only hours
    with sessions."""
    frame = _frame(t, f"""
        WITH {_VIEWING}
        SELECT extract(isodow FROM a.date)::int AS weekday, (h.ord - 1)::int AS hour, sum(h.n::int)::int AS sessions
        FROM viewing a, jsonb_array_elements_text(a.shape -> 'hours') WITH ORDINALITY h(n, ord)
        WHERE a.shape ? 'hours'
        GROUP BY 1, 2 HAVING sum(h.n::int) > 0 ORDER BY 1, 2
    """, f.params(t))
    if not offset_minutes or frame.empty:
        return frame
    local = [periods.local_weekday_hour(int(d), int(h), offset_minutes)
             for d, h in zip(frame["weekday"], frame["hour"], strict=True)]
    frame = frame.assign(weekday=[d for d, _ in local], hour=[h for _, h in local])
    return frame.sort_values(["weekday", "hour"], ignore_index=True)  # a shift moves every hour: no two meet


def top_videos(t: Workspace, f: Filters) -> pd.DataFrame:
    """Per video: views, watch hours, completion, rewatch and repeat-view rates, the assistant's
    answers citing it, engagement score, daily views."""
    frame = _frame(t, f"""
        WITH {_VIEWING}, {_ASKED},
        rolled AS (
          SELECT a.video_id, sum(a.views) AS views, sum(a.watch_seconds) AS watch, sum(a.sessions) AS sessions,
                 {_COMPLETION_RATE.format(p="a.")} / 100 AS completion,
                 sum(a.rewound_sessions)::numeric / nullif(sum(a.sessions), 0) AS rewatch,
                 sum(a.repeat_views)::numeric / nullif(sum(a.views), 0) AS repeat
          FROM viewing a GROUP BY 1
        ),
        cited AS (SELECT video_id, sum(cited_answers) AS ai FROM asked GROUP BY 1),
        daily AS (
          SELECT s.id AS video_id, array_agg(coalesce(a.views, 0) ORDER BY d.day) AS daily_views
          FROM scope s CROSS JOIN generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') d(day)
          LEFT JOIN (SELECT video_id, date, sum(views) AS views FROM viewing GROUP BY 1, 2) a
                 ON a.video_id = s.id AND a.date = d.day::date
          GROUP BY s.id
        )
        SELECT s.id AS video_id, s.title, s.duration_seconds, coalesce(r.views, 0)::int AS views,
               round(coalesce(r.watch, 0) / 3600.0, 2)::float8 AS watch_hours,
               round(100 * coalesce(r.completion, 0), 1)::float8 AS completion_rate,
               round(100 * coalesce(r.rewatch, 0), 1)::float8 AS rewatch_rate,
               round(100 * coalesce(r.repeat, 0), 1)::float8 AS repeat_view_rate,
               coalesce(c.ai, 0)::int AS ai_interactions,
               round(least(100, 40 * least(1, coalesce(r.watch / nullif(r.sessions, 0) / nullif(s.duration_seconds, 0), 0))
                     + 40 * coalesce(r.completion, 0) + 20 * coalesce(r.rewatch, 0)), 1)::float8 AS engagement_score,
               d.daily_views
        FROM scope s LEFT JOIN rolled r ON r.video_id = s.id
        LEFT JOIN cited c ON c.video_id = s.id
        LEFT JOIN daily d ON d.video_id = s.id
        ORDER BY views DESC, s.title
    """, f.params(t))
    return frame


def breakdown(t: Workspace, f: Filters, by: str) -> pd.DataFrame:
    """Sessions, watch hours and the share of sessions completed, by device or by referrer (from
    the rollups)."""
    key = {"device": "devices", "referrer": "referrers"}.get(by)
    if key is None:
        raise ValidationError(f"'{by}' is not a breakdown; use device or referrer.")
    return _frame(t, f"""
        WITH {_VIEWING}
        SELECT x.key AS {by}, sum((x.value ->> 0)::int)::int AS sessions,
               round(sum((x.value ->> 1)::bigint) / 3600.0, 2)::float8 AS watch_hours,
               round(100.0 * sum((x.value ->> 2)::int) / nullif(sum((x.value ->> 0)::int), 0), 1)::float8
                 AS sessions_completed
        FROM viewing a, jsonb_each(a.shape -> :key) x
        WHERE a.shape ? :key
        GROUP BY 1 ORDER BY sessions DESC, 1
    """, {**f.params(t), "key": key})


def data_as_of(t: Workspace) -> datetime | None:
    """When the rollups were last computed (the dashboards' freshness)."""
    return t.conn.execute(
        sa.text("SELECT max(updated_at) FROM (SELECT max(updated_at) AS updated_at FROM video_analytics "
                "WHERE creator_id = :c UNION ALL SELECT max(rolled_at) FROM rollup_days WHERE creator_id = :c) x"),
        {"c": t.creator_id},
    ).scalar_one()


def first_activity_day(t: Workspace) -> date | None:
    """The first day with rolled-up activity (where "All time" starts)."""
    return t.conn.execute(sa.text("SELECT min(date) FROM viewing_days WHERE creator_id = :c"),
                          {"c": t.creator_id}).scalar_one()


_SLICE_KEYS = {"device": "devices", "referrer": "referrers"}


def slice_videos(t: Workspace, f: Filters, *, weekday: int | None = None, hour: int | None = None,
                 device: str | None = None, referrer: str | None = None) -> pd.DataFrame:
    """Sessions and watch hours per video within one slice of a chart: a weekday (1 = Monday) and/or
    UTC hour of the heatmap, or one device or referrer of the breakdowns (from the rollups)."""
    by, value = ("device", device) if device is not None else ("referrer", referrer)
    if value is not None:
        return _frame(t, f"""
            WITH {_SCOPE}
            SELECT scope.id AS video_id, scope.title, sum((a.metadata -> :key -> :value ->> 0)::int)::int AS sessions,
                   round(sum((a.metadata -> :key -> :value ->> 1)::bigint) / 3600.0, 2)::float8 AS watch_hours
            FROM video_analytics a JOIN scope ON scope.id = a.video_id
            WHERE a.creator_id = :creator AND a.date BETWEEN :start AND :end AND a.metadata -> :key ? :value
            GROUP BY 1, 2 HAVING sum((a.metadata -> :key -> :value ->> 0)::int) > 0 ORDER BY sessions DESC, title
        """, {**f.params(t), "key": _SLICE_KEYS[by], "value": value})
    return _frame(t, f"""
        WITH {_SCOPE}
        SELECT scope.id AS video_id, scope.title, sum(h.n::int)::int AS sessions
        FROM video_analytics a JOIN scope ON scope.id = a.video_id,
             jsonb_array_elements_text(a.metadata -> 'hours') WITH ORDINALITY h(n, ord)
        WHERE a.creator_id = :creator AND a.date BETWEEN :start AND :end AND a.metadata ? 'hours'
          AND (CAST(:weekday AS int) IS NULL OR extract(isodow FROM a.date) = :weekday)
          AND (CAST(:hour AS int) IS NULL OR h.ord - 1 = :hour)
        GROUP BY 1, 2 HAVING sum(h.n::int) > 0 ORDER BY sessions DESC, title
    """, {**f.params(t), "weekday": weekday, "hour": hour})
