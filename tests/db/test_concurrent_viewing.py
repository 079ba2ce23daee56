"""Concurrent viewing: eight threads record events for two workspaces, some of them twice (in turn
or at the same moment), while dashboards read and roll up; every event is stored exactly once, in
the workspace that sent it. Bounded by counts, never by time (``python -m bench load`` measures).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from chronos_data import students, videos, workspace
from chronos_data.db import Database
from chronos_data.viewing import dashboards, rollups, watching
from chronos_data.viewing.event_batch import EventRow, append_events
from tests.conftest import new_creator

pytestmark = pytest.mark.timeout(120)  # a deadlock fails the test instead of hanging the run

WATCHERS = 4  # threads recording through chronos_data.viewing.watching, one transaction per call
FEEDERS = 4  # threads storing batches through event_batch.append_events, in pairs
SESSIONS = 16  # per watcher
BATCHES, BATCH = 16, 35  # per feeder pair; events per batch (whole sessions of 7 events)
READERS, ROUNDS = 2, 12  # dashboard readers, page loads each
VIDEOS, STUDENTS, DURATION = 3, 8, 300


class Workspace:
    def __init__(self, db: Database, label: str) -> None:
        self.creator = new_creator(db, label)
        with db.workspace(self.creator) as t:
            self.videos = []
            for i in range(VIDEOS):
                video = videos.create_video(t, title=f"{label} lesson {i + 1}", source_type="loom",
                                            source_id=uuid.uuid4().hex, duration_seconds=DURATION)
                videos.set_status(t, video, "completed")
                self.videos.append(video)
            self.students = [students.create_student(t, f"student{i}@{label}.example.com") for i in range(STUDENTS)]


class Sent:
    """What the threads sent and must find stored once: keys -> the creator that sent them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.live: dict[tuple[str, str, str], uuid.UUID] = {}  # (session, event type, milestone)
        self.sessions: dict[str, uuid.UUID] = {}
        self.keys: dict[str, uuid.UUID] = {}  # feed import keys
        self.submitted = self.reported = 0  # events handed to append_events, and what it said it stored
        self.errors: list[BaseException] = []


