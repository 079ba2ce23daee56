"""What the Analytics page shows, as DataFrames: KPIs, trends, retention, funnels, breakdowns.

Every number is one of ``metrics.METRICS`` (the help text, ``FORMULAS``, is theirs). Nothing here
reads raw events or sessions of more than one learner: everything that can be summed reads the
daily rollup ``viewing_days`` (per video, course context and day: counts, and the day's hour,
reach, rewind, device and referrer histograms in ``shape``); distinct learners (unique viewers,
active learners, the funnel) are unions of the rollups' learner bitmaps (``learners``), and the
at-risk list reads each learner's course standing. So the page's queries take milliseconds at
millions of events.

Filters: a period of UTC days, and optionally a course and/or some videos. A course filter means
viewing *in that course* (the course an event or session records) of the course's lessons, for
every card, chart and table; the assistant's questions, which know no course, are filtered by
the course's videos.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import learners, metrics
from .db import Tenant
from .errors import ValidationError

__all__ = [
    "AT_RISK_LIMIT",
    "FORMULAS",
    "GRANULARITIES",
    "Filters",
    "at_risk_learners",
    "breakdown",
    "costs",
    "course_funnel",
    "data_as_of",
    "engagement_heatmap",
    "first_activity_day",
    "lesson_stats",
    "kpis",
    "retention_curve",
    "student_progress",
    "top_videos",
    "typical_retention",
    "views_over_time",
]

GRANULARITIES = ("day", "week", "month")
#: Each metric's formula and what it counts, by the label the page shows (see ``metrics``).
FORMULAS = metrics.help_text()
_AT_RISK_INACTIVE_DAYS = 14
#: Rows of the at-risk list: a creator nudges the most recently lapsed first, not ten thousand at once.
AT_RISK_LIMIT = 500


@dataclass(frozen=True)
class Filters:
    """A date range (inclusive, UTC days) and optionally one course and/or some videos."""

    start: date
    end: date
    course_id: uuid.UUID | None = None
    video_ids: tuple[uuid.UUID, ...] | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError("The end date is before the start date; pick a range that runs forwards.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def params(self, t: Tenant) -> dict:
        return {"creator": t.creator_id, "start": self.start, "end": self.end,
                "after": self.end + timedelta(days=1), "course": self.course_id,
                "videos": list(self.video_ids) if self.video_ids is not None else None}


# Videos in scope: all, one course's lessons, and/or chosen ones. Used as a CTE by every query.
_SCOPE = """
scope AS (
  SELECT v.id, v.title, v.duration_seconds FROM videos v
  WHERE v.creator_id = :creator
    AND (CAST(:videos AS uuid[]) IS NULL OR v.id = ANY (CAST(:videos AS uuid[])))
    AND (CAST(:course AS uuid) IS NULL OR v.id IN (
          SELECT l.video_id FROM module_lessons l JOIN course_modules m ON m.id = l.module_id
          WHERE l.creator_id = :creator AND m.course_id = CAST(:course AS uuid)))
)"""
# The rollup rows of the filters: the scope's viewing in the period, in the course when one is chosen.
_VIEWING = f"""{_SCOPE},
viewing AS (
  SELECT d.* FROM viewing_days d JOIN scope ON scope.id = d.video_id
  WHERE d.creator_id = :creator AND d.date BETWEEN :start AND :end
    AND (CAST(:course AS uuid) IS NULL OR d.course_id = CAST(:course AS uuid))
)"""
# The assistant's answers of the period about the scope's videos (they know no course).
_ASKED = """
asked AS (
  SELECT d.video_id, d.questions, d.cited_answers FROM viewing_days d JOIN scope ON scope.id = d.video_id
  WHERE d.creator_id = :creator AND d.date BETWEEN :start AND :end AND d.course_id IS NULL
)"""
# The learner bitmaps of the filters (alias ``s``): the scope's videos, in the course when one is chosen.
_IN_FILTERS = """s.creator_id = :creator AND s.video_id IN (SELECT id FROM scope)
  AND (CAST(:course AS uuid) IS NULL OR s.course_id = CAST(:course AS uuid))"""
# Completions ÷ views × 100, at most 100 (metrics "completion_rate"), over aggregated rows.
# (least() of a number and NULL is the number: the cap goes inside the division.)
_COMPLETION_RATE = "100.0 * least(sum({p}completions), sum({p}views)) / nullif(sum({p}views), 0)"
# Timestamps of a UTC-day range: comparisons on the raw column keep its index usable.
_IN_RANGE = """{col} >= CAST(:start AS timestamp) AT TIME ZONE 'UTC' AND {col} < CAST(:after AS timestamp) AT TIME ZONE 'UTC'"""


def _frame(t: Tenant, sql: str, params: dict) -> pd.DataFrame:
    result = t.conn.execute(sa.text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


# The KPI cards, by label, and the metric each shows.
_KPI_METRICS = {"Views": "views", "Unique viewers": "learners", "Watch time (hours)": "watch_time",
                "Completion rate (%)": "completion_rate", "Active learners (daily)": "active_learners",
                "AI questions": "questions"}


def kpis(t: Tenant, f: Filters) -> pd.DataFrame:
    """One row per KPI: value in the period, value in the previous period, the change (%), and
    its definition (``help``)."""
    now, before = _kpi_values(t, f), _kpi_values(t, f.previous())
    rows = []
    for name in now:
        change = None if not before[name] else (now[name] - before[name]) / before[name] * 100
        rows.append({"metric": name, "value": now[name], "previous": before[name], "change_percent": change,
                     "help": metrics.METRICS[_KPI_METRICS[name]].help})
    return pd.DataFrame(rows)


def _kpi_values(t: Tenant, f: Filters) -> dict[str, float]:
    bits = learners.bitmap_bits(t)
    row = t.conn.execute(sa.text(f"""
        WITH {_VIEWING}, {_ASKED},
        rolled AS (
          SELECT coalesce(sum(views), 0) AS views, coalesce(sum(watch_seconds), 0) AS watch,
                 coalesce({_COMPLETION_RATE.format(p="")}, 0) AS completion
          FROM viewing
        ),
        viewers AS (
          SELECT coalesce(bit_count(bit_or(CAST(s.started AS bit({bits})))), 0) AS unique_viewers
          FROM learner_sets s WHERE {_IN_FILTERS} AND {learners.IN_COVER}
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
                FROM learner_sets s
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
    """), {**f.params(t), **learners.cover(f.start, f.end).params(), "days": f.days}).one()
    return {"Views": float(row.views), "Unique viewers": float(row.unique_viewers),
            "Watch time (hours)": float(row.watch) / 3600, "Completion rate (%)": float(row.completion),
            "Active learners (daily)": float(row.active), "AI questions": float(row.questions)}


def views_over_time(t: Tenant, f: Filters, granularity: str = "day") -> pd.DataFrame:
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


def retention_curve(t: Tenant, video_id: uuid.UUID, f: Filters) -> pd.DataFrame:
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


def typical_retention(t: Tenant, video_id: uuid.UUID, f: Filters) -> pd.DataFrame:
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


def course_funnel(t: Tenant, course_id: uuid.UUID, f: Filters) -> pd.DataFrame:
    """Lessons in course order: learners who started each (in this course) and completed it."""
    bits = learners.bitmap_bits(t)
    return _frame(t, f"""
        WITH lessons AS (
          SELECT row_number() OVER (ORDER BY m.display_order, l.lesson_order) AS position, m.title AS module,
                 coalesce(l.title, v.title) AS lesson, l.video_id, l.module_id
          FROM module_lessons l JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id
          JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id
          WHERE l.creator_id = :creator AND m.course_id = :course
        ),
        reached AS (
          SELECT s.module_id, s.video_id, bit_count(bit_or(CAST(s.started AS bit({bits})))) AS started,
                 bit_count(bit_or(CAST(s.completed AS bit({bits})))) AS completed
          FROM learner_sets s
          WHERE s.creator_id = :creator AND s.course_id = :course AND {learners.IN_COVER}
          GROUP BY 1, 2
        )
        SELECT l.position::int, l.module, l.lesson, l.video_id, l.module_id, coalesce(r.started, 0)::int AS started,
               coalesce(r.completed, 0)::int AS completed,
               round(100.0 * coalesce(r.completed, 0) / nullif(r.started, 0), 1)::float8 AS completion_rate
        FROM lessons l LEFT JOIN reached r ON r.module_id = l.module_id AND r.video_id = l.video_id
        ORDER BY l.position
    """, {**f.params(t), **learners.cover(f.start, f.end).params(), "course": course_id})


def engagement_heatmap(t: Tenant, f: Filters) -> pd.DataFrame:
    """Sessions by weekday (1 = Monday) and hour of day (UTC), from the rollups' hourly counts."""
    return _frame(t, f"""
        WITH {_VIEWING}
        SELECT extract(isodow FROM a.date)::int AS weekday, (h.ord - 1)::int AS hour, sum(h.n::int)::int AS sessions
        FROM viewing a, jsonb_array_elements_text(a.shape -> 'hours') WITH ORDINALITY h(n, ord)
        WHERE a.shape ? 'hours'
        GROUP BY 1, 2 HAVING sum(h.n::int) > 0 ORDER BY 1, 2
    """, f.params(t))


def top_videos(t: Tenant, f: Filters) -> pd.DataFrame:
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


def breakdown(t: Tenant, f: Filters, by: str) -> pd.DataFrame:
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
        GROUP BY 1 ORDER BY sessions DESC
    """, {**f.params(t), "key": key})


def student_progress(t: Tenant, course_id: uuid.UUID, student_id: uuid.UUID) -> pd.DataFrame:
    """One learner through one course: each lesson's best completion, watch time and last view."""
    return _frame(t, """
        SELECT row_number() OVER (ORDER BY m.display_order, l.lesson_order)::int AS position, m.title AS module,
               coalesce(l.title, v.title) AS lesson, coalesce(max(s.percent_complete), 0)::int AS best_percent,
               coalesce(sum(s.watch_time_seconds), 0)::int AS watch_seconds, coalesce(bool_or(s.completed), false)
                 AS completed, max(s.session_start) AS last_watched, count(s.id)::int AS sessions
        FROM module_lessons l JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id
        JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id
        LEFT JOIN video_watch_sessions s ON s.creator_id = l.creator_id AND s.video_id = l.video_id
              AND s.student_id = :student
        WHERE l.creator_id = :creator AND m.course_id = :course
        GROUP BY m.display_order, l.lesson_order, m.title, l.title, v.title ORDER BY position
    """, {"creator": t.creator_id, "course": course_id, "student": student_id})


def at_risk_learners(t: Tenant, course_id: uuid.UUID, *, now: datetime | None = None,
                     limit: int = AT_RISK_LIMIT) -> pd.DataFrame:
    """Learners of a course who have not finished it and are inactive for 14 days or more, or
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
        FROM course_learners p CROSS JOIN lessons CROSS JOIN clock
        JOIN students st ON st.id = p.student_id AND st.creator_id = :creator
        LEFT JOIN videos v ON v.id = p.last_video_id AND v.creator_id = :creator
        WHERE p.creator_id = :creator AND p.course_id = :course AND p.last_seen <= clock.now - interval '7 days'
          AND cardinality(p.completed_videos) < lessons.n
          AND (p.last_seen <= clock.now - interval '{_AT_RISK_INACTIVE_DAYS} days'
               OR NOT p.last_video_id = ANY (p.completed_videos))
        ORDER BY p.last_seen DESC
        LIMIT :limit
    """, {"creator": t.creator_id, "course": course_id, "now": now, "limit": limit})


