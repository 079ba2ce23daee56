"""Workspace backups: the demo workspace exported, restored next to itself as another creator,
and every way a file or a workspace can be wrong refused with nothing written."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from chronos_data import backup, cli, courses, creators, students
from chronos_data.backup import BackupFileError, WorkspaceNotEmpty
from chronos_data.demo import load_demo, remove_demo
from chronos_data.errors import ValidationError
from chronos_data.rag.search import hybrid_search
from chronos_data.viewing import dashboards
from tests.bombs import gzip_bomb
from tests.conftest import new_creator

EMAIL = "demo-backup-tests@chronos.localhost"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _delete_creators(db, ids) -> None:
    with db.owner() as conn:
        conn.execute(sa.text("DELETE FROM chronos.creators WHERE id = ANY(:ids)"), {"ids": list(ids)})


@pytest.fixture(scope="module")
def cleanup(db):
    """Creators made by this module's tests, deleted at its end (cascading to their rows)."""
    made: list[uuid.UUID] = []
    yield made
    _delete_creators(db, made)


@pytest.fixture(scope="module")
def demo(db, embedder):
    result = load_demo(db, embedder, seed=11, students=80, days=45, email=EMAIL)
    # What the demo does not make: ids in a uuid[] and a text[] column, and in a schedule's filters.
    with db.workspace(result.creator_id) as t:
        params = {"c": result.creator_id}
        t.conn.execute(sa.text(
            "INSERT INTO chat_sessions (creator_id, title, context_video_ids) SELECT :c, 'Mine', array_agg(id) "
            "FROM (SELECT id FROM videos WHERE creator_id = :c ORDER BY title LIMIT 2) v"), params)
        t.conn.execute(sa.text(
            "UPDATE course_modules m SET video_ids = (SELECT array_agg(CAST(l.video_id AS text)) FROM module_lessons l "
            "WHERE l.module_id = m.id) WHERE m.creator_id = :c"), params)
        t.conn.execute(sa.text(
            "INSERT INTO report_schedules (creator_id, name, report_type, frequency, day_of_week, filters) "
            "SELECT :c, 'Weekly', 'overview', 'weekly', 1, jsonb_build_object('course_id', min(CAST(id AS text)), "
            "'video_ids', (SELECT jsonb_agg(id) FROM videos WHERE creator_id = :c)) FROM courses WHERE creator_id = :c"),
            params)
        # A decision on a content-gap suggestion (the inbox's done/dismissed).
        from chronos_data.insights import gaps

        gaps.mark_gap(t, gaps.gap_key("How do I write a recursive CTE?"), "dismissed")
        # Whop: a lesson mapped to a video, a webhook delivery, and a connection (its key never exported).
        t.conn.execute(sa.text(
            "INSERT INTO whop_lessons (creator_id, whop_lesson_id, whop_course_id, title, lesson_type, video_id) "
            "SELECT :c, 'lesn_1', 'cors_1', 'Lesson one', 'video', min(CAST(id AS text))::uuid FROM videos "
            "WHERE creator_id = :c"), params)
        # The Chronos course and module the Whop course and chapter became.
        t.conn.execute(sa.text(
            "INSERT INTO whop_courses (creator_id, whop_course_id, course_id) "
            "SELECT :c, 'cors_1', min(CAST(id AS text))::uuid FROM courses WHERE creator_id = :c"), params)
        t.conn.execute(sa.text(
            "INSERT INTO whop_chapters (creator_id, whop_chapter_id, whop_course_id, module_id) "
            "SELECT :c, 'chap_1', 'cors_1', min(CAST(id AS text))::uuid FROM course_modules WHERE creator_id = :c"), params)
        t.conn.execute(sa.text("INSERT INTO whop_deliveries (creator_id, delivery_id, event_type) "
                               "VALUES (:c, 'msg_1', 'membership.activated')"), params)
        t.conn.execute(sa.text("INSERT INTO whop_connections (creator_id, company_id, api_key_encrypted) "
                               "VALUES (:c, 'biz_backuptests', 'secret token bytes')"), params)
    yield result
    remove_demo(db, EMAIL)


@pytest.fixture(scope="module")
def exported(db, demo):
    """The demo workspace's backup (bytes) and the export's summary."""
    out = io.BytesIO()
    with db.workspace(demo.creator_id) as t:
        summary = backup.export_workspace(t, out)
    return out.getvalue(), summary


@pytest.fixture(scope="module")
def restored(db, demo, exported, cleanup):
    """The backup restored as a second creator on the same server."""
    target = new_creator(db, "restored")
    cleanup.append(target)
    summary = backup.restore_backup(db, target, io.BytesIO(exported[0]))
    return target, summary


def _lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]


def _pack(lines: list[dict]) -> bytes:
    return gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode())


def _workspace_tables(db) -> dict[str, set[str]]:
    """Every table of the workspace (a creator_id column) and the tables it references, from the catalog."""
    with db.engine.connect() as conn:
        tables = set(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'chronos' "
            "AND column_name = 'creator_id' AND table_name IN (SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'chronos' AND table_type = 'BASE TABLE')")).scalars())
        edges = conn.execute(sa.text(
            "SELECT c.relname, p.relname FROM pg_constraint f JOIN pg_class c ON c.oid = f.conrelid "
            "JOIN pg_class p ON p.oid = f.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'chronos' AND f.contype = 'f' AND c.oid <> p.oid")).all()
    parents: dict[str, set[str]] = {name: set() for name in tables}
    for child, parent in edges:
        if child in tables and parent in tables:
            parents[child].add(parent)
    return parents