def _watcher(db: Database, spaces: list[Workspace], sent: Sent, number: int) -> None:
    """Whole sessions through ``watching``, alternating workspaces; every third progress report and
    every end sent twice. This thread's students are its own, so it knows which starts are rewatches."""
    rng = random.Random(number)
    completed: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for n in range(SESSIONS):
        space = spaces[(number + n) % len(spaces)]
        student, video = rng.choice(space.students[number::WATCHERS]), rng.choice(space.videos)
        with db.workspace(space.creator) as t:
            session = watching.start_viewing(t, video, student, device_type="mobile", referrer_type="course_page")
        sid = str(session)
        expected = [(sid, "video_started", "")]
        if (student, video) in completed:
            expected.append((sid, "video_rewatched", ""))
        stop_at = DURATION if n % 3 == 0 else rng.uniform(10, DURATION)
        position, reports = 0.0, 0
        while position < stop_at:
            position = min(stop_at, position + rng.uniform(20, 70))
            reports += 1
            for _ in range(2 if reports % 3 == 0 else 1):
                with db.workspace(space.creator) as t:
                    watching.report_progress(t, session, position_seconds=position, watched_seconds=position)
        for _ in range(2):
            with db.workspace(space.creator) as t:
                watching.end_viewing(t, session)
        percent = min(100, int(position * 100 // DURATION))
        expected += [(sid, "video_progress", str(m)) for m in watching.MILESTONES if m <= percent]
        if percent >= watching.COMPLETION_PERCENT:
            expected.append((sid, "video_completed", ""))
            completed.add((student, video))
        with sent.lock:
            sent.sessions[sid] = space.creator
            sent.live.update((key, space.creator) for key in expected)


def _plan(spaces: list[Workspace], run: str, rng: random.Random) -> list[tuple[Workspace, list[EventRow]]]:
    """A feeder pair's batches, alternating workspaces: whole sessions, each event with its own key."""
    batches = []
    for k in range(BATCHES):
        space, events = spaces[k % len(spaces)], []
        while len(events) < BATCH:
            session, video, student = str(uuid.uuid4()), rng.choice(space.videos), rng.choice(space.students)
            shape = [("video_started", None), *(("video_progress", m) for m in watching.MILESTONES),
                     ("video_completed", None)]
            for event_type, milestone in shape:
                metadata = {"import_key": uuid.uuid4().hex, "test_run": run, "session_id": session}
                if milestone is not None:
                    metadata["milestone"] = milestone
                events.append(EventRow(event_type, video, None, student, metadata=metadata))
        if k == 1:
            events.append(events[0])  # a duplicate inside one batch
        batches.append((space, events))
    return batches


def _feeder(db: Database, plan: list[tuple[Workspace, list[EventRow]]], barrier: threading.Barrier, sent: Sent,
            member: int) -> None:
    """One of a pair: every third batch both send at the same moment, in opposite orders; the others
    one sends, and every fourth of those is sent again at once, shuffled (a retry after a lost reply)."""
    rng = random.Random(100 + member)
    for k, (space, events) in enumerate(plan):
        if k % 3 == 0:  # a retry racing the first try, in another order: must wait, not deadlock
            barrier.wait()
            sends = [events if member == 0 else events[::-1]]
        elif k % 2 == member:
            sends = [events, rng.sample(events, len(events))] if k % 4 == 1 else [events]
        else:
            continue
        for batch in sends:
            with db.workspace(space.creator) as t:
                stored = append_events(t, batch)
            with sent.lock:
                sent.submitted += len(batch)
                sent.reported += stored
        with sent.lock:
            sent.keys.update((e.metadata["import_key"], space.creator) for e in events)


def _reader(db: Database, spaces: list[Workspace], sent: Sent, number: int, checked: Counter) -> None:
    """The dashboards' reads and rollups, alternating workspaces: each sees its own videos only."""
    today = datetime.now(UTC).date()
    f = dashboards.Filters(today - timedelta(days=29), today)
    for n in range(ROUNDS):
        space, other = spaces[(number + n) % len(spaces)], spaces[(number + n + 1) % len(spaces)]
        with db.workspace(space.creator) as t:
            viewing = workspace.has_viewing(t)
        if viewing and n % 3 == 0:
            with db.workspace(space.creator) as t:
                rollups.rollup(t)
        with db.workspace(space.creator) as t:
            dashboards.kpis(t, f)
            dashboards.views_over_time(t, f, "day")
            dashboards.breakdown(t, f, "device")
            top = dashboards.top_videos(t, f)
            assert set(top["video_id"]) <= set(space.videos), "another workspace's video in the top list"
            foreign = dashboards.retention_curve(t, other.videos[0], f)
            assert not foreign["sessions"].any(), "another workspace's retention was readable"
        with sent.lock:
            checked[space.creator] += 1


def _run(target, *args) -> threading.Thread:
    return threading.Thread(target=target, args=args)


def test_events_from_many_threads_are_stored_exactly_once_in_their_own_workspace(db: Database):
    spaces = [Workspace(db, "alpha"), Workspace(db, "beta")]
    run, sent, checked = uuid.uuid4().hex, Sent(), Counter()
    rng = random.Random(7)
    plans = [_plan(spaces, run, rng) for _ in range(FEEDERS // 2)]
    barriers = [threading.Barrier(2, timeout=60) for _ in plans]

    def guarded(target):
        def call(*args):
            try:
                target(*args)
            except BaseException as exc:  # reported by the test below
                with sent.lock:
                    sent.errors.append(exc)
                for barrier in barriers:
                    barrier.abort()  # the partner thread stops waiting too
        return call

    threads = [_run(guarded(_watcher), db, spaces, sent, i) for i in range(WATCHERS)]
    threads += [_run(guarded(_feeder), db, plans[i // 2], barriers[i // 2], sent, i % 2) for i in range(FEEDERS)]
    threads += [_run(guarded(_reader), db, spaces, sent, i, checked) for i in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sent.errors == [], sent.errors
    assert sum(checked.values()) == READERS * ROUNDS

    creators_ = [s.creator for s in spaces]
    with db.owner() as conn:
        live = conn.execute(sa.text("""
            SELECT e.creator_id, coalesce(e.metadata ->> 'session_id', e.metadata ->> 'rewatch_session_id') AS sid,
                   e.event_type, coalesce(e.metadata ->> 'milestone', '') AS milestone, count(*) AS n
            FROM chronos.video_analytics_events e
            WHERE e.creator_id = ANY (:c) AND NOT e.metadata ? 'import_key'
            GROUP BY 1, 2, 3, 4"""), {"c": creators_}).all()
        feed = conn.execute(sa.text("""
            SELECT e.creator_id, e.metadata ->> 'import_key' AS key, count(*) AS n
            FROM chronos.video_analytics_events e WHERE e.metadata ->> 'test_run' = :run GROUP BY 1, 2"""),
            {"run": run}).all()
        sessions = dict(conn.execute(sa.text(
            "SELECT id::text, creator_id FROM chronos.video_watch_sessions WHERE creator_id = ANY (:c)"),
            {"c": creators_}).all())
        crossed = conn.execute(sa.text("""
            SELECT count(*) FROM chronos.video_analytics_events e
            JOIN chronos.videos v ON v.id = e.video_id JOIN chronos.students s ON s.id = e.student_id
            WHERE e.creator_id = ANY (:c) AND (v.creator_id <> e.creator_id OR s.creator_id <> e.creator_id)"""),
            {"c": creators_}).scalar_one()

    # The player's path: each expected event once, nothing else, in the session's own workspace.
    assert len(sent.sessions) == WATCHERS * SESSIONS
    assert sessions == {sid: creator for sid, creator in sent.sessions.items()}
    assert [row for row in live if row.n != 1] == []
    assert {(r.sid, r.event_type, r.milestone): r.creator_id for r in live} == sent.live
    # The feed's path: every key once, in the workspace that sent it, however often and however it was re-sent.
    assert len(sent.keys) == len({e.metadata["import_key"] for plan in plans for _, events in plan for e in events})
    assert [row for row in feed if row.n != 1] == []
    assert sent.reported == len(sent.keys) < sent.submitted  # re-sends happened, and stored nothing
    assert {r.key: r.creator_id for r in feed} == sent.keys
    assert crossed == 0

    for space in spaces:
        with db.workspace(space.creator) as t:  # row-level security: a workspace sees its own rows only
            visible = t.conn.execute(sa.text(
                "SELECT count(*) FILTER (WHERE metadata ->> 'test_run' = :run), count(DISTINCT creator_id) "
                "FROM video_analytics_events"), {"run": run}).one()
            assert tuple(visible) == (sum(1 for c in sent.keys.values() if c == space.creator), 1)
            rollups.rollup(t)  # after the writers: the rollups count each stored start once
            rolled = t.conn.execute(sa.text("SELECT coalesce(sum(views), 0) FROM video_analytics")).scalar_one()
            started = t.conn.execute(sa.text(
                "SELECT count(*) FROM video_analytics_events WHERE event_type = 'video_started'")).scalar_one()
            assert rolled == started > 0


def test_a_rollup_during_an_uncommitted_import_of_a_past_day_does_not_finalise_it_without_those_events(db):
    space = Workspace(db, "race")
    day = (datetime.now(UTC) - timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    first = [EventRow("video_started", space.videos[0], day, space.students[i]) for i in range(3)]
    late = [EventRow("video_started", space.videos[0], day + timedelta(minutes=5), space.students[i])
            for i in range(3, 7)]
    with db.workspace(space.creator) as t:
        append_events(t, first)
        rollups.rollup(t)  # the day is now final with 3 views

    rolled = threading.Event()
    with db.workspace(space.creator) as importing:
        append_events(importing, late)  # marks the day stale, and is not committed yet
        roller = threading.Thread(target=lambda: (_roll(db, space.creator), rolled.set()))
        roller.start()
        # The rollup waits for this import: while it waits, nothing it could write exists yet.
        assert not rolled.wait(1.0)
    roller.join(timeout=60)
    assert rolled.is_set()

    with db.workspace(space.creator) as t:
        rollups.rollup(t)
        views = t.conn.execute(sa.text("SELECT coalesce(sum(views), 0) FROM video_analytics WHERE creator_id = :c "
                                       "AND date = :d"), {"c": space.creator, "d": day.date()}).scalar_one()
    assert views == 7


def _roll(db: Database, creator: uuid.UUID) -> None:
    with db.workspace(creator) as t:
        rollups.rollup(t)


def test_two_reports_of_one_session_at_once_keep_both_played_ranges(db):
    # Played ranges are read, merged and written back: a report that read them while another was
    # uncommitted would write a union without the other's ranges (a jump's two halves, one lost).
    space = Workspace(db, "ranges")
    with db.workspace(space.creator) as t:
        session = watching.start_viewing(t, space.videos[0], space.students[0])
    done = threading.Event()

    def second_report() -> None:
        with db.workspace(space.creator) as t:
            watching.report_progress(t, session, position_seconds=250, watched_seconds=90, played=[[200, 250]])
        done.set()

    with db.workspace(space.creator) as first:
        watching.report_progress(first, session, position_seconds=40, watched_seconds=40, played=[[0, 40]])
        reporter = threading.Thread(target=second_report)
        reporter.start()
        # The second report waits for this one's row lock; poll until Postgres says it does.
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        with db.engine.connect() as watcher:
            while not watcher.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one():
                assert not done.is_set(), "the second report did not wait for the first"
                assert datetime.now(UTC) < deadline, "the second report never started"
                watcher.rollback()
    reporter.join(timeout=60)
    assert done.is_set()
    with db.workspace(space.creator) as t:
        played, percent = t.conn.execute(sa.text(
            "SELECT metadata -> 'played', percent_complete FROM video_watch_sessions WHERE id = :s"),
            {"s": session}).one()
    assert played == [[0, 40], [200, 250]] and percent == 30  # 90 s of 300


def test_two_first_events_of_one_viewing_at_once_open_one_session(db):
    space = Workspace(db, "viewing")
    video, student = space.videos[0], space.students[0]
    event = {"kind": "play", "viewing": "replay-1", "position": 0, "watched": 0, "duration": DURATION, "played": []}
    results: list[watching.PlayerViewing] = []

    def second_event() -> None:
        with db.workspace(space.creator) as t:
            results.append(watching.record_player_event(t, {**event, "kind": "progress", "played": [[0, 1]]}, None,
                                                        video_id=video, student_id=student))

    with db.workspace(space.creator) as first:
        mine = watching.record_player_event(first, event, None, video_id=video, student_id=student)
        recorder = threading.Thread(target=second_event)
        recorder.start()
        # The second waits for the first's session; poll until Postgres says it waits.
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        with db.engine.connect() as watcher:
            while not watcher.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one():
                assert not results, "the second event did not wait for the first"
                assert datetime.now(UTC) < deadline, "the second event never started"
                watcher.rollback()
    recorder.join(timeout=60)
    assert results == [mine]
    with db.workspace(space.creator) as t:
        count = t.conn.execute(sa.text("SELECT count(*) FROM video_watch_sessions WHERE video_id = :v"),
                               {"v": video}).scalar_one()
    assert count == 1
