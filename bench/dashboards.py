"""Dashboard queries at millions of events: every query the Overview and Analytics pages run.

For each scale a demo workspace with about that many events is generated into a fresh embedded
database (``chronos_data.demo.load_demo(events=N)``, bulk-loaded by COPY). Each query runs
several times over the last 90 days; p50 and p95 are reported. Baseline, measured in the same run:
the same questions answered from the raw events and sessions instead of the daily rollups.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from chronos_data import courses
from chronos_data.config import Settings
from chronos_data.db import Database, open_database
from chronos_data.demo import load_demo
from chronos_data.embeddings import LocalEmbedder
from chronos_data.viewing import dashboards

from .machine import describe

__all__ = ["run"]

_APP = str(Path(__file__).resolve().parents[1] / "app.py")
FULL_SCALES = (1_000_000, 10_000_000)
QUICK_SCALES = (200_000,)

# The rollups' questions answered from raw rows: what a dashboard without tier 2 would run.
_RAW_KPIS = """
SELECT count(*) FILTER (WHERE e.event_type = 'video_started') AS views,
       count(DISTINCT e.student_id) FILTER (WHERE e.event_type = 'video_started') AS viewers,
       count(*) FILTER (WHERE e.event_type = 'video_completed') AS completions,
       (SELECT sum(watch_time_seconds) FROM video_watch_sessions s WHERE s.creator_id = :c
          AND s.session_start >= :start AND s.session_start < :after) AS watch
FROM video_analytics_events e
WHERE e.creator_id = :c AND e."timestamp" >= :start AND e."timestamp" < :after
"""
_RAW_TREND = """
SELECT date_trunc('day', e."timestamp")::date AS day, count(*) AS views
FROM video_analytics_events e
WHERE e.creator_id = :c AND e.event_type = 'video_started' AND e."timestamp" >= :start AND e."timestamp" < :after
GROUP BY 1 ORDER BY 1
"""
_RAW_FUNNEL = """
SELECT e.module_id, e.video_id,
       count(DISTINCT e.student_id) FILTER (WHERE e.event_type = 'video_started') AS started,
       count(DISTINCT e.student_id) FILTER (WHERE e.event_type = 'video_completed') AS completed
FROM video_analytics_events e
WHERE e.creator_id = :c AND e.course_id = :course AND e.event_type IN ('video_started', 'video_completed')
  AND e."timestamp" >= :start AND e."timestamp" < :after
GROUP BY 1, 2
"""
_RAW_AT_RISK = """
SELECT e.student_id, max(e."timestamp") AS last_seen,
       count(DISTINCT e.video_id) FILTER (WHERE e.event_type = 'video_completed') AS completed,
       (array_agg(e.video_id ORDER BY e."timestamp" DESC))[1] AS last_video
FROM video_analytics_events e
WHERE e.creator_id = :c AND e.course_id = :course AND e.student_id IS NOT NULL
  AND e.event_type IN ('video_started', 'video_completed')
GROUP BY e.student_id HAVING max(e."timestamp") < now() - interval '14 days'
ORDER BY last_seen DESC LIMIT 500
"""
_RAW_TOP = """
SELECT e.video_id, count(*) FILTER (WHERE e.event_type = 'video_started') AS views,
       count(*) FILTER (WHERE e.event_type = 'video_completed') AS completions
