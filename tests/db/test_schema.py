"""Every table, index, trigger and function of the seeds exists and behaves."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from pgvector import Vector
from sqlalchemy.exc import DBAPIError, IntegrityError

from chronos_data import chat, chunks, courses, students, videos
from chronos_data.db import Workspace
from chronos_data.viewing import analytics, watching

SEEDS_TABLES = {
    "creators", "students", "videos", "video_chunks", "courses", "course_modules", "module_lessons",
    "chat_sessions", "chat_messages", "video_analytics", "video_analytics_events",
    "video_watch_sessions", "usage_metrics", "report_schedules",
}
SEEDS_INDEXES = {
    "idx_creators_whop_company_id", "idx_creators_subscription_tier", "idx_creators_is_active",
    "idx_students_whop_user_id", "idx_students_whop_membership_id", "idx_students_creator_id",
    "idx_students_is_active", "idx_videos_creator_id", "idx_videos_status", "idx_videos_created_at",
    "idx_videos_is_deleted", "idx_videos_source_type", "idx_videos_youtube_video_id",
    "idx_videos_whop_lesson_id", "idx_videos_mux_asset_id", "idx_videos_mux_playback_id",
    "idx_videos_embed_type", "idx_videos_embed_id", "idx_video_chunks_video_id", "idx_courses_creator_id",
    "idx_courses_is_published", "idx_courses_display_order", "idx_course_modules_course_id",
    "idx_course_modules_display_order", "idx_module_lessons_module_id", "idx_module_lessons_video_id",
    "idx_module_lessons_module_order", "idx_module_lessons_unique_video_per_module",
    "idx_chat_sessions_student_id", "idx_chat_sessions_creator_id", "idx_chat_messages_session_id",
    "idx_video_analytics_video_id", "idx_video_analytics_date",
    # the seeds gave these the video_analytics_ prefix too, a name clash; renamed _events_
    # (idx_video_analytics_events_student_id, on student_id alone, was dropped by 024_event_indexes:
    # idx_video_analytics_events_student_events starts with (creator_id, student_id) and serves the same lookups)
    "idx_video_analytics_events_video_id", "idx_video_analytics_events_creator_id",
    "idx_video_analytics_events_event_type",
    "idx_video_analytics_events_timestamp", "idx_video_analytics_events_course_events",
    "idx_video_analytics_events_student_events", "idx_video_watch_sessions_video_id",
    "idx_video_watch_sessions_student_id", "idx_video_watch_sessions_completed",
    "idx_video_watch_sessions_student_video", "idx_video_watch_sessions_start",
    "idx_video_watch_sessions_active", "idx_usage_metrics_creator_id", "idx_usage_metrics_date",
    # HNSW, one per embedding model (the seeds' single IVFFlat idx_video_chunks_embedding)
    "idx_video_chunks_embedding_all_minilm_l6_v2", "idx_video_chunks_embedding_text_embedding_3_small",
}
SEEDS_FUNCTIONS = {
    "search_video_chunks", "track_video_event", "get_student_total_watch_time",
    "get_student_highest_completion", "has_student_completed_video", "update_updated_at_column",
    "auto_complete_video_watch_session",
}
UPDATED_AT_TABLES = SEEDS_TABLES - {"video_chunks", "chat_messages", "video_analytics_events"}


def _names(t: Workspace, sql: str) -> set[str]:
    return set(t.conn.execute(sa.text(sql)).scalars())


def test_every_seeds_table_index_function_trigger_and_view_exists(t):
    assert SEEDS_TABLES <= _names(t, "SELECT tablename FROM pg_tables WHERE schemaname = 'chronos'")
    assert SEEDS_INDEXES <= _names(t, "SELECT indexname FROM pg_indexes WHERE schemaname = 'chronos'")
    assert SEEDS_FUNCTIONS <= _names(
        t, "SELECT proname FROM pg_proc WHERE pronamespace = 'chronos'::regnamespace")
    triggers = _names(t, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    assert {f"{table}_updated_at_trigger" for table in UPDATED_AT_TABLES} <= triggers
    assert "video_watch_sessions_auto_complete_trigger" in triggers
    assert "vector_index_stats" in _names(t, "SELECT viewname FROM pg_views WHERE schemaname = 'chronos'")
    assert {"videos_source_validation"} <= _names(t, "SELECT conname FROM pg_constraint")


def test_vector_indexes_are_hnsw_with_the_cosine_operator_class(t):
    rows = t.conn.execute(sa.text(
        "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'idx_video_chunks_embedding_%'")).scalars().all()
    assert len(rows) >= 2
    assert all("USING hnsw" in d and "vector_cosine_ops" in d and "WHERE (embedding_model" in d for d in rows)


def test_hot_workspace_indexes_lead_with_creator_id(t):
    defs = t.conn.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'chronos' AND tablename IN "
        "('video_chunks', 'video_analytics_events', 'video_watch_sessions') AND indexdef LIKE '%btree%'"
        " AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_fk' AND indexname NOT LIKE '%_student_id'"
        " AND indexname NOT LIKE '%_video_index' AND indexname NOT LIKE '%_course_fk'")).all()
    assert defs
    for name, definition in defs:
        assert "(creator_id" in definition, name


def _video(t: Workspace, title: str = "Intro", **kwargs) -> uuid.UUID:
    kwargs.setdefault("source_type", "youtube")
    kwargs.setdefault("source_id", "dQw4w9WgXcQ")
    return videos.create_video(t, title=title, **kwargs)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO videos (creator_id, title, source_type) VALUES (:c, 'no id', 'youtube')",
        "INSERT INTO videos (creator_id, title, source_type, mux_asset_id) VALUES (:c, 'mux', 'mux', 'a')",
        "INSERT INTO videos (creator_id, title, source_type, youtube_video_id) VALUES (:c, 'x', 'vimeo', 'dQw4w9WgXcQ')",
        "INSERT INTO videos (creator_id, title, youtube_video_id, status) VALUES (:c, 'x', 'dQw4w9WgXcQ', 'done')",
        "INSERT INTO videos (creator_id, title, youtube_video_id, status) VALUES (:c, 'x', 'dQw4w9WgXcQ', 'failed')",
        "INSERT INTO videos (creator_id, title, youtube_video_id) VALUES (:c, 'x', 'too-short')",
        "INSERT INTO videos (creator_id, title, youtube_video_id, embed_type) VALUES (:c, 'x', 'dQw4w9WgXcQ', 'tiktok')",
        "INSERT INTO creators (email, subscription_tier) VALUES ('x@y.z', 'gold')",
    ],
)
def test_constraints_reject_bad_rows(t, sql):
    with pytest.raises(DBAPIError):
        with t.conn.begin_nested():
            t.conn.execute(sa.text(sql), {"c": t.creator_id})


def test_watch_session_and_event_checks(t):
    video = _video(t)
    student = students.create_student(t, "ann@example.com")
    bad = [
        ("INSERT INTO video_watch_sessions (creator_id, video_id, student_id, percent_complete) "
         "VALUES (:c, :v, :s, 101)"),
        ("INSERT INTO video_watch_sessions (creator_id, video_id, student_id, watch_time_seconds) "
         "VALUES (:c, :v, :s, -1)"),
        ("INSERT INTO video_watch_sessions (creator_id, video_id, student_id, device_type) "
         "VALUES (:c, :v, :s, 'tv')"),
        ("INSERT INTO video_watch_sessions (creator_id, video_id, student_id, referrer_type) "
         "VALUES (:c, :v, :s, 'ads')"),
        ("INSERT INTO video_watch_sessions (creator_id, video_id, student_id, session_start, session_end) "
         "VALUES (:c, :v, :s, now(), now() - interval '1 minute')"),
        "INSERT INTO video_analytics_events (creator_id, video_id, event_type) VALUES (:c, :v, 'video_liked')",
    ]
    for sql in bad:
        with pytest.raises(DBAPIError):
            with t.conn.begin_nested():
                t.conn.execute(sa.text(sql), {"c": t.creator_id, "v": video, "s": student})


def test_lessons_reject_a_second_copy_of_a_video_and_non_positive_order(t):
    video = _video(t)
    course = courses.create_course(t, "Python basics")
    module = courses.create_module(t, course, "Week 1")
    courses.add_lesson(t, module, video)
    with pytest.raises(Exception, match="already a lesson in this module"):
        courses.add_lesson(t, module, video)
    with pytest.raises(IntegrityError):
        with t.conn.begin_nested():
            t.conn.execute(sa.text("UPDATE module_lessons SET lesson_order = 0 WHERE module_id = :m"), {"m": module})


def test_lesson_positions_are_unique_at_commit_but_may_swap_inside_a_transaction(t):
    course = courses.create_course(t, "Course")
    module = courses.create_module(t, course, "M")
    first, second = (courses.add_lesson(t, module, _video(t, f"V{i}", source_id=f"abcdefghij{i}")) for i in (1, 2))
    with t.conn.begin_nested():
        t.conn.execute(sa.text("UPDATE module_lessons SET lesson_order = 2 WHERE id = :id"), {"id": first})
        t.conn.execute(sa.text("UPDATE module_lessons SET lesson_order = 1 WHERE id = :id"), {"id": second})
    t.conn.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
    assert [lesson.id for lesson in courses.list_lessons(t, module)] == [second, first]
    with pytest.raises(IntegrityError):
        with t.conn.begin_nested():
            t.conn.execute(sa.text("UPDATE module_lessons SET lesson_order = 1 WHERE id = :id"), {"id": first})


def test_deleting_a_video_cascades_to_its_chunks_lessons_sessions_and_events(t):
    video = _video(t)
    student = students.create_student(t, "bo@example.com")
    module = courses.create_module(t, courses.create_course(t, "C"), "M")
    courses.add_lesson(t, module, video)
    chunks.insert_chunks(t, video, [chunks.NewChunk(0, "hello world", 0, 5)], embedding_model=None)
    watching.start_viewing(t, video, student)

    t.conn.execute(sa.text("DELETE FROM videos WHERE id = :v"), {"v": video})

    for table in ("video_chunks", "module_lessons", "video_watch_sessions", "video_analytics_events"):
        assert t.conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE video_id = :v"), {"v": video}).scalar() == 0


def test_deleting_a_course_keeps_its_events_and_videos_but_clears_the_course_id(t):
    video = _video(t)
    course = courses.create_course(t, "C")
    module = courses.create_module(t, course, "M")
    courses.add_lesson(t, module, video)
    event = analytics.track_event(t, "video_added_to_course", video, course_id=course, module_id=module)

    t.conn.execute(sa.text("DELETE FROM courses WHERE id = :c"), {"c": course})

    row = t.conn.execute(sa.text(
        "SELECT course_id, module_id, creator_id FROM video_analytics_events WHERE id = :e"), {"e": event}).one()
    assert row == (None, None, t.creator_id)
    assert t.conn.execute(sa.text("SELECT count(*) FROM module_lessons WHERE module_id = :m"), {"m": module}).scalar() == 0
    assert videos.get_video(t, video).title == "Intro"


def test_deleting_a_student_removes_their_sessions_events_and_chats(t):
    video = _video(t)
    student = students.create_student(t, "cy@example.com")
    watching.start_viewing(t, video, student)
    session = chat.create_session(t, "help", student_id=student)
    chat.add_message(t, session, "user", "What is a list?")

    t.conn.execute(sa.text("DELETE FROM students WHERE id = :s"), {"s": student})

    assert chat.list_sessions(t) == []
    for table in ("video_watch_sessions", "video_analytics_events"):
        assert t.conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE student_id = :s"), {"s": student}).scalar() == 0


@pytest.mark.parametrize("table", sorted(UPDATED_AT_TABLES - {"creators"}))
def test_updated_at_trigger_stamps_every_update(t, table):
    # Any UPDATE, even one that tries to write an old timestamp, leaves updated_at = now().
    row_id = _row_in(t, table)
    t.conn.execute(sa.text(f"UPDATE {table} SET updated_at = '2000-01-01' WHERE id = :id"), {"id": row_id})
    stamped = t.conn.execute(sa.text(f"SELECT updated_at = now() FROM {table} WHERE id = :id"), {"id": row_id})
    assert stamped.scalar_one() is True


def _row_in(t: Workspace, table: str) -> uuid.UUID:
    video = _video(t)
    student = students.create_student(t, f"{uuid.uuid4().hex[:6]}@example.com")
    course = courses.create_course(t, "C")
    module = courses.create_module(t, course, "M")
    made = {
        "videos": lambda: video,
        "students": lambda: student,
        "courses": lambda: course,
        "course_modules": lambda: module,
        "module_lessons": lambda: courses.add_lesson(t, module, video),
        "chat_sessions": lambda: chat.create_session(t, "s"),
        "video_watch_sessions": lambda: watching.start_viewing(t, video, student),
        "video_analytics": lambda: t.conn.execute(sa.text(
            "INSERT INTO video_analytics (creator_id, video_id, date) VALUES (:c, :v, current_date) RETURNING id"),
            {"c": t.creator_id, "v": video}).scalar_one(),
        "usage_metrics": lambda: t.conn.execute(sa.text(
            "INSERT INTO usage_metrics (creator_id, date) VALUES (:c, current_date) RETURNING id"),
            {"c": t.creator_id}).scalar_one(),
        "report_schedules": lambda: t.conn.execute(sa.text(
            "INSERT INTO report_schedules (creator_id, name, report_type, frequency) "
            "VALUES (:c, 'Daily', 'overview', 'daily') RETURNING id"), {"c": t.creator_id}).scalar_one(),
    }
    return made[table]()


def test_a_session_completes_itself_at_90_percent_and_helpers_sum_sessions(t):
    video = _video(t)
    student = students.create_student(t, "di@example.com")
    first = watching.start_viewing(t, video, student, device_type="mobile")
    assert watching.report_progress(t, first, position_seconds=89, watched_seconds=300,
                                    duration_seconds=100).completed_now is False
    second = watching.start_viewing(t, video, student)
    assert watching.report_progress(t, second, position_seconds=90, watched_seconds=200,
                                    duration_seconds=100).completed_now is True
    watching.end_viewing(t, second)
    completed = t.conn.execute(sa.text("SELECT completed FROM video_watch_sessions WHERE id = :s"), {"s": second})
    assert completed.scalar_one() is True  # the seeds' trigger, at 90 %

    assert watching.video_progress(t, student, video) == watching.VideoProgress(500, 90, True)


def test_track_video_event_returns_the_new_event(t):
    video = _video(t)
    event = analytics.track_event(t, "video_imported", video, metadata={"source_type": "youtube"})
    row = t.conn.execute(sa.text(
        "SELECT event_type, metadata->>'source_type' FROM video_analytics_events WHERE id = :e"), {"e": event}).one()
    assert row == ("video_imported", "youtube")


def _unit(dims: int, hot: int) -> list[float]:
    vector = [0.0] * dims
    vector[hot] = 1.0
    return vector


def _search(t: Workspace, query: list[float], *, model: str, count: int = 5, threshold: float = 0.0,
            video_ids: list[uuid.UUID] | None = None) -> list:
    """The seeds' ``search_video_chunks`` as written (the app ranks with ``rag.search``)."""
    return t.conn.execute(
        sa.text("SELECT * FROM search_video_chunks(:q, :count, :threshold, CAST(:videos AS uuid[]), :model)"),
        {"q": Vector(np.asarray(query, dtype=np.float32)), "count": count, "threshold": threshold,
         "videos": video_ids, "model": model}).all()