def costs(t: Tenant, f: Filters) -> pd.DataFrame:
    """Spending by kind: transcription by source and method (from import events), AI credits."""
    return _frame(t, f"""
        SELECT 'transcription' AS kind, coalesce(v.source_type, 'unknown') || ' · ' ||
               coalesce(e.metadata ->> 'transcript_method', 'unknown') AS item,
               count(*)::int AS count, round(sum(coalesce((e.metadata ->> 'cost')::numeric, 0)), 4)::float8 AS usd
        FROM video_analytics_events e JOIN videos v ON v.id = e.video_id AND v.creator_id = e.creator_id
        WHERE e.creator_id = :creator AND e.event_type = 'video_transcribed' AND {_IN_RANGE.format(col='e."timestamp"')}
        GROUP BY 1, 2
        UNION ALL
        SELECT 'assistant', 'AI credits (1 per 1,000 model tokens)', coalesce(sum(u.ai_credits_used), 0)::int, NULL
        FROM usage_metrics u WHERE u.creator_id = :creator AND u.date BETWEEN :start AND :end
        ORDER BY 1, 2
    """, f.params(t))


def data_as_of(t: Tenant) -> datetime | None:
    """When the rollups were last computed (the dashboards' freshness)."""
    return t.conn.execute(
        sa.text("SELECT max(updated_at) FROM (SELECT max(updated_at) AS updated_at FROM video_analytics "
                "WHERE creator_id = :c UNION ALL SELECT max(rolled_at) FROM rollup_days WHERE creator_id = :c) x"),
        {"c": t.creator_id},
    ).scalar_one()


