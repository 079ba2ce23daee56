"""Event ingest: events per second into video_analytics_events, in bulk and as students watch.

Bulk: generated watch sessions (started, five milestones, completed, at random times of the last
30 days) stored with ``event_batch.append_events`` in batches of 10,000, one transaction each:
binary COPY into a temporary table, then one INSERT checked by row-level security, the foreign
keys and the once-only indexes; also from two connections at once, and with the three indexes
sql/024 dropped put back (the schema before it). Baseline: the same kind of events sent one per
transaction through ``analytics.track_event``, as a naive client would. Sending the batches again
measures the dedupe alone. Three floors show where the time goes: COPY into an unindexed
temporary table (the client and the wire), COPY straight into the table as the superuser with
triggers off (its indexes, without row-level security or foreign-key checks), and the same with
triggers on (+ the foreign-key checks).

Live: simulated viewers calling ``chronos_data.viewing.watching`` as a player would: ``start_viewing``,
five ``report_progress`` calls crossing every milestone, ``end_viewing``; each call is its own
transaction (``db.workspace``), from one thread and from several. The statements a viewer costs and
the rate of empty and one-row transactions show what bounds it.

Collector: ``python -m chronos_data serve`` started as its own process on the same database, fed by
``COLLECTOR_CLIENTS`` HTTP clients on loopback posting JSON Lines batches; every batch is posted
again (all duplicates) and the table must then hold each event exactly once.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from chronos_data import creators, videos
from chronos_data.config import Settings
from chronos_data.db import Database, open_database
from chronos_data.viewing import analytics, watching
from chronos_data.viewing.event_batch import EventRow, append_events

from .machine import describe

__all__ = ["run"]

BATCH = 10_000  # events per append_events call: one transaction, a few MB of COPY
SCALES = {  # bulk events, naive events, viewers per live run
    "full": (200_000, 2_000, 400),
    "quick": (20_000, 300, 64),
}
THREADS = (1, 8)  # live viewers' threads; the engine's pool holds 10 connections
VIDEOS, STUDENTS = 20, 2_000
DURATION_SECONDS = 600
REPORTS = (12, 30, 55, 80, 95)  # % of the video at each progress report: every milestone, then completion
_COLUMNS = ("event_type", "video_id", "student_id", "course_id", "module_id", "metadata", "timestamp")
_DROPPED_BY_024 = (("idx_video_analytics_events_video_fk", "(video_id)"),
                   ("idx_video_analytics_events_student_id", "(student_id) WHERE student_id IS NOT NULL"),
                   ("idx_video_analytics_events_course_fk", "(course_id) WHERE course_id IS NOT NULL"))


def run(repeat: int = 3, *, quick: bool = False) -> str:
    bulk_events, naive_events, viewers = SCALES["quick" if quick else "full"]
    rng = random.Random(20240611)
    with tempfile.TemporaryDirectory(prefix="chronos-bench-") as folder:
        db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": folder}))
        try:
            with db.owner() as conn:
                server = conn.execute(sa.text("SHOW server_version")).scalar_one().split()[0]
            creator, video_ids, student_ids = _workspace(db)

            def sessions(count: int) -> list[EventRow]:
                return _sessions(rng, video_ids, student_ids, count)

            bulk, base = _bulk_section(db, creator, sessions, repeat, bulk_events, naive_events)
            collected = collector(db, creator, video_ids, folder, quick=quick, repeat=repeat)
            sections = [
                bulk,
                _live_section(db, creator, video_ids, student_ids, repeat, viewers),
                "\n".join(collector_lines(collected, base)),
            ]
        finally:
            db.dispose()
    return "\n".join([
        "## Ingest: events per second into video_analytics_events",
        "",
        f"Machine: {describe()}; PostgreSQL {server} (embedded, fsync on). One workspace: {VIDEOS} videos, "
        f"{STUDENTS:,} students; every event is new (fresh watch sessions) unless sent again. Median of {repeat} "
        "runs; other work on the machine shares its cores.",
        "",
        *sections,
    ])


def _bulk_section(db: Database, creator: uuid.UUID, sessions: Callable[[int], list[EventRow]], repeat: int,
                  bulk_events: int, naive_events: int) -> tuple[str, float]:
    """Per-call baseline, ``append_events`` (alone, two connections at once, with the indexes sql/024
    dropped put back), the dedupe alone, and floors that take the checks away one by one; returns the
    Markdown and the baseline's events/s (the other sections' ratios)."""
    with db.owner() as conn:
        superuser = bool(conn.execute(sa.text(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one())
    naive = [_naive(db, creator, sessions(naive_events)) for _ in range(repeat)]
    bulk, resent, parallel, before_024, cpu = [], [], [], [], []

    def fresh(times: list[float], connections: int = 1) -> None:
        events = sessions(bulk_events)
        started = time.process_time()
        seconds, stored = _bulk(db, creator, events, connections=connections)
        assert stored == len(events), (stored, len(events))
        times.append(seconds)
        if times is bulk:
            cpu.append((time.process_time() - started) / len(events))
            seconds, stored = _bulk(db, creator, events)
            assert stored == 0, stored
            resent.append(seconds)

    def with_indexes_before_024() -> None:
        with _indexes_before_024(db):
            fresh(before_024)

    table_floors: dict[str, list[float]] = {"table": [], "table+fk": []} if superuser else {}

    def floor(into: str) -> None:
        table_floors[into].append(_copy_floor(db, creator, sessions(bulk_events), into=into))

    steps = [lambda: fresh(bulk), lambda: fresh(parallel, connections=2), with_indexes_before_024,
             *(lambda into=into: floor(into) for into in table_floors)]
    for number in range(repeat):
        # Every step grows the table (and its indexes) by the same number of events; taking them
        # in turns, each a different one first, keeps the growth from favouring any of them.
        for step in steps[number % len(steps):] + steps[:number % len(steps)]:
            step()
    temp_floor = [_copy_floor(db, creator, sessions(bulk_events), into="temp") for _ in range(repeat)]
    with db.owner() as conn:
        indexes, events_now, index_bytes, buffers = conn.execute(sa.text(
            "SELECT count(*), (SELECT count(*) FROM chronos.video_analytics_events), "
            "sum(pg_relation_size(indexrelid)), current_setting('shared_buffers') FROM pg_index "
            "WHERE indrelid = CAST('chronos.video_analytics_events' AS regclass)")).one()

    def rate(count: int, seconds: list[float]) -> float:
        return count / statistics.median(seconds)

    base, bulk_rate = rate(naive_events, naive), rate(bulk_events, bulk)
    lines = [
        f"### Bulk: {bulk_events:,} events per run in batches of {BATCH:,}",
        "",
        "| path | events | median | events/s | vs baseline |",
        "|---|---:|---:|---:|---:|",
        _row("baseline: one event per transaction (`analytics.track_event`)", naive_events, naive, base),
        _row(f"`append_events`, {BATCH:,} per transaction (binary COPY, then one checked INSERT)", bulk_events,
             bulk, base),
        _row("the same, two connections at once (each its own batches)", bulk_events, parallel, base),
        _row(f"before sql/024: `append_events` with the 3 single-column indexes it dropped ({indexes + 3} indexes)",
             bulk_events, before_024, base),
        _row("the same batches sent again (all duplicates, 0 stored)", bulk_events, resent, base),
        _row("floor: COPY into an unindexed temporary table (client and wire only)", bulk_events, temp_floor, base),
    ]
    if table_floors:
        lines += [
            _row(f"floor: COPY straight into the table as superuser, triggers off ({indexes} indexes; no RLS, "
                 "foreign keys or once-only check)", bulk_events, table_floors["table"], base),
            _row("floor: the same with triggers on (+ 5 foreign-key checks a row)", bulk_events,
                 table_floors["table+fk"], base),
        ]
    return "\n".join([
        *lines,
        "",
        f"The table held {events_now:,} events at the end, its indexes {index_bytes / 2**20:,.0f} MB "
        f"(shared_buffers {buffers}).",
        "",
        f"`append_events`: {statistics.median(cpu) * 1e6:.1f} µs of this process's CPU per event (checks, "
        f"encoding, COPY); the rest of its time is the server's. Its rate is "
        f"{bulk_rate / rate(bulk_events, before_024):.2f}x that with the indexes of before sql/024, "
        f"{bulk_rate / rate(bulk_events, temp_floor):.2f}x the client-and-wire floor.",
        "",
        f"Bulk: **{bulk_rate:,.0f} events/s** in one connection, **{rate(bulk_events, parallel):,.0f} events/s** "
        "in two (target >= 100,000).",
        "",
    ]), base


def _live_section(db: Database, creator: uuid.UUID, video_ids: list[uuid.UUID], student_ids: list[uuid.UUID],
                  repeat: int, viewers: int) -> str:
    """Viewers calling ``chronos_data.viewing.watching``, one transaction per call, from 1 and 8 threads."""
    statements = _statements_per_viewer(db, creator, video_ids, student_ids)
    live = {threads: [_live(db, creator, video_ids, student_ids, viewers, threads, seed)
                      for seed in range(repeat)] for threads in THREADS}
    empty = [_transactions(db, creator, 300, write=False) for _ in range(repeat)]
    one_row = [_transactions(db, creator, 300, write=True) for _ in range(repeat)]
    lines = [
        f"### Live: viewers calling `chronos_data.viewing.watching`, each call its own transaction ({viewers} viewers per run)",
        "",
        "| threads | events | median | events/s | calls/s | client CPU per event |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    calls = len(REPORTS) + 2
    for threads, runs in live.items():
        events = statistics.median(r[0] for r in runs)
        seconds = statistics.median(r[1] for r in runs)
        cpu = statistics.median(r[2] / r[0] for r in runs)
        lines.append(f"| {threads} | {events:,.0f} | {seconds:.2f} s | {events / seconds:,.0f} | "
                     f"{viewers * calls / seconds:,.0f} | {cpu * 1e6:,.0f} µs |")
    best = max(statistics.median(r[0] for r in runs) / statistics.median(r[1] for r in runs)
               for runs in live.values())
    lines += [
        "",
        f"A viewer is {calls} calls, {statements} SQL statements and {calls} commits for "
        f"{len(REPORTS) + 2} events. On the same connection pool: empty transactions (BEGIN, set the "
        f"creator, COMMIT) {300 / statistics.median(empty):,.0f}/s; one-row write transactions (COMMIT waits "
        f"for the WAL flush) {300 / statistics.median(one_row):,.0f}/s.",
        "",
        f"Live: **{best:,.0f} events/s** (target >= 20,000).",
    ]
    return "\n".join(lines)


def _row(label: str, count: int, seconds: list[float], base: float) -> str:
    median = statistics.median(seconds)
    return f"| {label} | {count:,} | {median:.2f} s | {count / median:,.0f} | {count / median / base:.1f}x |"


def _workspace(db: Database) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, f"bench-ingest-{uuid.uuid4().hex[:6]}@example.com")
    with db.workspace(creator) as t:
        video_ids = []
        for i in range(VIDEOS):
            video = videos.create_video(t, title=f"Lesson {i + 1}", source_type="loom", source_id=uuid.uuid4().hex,
                                        duration_seconds=DURATION_SECONDS)
            videos.set_status(t, video, "completed")
            video_ids.append(video)
        students = list(t.conn.execute(
            sa.text("INSERT INTO students (creator_id, email) SELECT :creator, 'student' || n || '@example.com' "
                    "FROM generate_series(1, :count) n RETURNING id"),
            {"creator": creator, "count": STUDENTS}).scalars())
    return creator, video_ids, students


def _sessions(rng: random.Random, video_ids: list[uuid.UUID], student_ids: list[uuid.UUID],
              count: int) -> list[EventRow]:
    """``count`` events of whole watch sessions, as a player's buffer would send them."""
    now = datetime.now(UTC)
    events: list[EventRow] = []
    while len(events) < count:
        session, video, student = str(uuid.uuid4()), rng.choice(video_ids), rng.choice(student_ids)
        start = now - timedelta(seconds=rng.randrange(30 * 86_400))
        events.append(EventRow("video_started", video, start, student,
                               metadata={"session_id": session, "device": "desktop", "referrer": "course_page"}))
        for milestone in watching.MILESTONES:
            seconds = DURATION_SECONDS * milestone // 100
            events.append(EventRow("video_progress", video, start + timedelta(seconds=seconds), student,
                                   metadata={"session_id": session, "milestone": milestone,
                                             "percent_complete": milestone, "watch_time_seconds": seconds}))
        events.append(EventRow("video_completed", video, start + timedelta(seconds=DURATION_SECONDS), student,
                               metadata={"session_id": session, "percent_complete": 100,
                                         "watch_time_seconds": DURATION_SECONDS}))
    return events[:count]


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _naive(db: Database, creator: uuid.UUID, events: list[EventRow]) -> float:
    def send() -> None:
        for e in events:
            with db.workspace(creator) as t:
                analytics.track_event(t, e.event_type, e.video_id, student_id=e.student_id,
                                      metadata=dict(e.metadata or {}), timestamp=e.timestamp)

    return _timed(send)