FROM video_analytics_events e
WHERE e.creator_id = :c AND e."timestamp" >= :start AND e."timestamp" < :after
GROUP BY 1 ORDER BY 2 DESC
"""


def run(repeat: int = 5, *, quick: bool = False, events: int | None = None) -> str:
    embedder = LocalEmbedder()
    sections = []
    for scale in (events,) if events else QUICK_SCALES if quick else FULL_SCALES:
        with tempfile.TemporaryDirectory(prefix="chronos-bench-") as folder:
            db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": folder}))
            try:
                sections.append(_measure(db, embedder, scale, repeat))
            finally:
                db.dispose()
    return "\n".join([
        "## Dashboards: every query of the Overview and Analytics pages at scale",
        "",
        f"Machine: {describe()}. Each query: last 90 days, all courses, {repeat} runs after one warm-up; "
        "baseline: the same question answered from raw events instead of the daily rollups.",
        "",
        *sections,
    ])


def _measure(db: Database, embedder: LocalEmbedder, scale: int, repeat: int) -> str:
    started = time.perf_counter()
    demo = load_demo(db, embedder, events=scale, email="demo-bench@chronos.localhost")
    load_seconds = time.perf_counter() - started
    with db.owner() as conn:
        conn.execute(sa.text("ANALYZE"))
    today = datetime.now(UTC).date()
    f = dashboards.Filters(today - timedelta(days=89), today)
    start = datetime.combine(f.start, datetime.min.time(), UTC)
    with db.workspace(demo.creator_id) as t:
        course_id = courses.list_courses(t)[0].id
        video_id = dashboards.top_videos(t, f)["video_id"].iloc[0]
    raw = {"c": demo.creator_id, "start": start, "after": start + timedelta(days=90), "course": course_id}

    queries: list[tuple[str, Callable]] = [
        ("KPI cards (this and the previous period)", lambda t: dashboards.kpis(t, f)),
        ("views and watch time per day", lambda t: dashboards.views_over_time(t, f, "day")),
        ("engagement heatmap", lambda t: dashboards.engagement_heatmap(t, f)),
        ("top videos with sparklines and score", lambda t: dashboards.top_videos(t, f)),
        ("retention curve of the most viewed video", lambda t: dashboards.retention_curve(t, video_id, f)),
        ("typical retention band", lambda t: dashboards.typical_retention(t, video_id, f)),
        ("course funnel", lambda t: dashboards.course_funnel(t, course_id, f)),
        ("at-risk students", lambda t: dashboards.at_risk_students(t, course_id)),
        ("devices", lambda t: dashboards.breakdown(t, f, "device")),
        ("referrers", lambda t: dashboards.breakdown(t, f, "referrer")),
        ("costs", lambda t: dashboards.costs(t, f)),
        ("lesson statistics in the course builder", lambda t: dashboards.lesson_stats(t, course_id)),
        ("baseline: KPI numbers from raw events", lambda t: t.conn.execute(sa.text(_RAW_KPIS), raw).all()),
        ("baseline: views per day from raw events", lambda t: t.conn.execute(sa.text(_RAW_TREND), raw).all()),
        ("baseline: top videos from raw events", lambda t: t.conn.execute(sa.text(_RAW_TOP), raw).all()),
        ("baseline: funnel from raw events", lambda t: t.conn.execute(sa.text(_RAW_FUNNEL), raw).all()),
        ("baseline: at-risk from raw events", lambda t: t.conn.execute(sa.text(_RAW_AT_RISK), raw).all()),
    ]
    rows = []
    timings = {}
    for label, query in queries:
        timings[label] = _time(db, demo.creator_id, query, repeat)
    pairs = {"KPI cards (this and the previous period)": "baseline: KPI numbers from raw events",
             "views and watch time per day": "baseline: views per day from raw events",
             "top videos with sparklines and score": "baseline: top videos from raw events",
             "course funnel": "baseline: funnel from raw events",
             "at-risk students": "baseline: at-risk from raw events"}
    for label, values in timings.items():
        p50, p95 = _percentile(values, 50), _percentile(values, 95)
        ratio = ""
        if label in pairs:
            ratio = f"{_percentile(timings[pairs[label]], 50) / p50:.1f}x"
        rows.append(f"| {label} | {p50:.1f} ms | {p95:.1f} ms | {ratio} |")
    page = sum(_percentile(v, 50) for k, v in timings.items() if not k.startswith("baseline"))
    cold, warm = _page_runs(db, demo.email, repeat)
    return "\n".join([
        f"### {demo.events:,} events ({demo.sessions:,} sessions, {demo.students:,} students)",
        "",
        f"Generated and loaded in {load_seconds:.0f} s ({demo.events / load_seconds:,.0f} events/s including "
        "the simulation, indexes and rollups).",
        "",
        "| query | p50 | p95 | faster than the raw-event baseline (p50) |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        f"All of the Analytics page's queries together (sum of p50): **{page:.0f} ms**.",
        "",
        "The Analytics page itself, run by Streamlit's AppTest in this process (rollup of today, every "
        "query, every chart and table):",
        "",
        "| page run | p50 | p95 |",
        "|---|---:|---:|",
        f"| cold (query cache cleared) | {_percentile(cold, 50):.0f} ms | {_percentile(cold, 95):.0f} ms |",
        f"| warm rerun (a widget change; queries cached) | {_percentile(warm, 50):.0f} ms | "
        f"{_percentile(warm, 95):.0f} ms |",
        "",
    ])


def _page_runs(db: Database, email: str, repeat: int) -> tuple[list[float], list[float]]:
    """Cold and warm runs of the Analytics page on the demo workspace (AppTest, in this process)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from components import state

    os.environ.update({"DATABASE_URL": db.owner_engine.url.render_as_string(hide_password=False),
                       "CHRONOS_LOCAL_EMAIL": email, "CHRONOS_IMPORT_WORKER": "off"})
    os.environ.pop("OPENAI_API_KEY", None)
    state.get_database.clear()
    cold, warm = [], []
    try:
        for i in range(repeat + 1):
            st.cache_data.clear()
            at = AppTest.from_file(_APP, default_timeout=600).run()
            started = time.perf_counter()
            at.switch_page("pages/analytics.py").run()
            cold_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            at.run()
            warm_ms = (time.perf_counter() - started) * 1000
            if at.exception:
                raise RuntimeError(f"the Analytics page failed: {at.exception[0].message}")
            if i:  # the first run imports the page's modules
                cold.append(cold_ms)
                warm.append(warm_ms)
    finally:
        state.get_database.clear()
        for name in ("DATABASE_URL", "CHRONOS_LOCAL_EMAIL", "CHRONOS_IMPORT_WORKER"):
            os.environ.pop(name, None)
    return cold, warm


def _time(db: Database, creator, query: Callable, repeat: int) -> list[float]:
    values = []
    for i in range(repeat + 1):
        with db.workspace(creator) as t:
            started = time.perf_counter()
            query(t)
            elapsed = (time.perf_counter() - started) * 1000
        if i:  # the first run warms the cache
            values.append(elapsed)
    return values


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[percent - 1]
