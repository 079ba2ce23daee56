"""Workspace separation, proven (issue 8).

Two creators, A and B, each with a full workspace (the demo workspace, plus the rows it does not
make). For every table and every data-module function this shows that A cannot read, change or
delete B's rows: through raw SQL on the app's own connection under row-level security, through
every function of chronos_data (with B's ids), through the security-definer functions, and across
pooled connections. B's workspace is fingerprinted (per table: row count and md5 of the rows)
when the fixture is built; every case checks it is unchanged.

Tables, views and security-definer functions are discovered (tests/workspace_calls.py reads the
migration files for the test ids; ``test_the_discovered_schema_matches_the_catalogue`` compares
them with the live catalogue), and so are the data functions: a new table or function is a new
test id, and a new data function without a separation case in ``workspace_calls.CASES`` fails.

Each data function is run three ways: as A with B's ids (committed, as the app does), in an empty
workspace (which has nothing of its own, so anything it gets back is someone else's), and on a
connection that bypasses row-level security (the superuser owner, rolled back), which proves the
function's own creator filter. Known limitations that the data module does not expose are strict
xfails, each saying why.
"""

from __future__ import annotations

import inspect
import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from chronos_data import chat, videos
from chronos_data.collector import keys
from chronos_data.db import APP_ROLE, Database, Workspace
from chronos_data.demo import load_demo, remove_demo
from chronos_data.errors import ValidationError
from chronos_data.insights.gaps import gap_key
from chronos_data.viewing import watching
from tests.conftest import new_creator
from tests.workspace_calls import (
    CASES,
    EXEMPT,
    Case,
    Ctx,
    Ids,
    case_params,
    data_functions,
    foreign_traces,
    is_nothing,
    parse_migrations,
    resolve,
)

SCHEMA = parse_migrations()
#: Every table holding a creator's rows, and the creators table itself (keyed by id).
TABLES = (*SCHEMA.workspace_tables, "creators")
#: Tables without creator_id that are not the creators table: shared reference data only.
SHARED_TABLES = {"embedding_models", "schema_migrations"}
HAS_ANALYST = "read_only" in inspect.signature(Database.workspace).parameters
ANALYST_ROLE = "chronos_analyst"
SESSION_KINDS = ("app", "analyst") if HAS_ANALYST else ("app",)
QUEUED = ("pending", "uploading", "transcribing", "processing", "embedding")
# Small workspaces: enough rows in every table, generated in seconds.
DEMO_STUDENTS, DEMO_DAYS = 24, 21
# Functions of schema chronos that chronos_app (and the analyst role) may execute: the row-level
# security helper, trigger functions, the seeds' invoker functions, and the owner-run bootstrap
# calls. pgvector's own functions (extension members) are not listed.
EXPECTED_EXECUTABLE = {
    "current_creator_id", "update_updated_at_column", "check_chunk_embedding_dimensions",
    "auto_complete_video_watch_session", "embedding_index_name", "search_video_chunks", "track_video_event",
    "get_student_total_watch_time", "get_student_highest_completion", "has_student_completed_video",
    "ensure_creator", "claim_import_job", "sign_in", "write_key_owner",
}
# How each security-definer function could be turned against B from inside A's transaction.
DEFINER_ABUSE: dict[str, list[tuple[str, str]]] = {
    "ensure_creator": [("b_email", "SELECT chronos.ensure_creator(:b_email) AS creator")],
    "claim_import_job": [
        ("b_creator", "SELECT * FROM chronos.claim_import_job(interval '10 minutes', :b)"),
        ("any_creator", "SELECT * FROM chronos.claim_import_job(interval '10 minutes', NULL)"),
    ],
    "sign_in": [("b_email", "SELECT * FROM chronos.sign_in('https://idp.example.com', 'mallory', :b_email)")],
    # The collector's key lookup: refused inside any workspace's transaction, even for its own key.
    "write_key_owner": [("own_key_hash", "SELECT * FROM chronos.write_key_owner((SELECT min(key_hash) FROM "
                                       "chronos.write_keys))"),
                        ("any_hash", "SELECT * FROM chronos.write_key_owner(repeat('0', 64))")],
}


# ------------------------------------------------------------------------------------------------
# The two workspaces
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableInfo:
    name: str
    key: str  # creator_id, or id for the creators table
    columns: tuple[str, ...]  # insertable (not generated) columns
    primary_key: tuple[str, ...]
    uuid_columns: tuple[str, ...]
    parents: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]  # (table, own columns, its columns)
    b_row: str  # one of B's rows, as JSON (row_to_json)
    a_row: str  # one of A's rows


@dataclass
class World:
    db: Database
    settings: object
    embedder: object
    a: Ids
    b: Ids
    tables: dict[str, TableInfo]
    a_uuids: set[uuid.UUID]
    b_uuids: set[uuid.UUID]
    b_fingerprint: dict[str, tuple[int, str]]
    b_versions: dict[str, tuple[int, str]]
    owner_bypasses_rls: bool
    empties: list[uuid.UUID] = field(default_factory=list)

    def empty_creator(self) -> uuid.UUID:
        creator = new_creator(self.db, "empty")
        self.empties.append(creator)
        return creator


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _key(table: str) -> str:
    return "id" if table == "creators" else "creator_id"


@contextmanager
def owner_as(db: Database, creator: uuid.UUID | None) -> Iterator[Connection]:
    """A rolled-back owner transaction naming ``creator`` (so an owner held to FORCEd row-level
    security, under DATABASE_URL, still sees that creator's rows)."""
    with db.owner_engine.connect() as conn:
        tx = conn.begin()
        try:
            if creator is not None:
                conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(creator)})
            yield conn
        finally:
            tx.rollback()


@contextmanager
def app_tx(db: Database, creator: uuid.UUID | None, *, read_only: bool = False) -> Iterator[Workspace]:
    """An app transaction for ``creator`` (None: none named) that is rolled back afterwards."""
    with db.engine.connect() as conn:
        tx = conn.begin()
        try:
            if creator is not None:
                conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(creator)})
            if read_only:
                conn.execute(sa.text(f"SET LOCAL ROLE {ANALYST_ROLE}"))
            yield Workspace(conn, creator)
        finally:
            tx.rollback()


def _fingerprint_sql(tables: tuple[str, ...], *, exact: bool) -> str:
    # exact: the rows' contents; otherwise the row versions (xmin, ctid), which change with any
    # write and cost nothing to read, for the check after every case.
    parts = []
    for table in tables:
        expr, order = ("x::text", "x::text") if exact else ("x.xmin::text || '/' || x.ctid::text", "x.ctid")
        parts.append(f"SELECT '{table}', count(*), md5(coalesce(string_agg({expr}, '|' ORDER BY {order}), '')) "
                     f"FROM chronos.{table} x WHERE x.{_key(table)} = :c")
    return " UNION ALL ".join(parts)


