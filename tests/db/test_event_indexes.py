"""The indexes of video_analytics_events: each is paid on every stored event, so none may be
redundant, and every foreign key's action (a deleted video, student, course or module) must
still find its events through an index, never by reading the whole table."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from chronos_data import students, videos
from chronos_data.db import Database
from chronos_data.viewing import watching

TABLE = "chronos.video_analytics_events"


def _foreign_keys(db: Database) -> list[tuple[str, list[str]]]:
    with db.owner() as conn:
        rows = conn.execute(sa.text("""
            SELECT c.conname, array_agg(a.attname ORDER BY k.n) AS columns
            FROM pg_constraint c
            CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
            WHERE c.conrelid = CAST(:table AS regclass) AND c.contype = 'f'
            GROUP BY c.conname ORDER BY c.conname"""), {"table": TABLE})
        return [(row.conname, list(row.columns)) for row in rows]


def _index_conditions(node: dict) -> list[str]:
    found = [node["Index Cond"]] if "Index Cond" in node else []
    for child in node.get("Plans", []):
        found += _index_conditions(child)
    return found


def test_the_single_column_copies_of_composite_indexes_are_gone(db):
    with db.owner() as conn:
        names = set(conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = 'chronos' "
                                         "AND tablename = 'video_analytics_events'")).scalars())
    assert not names & {"idx_video_analytics_events_video_fk", "idx_video_analytics_events_student_id",
                        "idx_video_analytics_events_course_fk"}
    assert {"idx_video_analytics_events_video_id", "idx_video_analytics_events_student_events",
            "idx_video_analytics_events_course_events", "idx_video_analytics_events_module_fk"} <= names


def test_every_foreign_key_action_finds_its_events_through_an_index(db):
    keys = _foreign_keys(db)
    assert len(keys) == 5  # creator, video, student, course, module
    for name, columns in keys:
        # The lookup PostgreSQL runs for ON DELETE CASCADE / SET NULL, planned as the generic plan
        # its cached statement uses; with sequential scans priced out, any usable index is taken.
        where = " AND ".join(f"{column} = ${n}" for n, column in enumerate(columns, start=1))
        with db.owner() as conn:
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            cursor = conn.connection.driver_connection.cursor()
            cursor.execute(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) SELECT 1 FROM ONLY {TABLE} WHERE {where}")
            plan = cursor.fetchone()[0]
        plan = plan if isinstance(plan, list) else json.loads(plan)
        conditions = _index_conditions(plan[0]["Plan"])
        own = next((c for c in columns if c != "creator_id"), "creator_id")
        assert any(own in condition for condition in conditions), (name, plan)


@pytest.mark.parametrize("kind", ["video", "student"])
def test_deleting_a_video_or_a_student_deletes_their_events(t, kind):
    video = videos.create_video(t, title="Loops", source_type="loom", source_id="x1", duration_seconds=100)
    videos.set_status(t, video, "completed")
    student = students.create_student(t, "gone@example.com")
    session = watching.start_viewing(t, video, student)
    watching.report_progress(t, session, position_seconds=100, watched_seconds=100)
    assert t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events WHERE video_id = :v"),
                          {"v": video}).scalar_one() == 7
    table, row = ("videos", video) if kind == "video" else ("students", student)
    t.conn.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": row})
    assert t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events WHERE video_id = :v"),
                          {"v": video}).scalar_one() == 0