def _counts(db, creator, tables) -> dict[str, int]:
    with db.workspace(creator) as t:
        return {name: t.conn.execute(sa.text(f'SELECT count(*) FROM chronos."{name}" WHERE creator_id = :c'),
                                     {"c": creator}).scalar_one() for name in sorted(tables)}


def _final_days(db, creator) -> list:
    with db.workspace(creator) as t:
        return list(t.conn.execute(sa.text("SELECT date FROM rollup_days WHERE creator_id = :c AND NOT stale "
                                           "ORDER BY date"), {"c": creator}).scalars())


def _ids(db, creator, tables) -> set[str]:
    """Every primary-key id of the workspace's tables that have an ``id`` column."""
    found: set[str] = set()
    with db.workspace(creator) as t:
        for name in tables:
            has_id = t.conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE "
                                            "table_schema = 'chronos' AND table_name = :t AND column_name = 'id')"),
                                    {"t": name}).scalar_one()
            if has_id:
                found |= {str(i) for i in t.conn.execute(
                    sa.text(f'SELECT id FROM chronos."{name}" WHERE creator_id = :c'), {"c": creator}).scalars()}
    return found


def _assert_empty(db, creator) -> None:
    counts = _counts(db, creator, _workspace_tables(db))
    assert not any(counts.values()), counts


def test_the_backup_holds_every_workspace_table_in_foreign_key_order(exported, demo, db):
    data, summary = exported
    lines = _lines(data)
    header, rows, end = lines[0], lines[1:-1], lines[-1]
    parents = _workspace_tables(db)
    expected = set(parents) - backup.DERIVED_TABLES - backup.ACCESS_TABLES - backup.SECRET_TABLES
    assert header["format"] == backup.FORMAT and header["creator"]["email"] == EMAIL
    assert {t["name"] for t in header["tables"]} == expected
    assert header["schema_version"] == summary.schema_version and "not included" in header["media_files"]
    # Each table's rows together, parents before children.
    order = [row["table"] for i, row in enumerate(rows) if i == 0 or rows[i - 1]["table"] != row["table"]]
    assert len(order) == len(set(order))
    for i, name in enumerate(order):
        assert not parents[name] & set(order[i + 1:]), f"{name} comes before a table it references"
    counts = {name: sum(1 for r in rows if r["table"] == name) for name in expected}
    assert end == {"end": True, "rows": counts} and summary.rows == counts
    assert counts["videos"] == 10 and counts["students"] == 80 and counts["video_analytics_events"] > 1000
    assert all(counts.values()), "every table has rows to restore"
    # The creator is set on restore; generated columns are recomputed by the database.
    assert not any("creator_id" in r["row"] or "search_text" in r["row"] for r in rows)
    assert summary.uploaded_media == 10 and summary.bytes_written == len(data)


def test_the_copy_has_as_many_rows_in_every_table(db, demo, restored):
    target, summary = restored
    tables = _workspace_tables(db)
    original, copy = _counts(db, demo.creator_id, tables), _counts(db, target, tables)
    # Credentials for other services stay behind: the copy connects to Whop anew.
    assert original["whop_connections"] == 1 and copy["whop_connections"] == 0
    # A day is final once it is over, so UTC midnight between the two rollups adds one to the copy:
    # the final days are compared up to the original's last.
    rolled = _final_days(db, demo.creator_id)
    assert _final_days(db, target)[:len(rolled)] == rolled and len(rolled) >= 44
    assert {k: v for k, v in copy.items() if k not in backup.SECRET_TABLES | {"rollup_days"}} == \
        {k: v for k, v in original.items() if k not in backup.SECRET_TABLES | {"rollup_days"}}
    # Derived tables too: the restore rolled the activity up again instead of copying them.
    assert copy["video_analytics"] > 0 and copy["student_sets"] > 0 and copy["course_students"] > 0
    assert summary.stale_days >= 44 and summary.total_rows == sum(summary.rows.values())


def test_every_id_is_new_and_no_row_of_the_copy_mentions_the_original(db, demo, restored, exported):
    target, _ = restored
    tables = _workspace_tables(db)
    original_ids, copy_ids = _ids(db, demo.creator_id, tables), _ids(db, target, tables)
    assert len(copy_ids) == len(original_ids) and not copy_ids & original_ids
    # A backup of the copy mentions none of the original's ids (foreign keys, arrays, JSON alike).
    out = io.BytesIO()
    with db.workspace(target) as t:
        backup.export_workspace(t, out)
    mentioned = set(UUID.findall(gzip.decompress(out.getvalue()).decode()))
    assert not mentioned & (original_ids | {str(demo.creator_id)})
    assert set(UUID.findall(gzip.decompress(exported[0]).decode())) & original_ids