def test_search_compares_only_one_models_vectors_of_completed_visible_videos(t):
    ready = _video(t, "Ready", source_id="aaaaaaaaaa1")
    hidden = _video(t, "Deleted", source_id="aaaaaaaaaa2")
    draft = _video(t, "Processing", source_id="aaaaaaaaaa3")
    for video in (ready, hidden):
        videos.set_status(t, video, "completed")
    videos.soft_delete_video(t, hidden)
    local = [chunks.NewChunk(i, f"local chunk {i}", i * 10, i * 10 + 9, _unit(384, i)) for i in range(3)]
    for video in (ready, hidden, draft):
        chunks.insert_chunks(t, video, local, embedding_model="all-MiniLM-L6-v2")
    other = _video(t, "OpenAI", source_id="aaaaaaaaaa4")
    videos.set_status(t, other, "completed")
    chunks.insert_chunks(t, other, [chunks.NewChunk(0, "openai chunk", 0, 5, _unit(1536, 1))],
                         embedding_model="text-embedding-3-small")

    hits = _search(t, _unit(384, 1), model="all-MiniLM-L6-v2")

    assert [h.video_id for h in hits] == [ready] * 3
    assert hits[0].chunk_text == "local chunk 1" and hits[0].similarity == pytest.approx(1.0)
    assert [h.chunk_index for h in _search(t, _unit(384, 2), model="all-MiniLM-L6-v2", count=1,
                                           video_ids=[ready])] == [2]
    assert _search(t, _unit(384, 1), model="all-MiniLM-L6-v2", threshold=0.5)[0].chunk_index == 1
    assert len(_search(t, _unit(384, 1), model="all-MiniLM-L6-v2", threshold=0.5)) == 1