def first_activity_day(t: Tenant) -> date | None:
    """The first day with rolled-up activity (where "All time" starts)."""
    return t.conn.execute(sa.text("SELECT min(date) FROM viewing_days WHERE creator_id = :c"),
                          {"c": t.creator_id}).scalar_one()


def lesson_stats(t: Tenant, course_id: uuid.UUID) -> dict[tuple[uuid.UUID, uuid.UUID], dict]:
    """For the course builder: each lesson's learners, completion and drop-off (the share of its
    learners who did not start the next lesson), over all time, keyed by (module id, video id)."""
    first = first_activity_day(t)
    if first is None:
        return {}
    today = datetime.now(UTC).date()
    funnel = course_funnel(t, course_id, Filters(min(first, today), today))
    stats = {}
    for index, row in funnel.iterrows():
        following = funnel["started"].iloc[index + 1] if index + 1 < len(funnel) else None
        drop = None if following is None or not row["started"] else max(0.0, 1 - following / row["started"]) * 100
        stats[(row["module_id"], row["video_id"])] = {"learners": int(row["started"]),
                                                      "completion_rate": row["completion_rate"], "drop_off": drop}
    return stats


# --- Analytics page drill-downs (issue 16): a chart slice's videos, cost lines, a learner by e-mail ---

