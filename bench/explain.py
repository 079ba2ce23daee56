"""The query plans behind docs/scaling.md: EXPLAIN (ANALYZE, BUFFERS) of the dashboards' queries.

A demo workspace of about ``events`` events is generated into a fresh embedded database; each
dashboard function is run once with its statements captured, and each statement is explained
with the parameters it ran with. Shows which rows a query reads (rollups and bitmaps, not events).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from chronos_data import courses
from chronos_data.config import Settings
from chronos_data.db import Database, Workspace, open_database
from chronos_data.demo import load_demo
from chronos_data.embeddings import LocalEmbedder
from chronos_data.viewing import dashboards

__all__ = ["run"]


def run(repeat: int = 1, *, quick: bool = False) -> str:
    events = 200_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="chronos-explain-") as folder:
        db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": folder}))
        try:
            return _explain_all(db, events)
        finally:
            db.dispose()


def _explain_all(db: Database, events: int) -> str:
    demo = load_demo(db, LocalEmbedder(), events=events, email="demo-explain@chronos.localhost")
    with db.owner() as conn:
        conn.execute(sa.text("ANALYZE"))
    today = datetime.now(UTC).date()
    f = dashboards.Filters(today - timedelta(days=89), today)
    with db.workspace(demo.creator_id) as t:
        course_id = courses.list_courses(t)[0].id
    queries: list[tuple[str, Callable[[Workspace], object]]] = [
        ("course funnel (student bitmaps)", lambda t: dashboards.course_funnel(t, course_id, f)),
        ("KPI cards (rollups and bitmaps)", lambda t: dashboards.kpis(t, f)),
        ("at-risk students (course standing)", lambda t: dashboards.at_risk_students(t, course_id)),
    ]
    parts = [f"## Query plans at {demo.events:,} events ({demo.students:,} students)", ""]
    for label, query in queries:
        for number, plan in enumerate(_plans(db, demo.creator_id, query), start=1):
            parts += [f"### {label}, statement {number}", "", "```", plan, "```", ""]
    return "\n".join(parts)


def _plans(db: Database, creator, query: Callable[[Workspace], object]) -> list[str]:
    """Run ``query``, capture the statements it sends, and explain each with its parameters."""
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SELECT SET_CONFIG", "EXPLAIN")):
            captured.append((statement, parameters))

    with db.workspace(creator) as t:
        sa.event.listen(t.conn, "before_cursor_execute", capture)
        try:
            query(t)
        finally:
            sa.event.remove(t.conn, "before_cursor_execute", capture)
        plans = []
        for statement, parameters in captured:
            if "max(number)" in statement:  # the bitmap length lookup: one index probe
                continue
            cursor = t.conn.connection.driver_connection.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return plans