def test_references_point_at_the_restored_rows(db, demo, restored):
    target, _ = restored
    with db.workspace(target) as t:
        q = lambda sql: t.conn.execute(sa.text(sql), {"c": target}).all()  # noqa: E731
        video_ids = {r[0] for r in q("SELECT id FROM videos WHERE creator_id = :c")}
        assert {r[0] for r in q("SELECT video_id FROM module_lessons WHERE creator_id = :c")} <= video_ids
        assert {r[0] for r in q("SELECT video_id FROM video_chunks WHERE creator_id = :c")} == video_ids
        cited = {uuid.UUID(ref["video_id"]) for (refs,) in q("SELECT video_references FROM chat_messages "
                                                              "WHERE creator_id = :c") for ref in refs}
        assert cited and cited <= video_ids
        # Ids inside JSON: a session's course and module, an event's watch session.
        modules = {r[0] for r in q("SELECT id FROM course_modules WHERE creator_id = :c")}
        in_sessions = {uuid.UUID(m["module_id"]) for (m,) in q("SELECT metadata FROM video_watch_sessions "
                                                               "WHERE creator_id = :c")}
        assert in_sessions and in_sessions <= modules
        sessions = {r[0] for r in q("SELECT id FROM video_watch_sessions WHERE creator_id = :c")}
        watched = {uuid.UUID(m["session_id"]) for (m,) in q("SELECT metadata FROM video_analytics_events "
                                                             "WHERE creator_id = :c AND metadata ? 'session_id'")}
        assert watched and watched <= sessions
        # Ids in arrays (uuid[] and the seeds' text[]) and in a schedule's filters.
        [context] = [r[0] for r in q("SELECT context_video_ids FROM chat_sessions WHERE creator_id = :c "
                                     "AND student_id IS NULL")]
        assert len(context) == 2 and set(context) <= video_ids
        listed = {uuid.UUID(v) for (ids,) in q("SELECT video_ids FROM course_modules WHERE creator_id = :c")
                  for v in ids}
        assert listed == {r[0] for r in q("SELECT video_id FROM module_lessons WHERE creator_id = :c")}
        [filters] = [r[0] for r in q("SELECT filters FROM report_schedules WHERE creator_id = :c")]
        assert {uuid.UUID(v) for v in filters["video_ids"]} == video_ids
        assert uuid.UUID(filters["course_id"]) in {r[0] for r in q("SELECT id FROM courses WHERE creator_id = :c")}
        # The workspace's name came along (it had none); its e-mail and plan did not.
        assert q("SELECT name, subscription_tier, email LIKE 'restored-%' FROM creators WHERE id = :c") \
            == [("Demo creator", "basic", True)]
        # The same lessons, in the same places, showing the same videos.
        outline = "SELECT c.title, m.display_order, l.lesson_order, v.title FROM module_lessons l " \
                  "JOIN course_modules m ON m.id = l.module_id JOIN courses c ON c.id = m.course_id " \
                  "JOIN videos v ON v.id = l.video_id WHERE l.creator_id = :c ORDER BY 1, 2, 3"
        copy_outline = q(outline)
        copy_citations = q("SELECT m.content, v.title FROM chat_messages m, jsonb_array_elements(m.video_references) r "
                           "JOIN videos v ON v.id = CAST(r ->> 'video_id' AS uuid) WHERE m.creator_id = :c ORDER BY 1, 2")
    with db.workspace(demo.creator_id) as t:
        assert t.conn.execute(sa.text(outline), {"c": demo.creator_id}).all() == copy_outline
        assert t.conn.execute(sa.text(
            "SELECT m.content, v.title FROM chat_messages m, jsonb_array_elements(m.video_references) r "
            "JOIN videos v ON v.id = CAST(r ->> 'video_id' AS uuid) WHERE m.creator_id = :c ORDER BY 1, 2"),
            {"c": demo.creator_id}).all() == copy_citations


def _chunks(db, creator):
    with db.workspace(creator) as t:
        return t.conn.execute(sa.text(
            "SELECT v.title, c.chunk_index, c.chunk_text, c.embedding_model, CAST(c.embedding AS text), "
            "CAST(c.search_text AS text), c.start_time_seconds FROM video_chunks c JOIN videos v ON v.id = c.video_id "
            "WHERE c.creator_id = :c ORDER BY 1, 2"), {"c": creator}).all()


def test_embeddings_and_transcripts_round_trip_exactly(db, demo, restored):
    original, copy = _chunks(db, demo.creator_id), _chunks(db, restored[0])
    assert len(original) > 10 and all(row[4] for row in original)
    assert copy == original  # vectors compared as PostgreSQL prints them: every float4 digit


def test_search_and_dashboards_give_the_same_answers_on_the_copy(db, embedder, demo, restored):
    question = "Why does my left join act like an inner join?"
    vector = embedder.embed([question])[0]
    today = datetime.now(UTC).date()
    period = dashboards.Filters(today - timedelta(days=44), today)

    def answers(creator):
        with db.workspace(creator) as t:
            found = hybrid_search(t, question, vector, embedding_model=embedder.model, dimensions=embedder.dimensions)
            titles = dict(t.conn.execute(sa.text("SELECT id, title FROM videos WHERE creator_id = :c"),
                                         {"c": creator}).all())
            course = next(c for c in courses.list_courses(t) if c.title == "Python and SQL foundations")
            return {
                "search": [(titles[p.video_id], p.chunk_index, round(p.score, 12), p.semantic_rank, p.keyword_rank)
                           for p in found],
                "kpis": dashboards.kpis(t, period),
                "views": dashboards.views_over_time(t, period, "week"),
                "top": dashboards.top_videos(t, period).drop(columns=["video_id"]),
                "funnel": dashboards.course_funnel(t, course.id, period).drop(columns=["video_id", "module_id"]),
                "at_risk": dashboards.at_risk_students(t, course.id).drop(columns=["student_id"]),
            }

    original, copy = answers(demo.creator_id), answers(restored[0])
    assert original["search"] and copy["search"] == original["search"]
    for name in ("kpis", "views", "top", "funnel", "at_risk"):
        pd.testing.assert_frame_equal(copy[name], original[name], obj=name)
    assert original["kpis"].set_index("metric").loc["Views", "value"] > 0