def fingerprint(conn: Connection, creator: uuid.UUID, *, exact: bool = False) -> dict[str, tuple[int, str]]:
    rows = conn.execute(sa.text(_fingerprint_sql(TABLES, exact=exact)), {"c": creator}).all()
    return {name: (int(count), digest) for name, count, digest in rows}


def b_unchanged(world: World) -> None:
    with owner_as(world.db, world.b.creator) as conn:
        now = fingerprint(conn, world.b.creator)
    changed = sorted(t for t in now if now[t] != world.b_versions[t])
    assert not changed, f"B's rows changed in {changed}"


def _complete(db: Database, creator: uuid.UUID, marker: str, *, queue_video: bool) -> Ids:
    """Add what the demo does not make (the creator's own conversation, a report schedule, a
    teammate, an open watch session, a queued video), mark the workspace's texts with ``marker``,
    and return its representative ids."""
    youtube_id = ("Q" + uuid.uuid4().hex)[:11]
    with db.workspace(creator) as t:
        c = t.conn
        video, module, course, lesson = c.execute(sa.text(
            "SELECT l.video_id, l.module_id, m.course_id, l.id FROM module_lessons l "
            "JOIN course_modules m ON m.id = l.module_id ORDER BY m.display_order, l.lesson_order LIMIT 1")).one()
        student, watch_session = c.execute(sa.text(
            "SELECT student_id, id FROM video_watch_sessions WHERE session_end IS NOT NULL AND video_id = :v "
            "ORDER BY session_start LIMIT 1"), {"v": video}).one()
        open_session = watching.start_viewing(t, video, student)
        own_chat = chat.create_session(t, f"Notes on {marker}")
        question = chat.add_message(t, own_chat, "user", f"What does {marker} mean?")
        answer = chat.add_message(t, own_chat, "assistant", f"{marker} is this workspace's secret word.",
                                  model="extractive")
        report = c.execute(sa.text(
            "INSERT INTO report_schedules (creator_id, name, report_type, frequency, day_of_week, recipients) "
            "VALUES (:c, :name, 'overview', 'weekly', 1, ARRAY[:email]) RETURNING id"),
            {"c": creator, "name": f"Weekly {marker}", "email": f"{marker}@example.com"}).scalar_one()
        teammate = None
        if c.execute(sa.text("SELECT to_regclass('chronos.workspace_members') IS NOT NULL")).scalar_one():
            teammate = c.execute(sa.text(
                "INSERT INTO workspace_members (creator_id, email) VALUES (:c, :email) RETURNING id"),
                {"c": creator, "email": f"analyst-{marker}@example.com"}).scalar_one()
        # A decision on a content-gap suggestion (its key derives from the question's text).
        decided_gap = gap_key(f"What does {marker} mean?")
        c.execute(sa.text("INSERT INTO content_gap_states (creator_id, key, state, title, example_question) "
                          "VALUES (:c, :key, 'dismissed', :title, :example)"),
                  {"c": creator, "key": decided_gap, "title": f"Students keep asking about {marker}",
                   "example": f"What does {marker} mean?"})
        keys.create_key(t, f"Site {marker}", ["https://school.example.com"])
        # A Whop connection (its key unreadable here, so no call can reach Whop) and a synced lesson.
        c.execute(sa.text("INSERT INTO whop_connections (creator_id, company_id, company_title, api_key_encrypted) "
                          "VALUES (:c, :company, :title, 'not a token')"),
                  {"c": creator, "company": "biz_" + uuid.uuid4().hex[:12], "title": f"Academy {marker}"})
        c.execute(sa.text("INSERT INTO whop_lessons (creator_id, whop_lesson_id, whop_course_id, course_title, title, "
                          "lesson_type, video_id) VALUES (:c, :lesson, 'cors_1', :title, :title, 'video', :v)"),
                  {"c": creator, "lesson": "lesn_" + uuid.uuid4().hex[:8], "title": f"Lesson {marker}", "v": video})
        # The Chronos course and module a Whop course and chapter became (sql/028).
        c.execute(sa.text("INSERT INTO whop_courses (creator_id, whop_course_id, course_id) VALUES (:c, 'cors_1', :course)"),
                  {"c": creator, "course": course})
        c.execute(sa.text("INSERT INTO whop_chapters (creator_id, whop_chapter_id, whop_course_id, module_id) "
                          "VALUES (:c, :chapter, 'cors_1', :module)"),
                  {"c": creator, "chapter": "chap_" + uuid.uuid4().hex[:8], "module": module})
        c.execute(sa.text("INSERT INTO whop_deliveries (creator_id, delivery_id, event_type, student_id, detail) "
                          "VALUES (:c, :d, 'membership.deactivated', :s, CAST(:detail AS jsonb))"),
                  {"c": creator, "d": "msg_" + uuid.uuid4().hex, "s": student,
                   "detail": json.dumps({"cancellation_reason": f"Left for {marker}"})})
        pending = videos.create_video(t, title=f"Queued {marker}", source_type="youtube",
                                      source_id=youtube_id) if queue_video else None
        # Words only this workspace has: any of them in another workspace's result is a leak.
        for sql in (
            "UPDATE videos SET title = title || ' ' || :m, transcript = transcript || ' ' || :m",
            "UPDATE courses SET title = title || ' ' || :m",
            "UPDATE course_modules SET title = title || ' ' || :m",
            "UPDATE module_lessons SET title = title || ' ' || :m",
            "UPDATE students SET email = :m || '-' || email, name = coalesce(name, '') || ' ' || :m",
            "UPDATE chat_sessions SET title = coalesce(title, '') || ' ' || :m",
            "UPDATE chat_messages SET content = content || ' ' || :m",
            "UPDATE video_chunks SET chunk_text = chunk_text || ' ' || :m",
        ):
            c.execute(sa.text(sql), {"m": marker})
        chunk, storage_path, video_title = c.execute(sa.text(
            "SELECT ch.id, v.storage_path, v.title FROM video_chunks ch JOIN videos v ON v.id = ch.video_id "
            "WHERE ch.video_id = :v ORDER BY ch.chunk_index LIMIT 1"), {"v": video}).one()
        student_chat = c.execute(sa.text(
            "SELECT id FROM chat_sessions WHERE student_id IS NOT NULL ORDER BY created_at LIMIT 1")).scalar_one()
        student_email, email = c.execute(sa.text(
            "SELECT s.email, c.email FROM students s, creators c WHERE s.id = :s AND c.id = :c"),
            {"s": student, "c": creator}).one()
    return Ids(creator=creator, email=email, marker=marker, video=video, chunk=chunk, course=course, module=module,
               lesson=lesson, student=student, student_email=student_email, watch_session=watch_session,
               open_session=open_session, student_chat=student_chat, own_chat=own_chat, question=question,
               answer=answer, report=report, storage_path=storage_path, video_title=video_title,
               teammate=teammate, gap_key=decided_gap, pending_video=pending,
               pending_youtube_id=youtube_id if queue_video else None)