def _bulk(db: Database, creator: uuid.UUID, events: list[EventRow], *, connections: int = 1) -> tuple[float, int]:
    """Seconds to store ``events`` in batches of ``BATCH``, from ``connections`` threads at once
    (each its own batches), and how many were stored."""
    stored = 0
    lock = threading.Lock()

    def send(batches: list[list[EventRow]]) -> None:
        nonlocal stored
        for batch in batches:
            with db.workspace(creator) as t:
                count = append_events(t, batch)
            with lock:
                stored += count

    batches = [events[first:first + BATCH] for first in range(0, len(events), BATCH)]
    workers = [threading.Thread(target=send, args=(batches[i::connections],)) for i in range(connections)]

    def run_all() -> None:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    return _timed(run_all), stored


@contextmanager
def _indexes_before_024(db: Database) -> Iterator[None]:
    """The single-column indexes sql/024_event_indexes.sql dropped, put back for a measurement."""
    with db.owner() as conn:
        for name, definition in _DROPPED_BY_024:
            conn.execute(sa.text(f"CREATE INDEX {name} ON chronos.video_analytics_events {definition}"))
    try:
        yield
    finally:
        with db.owner() as conn:
            for name, _ in _DROPPED_BY_024:
                conn.execute(sa.text(f"DROP INDEX chronos.{name}"))