def test_the_original_is_untouched(db, demo, exported, restored):
    again = io.BytesIO()
    with db.workspace(demo.creator_id) as t:
        backup.export_workspace(t, again)
    before, after = _lines(exported[0]), _lines(again.getvalue())
    key = lambda line: json.dumps(line, sort_keys=True)  # noqa: E731
    assert sorted(map(key, after[1:])) == sorted(map(key, before[1:]))


def test_the_original_creator_cannot_read_the_copy(db, demo, restored):
    target, _ = restored
    with db.workspace(target) as t:
        copied_videos = list(t.conn.execute(sa.text("SELECT id FROM videos WHERE creator_id = :c"),
                                            {"c": target}).scalars())
    with db.workspace(demo.creator_id) as t:
        # Asked for the copy's rows by creator and by id: row-level security shows nothing.
        assert t.conn.execute(sa.text("SELECT count(*) FROM videos WHERE creator_id = :c OR id = ANY(:ids)"),
                              {"c": target, "ids": copied_videos}).scalar_one() == 0
        assert t.conn.execute(sa.text("SELECT count(*) FROM video_chunks")).scalar_one() == len(_chunks(db, demo.creator_id))


def test_a_workspace_with_data_is_refused_and_keeps_what_it_had(db, exported, cleanup):
    creator = new_creator(db, "busy")
    cleanup.append(creator)
    with db.workspace(creator) as t:
        students.create_student(t, "ada@example.com", "Ada")
    before = _counts(db, creator, _workspace_tables(db))
    with pytest.raises(WorkspaceNotEmpty, match="already holds data \\(students\\).*--as-creator"):
        with db.workspace(creator) as t:
            backup.restore_workspace(t, exported[0])
    assert _counts(db, creator, _workspace_tables(db)) == before


def test_restore_backup_returns_what_the_page_and_the_command_show(db, restored):
    target, summary = restored
    with db.workspace(target) as t:
        email = creators.get_creator(t).email
        rolled = t.conn.execute(sa.text("SELECT count(*) FROM rollup_days WHERE creator_id = :c"),
                                {"c": target}).scalar_one()
    assert summary.workspace_email == email and summary.source_email == EMAIL
    # The restored days were rolled up once the rows were committed: no day is left for the next rollup.
    assert summary.rolled_up_days >= summary.stale_days >= 44 and rolled >= summary.stale_days


def _workspace_state(db, creator) -> tuple[dict[str, int], tuple]:
    """Every workspace table's rows (derived and rollup ones too) and the creator's own row."""
    with db.workspace(creator) as t:
        profile = tuple(t.conn.execute(sa.text("SELECT name, settings, email FROM creators WHERE id = :c"),
                                       {"c": creator}).one())
    return _counts(db, creator, _workspace_tables(db)), profile