def _table_info(conn: Connection, table: str, a: uuid.UUID, b: uuid.UUID) -> TableInfo:
    rel = f"chronos.{table}"
    columns = conn.execute(sa.text(
        "SELECT attname, atttypid::regtype::text, attgenerated <> '' FROM pg_attribute "
        "WHERE attrelid = CAST(:rel AS regclass) AND attnum > 0 AND NOT attisdropped ORDER BY attnum"),
        {"rel": rel}).all()
    # The primary key, or (student_sets has none) the first unique key: what names one row.
    index = conn.execute(sa.text(
        "SELECT indexrelid FROM pg_index WHERE indrelid = CAST(:rel AS regclass) AND indisunique AND indexprs IS NULL "
        "ORDER BY indisprimary DESC, indexrelid LIMIT 1"), {"rel": rel}).scalar_one()
    primary_key = conn.execute(sa.text(
        "SELECT a.attname FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, n) "
        "JOIN pg_attribute a ON a.attnum = k.attnum "
        "WHERE i.indexrelid = :index AND a.attrelid = i.indrelid ORDER BY k.n"),
        {"index": index}).scalars().all()
    parents = []
    for parent, own_cols, their_cols in conn.execute(sa.text("""
            SELECT c.confrelid::regclass::text,
                   array(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
                   array(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
            FROM pg_constraint c WHERE c.conrelid = CAST(:rel AS regclass) AND c.contype = 'f'"""), {"rel": rel}):
        name = parent.removeprefix("chronos.")
        if name in TABLES:
            parents.append((name, tuple(own_cols), tuple(their_cols)))
    key = _key(table)

    def sample(creator: uuid.UUID) -> str:
        conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(creator)})
        return conn.execute(sa.text(f"SELECT row_to_json(x)::text FROM chronos.{table} x WHERE x.{key} = :c "
                                    "ORDER BY x.ctid LIMIT 1"), {"c": creator}).scalar_one()

    return TableInfo(
        name=table, key=key,
        columns=tuple(name for name, _type, generated in columns if not generated),
        primary_key=tuple(primary_key),
        uuid_columns=tuple(name for name, type_, _g in columns if type_ == "uuid"),
        parents=tuple(parents), b_row=sample(b), a_row=sample(a),
    )


def _uuids_of(conn: Connection, tables: dict[str, TableInfo], creator: uuid.UUID) -> set[uuid.UUID]:
    """Every uuid (and uuid[] element) stored in the creator's rows."""
    conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(creator)})
    found: set[uuid.UUID] = set()
    for table in tables.values():
        arrays = conn.execute(sa.text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:rel AS regclass) AND atttypid = 'uuid[]'::regtype "
            "AND NOT attisdropped"), {"rel": f"chronos.{table.name}"}).scalars().all()
        for column in table.uuid_columns:
            found |= set(conn.execute(sa.text(
                f"SELECT DISTINCT x.{_q(column)} FROM chronos.{table.name} x WHERE x.{table.key} = :c "
                f"AND x.{_q(column)} IS NOT NULL"), {"c": creator}).scalars())
        for column in arrays:
            found |= set(conn.execute(sa.text(
                f"SELECT DISTINCT u FROM chronos.{table.name} x, unnest(x.{_q(column)}) u WHERE x.{table.key} = :c"),
                {"c": creator}).scalars())
    return found


@pytest.fixture(scope="module")
def world(db: Database, settings, embedder) -> Iterator[World]:
    tag = uuid.uuid4().hex[:8]
    emails = {side: f"demo-separation-{side}-{tag}@chronos.localhost" for side in "ab"}
    built: World | None = None
    try:
        first = load_demo(db, embedder, seed=5, students=DEMO_STUDENTS, days=DEMO_DAYS, email=emails["a"])
        second = load_demo(db, embedder, seed=6, students=DEMO_STUDENTS + 7, days=DEMO_DAYS, email=emails["b"])
        a = _complete(db, first.creator_id, f"asecret{tag}", queue_video=False)
        b = _complete(db, second.creator_id, f"bsecret{tag}", queue_video=True)
        with db.owner() as conn:
            for table in TABLES:  # pg_stats gets most-common values: it must not show them to the app
                conn.execute(sa.text(f"ANALYZE chronos.{table}"))
        with owner_as(db, b.creator) as conn:
            tables = {table: _table_info(conn, table, a.creator, b.creator) for table in TABLES}
            b_uuids = _uuids_of(conn, tables, b.creator)
            a_uuids = _uuids_of(conn, tables, a.creator)
            conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(b.creator)})
            exact, versions = fingerprint(conn, b.creator, exact=True), fingerprint(conn, b.creator)
            bypass = conn.execute(sa.text(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")).scalar_one()
        built = World(db, settings, embedder, a, b, tables, a_uuids, b_uuids - a_uuids, exact, versions, bypass)
        yield built
    finally:
        remove_demo(db, emails["a"])
        remove_demo(db, emails["b"])
        if built and built.empties:
            with db.owner() as conn:
                conn.execute(sa.text("DELETE FROM chronos.creators WHERE id = ANY(:ids)"), {"ids": built.empties})


# ------------------------------------------------------------------------------------------------
# The schema: discovered, complete, protected
# ------------------------------------------------------------------------------------------------


def test_the_discovered_schema_matches_the_catalogue(db: Database) -> None:
    with owner_as(db, None) as conn:
        workspace = set(conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'creator_id' "
            "WHERE c.relnamespace = 'chronos'::regnamespace AND c.relkind IN ('r', 'p') AND NOT a.attisdropped"
        )).scalars())
        others = set(conn.execute(sa.text(
            "SELECT relname FROM pg_class WHERE relnamespace = 'chronos'::regnamespace AND relkind IN ('r', 'p')"
        )).scalars()) - workspace
        views = set(conn.execute(sa.text(
            "SELECT relname FROM pg_class WHERE relnamespace = 'chronos'::regnamespace AND relkind IN ('v', 'm')"
        )).scalars())
        definers = set(conn.execute(sa.text(
            "SELECT proname FROM pg_proc WHERE pronamespace = 'chronos'::regnamespace AND prosecdef")).scalars())
    assert workspace == set(SCHEMA.workspace_tables)
    assert views == set(SCHEMA.views)
    assert definers == set(SCHEMA.definer_functions)
    # A table without creator_id is the creators table or shared reference data: nothing else.
    assert others <= {"creators"} | SHARED_TABLES, f"tables with no creator_id: {sorted(others)}"