def _copy_floor(db: Database, creator: uuid.UUID, events: list[EventRow], *, into: str) -> float:
    """COPY the events without the batch path's checks: ``temp``, into an unindexed temporary table
    as the app; ``table``, straight into the table as the superuser with triggers (foreign keys)
    off; ``table+fk``, the same with them on."""
    names = ", ".join(f'"{c}"' for c in _COLUMNS)

    def send() -> None:
        for first in range(0, len(events), BATCH):
            with db.owner() as conn:
                if into == "temp":
                    conn.execute(sa.text("CREATE TEMP TABLE ingest_floor (LIKE chronos.video_analytics_events "
                                         "INCLUDING DEFAULTS) ON COMMIT DROP"))
                    target = "ingest_floor"
                else:
                    if into == "table":
                        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                    target = "chronos.video_analytics_events"
                cursor = conn.connection.driver_connection.cursor()
                with cursor.copy(f"COPY {target} (creator_id, {names}) FROM STDIN") as copy:
                    for e in events[first:first + BATCH]:
                        copy.write_row((creator, e.event_type, e.video_id, e.student_id, e.course_id, e.module_id,
                                        json.dumps(e.metadata or {}), e.timestamp))

    return _timed(send)


def _viewer(db: Database, creator: uuid.UUID, video: uuid.UUID, student: uuid.UUID) -> None:
    with db.workspace(creator) as t:
        session = watching.start_viewing(t, video, student, device_type="desktop", referrer_type="course_page")
    for percent in REPORTS:
        seconds = DURATION_SECONDS * percent / 100
        with db.workspace(creator) as t:
            watching.report_progress(t, session, position_seconds=seconds, watched_seconds=seconds)
    with db.workspace(creator) as t:
        watching.end_viewing(t, session)