def test_a_vector_must_have_its_models_dimensions(t):
    video = _video(t)
    with pytest.raises(DBAPIError, match="384"):
        with t.conn.begin_nested():
            chunks.insert_chunks(t, video, [chunks.NewChunk(0, "x", 0, 1, _unit(1536, 0))],
                                 embedding_model="all-MiniLM-L6-v2")
    with pytest.raises(DBAPIError, match="dimensions"):
        with t.conn.begin_nested():
            _search(t, _unit(1536, 0), model="all-MiniLM-L6-v2")


def test_vector_index_stats_reports_this_creators_coverage(t):
    video = _video(t)
    chunks.insert_chunks(t, video, [chunks.NewChunk(0, "a", 0, 1, _unit(384, 0))], embedding_model="all-MiniLM-L6-v2")
    chunks.insert_chunks(t, video, [chunks.NewChunk(1, "b", 1, 2)], embedding_model=None)
    row = t.conn.execute(sa.text("SELECT * FROM vector_index_stats")).mappings().one()
    assert (row["total_chunks"], row["chunks_with_embeddings"], float(row["embedding_coverage_percent"])) == (2, 1, 50.0)


def test_rollup_tables_hold_one_row_per_day(t):
    video = _video(t)
    insert_video_day = "INSERT INTO video_analytics (creator_id, video_id, date, views) VALUES (:c, :v, '2026-01-01', 1)"
    t.conn.execute(sa.text(insert_video_day), {"c": t.creator_id, "v": video})
    with pytest.raises(IntegrityError):
        with t.conn.begin_nested():
            t.conn.execute(sa.text(insert_video_day), {"c": t.creator_id, "v": video})
    insert_usage_day = "INSERT INTO usage_metrics (creator_id, date) VALUES (:c, '2026-01-01')"
    t.conn.execute(sa.text(insert_usage_day), {"c": t.creator_id})
    with pytest.raises(IntegrityError):
        with t.conn.begin_nested():
            t.conn.execute(sa.text(insert_usage_day), {"c": t.creator_id})
