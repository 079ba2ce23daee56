"""Creators never see each other's data: checked in chronos_data and again by row-level security."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, ProgrammingError

from chronos_data import chat, chunks, courses, creators, students, videos, workspace
from chronos_data.db import Database
from chronos_data.errors import NotFound
from chronos_data.rag.search import hybrid_search
from chronos_data.viewing import watching
from tests.conftest import new_creator


@pytest.fixture
def two_workspaces(db: Database):
    """Creator A with one row in every table; creator B with nothing. Committed, then removed."""
    a, b = new_creator(db, "alice"), new_creator(db, "bob")
    ids: dict[str, uuid.UUID] = {}
    with db.workspace(a) as t:
        ids["video"] = videos.create_video(t, title="A's video", source_type="youtube", source_id="AAAAAAAAAAA")
        videos.set_status(t, ids["video"], "completed")
        ids["student"] = students.create_student(t, "s@a.example")
        ids["course"] = courses.create_course(t, "A's course")
        ids["module"] = courses.create_module(t, ids["course"], "M")
        ids["lesson"] = courses.add_lesson(t, ids["module"], ids["video"])
        chunks.insert_chunks(t, ids["video"], [chunks.NewChunk(0, "secret sauce", 0, 9, [1.0] + [0.0] * 383)],
                             embedding_model="all-MiniLM-L6-v2")
        ids["chat"] = chat.create_session(t, "A's chat", student_id=ids["student"])
        chat.add_message(t, ids["chat"], "user", "question")
        ids["watch"] = watching.start_viewing(t, ids["video"], ids["student"])
        for sql in (
            "INSERT INTO video_analytics (creator_id, video_id, date) VALUES (:c, :v, current_date)",
            "INSERT INTO usage_metrics (creator_id, date) VALUES (:c, current_date)",
            "INSERT INTO report_schedules (creator_id, name, report_type, frequency) VALUES (:c, 'r', 'costs', 'daily')",
        ):
            t.conn.execute(sa.text(sql), {"c": a, "v": ids["video"]})
    yield a, b, ids
    with db.owner() as conn:
        conn.execute(sa.text("DELETE FROM chronos.creators WHERE id IN (:a, :b)"), {"a": a, "b": b})


def test_creator_a_has_a_row_in_every_workspace_table(db, two_workspaces):
    a, _, _ = two_workspaces
    with db.workspace(a) as t:
        assert all(count >= 1 for count in workspace.row_counts(t).values())


def test_raw_sql_as_creator_b_sees_none_of_a_s_rows(db, two_workspaces):
    a, b, _ = two_workspaces
    with db.workspace(b) as t:
        for table in workspace.WORKSPACE_TABLES:
            # No creator filter in the SQL: row-level security alone must hide A's rows.
            assert t.conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
        assert t.conn.execute(sa.text("SELECT id FROM creators")).scalars().all() == [b]


def test_raw_sql_as_creator_b_cannot_change_or_delete_a_s_rows(db, two_workspaces):
    a, b, ids = two_workspaces
    with db.workspace(b) as t:
        assert t.conn.execute(sa.text("UPDATE videos SET title = 'pwned'")).rowcount == 0
        assert t.conn.execute(sa.text("DELETE FROM courses")).rowcount == 0
        assert t.conn.execute(sa.text("UPDATE creators SET name = 'pwned' WHERE id = :a"), {"a": a}).rowcount == 0
    with db.workspace(a) as t:
        assert videos.get_video(t, ids["video"]).title == "A's video"
        assert len(courses.list_courses(t)) == 1


def test_creator_b_cannot_write_rows_into_a_s_workspace(db, two_workspaces):
    a, b, ids = two_workspaces
    with pytest.raises(DBAPIError, match="row-level security"):
        with db.workspace(b) as t:
            t.conn.execute(sa.text(
                "INSERT INTO videos (creator_id, title, youtube_video_id) VALUES (:a, 'x', 'BBBBBBBBBBB')"), {"a": a})


def test_creator_b_cannot_point_a_lesson_at_a_s_video(db, two_workspaces):
    _, b, ids = two_workspaces
    with db.workspace(b) as t:
        module = courses.create_module(t, courses.create_course(t, "B's course"), "M")
        with pytest.raises(NotFound):
            courses.add_lesson(t, module, ids["video"])
        with pytest.raises(DBAPIError):
            with t.conn.begin_nested():
                t.conn.execute(sa.text(
                    "INSERT INTO module_lessons (creator_id, module_id, video_id, lesson_order, title) "
                    "VALUES (:b, :m, :v, 1, 'stolen')"), {"b": b, "m": module, "v": ids["video"]})


def test_module_functions_as_b_find_nothing_of_a(db, two_workspaces):
    _, b, ids = two_workspaces
    with db.workspace(b) as t:
        assert videos.list_videos(t, include_deleted=True) == []
        assert courses.list_courses(t) == [] and courses.list_modules(t, ids["course"]) == []
        assert courses.list_lessons(t, ids["module"]) == []
        assert chunks.list_chunks(t, ids["video"]) == []
        assert hybrid_search(t, "secret sauce", [1.0] + [0.0] * 383, embedding_model="all-MiniLM-L6-v2",
                             dimensions=384) == []
        assert chat.list_sessions(t) == [] and chat.list_messages(t, ids["chat"]) == []
        assert students.list_students(t) == []
        for call in (
            lambda: videos.get_video(t, ids["video"]),
            lambda: videos.soft_delete_video(t, ids["video"]),
            lambda: courses.create_module(t, ids["course"], "intruder"),
            lambda: chat.add_message(t, ids["chat"], "user", "intruder"),
            lambda: watching.report_progress(t, ids["watch"], position_seconds=1, watched_seconds=1,
                                             duration_seconds=10),
        ):
            with pytest.raises(NotFound):
                call()
        assert watching.video_progress(t, ids["student"], ids["video"]) == watching.VideoProgress(0, 0, False)


def test_a_transaction_without_a_creator_sees_nothing(db, two_workspaces):
    with db.engine.begin() as conn:
        for table in (*workspace.WORKSPACE_TABLES, "creators"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table


def test_the_creator_setting_does_not_outlive_its_transaction_on_a_pooled_connection(db, creator_id):
    with db.workspace(creator_id) as t:
        pid = t.conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    held = []
    try:
        for _ in range(10):  # check out up to the whole pool, held, until that connection comes back
            conn = db.engine.connect()
            held.append(conn)
            if conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() == pid:
                assert conn.execute(sa.text("SELECT current_setting('chronos.creator_id', true)")).scalar() in ("", None)
                return
    finally:
        for conn in held:
            conn.close()
    pytest.fail("the pool did not reuse the connection")


def test_the_app_connects_as_a_role_that_cannot_bypass_security(db):
    with db.engine.connect() as conn:
        user, superuser, bypass = conn.execute(sa.text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        owners = set(conn.execute(sa.text(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'chronos'")).scalars())
    assert (user, superuser, bypass) == ("chronos_app", False, False)
    assert "chronos_app" not in owners


def test_every_table_has_row_level_security_enabled_and_forced(db):
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relnamespace = 'chronos'::regnamespace AND relkind = 'r' AND relname <> 'schema_migrations'")).all()
    unprotected = [name for name, enabled, forced in rows if not enabled or (not forced and name != "embedding_models")]
    assert rows and unprotected == []


def test_events_are_immutable_and_watch_history_cannot_be_deleted(db, two_workspaces):
    a, _, ids = two_workspaces
    for sql in ("UPDATE video_analytics_events SET event_type = 'video_completed'",
                "DELETE FROM video_analytics_events",
                "DELETE FROM video_watch_sessions"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with db.workspace(a) as t:
                t.conn.execute(sa.text(sql))


def test_signing_in_twice_with_differently_cased_email_reaches_one_workspace(db):
    email = f"Case-{uuid.uuid4().hex[:6]}@Example.com"
    with db.engine.begin() as conn:
        first = creators.ensure_creator(conn, email)
        second = creators.ensure_creator(conn, email.lower())
    assert first == second
    with db.workspace(first) as t:
        assert creators.get_creator(t).last_login_at is not None