def _event_count(db: Database) -> int:
    with db.owner() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM chronos.video_analytics_events")).scalar_one()


def _live(db: Database, creator: uuid.UUID, video_ids: list[uuid.UUID], student_ids: list[uuid.UUID],
          viewers: int, threads: int, seed: int) -> tuple[int, float, float]:
    """(events stored, wall seconds, this process's CPU seconds) for ``viewers`` viewers on ``threads``."""
    def watch(worker: int) -> None:
        rng = random.Random(seed * 1_000 + worker)
        for _ in range(viewers // threads):
            _viewer(db, creator, rng.choice(video_ids), rng.choice(student_ids))

    before = _event_count(db)
    workers = [threading.Thread(target=watch, args=(i,)) for i in range(threads)]
    cpu, started = time.process_time(), time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return _event_count(db) - before, seconds, cpu


def _statements_per_viewer(db: Database, creator: uuid.UUID, video_ids: list[uuid.UUID],
                           student_ids: list[uuid.UUID]) -> int:
    count = 0

    def counted(*_args: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(db.engine, "before_cursor_execute", counted)
    try:
        _viewer(db, creator, video_ids[0], student_ids[-1])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counted)
    return count


def _transactions(db: Database, creator: uuid.UUID, count: int, *, write: bool) -> float:
    def send() -> None:
        for _ in range(count):
            with db.workspace(creator) as t:
                if write:  # a row of a long-gone day, so the rollups are not disturbed
                    t.conn.execute(sa.text("INSERT INTO rollup_days (creator_id, date) VALUES (:creator, '2000-01-01') "
                                           "ON CONFLICT (creator_id, date) DO UPDATE SET rolled_at = now()"),
                                   {"creator": creator})

    return _timed(send)


# ------------------------------------------------------------------------------------------------
# The collector: N HTTP clients on loopback posting batches to `python -m chronos_data serve`
# ------------------------------------------------------------------------------------------------

COLLECTOR_CLIENTS = 8  # concurrent senders, each posting its batches one after another
COLLECTOR_BATCH = 1_000  # events per POST: a busy site's or server's flush
COLLECTOR_EVENTS = {"full": 200_000, "quick": 40_000}


def collector(db: Database, creator: uuid.UUID, video_ids: list[uuid.UUID], folder: str, *, quick: bool,
              repeat: int) -> dict[str, object]:
    """Events/s through the collector, run as its own process on this data folder's database (as an
    operator runs it), fed by ``COLLECTOR_CLIENTS`` threads posting JSON Lines batches; every batch
    is then sent again and must store nothing (exactly once), and the table must hold each event once."""
    import concurrent.futures
    import os
    import signal
    import socket
    import subprocess
    import sys

    import httpx

    from chronos_data.collector import keys

    with db.workspace(creator) as t:
        key = keys.create_key(t, f"bench {uuid.uuid4().hex[:6]}").key
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CHRONOS_APP_DATABASE_URL"}}
    env.update(CHRONOS_DATA_DIR=folder, CHRONOS_IMPORT_WORKER="off")
    server = subprocess.Popen([sys.executable, "-m", "chronos_data", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    total = COLLECTOR_EVENTS["quick" if quick else "full"]
    rng = random.Random(7)
    now = datetime.now(UTC)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the collector did not start: {server.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the collector did not answer /healthz within 120 s")
            time.sleep(0.1)

        def batches() -> list[bytes]:
            out = []
            for _ in range(total // COLLECTOR_BATCH):
                lines = [json.dumps({"id": str(uuid.uuid4()), "type": "video_progress",
                                     "video": str(rng.choice(video_ids)),
                                     "student_email": f"student{rng.randint(1, STUDENTS)}@example.com",
                                     "timestamp": (now - timedelta(seconds=rng.randint(60, 30 * 86400))).isoformat(),
                                     "percent_complete": rng.choice((10, 25, 50, 75, 90)),
                                     "watch_time_seconds": rng.randint(0, DURATION_SECONDS)})
                         for _ in range(COLLECTOR_BATCH)]
                out.append(("\n".join(lines) + "\n").encode())
            return out

        def post_all(bodies: list[bytes]) -> tuple[float, int, int, float]:
            def client(share: list[bytes]) -> tuple[int, int]:
                stored = duplicates = 0
                with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
                    for body in share:
                        while True:
                            answer = http.post("/v1/events", content=body)
                            if answer.status_code != 429:
                                break
                            time.sleep(float(answer.headers.get("retry-after", "1")))
                        answer.raise_for_status()
                        result = answer.json()
                        assert not result["rejected"], result["rejected"][:3]
                        stored += result["stored"]
                        duplicates += result["duplicates"]
                return stored, duplicates

            cpu = time.process_time()
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(COLLECTOR_CLIENTS) as pool:
                results = list(pool.map(client, [bodies[i::COLLECTOR_CLIENTS] for i in range(COLLECTOR_CLIENTS)]))
            return (time.perf_counter() - started, sum(r[0] for r in results), sum(r[1] for r in results),
                    time.process_time() - cpu)

        runs, resent, client_cpu = [], [], []
        server_cpu_before = _cpu_of(server.pid)
        for _ in range(repeat):
            bodies = batches()
            seconds, stored, duplicates, cpu = post_all(bodies)
            assert (stored, duplicates) == (total, 0), (stored, duplicates)
            runs.append(seconds)
            client_cpu.append(cpu)
            seconds, stored, duplicates, _ = post_all(bodies)
            assert (stored, duplicates) == (0, total), (stored, duplicates)
            resent.append(seconds)
        server_cpu = (_cpu_of(server.pid) - server_cpu_before) / (2 * repeat)
        with db.workspace(creator) as t:
            held = t.conn.execute(sa.text(
                "SELECT count(*), count(DISTINCT metadata ->> 'import_key') FROM video_analytics_events "
                "WHERE creator_id = :c AND event_type = 'video_progress' AND metadata ? 'import_key'"),
                {"c": creator}).one()
        assert held[0] == held[1] == total * repeat, held  # each event stored exactly once
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
    return {"events": total, "runs": runs, "resent": resent, "client_cpu": statistics.median(client_cpu),
            "server_cpu": server_cpu}


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux /proc)."""
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def collector_lines(collected: dict[str, object], base: float) -> list[str]:
    """The collector's section of the report."""
    events = collected["events"]
    runs, resent = collected["runs"], collected["resent"]
    rate = events / statistics.median(runs)
    return [
        "",
        f"### Collector: {COLLECTOR_CLIENTS} HTTP clients on loopback, {COLLECTOR_BATCH:,} events per POST "
        f"(`python -m chronos_data serve`)",
        "",
        "| path | events | median | events/s | vs baseline |",
        "|---|---:|---:|---:|---:|",
        _row("POST /v1/events, group commit (`append_events` per ~50 ms)", events, runs, base),
        _row("the same batches posted again (all duplicates, 0 stored)", events, resent, base),
        "",
        f"CPU per run: collector process {collected['server_cpu']:.1f} s, clients {collected['client_cpu']:.1f} s "
        f"(the machine's cores are shared by both and PostgreSQL). Every event was stored exactly once.",
        "",
        f"Collector: **{rate:,.0f} events/s** (target >= 20,000).",
    ]