@pytest.mark.parametrize(("damage", "message"), [
    (lambda data: data[: len(data) // 2], "damaged or was cut short"),
    (lambda data: _pack([*_lines(data)[:-1], {"end": True, "rows": {}}]), "do not add up"),
], ids=["truncated", "miscounted"])
def test_restore_backup_refuses_a_bad_file_and_leaves_the_database_unchanged(db, exported, cleanup, damage, message):
    creator = new_creator(db, "use-case-damaged")
    cleanup.append(creator)
    before = _workspace_state(db, creator)
    with pytest.raises(BackupFileError, match=message):
        backup.restore_backup(db, creator, damage(exported[0]))
    assert _workspace_state(db, creator) == before
    _assert_empty(db, creator)


def test_restore_backup_refuses_a_workspace_with_data_and_a_read_only_caller(db, exported, cleanup):
    busy = new_creator(db, "use-case-busy")
    cleanup.append(busy)
    with db.workspace(busy) as t:
        students.create_student(t, "ada@example.com", "Ada")
    before = _workspace_state(db, busy)
    with pytest.raises(WorkspaceNotEmpty, match="already holds data"):
        backup.restore_backup(db, busy, exported[0])
    assert _workspace_state(db, busy) == before

    empty = new_creator(db, "use-case-read-only")
    cleanup.append(empty)
    with pytest.raises(ValidationError, match="read-only"):
        backup.restore_backup(db, empty, exported[0], read_only=True)
    _assert_empty(db, empty)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _corrupted(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 64]) + data[middle + 64:]


def _edited(change):
    def edit(data: bytes) -> bytes:
        lines = _lines(data)
        change(lines)
        return _pack(lines)
    return edit


def _drop_end(lines):
    lines.pop()


def _drop_a_row(lines):
    del lines[len(lines) // 2]


def _unknown_table(lines):
    lines[0]["tables"].append({"name": "secrets", "columns": ["id"]})


def _newer_schema(lines):
    lines[0]["schema_version"] = "999_from_the_future.sql"


def _newer_format(lines):
    lines[0]["version"] = backup.FORMAT_VERSION + 1


def _unknown_model(lines):
    for line in lines[1:-1]:
        if line.get("table") == "video_chunks":
            line["row"]["embedding_model"] = "someone-elses-model"


def _children_first(lines):
    lessons = [line for line in lines if line.get("table") == "module_lessons"]
    rest = [line for line in lines[1:-1] if line.get("table") != "module_lessons"]
    lines[1:-1] = lessons + rest


@pytest.mark.parametrize(("damage", "message"), [
    (_truncated, "damaged or was cut short"),
    (_corrupted, "damaged"),
    (lambda data: b"title,url\nLoops,https://youtu.be/x\n", "not a Chronos workspace backup"),
    (lambda data: b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a Chronos"),
    (_edited(_drop_end), "cut short"),
    (_edited(_drop_a_row), "do not add up"),
    (_edited(_unknown_table), "does not know \\(secrets\\)"),
    (_edited(_newer_schema), "newer database schema"),
    (_edited(_newer_format), "made by a newer Chronos"),
    (_edited(_unknown_model), "someone-elses-model.*register"),
    (_edited(_children_first), "come before"),
], ids=["truncated", "corrupted", "csv", "binary", "no-end", "missing-row", "unknown-table", "newer-schema",
        "newer-format", "unknown-model", "out-of-order"])
def test_a_wrong_or_damaged_file_is_refused_and_writes_nothing(db, exported, cleanup, damage, message):
    creator = new_creator(db, "damaged")
    cleanup.append(creator)
    with pytest.raises(BackupFileError, match=message):
        with db.workspace(creator) as t:
            backup.restore_workspace(t, damage(exported[0]))
    _assert_empty(db, creator)


_BOMB_HEADER = b'{"format": "chronos.workspace-backup", "pad": "'


@pytest.fixture(scope="module")
def line_bomb() -> bytes:
    """About 1 MB on disk: a header line of 1 GB (the reproduction of issue 18)."""
    return gzip_bomb(1024**3, prefix=_BOMB_HEADER, suffix=b'"}\n')


def _peak_bytes(call) -> tuple[BaseException | None, int]:
    """Run ``call``; the error it raised and the most memory Python held meanwhile, in bytes."""
    tracemalloc.start()
    try:
        call()
        raised = None
    except BaseException as exc:  # noqa: BLE001 - returned to the test, which asserts on it
        raised = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


def _one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and ". " not in message


def _restore_into_new(db, cleanup, data: bytes, **kw):
    creator = new_creator(db, "bomb")
    cleanup.append(creator)

    def restore():
        with db.workspace(creator) as t:
            backup.restore_workspace(t, io.BytesIO(data), **kw)

    error, peak = _peak_bytes(restore)
    return creator, error, peak


def test_a_one_gigabyte_line_is_refused_in_bounded_memory(db, cleanup, line_bomb):
    assert len(line_bomb) < 2 * 1024**2
    creator, error, peak = _restore_into_new(db, cleanup, line_bomb)
    assert isinstance(error, BackupFileError), error
    assert str(error).startswith("Line 1 of the file is longer than 32 MB") and _one_sentence(str(error))
    assert "newer Chronos" not in str(error)
    assert peak < 200 * 1024**2, f"{peak / 1024**2:.0f} MB held to refuse it"
    _assert_empty(db, creator)


def test_a_file_that_decompresses_past_the_limit_is_refused_in_bounded_memory(db, cleanup, exported):
    # Valid lines, one student over and over: every line is a row the first reading accepts.
    lines = _lines(exported[0])
    student = next(line for line in lines if line.get("table") == "students")
    header = json.dumps(lines[0]).encode() + b"\n"
    row = json.dumps(student).encode() + b"\n"
    bomb = gzip_bomb(256 * 1024**2 // len(row), row, prefix=header)  # 256 MB of rows
    limits = backup.ReadLimits(total_bytes=16 * 1024**2)
    creator, error, peak = _restore_into_new(db, cleanup, bomb, limits=limits)
    assert isinstance(error, BackupFileError), error
    assert str(error).startswith("The file decompresses to more than 16 MB") and _one_sentence(str(error))
    assert peak < 200 * 1024**2, f"{peak / 1024**2:.0f} MB held to refuse it"
    _assert_empty(db, creator)


def test_a_file_with_more_rows_than_the_limit_is_refused(db, cleanup, exported):
    lines = _lines(exported[0])
    rows = lines[1:-1][:1500]
    data = _pack([lines[0], *rows, {"end": True, "rows": {}}])
    creator, error, _ = _restore_into_new(db, cleanup, data, limits=backup.ReadLimits(rows=1000))
    assert isinstance(error, BackupFileError), error
    assert str(error).startswith("The file holds more than 1,000 rows, more than one restore takes")
    assert _one_sentence(str(error))
    _assert_empty(db, creator)


@pytest.mark.parametrize("version", [None, "1", True, 0])
def test_a_header_without_a_format_version_is_called_damaged_not_newer(db, cleanup, exported, version):
    lines = _lines(exported[0])
    lines[0]["version"] = version
    if version is None:
        del lines[0]["version"]
    creator, error, _ = _restore_into_new(db, cleanup, _pack(lines))
    assert isinstance(error, BackupFileError) and "gives no format version" in str(error), error
    _assert_empty(db, creator)


def test_a_row_the_database_rejects_undoes_every_row_before_it(db, exported, cleanup):
    # A valid file whose very last row breaks a constraint: thousands of rows are inserted first.
    def bad_event(lines):
        last = max(i for i, line in enumerate(lines) if line.get("table") == "video_analytics_events")
        lines[last]["row"]["event_type"] = "video_teleported"

    creator = new_creator(db, "rejected")
    cleanup.append(creator)
    with db.workspace(creator) as t:
        with pytest.raises(BackupFileError, match="does not fit this database.*nothing was written"):
            backup.restore_workspace(t, _edited(bad_event)(exported[0]))
        # Undone inside the caller's transaction too, which goes on and commits.
        assert t.conn.execute(sa.text("SELECT count(*) FROM videos WHERE creator_id = :c"),
                              {"c": creator}).scalar_one() == 0
    _assert_empty(db, creator)


def test_a_decompressed_backup_restores_too(db, exported, cleanup, tmp_path):
    creator = new_creator(db, "plain")
    cleanup.append(creator)
    plain = tmp_path / "backup.jsonl"
    plain.write_bytes(gzip.decompress(exported[0]))
    with db.workspace(creator) as t:
        summary = backup.restore_workspace(t, plain)
    assert summary.rows == exported[1].rows
    with db.workspace(creator) as t:
        stale = t.conn.execute(sa.text("SELECT count(*) FROM rollup_days WHERE creator_id = :c AND stale"),
                               {"c": creator}).scalar_one()
    assert stale == summary.stale_days >= 44  # the next rollup recomputes every restored day


@pytest.fixture
def env(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)


def test_the_command_line_exports_and_restores_a_workspace(env, db, demo, exported, cleanup, tmp_path, capsys):
    file = tmp_path / "demo.jsonl.gz"
    assert cli.main(["export", "--out", str(file), "--creator", EMAIL, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["file"] == str(file) and report["bytes"] == file.stat().st_size
    assert report["rows"] == exported[1].rows and not list(tmp_path.glob(".*partial"))

    email = f"cli-restored-{uuid.uuid4().hex[:6]}@example.com"
    assert cli.main(["restore", str(file), "--as-creator", email]) == 0
    text = capsys.readouterr().out
    assert f"into {email}" in text and "video analytics events:" in text and "videos: 10" in text
    with db.engine.begin() as conn:
        copy = creators.ensure_creator(conn, email)
    cleanup.append(copy)
    assert _counts(db, copy, ["videos", "students"]) == {"videos": 10, "students": 80}

    # Restoring again into the same workspace is refused in one line, exit code 1.
    assert cli.main(["restore", str(file), "--as-creator", email]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: This workspace already holds data") and captured.err.count("\n") == 1
    assert cli.main(["restore", str(tmp_path / "missing.jsonl.gz"), "--as-creator", email, "--json"]) == 1
    assert "There is no file" in json.loads(capsys.readouterr().out)["error"]


def test_settings_page_offers_a_backup_and_a_restore_only_into_an_empty_workspace(app_env, db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.app.test_pages import APP

    email = f"app-backup-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/settings.py").run()
    assert not at.exception and not at.error
    assert at.button(key="settings_backup_restore") is not None
    assert "Backup" in [s.value for s in at.subheader]

    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        students.create_student(t, "grace@example.com", "Grace")
    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "settings_backup_restore"]
    assert any("only into an empty workspace" in c.value for c in at.caption)
    _delete_creators(db, [creator])


def _uploader(db, settings, cleanup, label: str, content: bytes):
    """A workspace with one uploaded, subtitled video whose file is on disk; (creator, e-mail, path)."""
    from chronos_data import uploads
    from chronos_data.ingest import pipeline

    email = f"{label}-{uuid.uuid4().hex[:6]}@example.com"
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    cleanup.append(creator)
    path = uploads.keep_file(settings, creator, "lecture.mp4", io.BytesIO(content))
    with db.workspace(creator) as t:
        pipeline.add_subtitled_video(t, source_type="upload", source=path, title=f"{label} lecture",
                                     subtitle_bytes=b"1\n00:00:00,000 --> 00:00:04,000\nHello there.\n",
                                     subtitle_filename="lecture.srt", file_size_bytes=len(content))
    return creator, email, path


@pytest.fixture
def data_settings(env, tmp_path, monkeypatch):
    from chronos_data.config import Settings

    monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path / "data"))
    return Settings.from_env()


def _files_of(settings, creator) -> list:
    folder = settings.data_dir / "uploads" / str(creator)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_an_uploaded_video_restored_as_another_creator_comes_back_without_media(db, cleanup, tmp_path, capsys,
                                                                                  data_settings):
    from chronos_data import uploads, videos

    original, email, path = _uploader(db, data_settings, cleanup, "uploader", b"\x00media bytes")
    file = tmp_path / "uploader.jsonl.gz"
    assert cli.main(["export", "--out", str(file), "--creator", email]) == 0
    assert "not included: the media files of 1 uploaded videos" in capsys.readouterr().out
    copy_email = f"uploader-copy-{uuid.uuid4().hex[:6]}@example.com"
    assert cli.main(["restore", str(file), "--as-creator", copy_email, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    copy = uuid.UUID(report["creator_id"])
    cleanup.append(copy)
    assert report["media_not_in_backup"] == ["uploader lecture"]
    assert cli.main(["restore", str(file), "--as-creator", f"again-{copy_email}"]) == 0
    assert "media not in the backup: re-upload the files of 1 uploaded videos" in capsys.readouterr().out
    with db.engine.begin() as conn:
        cleanup.append(creators.ensure_creator(conn, f"again-{copy_email}"))

    with db.workspace(copy) as t:
        [video] = videos.list_videos(t)
    # A new place in the copy's own folder, with nothing in it yet: the file is uploaded again there.
    assert video.storage_path.startswith(f"uploads/{copy}/") and video.storage_path.endswith("/lecture.mp4")
    assert not uploads.stored_file(data_settings, video.storage_path, copy).exists()
    assert _files_of(data_settings, copy) == []
    with pytest.raises(Exception, match="not one of this workspace's uploads"):
        uploads.stored_file(data_settings, path, copy)  # the original's file is not the copy's to play


def test_a_backup_with_media_restored_as_another_creator_plays_its_own_copy(db, cleanup, tmp_path, capsys,
                                                                            data_settings):
    from chronos_data import uploads, videos

    content = os.urandom(7 * 1024**2 + 5)  # like media, it does not compress; three of the backup's parts
    original, email, path = _uploader(db, data_settings, cleanup, "uploader", content)
    file = tmp_path / "with-media.jsonl.gz"
    assert cli.main(["export", "--out", str(file), "--creator", email, "--with-media", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["media_files"] == 1 and report["media_bytes"] == len(content)
    assert report["uploaded_media_not_included"] == 0
    assert _lines_of_file(file)[0]["version"] == 2
    copy_email = f"uploader-copy-{uuid.uuid4().hex[:6]}@example.com"
    assert cli.main(["restore", str(file), "--as-creator", copy_email, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    copy = uuid.UUID(report["creator_id"])
    cleanup.append(copy)
    assert report["media_restored"] == 1 and report["media_not_in_backup"] == []

    with db.workspace(copy) as t:
        [video] = videos.list_videos(t)
    assert video.storage_path.startswith(f"uploads/{copy}/") and video.storage_path.endswith("/lecture.mp4")
    assert uploads.stored_file(data_settings, video.storage_path, copy).read_bytes() == content
    assert [p.read_bytes() for p in _files_of(data_settings, original)] == [content]  # the original's, untouched


def _lines_of_file(file) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(file.read_bytes()).decode().splitlines()
            if not line.startswith('{"part": ')]


@pytest.fixture
def media_backup(db, cleanup, data_settings):
    """A backup with one uploaded video and its media file, as text lines."""
    creator, _, _ = _uploader(db, data_settings, cleanup, "media", b"the lecture's bytes" * 1000)
    out = io.BytesIO()
    with db.workspace(creator) as t:
        backup.export_workspace(t, out, media=data_settings)
    return gzip.decompress(out.getvalue()).decode().splitlines(keepends=True)


def _media_line(lines, key):
    return next(i for i, line in enumerate(lines) if line.startswith(f'{{"{key}": '))


def _other_video(lines):
    lines[_media_line(lines, "media")] = json.dumps({"media": str(uuid.uuid4())}) + "\n"


def _tampered_part(lines):
    i = _media_line(lines, "part")
    lines[i] = '{"part": "' + base64.b64encode(b"someone else's bytes").decode() + '"}\n'


def _two_blocks(lines):
    start, end = _media_line(lines, "media"), _media_line(lines, "media_end")
    lines[end + 1:end + 1] = lines[start:end + 1]
    lines[-1] = lines[-1].replace('"media": 1', '"media": 2')


def _part_alone(lines):
    lines.insert(1, lines[_media_line(lines, "part")])


def _media_in_a_version_1_file(lines):
    lines[0] = lines[0].replace('"version": 2', '"version": 1')


@pytest.mark.parametrize(("damage", "message"), [
    (_other_video, "no uploaded video of the backup"),
    (_tampered_part, "does not match its size or checksum"),
    (_two_blocks, "no uploaded video of the backup, or a second one"),
    (_part_alone, "part of a media file that no line began"),
    (_media_in_a_version_1_file, "a table its header does not list \\(None\\)"),
], ids=["other-video", "tampered", "twice", "part-alone", "version-1"])
def test_a_forged_media_block_is_refused_and_writes_no_file(db, cleanup, data_settings, media_backup, damage, message):
    damage(media_backup)
    target = new_creator(db, "media-forged")
    cleanup.append(target)
    with pytest.raises(BackupFileError, match=message):
        with db.workspace(target) as t:
            backup.restore_workspace(t, gzip.compress("".join(media_backup).encode()), media=data_settings)
    _assert_empty(db, target)
    assert _files_of(data_settings, target) == []


def test_a_media_file_over_the_plan_limit_is_refused(db, cleanup, data_settings, media_backup, monkeypatch):
    monkeypatch.setitem(creators.UPLOAD_LIMIT_BYTES, "basic", 1024)
    target = new_creator(db, "media-large")
    cleanup.append(target)
    with pytest.raises(BackupFileError, match="larger than this workspace's plan takes \\(1 KB\\)"):
        with db.workspace(target) as t:
            backup.restore_workspace(t, gzip.compress("".join(media_backup).encode()), media=data_settings)
    _assert_empty(db, target)


def test_a_media_bomb_is_refused_before_a_file_is_written(db, cleanup, data_settings, media_backup):
    # 1 GB of zeros as one media block of a video of the file: a few MB of gzip.
    start, end = _media_line(media_backup, "media"), _media_line(media_backup, "media_end")
    video = json.loads(media_backup[start])["media"]
    part = b'{"part": "' + base64.b64encode(bytes(3 * 1024**2)) + b'"}\n'
    head = "".join(media_backup[:start + 1]).encode()
    bomb = gzip_bomb(1024**3 // (3 * 1024**2), part, prefix=head, suffix=(json.dumps(
        {"media_end": video, "bytes": 1024**3 // (3 * 1024**2) * 3 * 1024**2, "sha256": "0" * 64}) + "\n"
        + "".join(media_backup[end + 1:])).encode())
    assert len(bomb) < 8 * 1024**2
    target = new_creator(db, "media-bomb")
    cleanup.append(target)

    def restore():
        with db.workspace(target) as t:
            backup.restore_workspace(t, bomb, media=data_settings)

    error, peak = _peak_bytes(restore)
    assert isinstance(error, BackupFileError) and "decompress to far more than the file itself" in str(error), error
    assert peak < 200 * 1024**2, f"{peak / 1024**2:.0f} MB held to refuse it"
    _assert_empty(db, target)
    assert _files_of(data_settings, target) == []


def test_media_written_by_a_restore_that_fails_later_is_removed(db, cleanup, data_settings, media_backup, monkeypatch):
    def fail(t):
        raise BackupFileError("The restore failed late on purpose.")

    monkeypatch.setattr("chronos_data.backup.restore._mark_days_stale", fail)
    target = new_creator(db, "media-late")
    cleanup.append(target)
    with pytest.raises(BackupFileError, match="late on purpose"):
        with db.workspace(target) as t:
            backup.restore_workspace(t, gzip.compress("".join(media_backup).encode()), media=data_settings)
    _assert_empty(db, target)
    assert _files_of(data_settings, target) == []


def test_a_forged_header_naming_another_workspace_copies_none_of_its_files(db, cleanup, tmp_path, capsys,
                                                                          data_settings):
    """Mallory puts Bravo's id (it is in any backup Bravo shares) in her own backup's header, and
    points her video at Bravo's file; restored into her empty second workspace, nothing of Bravo's
    comes along."""
    from chronos_data import uploads, videos

    bravo, _, bravo_path = _uploader(db, data_settings, cleanup, "bravo", b"bravo's private lecture")
    mallory, mallory_email, _ = _uploader(db, data_settings, cleanup, "mallory", b"mallory's own lecture")
    out = io.BytesIO()
    with db.workspace(mallory) as t:
        backup.export_workspace(t, out)
    lines = _lines(out.getvalue())
    lines[0]["creator"]["id"] = str(bravo)
    for line in lines[1:-1]:
        if line.get("table") == "videos":
            line["row"]["storage_path"] = bravo_path
    file = tmp_path / "forged.jsonl.gz"
    file.write_bytes(_pack(lines))

    target_email = f"mallory-two-{uuid.uuid4().hex[:6]}@example.com"
    assert cli.main(["restore", str(file), "--as-creator", target_email, "--json"]) == 0
    target = uuid.UUID(json.loads(capsys.readouterr().out)["creator_id"])
    cleanup.append(target)
    assert _files_of(data_settings, target) == []  # no file copied from anywhere
    with db.workspace(target) as t:
        [video] = videos.list_videos(t)
    assert video.storage_path.startswith(f"uploads/{target}/") and video.storage_path != bravo_path
    played = uploads.stored_file(data_settings, video.storage_path, target)
    assert not played.exists()
    assert [p.read_bytes() for p in _files_of(data_settings, bravo)] == [b"bravo's private lecture"]


def test_a_forged_storage_path_into_another_workspace_is_replaced_by_one_of_its_own(db, cleanup, data_settings):
    from chronos_data import uploads, videos

    bravo, _, bravo_path = _uploader(db, data_settings, cleanup, "bravo", b"bravo's private lecture")
    mallory, _, _ = _uploader(db, data_settings, cleanup, "mallory", b"mallory's own lecture")
    out = io.BytesIO()
    with db.workspace(mallory) as t:
        backup.export_workspace(t, out)
    lines = _lines(out.getvalue())  # an honest header: Mallory's own id
    forged = [bravo_path, f"uploads/{bravo}/../{bravo}/x/lecture.mp4", "/etc/passwd", "demo/../uploads/x.mp4"]
    rows = [line for line in lines[1:-1] if line.get("table") == "videos"]
    template = rows[0]["row"]
    for i, path in enumerate(forged[1:], start=1):
        extra = {**template, "id": str(uuid.uuid4()), "title": f"forged {i}", "storage_path": path}
        lines.insert(lines.index(rows[0]) + 1, {"table": "videos", "row": extra})
    rows[0]["row"]["storage_path"] = bravo_path
    lines[-1]["rows"]["videos"] += len(forged) - 1

    target = new_creator(db, "mallory-two")
    cleanup.append(target)
    with db.workspace(target) as t:
        summary = backup.restore_workspace(t, _pack(lines))
    with db.workspace(target) as t:
        paths = [v.storage_path for v in videos.list_videos(t)]
    assert len(paths) == len(forged)
    for path in paths:
        assert path.startswith(f"uploads/{target}/") and ".." not in path
        assert not uploads.stored_file(data_settings, path, target).exists()
    assert len(summary.media_not_in_backup) == len(forged)




def test_a_backup_written_to_a_file_is_readable_by_its_owner_only(db, t, tmp_path):
    """A backup holds the whole workspace; under the usual umask it was readable by every local user."""
    target = tmp_path / "workspace.jsonl.gz"
    target.write_bytes(b"an older backup")
    target.chmod(0o644)
    backup.export_workspace(t, target)
    assert target.stat().st_mode & 0o777 == 0o600