_SLICE_KEYS = {"device": "devices", "referrer": "referrers"}


def slice_videos(t: Tenant, f: Filters, *, weekday: int | None = None, hour: int | None = None,
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


def cost_lines(t: Tenant, f: Filters) -> pd.DataFrame:
    """Spending per month, kind, video and item (transcriptions per video; AI credits per month)."""
    return _frame(t, f"""
        SELECT date_trunc('month', e."timestamp" AT TIME ZONE 'UTC')::date AS month, 'transcription' AS kind,
               v.title AS video, coalesce(v.source_type, 'unknown') || ' · ' ||
               coalesce(e.metadata ->> 'transcript_method', 'unknown') AS item, count(*)::int AS count,
               round(sum(coalesce((e.metadata ->> 'cost')::numeric, 0)), 4)::float8 AS usd
        FROM video_analytics_events e JOIN videos v ON v.id = e.video_id AND v.creator_id = e.creator_id
        WHERE e.creator_id = :creator AND e.event_type = 'video_transcribed' AND {_IN_RANGE.format(col='e."timestamp"')}
        GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT date_trunc('month', u.date)::date, 'assistant', NULL, 'AI credits (1 per 1,000 model tokens)',
               sum(u.ai_credits_used)::int, 0
        FROM usage_metrics u WHERE u.creator_id = :creator AND u.date BETWEEN :start AND :end
        GROUP BY 1 HAVING sum(u.ai_credits_used) > 0
        ORDER BY 1, 2, 3, 4
    """, f.params(t))


def find_learner(t: Tenant, email: str) -> uuid.UUID | None:
    """The id of the workspace's learner with this e-mail address (any case), or None."""
    return t.conn.execute(
        sa.text("SELECT id FROM students WHERE creator_id = :creator AND lower(email) = lower(:email) "
                "ORDER BY created_at LIMIT 1"), {"creator": t.creator_id, "email": email.strip()},
    ).scalar_one_or_none()


__all__ += ["cost_lines", "find_learner", "slice_videos"]