@pytest.mark.parametrize("table", TABLES)
def test_both_workspaces_have_rows_in_the_table(world: World, table: str) -> None:
    # A new table without rows here would make every check of it pass vacuously: fill it in _complete.
    assert world.b_fingerprint[table][0] >= 1, f"B has no row in {table}: add one in _complete()"
    with owner_as(world.db, world.a.creator) as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM chronos.{table} WHERE {_key(table)} = :a"),
                            {"a": world.a.creator}).scalar_one() >= 1


@pytest.mark.parametrize("table", TABLES)
def test_the_table_has_forced_row_level_security_with_workspace_policies(db: Database, table: str) -> None:
    with owner_as(db, None) as conn:
        enabled, forced = conn.execute(sa.text(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = CAST(:rel AS regclass)"),
            {"rel": f"chronos.{table}"}).one()
        policies = conn.execute(sa.text(
            "SELECT policyname, roles, cmd, qual, with_check FROM pg_policies WHERE schemaname = 'chronos' "
            "AND tablename = :t"), {"t": table}).all()
        app_roles = {"public", APP_ROLE, ANALYST_ROLE} | set(conn.execute(sa.text(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
            "WHERE m.member = CAST(:app AS regrole)"), {"app": APP_ROLE}).scalars())
    assert enabled and forced
    applying = [p for p in policies if set(p.roles) & app_roles]
    assert applying, "no policy lets the app see its own rows"
    key = _key(table)
    loose = [p.policyname for p in applying
             if f"{key} = current_creator_id()" not in (p.qual or "")
             or (p.with_check is not None and f"{key} = current_creator_id()" not in p.with_check)]
    assert not loose, f"policies for the app that do not pin {key} to the transaction's creator: {loose}"


def test_the_app_roles_hold_no_privilege_that_skips_row_level_security(db: Database) -> None:
    with owner_as(db, None) as conn:
        roles = [APP_ROLE, *conn.execute(sa.text(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
            "WHERE m.member = CAST(:app AS regrole)"), {"app": APP_ROLE}).scalars()]
        for role in roles:
            superuser, bypass = conn.execute(sa.text(
                "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}).one()
            assert not superuser and not bypass, role
            # Owners may switch row-level security off, TRUNCATE ignores it, CREATE on a schema of
            # the search path could shadow the functions the policies call.
            owned = conn.execute(sa.text(
                "SELECT relname FROM pg_class WHERE relowner = CAST(:r AS regrole) "
                "UNION ALL SELECT proname FROM pg_proc WHERE proowner = CAST(:r AS regrole) "
                "UNION ALL SELECT nspname FROM pg_namespace WHERE nspowner = CAST(:r AS regrole)"), {"r": role}).all()
            assert owned == [], f"{role} owns {owned}"
            truncatable = conn.execute(sa.text(
                "SELECT relname FROM pg_class WHERE relnamespace = 'chronos'::regnamespace AND relkind IN ('r', 'p') "
                "AND (has_table_privilege(:r, oid, 'TRUNCATE') OR has_table_privilege(:r, oid, 'TRIGGER'))"),
                {"r": role}).scalars().all()
            assert truncatable == [], f"{role} may TRUNCATE or add triggers to {truncatable}"
            creatable = conn.execute(sa.text(
                "SELECT nspname FROM pg_namespace WHERE nspname IN ('chronos', 'public', 'extensions') "
                "AND has_schema_privilege(:r, oid, 'CREATE')"), {"r": role}).scalars().all()
            assert creatable == [], f"{role} may create objects in {creatable}"
            writable = conn.execute(sa.text(
                "SELECT relname FROM pg_class WHERE relnamespace = 'chronos'::regnamespace AND relname = ANY(:shared) "
                "AND (has_table_privilege(:r, oid, 'INSERT') OR has_table_privilege(:r, oid, 'UPDATE') "
                "OR has_table_privilege(:r, oid, 'DELETE'))"), {"r": role, "shared": sorted(SHARED_TABLES)}
            ).scalars().all()
            assert writable == [], f"{role} may change shared tables {writable}"


def test_every_foreign_key_between_workspace_tables_includes_creator_id(world: World) -> None:
    # A child row whose key names the creator too cannot point at another creator's parent row.
    loose = [f"{t.name}({', '.join(cols)}) -> {parent}" for t in world.tables.values()
             for parent, cols, theirs in t.parents
             if parent != "creators" and not ("creator_id" in cols and theirs[cols.index("creator_id")] == "creator_id")]
    assert not loose


def _executable(conn: Connection, role: str) -> set[str]:
    return set(conn.execute(sa.text("""
        SELECT p.proname FROM pg_proc p
        WHERE p.pronamespace = 'chronos'::regnamespace AND has_function_privilege(:r, p.oid, 'EXECUTE')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.deptype = 'e')"""), {"r": role}).scalars())


def test_the_app_may_execute_only_the_expected_functions(db: Database) -> None:
    with owner_as(db, None) as conn:
        roles = [APP_ROLE] + ([ANALYST_ROLE] if conn.execute(sa.text(
            "SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ANALYST_ROLE}).first() else [])
        for role in roles:
            unexpected = _executable(conn, role) - EXPECTED_EXECUTABLE
            assert not unexpected, f"{role} may execute {sorted(unexpected)}"
            # Anywhere in the database: a security-definer function runs as its owner.
            definers = set(conn.execute(sa.text(
                "SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND has_function_privilege(:r, p.oid, 'EXECUTE')"), {"r": role}).scalars())
            assert definers <= {f"chronos.{name}" for name in DEFINER_ABUSE}, sorted(definers)


@pytest.mark.parametrize("function", SCHEMA.definer_functions)
def test_the_security_definer_function_pins_its_search_path(db: Database, function: str) -> None:
    with owner_as(db, None) as conn:
        configs = conn.execute(sa.text(
            "SELECT proconfig FROM pg_proc WHERE pronamespace = 'chronos'::regnamespace AND proname = :f"),
            {"f": function}).scalars().all()
    assert configs and all(any(c.startswith("search_path=") for c in (config or [])) for config in configs)


@pytest.mark.parametrize("function", SCHEMA.definer_functions)
def test_the_security_definer_function_cannot_reach_b_from_a(world: World, function: str) -> None:
    assert function in DEFINER_ABUSE, f"no abuse case for the security-definer function {function}"
    reached = []
    for variant, sql in DEFINER_ABUSE[function]:
        with app_tx(world.db, world.a.creator) as t:  # rolled back: a claimed video stays queued
            try:
                with t.conn.begin_nested():
                    rows = [dict(r._mapping) for r in t.conn.execute(
                        sa.text(sql), {"b": world.b.creator, "b_email": world.b.email})]
            except DBAPIError:
                continue  # refused: it cannot reach anything
        traces = foreign_traces(rows, world.b_uuids | {world.b.creator}, (world.b.marker, world.b.email))
        if traces:
            reached.append(f"{variant}: {traces}")
    assert not reached, f"{function} under A reaches B: {reached}"


@pytest.mark.parametrize("view", SCHEMA.views)
def test_the_view_shows_nothing_of_b(world: World, view: str) -> None:
    with owner_as(world.db, None) as conn:
        kind, options = conn.execute(sa.text(
            "SELECT relkind, reloptions FROM pg_class WHERE oid = CAST(:v AS regclass)"), {"v": f"chronos.{view}"}).one()
    # A plain view runs as its owner and a materialized one has no row-level security at all.
    assert kind == "v" and "security_invoker=true" in (options or []), (kind, options)
    with app_tx(world.db, world.a.creator) as t:
        rows = [dict(r._mapping) for r in t.conn.execute(sa.text(f"SELECT * FROM chronos.{view}"))]
    assert not foreign_traces(rows, world.b_uuids, (world.b.marker,))
    assert all(r.get("creator_id", world.a.creator) == world.a.creator for r in rows)
    with app_tx(world.db, world.empty_creator()) as t:
        assert is_nothing([dict(r._mapping) for r in t.conn.execute(sa.text(f"SELECT * FROM chronos.{view}"))])


# ------------------------------------------------------------------------------------------------
# Raw SQL on the app's connection, as A
# ------------------------------------------------------------------------------------------------


def _pk(alias: str, info: TableInfo) -> str:
    return "ROW(" + ", ".join(f"{alias}.{_q(c)}" for c in info.primary_key) + ")"


def _same_row(info: TableInfo) -> str:
    return f"{_pk('x', info)} IS NOT DISTINCT FROM {_pk('r', info)}"


def _row_source(info: TableInfo, param: str = "row") -> str:
    return f"json_populate_record(NULL::chronos.{info.name}, CAST(:{param} AS json))"


def _outcome(conn: Connection, sql: str, params: dict) -> list | str:
    """The rows a statement returns, or the SQLSTATE it failed with (in a savepoint)."""
    try:
        with conn.begin_nested():
            result = conn.execute(sa.text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    except DBAPIError as exc:
        return getattr(exc.orig, "sqlstate", None) or type(exc.orig).__name__


@pytest.mark.parametrize("kind", SESSION_KINDS)
@pytest.mark.parametrize("table", TABLES)
def test_raw_sql_as_a_reads_none_of_b(world: World, table: str, kind: str) -> None:
    info = world.tables[table]
    a, b = world.a.creator, world.b.creator
    with owner_as(world.db, a) as conn:
        a_count = conn.execute(sa.text(f"SELECT count(*) FROM chronos.{table} WHERE {info.key} = :a"),
                               {"a": a}).scalar_one()
        owner_stats = conn.execute(sa.text(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'chronos' AND tablename = :t"), {"t": table}).scalar_one()
    key, row = info.key, _row_source(info)
    probes = {
        "B's rows by creator": f"SELECT count(*) FROM chronos.{table} x WHERE x.{key} = :b",
        "anyone's rows but A's": f"SELECT count(*) FROM chronos.{table} x WHERE x.{key} IS DISTINCT FROM :a",
        "B's row by primary key": f"SELECT count(*) FROM chronos.{table} x, {row} r WHERE {_same_row(info)}",
        "B's rows through creators": f"SELECT count(*) FROM chronos.{table} x JOIN chronos.creators c "
                                     f"ON c.id = x.{key} WHERE c.id = :b",
        "B's rows in EXISTS": f"SELECT count(*) FROM (SELECT 1 WHERE EXISTS (SELECT 1 FROM chronos.{table} x "
                              f"WHERE x.{key} = :b)) s",
        "B's rows in a lateral join": f"SELECT count(*) FROM (VALUES (CAST(:b AS uuid))) v(id), LATERAL "
                                      f"(SELECT 1 FROM chronos.{table} x WHERE x.{key} = v.id) l",
    }
    for column in info.uuid_columns:
        probes[f"B's {column}"] = f"SELECT count(*) FROM chronos.{table} x, {row} r WHERE x.{_q(column)} = r.{_q(column)}"
    for parent, cols, theirs in info.parents:
        on = " AND ".join(f"x.{_q(c)} = p.{_q(p)}" for c, p in zip(cols, theirs, strict=True))
        probes[f"joined to {parent}"] = (f"SELECT count(*) FROM chronos.{table} x JOIN chronos.{parent} p ON {on} "
                                         f"WHERE x.{key} = :b OR p.{_key(parent)} = :b")
    if kind == "app":  # the analyst may not lock rows at all
        probes["locking B's rows"] = f"SELECT count(*) FROM (SELECT 1 FROM chronos.{table} x WHERE x.{key} = :b " \
                                     f"FOR UPDATE) s"
    options = {"read_only": True} if kind == "analyst" else {}
    with world.db.workspace(a, **options) as t:
        params = {"a": a, "b": b, "row": info.b_row}
        seen = {label: _outcome(t.conn, sql, params) for label, sql in probes.items()}
        total = t.conn.execute(sa.text(f"SELECT count(*) FROM chronos.{table}")).scalar_one()
        stats = t.conn.execute(sa.text("SELECT count(*) FROM pg_stats WHERE schemaname = 'chronos' AND tablename = :t"),
                               {"t": table}).scalar_one()
        cursor = t.conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY chronos.{table} TO STDOUT") as copy:
            copied = b"".join(bytes(block) for block in copy).decode()
    leaks = {label: out for label, out in seen.items() if out not in ([(0,)], "42501")}
    assert not leaks, f"as A ({kind}) these queries found B's rows: {leaks}"
    # The control: as B, the same queries do find B's rows (so they are not vacuous).
    b_row = json.loads(info.b_row)
    with app_tx(world.db, b) as t:
        blind = [label for label, sql in probes.items()
                 if not (label.startswith("B's ") and label[4:] in b_row
                                                          and b_row[label[4:]] is None)
                 and _outcome(t.conn, sql, params) in ([(0,)], [])]
        cursor = t.conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY chronos.{table} TO STDOUT") as copy:
            assert str(b) in b"".join(bytes(block) for block in copy).decode()
    assert not blind, f"as B these queries find nothing either: {blind}"
    assert total == a_count, "count(*) is not A's own count"
    assert owner_stats > 0 and stats == 0, "pg_stats shows the table's most common values to the app"
    assert str(b) not in copied and world.b.marker not in copied, "COPY TO gave out B's rows"


def test_raw_sql_as_a_through_the_views_and_functions_finds_nothing_of_b(world: World) -> None:
    b = world.b
    probes = {
        "watch time": "SELECT get_student_total_watch_time(:s, :v)",
        "completion": "SELECT get_student_highest_completion(:s, :v)",
        "completed": "SELECT CAST(has_student_completed_video(:s, :v) AS int)",
        "vector search": "SELECT count(*) FROM search_video_chunks((SELECT embedding FROM video_chunks LIMIT 1), "
                         "1000, -1, ARRAY[CAST(:v AS uuid)])",
        "chunks with B's words": "SELECT count(*) FROM video_chunks WHERE search_text @@ plainto_tsquery('english', :m)",
    }
    with world.db.workspace(world.a.creator) as t:
        seen = {label: t.conn.execute(sa.text(sql), {"s": b.student, "v": b.video, "m": b.marker}).scalar_one()
                for label, sql in probes.items()}
        event = _outcome(t.conn, "SELECT track_video_event('video_started', :v, :b)", {"v": b.video, "b": b.creator})
    assert seen == dict.fromkeys(probes, 0)
    assert event == "42501", "track_video_event wrote into B's workspace"


@pytest.mark.parametrize("table", TABLES)
def test_raw_sql_as_a_changes_and_deletes_none_of_b(world: World, table: str) -> None:
    info = world.tables[table]
    key, row, same = info.key, _row_source(info), _same_row(info)
    statements = {
        "update B's rows": f"UPDATE chronos.{table} x SET {key} = x.{key} WHERE x.{key} = :b RETURNING x.{key}",
        "update B's row by key": f"UPDATE chronos.{table} x SET {key} = x.{key} FROM {row} r WHERE {same} "
                                 f"RETURNING x.{key}",
        "update everyone's": f"UPDATE chronos.{table} x SET {key} = x.{key} WHERE x.{key} IS DISTINCT FROM :a "
                             f"RETURNING x.{key}",
        "delete B's rows": f"DELETE FROM chronos.{table} x WHERE x.{key} = :b RETURNING x.{key}",
        "delete B's row by key": f"DELETE FROM chronos.{table} x USING {row} r WHERE {same} RETURNING x.{key}",
        "delete everyone's": f"DELETE FROM chronos.{table} x WHERE x.{key} IS DISTINCT FROM :a RETURNING x.{key}",
    }
    with world.db.workspace(world.a.creator) as t:  # committed, as the app would
        seen = {label: _outcome(t.conn, sql, {"a": world.a.creator, "b": world.b.creator, "row": info.b_row})
                for label, sql in statements.items()}
    reached = {label: out for label, out in seen.items() if out not in ([], "42501")}
    assert not reached, f"as A these statements reached B's rows: {reached}"
    b_unchanged(world)


@pytest.mark.parametrize("table", TABLES)
def test_raw_sql_as_a_cannot_insert_rows_for_b(world: World, table: str) -> None:
    info = world.tables[table]
    columns = ", ".join(_q(c) for c in info.columns)
    copy = f"INSERT INTO chronos.{table} ({columns}) SELECT {columns} FROM {_row_source(info)}"
    # The same row claimed by A, upserted onto B's key: an update of B's row in disguise.
    taken = json.loads(info.b_row)
    taken[info.key] = str(world.a.creator)
    upsert = (f"{copy} ON CONFLICT ({', '.join(_q(c) for c in info.primary_key)}) "
              f"DO UPDATE SET {info.key} = EXCLUDED.{info.key} RETURNING {', '.join(_q(c) for c in info.primary_key)}")
    b_key = tuple(json.loads(info.b_row)[c] for c in info.primary_key)
    with app_tx(world.db, world.a.creator) as t:
        copied = _outcome(t.conn, copy, {"row": info.b_row})
        upserted = _outcome(t.conn, upsert, {"row": json.dumps(taken)})
    assert copied == "42501", f"a copy of B's row was not refused: {copied}"
    assert isinstance(upserted, str) or all(tuple(str(v) for v in r) != tuple(str(v) for v in b_key)
                                            for r in upserted), f"an upsert took B's row over: {upserted}"


@pytest.mark.parametrize("table", TABLES)
def test_raw_sql_as_a_cannot_hand_its_own_row_to_b(world: World, table: str) -> None:
    info = world.tables[table]
    sql = (f"UPDATE chronos.{table} x SET {info.key} = :b FROM {_row_source(info)} r "
           f"WHERE {_same_row(info)} RETURNING x.{info.key}")
    with world.db.workspace(world.a.creator) as t:
        outcome = _outcome(t.conn, sql, {"b": world.b.creator, "row": info.a_row})
    assert outcome == "42501", f"A's row moved to B: {outcome}"
    b_unchanged(world)


# ------------------------------------------------------------------------------------------------
# Every data-module function, as A with B's ids; in an empty workspace; and without RLS
# ------------------------------------------------------------------------------------------------


def test_every_data_function_has_a_separation_case() -> None:
    discovered = {f.name for f in data_functions()}
    missing = sorted(discovered - set(CASES) - set(EXEMPT))
    stale = sorted((set(CASES) | set(EXEMPT)) - discovered)
    assert not missing, f"data functions with no case in tests/workspace_calls.CASES: {missing}"
    assert not stale, f"cases for functions that no longer exist (or take no Workspace): {stale}"


_PRESENT = {f.name for f in data_functions()}
CASE_PARAMS = [pytest.param(name, case, id=f"{name}-{case.variant}") for name, case in case_params()
               if name in _PRESENT]
A_CASES = [p for p in CASE_PARAMS if not p.values[1].empty_only]


def _db_now(world: World):
    with world.db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()


def _tidy(world: World, creator: uuid.UUID, since) -> None:
    """After a case of A: videos it queued go to the trash (nothing may import them: no network
    in tests), and conversations it started are deleted (the assistant's cases keep the question
    and scope they were given, B's secret word and ids, which A's later reads would rightly return)."""
    with world.db.workspace(creator) as t:
        t.conn.execute(sa.text("UPDATE videos SET is_deleted = true WHERE creator_id = :c AND NOT is_deleted "
                               "AND status = ANY(:q)"), {"c": creator, "q": list(QUEUED)})
        t.conn.execute(sa.text("DELETE FROM chat_sessions WHERE creator_id = :c AND created_at >= :since"),
                       {"c": creator, "since": since})


def _call(world: World, ctx: Ctx, case: Case, fn, conn: Connection | None = None):
    if case.database:
        return case.call(ctx, fn)
    if conn is not None:  # the caller's own connection (the owner's, below)
        ctx.t = Workspace(conn, ctx.creator)
        return case.call(ctx, fn)
    if case.commit:
        with world.db.workspace(ctx.creator) as t:
            ctx.t = t
            return case.call(ctx, fn)
    with app_tx(world.db, ctx.creator) as t:
        ctx.t = t
        return case.call(ctx, fn)


def _expect(case: Case, ctx: Ctx, run, *, forbidden: set[uuid.UUID], markers: tuple[str, ...],
            empty_workspace: bool) -> None:
    if case.kind == "refused":
        with pytest.raises(case.raises) as raised:
            run()
        message = str(raised.value).lower()
        assert not [m for m in markers if m in message], f"the error quotes another workspace: {raised.value}"
        return
    result = run()
    scanned = case.scan(result) if case.scan else result
    traces = foreign_traces(scanned, forbidden, markers)
    assert not traces, f"the result holds another workspace's data: {traces[:10]}"
    if case.check:
        assert case.check(result, ctx), f"unexpected result: {result!r}"
    if case.kind == "empty" or (case.kind == "own" and empty_workspace):
        nothing = case.nothing or (lambda r, _c: is_nothing(r))
        assert nothing(result, ctx), f"expected nothing, got {result!r}"


@pytest.mark.parametrize(("name", "case"), A_CASES)
def test_the_data_function_as_a_cannot_reach_b(world: World, name: str, case: Case) -> None:
    ctx = Ctx(None, world.a.creator, world.a, world.b, world.db, world.embedder, world.settings)
    started = _db_now(world)
    try:
        _expect(case, ctx, lambda: _call(world, ctx, case, resolve(name)), forbidden=world.b_uuids,
                markers=(world.b.marker,), empty_workspace=False)
    finally:
        _tidy(world, world.a.creator, started)
    b_unchanged(world)


@pytest.mark.parametrize(("name", "case"), [p for p in CASE_PARAMS if not p.values[1].needs_own])
def test_the_data_function_in_an_empty_workspace_sees_nothing(world: World, name: str, case: Case) -> None:
    # An empty workspace has nothing of its own: whatever it gets back can only be someone else's.
    creator = world.empty_creator()
    with owner_as(world.db, world.a.creator) as conn:
        a_before = fingerprint(conn, world.a.creator)
    ctx = Ctx(None, creator, None, world.b, world.db, world.embedder, world.settings)
    _expect(case, ctx, lambda: _call(world, ctx, case, resolve(name)), forbidden=world.a_uuids | world.b_uuids,
            markers=(world.a.marker, world.b.marker), empty_workspace=True)
    b_unchanged(world)
    with owner_as(world.db, world.a.creator) as conn:
        assert fingerprint(conn, world.a.creator) == a_before, "the call changed A's rows"


@pytest.mark.parametrize(("name", "case"), [p for p in A_CASES if not p.values[1].database])
def test_the_data_function_filters_by_creator_itself(world: World, name: str, case: Case) -> None:
    """The same call on a connection that bypasses row-level security (the superuser owner, in a
    transaction that is rolled back): the function's own ``creator_id`` filters must hold alone,
    as the README promises ("a mistake in one layer is caught by the other")."""
    if not world.owner_bypasses_rls:
        pytest.skip("the database owner is held to row-level security here")
    from pgvector.psycopg import register_vector

    ctx = Ctx(None, world.a.creator, world.a, world.b, world.db, world.embedder, world.settings)
    with world.db.owner_engine.connect() as conn:
        try:
            tx = conn.begin()
            conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(world.a.creator)})
            register_vector(conn.connection.driver_connection)
            before = fingerprint(conn, world.b.creator)
            changed: list[str] = []

            def run():
                with conn.begin_nested():
                    result = _call(world, ctx, case, resolve(name), conn)
                    after = fingerprint(conn, world.b.creator)
                    changed.extend(t for t in after if after[t] != before[t])
                    return result

            _expect(case, ctx, run, forbidden=world.b_uuids, markers=(world.b.marker,), empty_workspace=False)
            assert not changed, f"without row-level security the call changed B's rows in {changed}"
            tx.rollback()
        finally:
            conn.invalidate()  # vector types registered on it; the owner pool does not expect them


@pytest.mark.parametrize("path", ["b_folder", "parent_folder"])
def test_an_upload_cannot_name_a_file_outside_its_workspace_folder(world: World, path: str) -> None:
    from chronos_data.ingest import pipeline

    storage_path = {"b_folder": f"uploads/{world.b.creator}/{uuid.uuid4().hex}/lecture.mp4",
                    "parent_folder": "../../outside.mp4"}[path]
    with app_tx(world.db, world.a.creator) as t:  # rolled back either way
        try:
            pipeline.add_upload_to_transcribe(t, storage_path=storage_path, title="Elsewhere", file_size_bytes=1)
            refused = False
        except ValidationError:
            refused = True
    assert refused, f"a video of A now plays and transcribes {storage_path}"


# ------------------------------------------------------------------------------------------------
# Pooled connections
# ------------------------------------------------------------------------------------------------


class _Abort(Exception):
    pass


@contextmanager
def same_connection(db: Database, pid: int) -> Iterator[Connection]:
    """Check out pooled connections until the one with backend ``pid`` comes back."""
    held: list[Connection] = []
    try:
        for _ in range(16):  # more than the pool's connections
            conn = db.engine.connect()
            if conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() == pid:
                conn.rollback()
                try:
                    yield conn
                finally:
                    conn.close()
                return
            held.append(conn)
        pytest.fail("the pool did not hand the connection back")
    finally:
        for conn in held:
            conn.close()


def _assert_clean(conn: Connection, role: str = APP_ROLE) -> None:
    with conn.begin():
        setting, current, user, temp, cursors = conn.execute(sa.text(
            "SELECT current_setting('chronos.creator_id', true), chronos.current_creator_id(), current_user, "
            "(SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()), "
            "(SELECT count(*) FROM pg_cursors)")).one()
        counts = dict(conn.execute(sa.text(" UNION ALL ".join(
            f"SELECT '{t}', count(*) FROM chronos.{t}" for t in TABLES))).all())
    assert setting in (None, "") and current is None, f"the creator {setting} carried over"
    assert user == role, f"the connection runs as {user}"
    assert temp == 0 and cursors == 0, f"{temp} temporary tables and {cursors} cursors carried over"
    assert not {t: n for t, n in counts.items() if n}, "rows visible without a creator"


def _end_a_transaction(world: World, ending: str) -> int:
    db, a = world.db, world.a.creator
    read_only = {"read_only": True} if ending.startswith("analyst") else {}
    try:
        with db.workspace(a, **read_only) as t:
            pid = t.conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            assert t.conn.execute(sa.text("SELECT count(*) FROM videos")).scalar_one() > 0
            if ending.endswith("exception"):
                raise _Abort
            if ending.endswith("sql_error"):
                t.conn.execute(sa.text("SELECT 1 / 0"))
            if ending == "savepoint_error":
                try:
                    with t.conn.begin_nested():
                        t.conn.execute(sa.text("SELECT 1 / 0"))
                except DBAPIError:
                    pass
            if ending == "temporary_table":
                from chronos_data.viewing.event_batch import EventRow, append_events

                append_events(t, [EventRow("video_imported", world.a.video)])
    except (_Abort, DBAPIError):
        pass
    return pid


ENDINGS = ["commit", "exception", "sql_error", "savepoint_error", "temporary_table"] + (
    ["analyst_commit", "analyst_exception", "analyst_sql_error"] if HAS_ANALYST else [])


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_next_transaction_on_the_pooled_connection_starts_clean(world: World, ending: str) -> None:
    pid = _end_a_transaction(world, ending)
    with same_connection(world.db, pid) as conn:
        _assert_clean(conn)


SESSION_STATE = {
    "session_setting": "SELECT set_config('chronos.creator_id', '{a}', false)",
    "set_command": "SET chronos.creator_id = '{a}'",
    "temporary_table": "CREATE TEMP TABLE stash AS SELECT * FROM videos",
    "held_cursor": "DECLARE stash CURSOR WITH HOLD FOR SELECT * FROM videos",
}


@pytest.mark.parametrize("state", sorted(SESSION_STATE))
def test_session_state_left_on_a_pooled_connection_does_not_reach_the_next_transaction(
        world: World, state: str) -> None:
    with world.db.workspace(world.a.creator) as t:
        pid = t.conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        t.conn.exec_driver_sql(SESSION_STATE[state].format(a=world.a.creator))
    with same_connection(world.db, pid) as conn:
        try:
            _assert_clean(conn)
        finally:
            conn.invalidate()  # never hand the poisoned connection to another test


def test_concurrent_transactions_of_two_creators_never_see_each_other(world: World) -> None:
    db, a, b = world.db, world.a.creator, world.b.creator
    threads, rounds = 16, 200
    errors: list[str] = []
    served: dict[int, set[uuid.UUID]] = defaultdict(set)
    lock = threading.Lock()
    check = sa.text(
        "SELECT pg_backend_pid(), chronos.current_creator_id(), current_user, "
        "(SELECT array_agg(DISTINCT c) FROM (SELECT creator_id FROM videos UNION ALL SELECT creator_id FROM students "
        " UNION ALL SELECT creator_id FROM chat_sessions UNION ALL SELECT creator_id FROM video_watch_sessions "
        " UNION ALL SELECT id FROM creators) s(c))")

    def work(worker: int) -> None:
        for i in range(rounds):
            me = (a, b)[(worker + i) % 2]
            read_only = HAS_ANALYST and i % 7 == 3
            try:
                with db.workspace(me, **({"read_only": True} if read_only else {})) as t:
                    pid, current, user, owners = t.conn.execute(check).one()
                    with lock:
                        served[pid].add(me)
                    if current != me or owners != [me] or user != (ANALYST_ROLE if read_only else APP_ROLE):
                        errors.append(f"worker {worker} round {i}: creator {current}, rows of {owners}, as {user}")
                    if i % 5 == 4:
                        raise _Abort  # a rolled-back transaction returns its connection too
            except _Abort:
                pass

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    assert not errors, errors[:5]
    assert len(served) > 5 and any(len(s) == 2 for s in served.values()), "connections were not shared"


@pytest.mark.parametrize("table", TABLES)
def test_a_connection_without_a_creator_sees_no_rows(world: World, table: str) -> None:
    with world.db.engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM chronos.{table}")).scalar_one() == 0


def _b_rows_visible(conn: Connection, b: uuid.UUID) -> dict[str, int]:
    counts = dict(conn.execute(sa.text(" UNION ALL ".join(
        f"SELECT '{t}', count(*) FROM chronos.{t} WHERE {_key(t)} = :b" for t in TABLES)), {"b": b}).all())
    return {t: n for t, n in counts.items() if n}


def test_the_app_logging_in_as_its_role_cannot_become_the_owner(world: World) -> None:
    """The app logs in as chronos_app itself (embedded mode and DATABASE_URL alike), so no SQL it
    sends can SET or RESET its role to the owner's."""
    with world.db.owner() as conn:
        owner = conn.execute(sa.text("SELECT current_user")).scalar_one()
    with world.db.engine.begin() as conn:
        conn.execute(sa.text("SELECT set_config('chronos.creator_id', :a, true)"), {"a": str(world.a.creator)})
        attempts = {sql: _outcome(conn, sql, {}) for sql in (
            f'SET ROLE "{owner}"', "SET ROLE postgres", f'SET SESSION AUTHORIZATION "{owner}"', "RESET ROLE",
            "SET LOCAL ROLE NONE")}
        logged_in_as = conn.execute(sa.text("SELECT session_user")).scalar_one()
        user = conn.execute(sa.text("SELECT current_user")).scalar_one()
        visible = _b_rows_visible(conn, world.b.creator)
    assert attempts[f'SET ROLE "{owner}"'] == "42501" and attempts[f'SET SESSION AUTHORIZATION "{owner}"'] == "42501"
    assert logged_in_as == APP_ROLE and user == APP_ROLE and not visible


def test_sql_on_the_app_connection_cannot_reset_its_role_to_the_owner_under_database_url(world: World) -> None:
    # The tests' own database is reached through DATABASE_URL: the app logs in as chronos_app itself,
    # so RESET ROLE has no owner to go back to.
    assert world.db.kind == "url"
    with app_tx(world.db, world.a.creator) as t:
        t.conn.execute(sa.text("RESET ROLE"))
        user = t.conn.execute(sa.text("SELECT current_user")).scalar_one()
        visible = _b_rows_visible(t.conn, world.b.creator)
    assert user == APP_ROLE and not visible, f"as {user} A's transaction sees B's rows in {sorted(visible)}"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "inherent limitation: the creator is a transaction setting chronos_app may set to anything, so "
    "row-level security guards against queries that forget their creator filter, not against SQL that "
    "names another creator on the app's connection. Documented in the report."))
def test_sql_on_the_app_connection_cannot_name_another_creator(world: World) -> None:
    with world.db.workspace(world.a.creator) as t:
        t.conn.execute(sa.text("SELECT set_config('chronos.creator_id', :b, true)"), {"b": str(world.b.creator)})
        visible = _b_rows_visible(t.conn, world.b.creator)
        t.conn.execute(sa.text("SELECT set_config('chronos.creator_id', :a, true)"), {"a": str(world.a.creator)})
    assert not visible


# ------------------------------------------------------------------------------------------------
# At the end: B's workspace exactly as it was
# ------------------------------------------------------------------------------------------------


def test_b_workspace_is_unchanged_after_everything(world: World) -> None:
    with owner_as(world.db, world.b.creator) as conn:
        now = fingerprint(conn, world.b.creator, exact=True)
    assert now == world.b_fingerprint, sorted(t for t in now if now[t] != world.b_fingerprint[t])
