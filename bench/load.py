"""Load: concurrent dashboard users and a stream of watch events, on one process's engine.

One process, one ``Database`` from ``open_database`` (one pooled app engine: 5 connections plus 5
of overflow), shared by every thread, as one Streamlit process shares it between its browser
sessions. Into a fresh embedded database go the demo workspace and a few smaller demo workspaces
of other creators (many workspaces). Then, for a fixed time:

* simulated **dashboard users** load the Analytics page (70 %) or the Overview page (30 %) of a
  random workspace (half the main demo, half the others), calling exactly what those pages call
  through ``chronos_data`` (the app.py sidebar's ``creators.get_creator``, the rollup refresh, the
  page's load, ``page_data.analytics_page`` or ``overview_page``, every ``dashboards`` query of every
  tab, with random filters and clicks), one transaction per call as the pages do, then think for 0.5-2 s. The rollup refresh
  is modelled as the app's ``st.cache_data`` makes it: once per workspace per 30-second window in
  the process, concurrent callers waiting for the one computing it. The query results cache is
  not modelled: every query reaches the database (the case of a user whose filters differ from
  everyone's, or of any user right after the rollup moved "data as of"); what that cache would
  have answered from memory is reported instead;
* **simulated students** watch lessons through ``chronos_data.viewing.watching`` (``start_viewing``,
  ``report_progress``, ``report_rewind``, ``end_viewing``; one transaction per call, as the
  Student preview page records), and **a feed** stores buffered events with
  ``event_batch.append_events`` (batches of 50, each event with its own ``import_key``). About
  10 % of the calls and batches are sent again, as a client retrying after a lost reply would:
  the same call at once; a batch either at once or, shuffled, from the other feed thread.

A one-user phase with the same event stream is measured first in the same process: the baseline
of the latency ratios. At the end the database is asked what it holds: every event sent is stored
exactly once, in its own creator's workspace.
"""

from __future__ import annotations

import itertools
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import psutil
import sqlalchemy as sa

from chronos_data import creators, page_data, periods
from chronos_data.config import Settings
from chronos_data.db import Database, Workspace, open_database
from chronos_data.demo import load_demo
from chronos_data.embeddings import LocalEmbedder
from chronos_data.insights import timeline
from chronos_data.viewing import dashboards, rollups, watching
from chronos_data.viewing.analytics import DEVICE_TYPES, REFERRER_TYPES
from chronos_data.viewing.event_batch import EventRow, append_events

from .machine import describe

__all__ = ["run"]

# What the pages do (components/analytics_data.py; not imported: importing Streamlit's caches outside a
# running app logs warnings).
ROLLUP_SECONDS = 30  # analytics_data.ROLLUP_SECONDS: a page rolls up today at most this often
CACHE_SECONDS = 600  # analytics_data.CACHE_SECONDS: the query cache's time to live
CACHE_ENTRIES = 500  # analytics_data._run's max_entries
_CACHED = frozenset({"kpis", "views_over_time", "engagement_heatmap", "top_videos", "retention_curve",
                     "typical_retention", "course_funnel", "at_risk_students", "student_progress", "breakdown",
                     "costs", "lesson_stats"})

THINK_SECONDS = (0.5, 2.0)  # between page loads: a creator reads a chart, then changes a filter
ANALYTICS_SHARE = 0.7  # of page loads; the rest open the Overview
CLICK_SHARE = 0.2  # page loads that also click a bar, select a student, a video, or add a comparison
# Period choices; 30 days is the page's default.
PRESETS = ("Last 7 days", "Last 30 days", "Last 30 days", "Last 30 days", "Last 90 days", "Last 365 days",
           periods.ALL_TIME)
GRANULARITIES = ("day", "day", "week", "month")

LIVE_THREADS = 4  # students watching through chronos_data.viewing.watching
FEED_THREADS = 2  # a buffered feed through event_batch.append_events
FEED_BATCH = 50  # events per append_events call: a player's buffer flushed every few seconds
FEED_PAUSE_SECONDS = 0.2
REPORT_PAUSE_SECONDS = (0.02, 0.1)  # between a student's player calls (a player reports every few seconds;
#                                     compressed so that four threads stand for many students)
RETRY_SHARE = 0.1  # calls and batches sent again, as after a lost reply
OVERLAP_SHARE = 0.2  # feed batches that also carry 5 events of the thread's previous batch
REWIND_SHARE = 0.15
STREAM_STUDENTS = 200  # fresh students per workspace for the stream (no history: rewatches are predictable)
ATTEMPTS = 3  # a client retries a call that failed (an error, a pool timeout) this many times in all

SCALES = {  # main demo, other workspaces (students, days), baseline seconds, default seconds
    "full": ({"events": 200_000}, [{"students": 100, "days": 30}] * 3, None, 120),
    "quick": ({"students": 100, "days": 14}, [{"students": 30, "days": 7}], 4, 8),
}


# --- the workspaces -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Lesson:
    course_id: uuid.UUID
    module_id: uuid.UUID
    video_id: uuid.UUID
    duration: int


@dataclass
class LoadedWorkspace:
    index: int
    creator_id: uuid.UUID
    label: str
    events: int
    students: int
    lessons: list[Lesson]
    stream_students: list[uuid.UUID]  # fresh students for the stream


def _workspaces(db: Database, quick: bool) -> list[LoadedWorkspace]:
    main, others, _, _ = SCALES["quick" if quick else "full"]
    embedder = LocalEmbedder()
    made = [load_demo(db, embedder, email="demo-load@chronos.localhost", **main)]
    made += [load_demo(db, embedder, seed=number, email=f"demo-load-{number}@chronos.localhost", **size)
             for number, size in enumerate(others, start=2)]
    result = []
    for index, demo in enumerate(made):
        with db.workspace(demo.creator_id) as t:
            lessons = [Lesson(*row) for row in t.conn.execute(sa.text(
                "SELECT m.course_id, l.module_id, l.video_id, v.duration_seconds FROM module_lessons l "
                "JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id "
                "JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id "
                "WHERE l.creator_id = :c ORDER BY m.course_id, l.module_id, l.lesson_order"), {"c": demo.creator_id})]
            students = list(t.conn.execute(sa.text(
                "INSERT INTO students (creator_id, email) SELECT :c, 'stream' || n || '@load.example.com' "
                "FROM generate_series(1, :n) n RETURNING id"), {"c": demo.creator_id, "n": STREAM_STUDENTS}).scalars())
        result.append(LoadedWorkspace(index, demo.creator_id, "main demo" if index == 0 else f"demo {index + 1}",
                                demo.events, demo.students, lessons, students))
    return result


# --- measuring ----------------------------------------------------------------------------------

PAGE_FIRST, PAGE_NEXT = "a page's first transaction", "a page's next transactions"


@dataclass
class Recorder:
    """One thread's measurements (merged after the phase: no lock on the hot path)."""

    calls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # ms, connection wait included
    pages: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # ms from asking for a transaction to being inside it (pool checkout with its pre-ping, BEGIN, the
    # creator setting), by who asked: a page's first transaction, its next ones, an event writer
    waits: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    group: str = "event writers"
    errors: Counter = field(default_factory=Counter)
    failed_pages: int = 0
    cache_keys: list[tuple[float, Any]] = field(default_factory=list)

    def merge(self, other: Recorder) -> None:
        for label, values in other.calls.items():
            self.calls[label].extend(values)
        for label, values in other.pages.items():
            self.pages[label].extend(values)
        for group, values in other.waits.items():
            self.waits[group].extend(values)
        self.errors.update(other.errors)
        self.failed_pages += other.failed_pages
        self.cache_keys.extend(other.cache_keys)

    def error(self, exc: BaseException) -> None:
        lines = str(exc).strip().splitlines()
        self.errors[f"{type(exc).__name__}: {lines[0][:110] if lines else ''}"] += 1


def _step(db: Database, rec: Recorder, creator: uuid.UUID, label: str, work: Callable[[Workspace], Any]) -> Any:
    """One transaction, as a page opens one per call (``state.workspace()`` or ``Queries``)."""
    asked = time.perf_counter()
    with db.workspace(creator) as t:
        inside = time.perf_counter()
        result = work(t)
    done = time.perf_counter()
    rec.waits[rec.group].append((inside - asked) * 1000)
    if rec.group == PAGE_FIRST:
        rec.group = PAGE_NEXT
    rec.calls[label].append((done - asked) * 1000)
    return result


class RollupGate:
    """``analytics_data.refresh_rollups``: ``st.cache_data`` keyed by (creator, 30-second window),
    so one rollup per workspace per window in the process; callers arriving while it runs wait
    for it (Streamlit's per-key compute lock), later ones return at once."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._done: set[tuple] = set()

    def refresh(self, db: Database, rec: Recorder, creator: uuid.UUID) -> None:
        key = (creator, int(time.time() // ROLLUP_SECONDS))
        if key in self._done:
            return
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._done:
                _step(db, rec, creator, "rollups.rollup (refresh: once per workspace per 30 s)", rollups.rollup)
                self._done.add(key)


class Queries:
    """``analytics_data.Queries`` without the cache: every call is its own transaction; the cache
    key it would have had is kept to estimate the hit rate afterwards."""

    def __init__(self, db: Database, rec: Recorder, creator: uuid.UUID, as_of: object) -> None:
        self.db, self.rec, self.creator, self.as_of = db, rec, creator, str(as_of)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in _CACHED:
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            self.rec.cache_keys.append((time.monotonic(), (name, self.creator, args, self.as_of)))
            function = page_data.kpis if name == "kpis" else getattr(dashboards, name)  # as the app's Queries
            return _step(self.db, self.rec, self.creator, f"{function.__module__.removeprefix('chronos_data.')}.{name}",
                         lambda t: function(t, *args))

        return call


# --- the pages ------------------------------------------------------------------------------------

def _analytics_page(db: Database, rec: Recorder, gate: RollupGate, creator: uuid.UUID, rng: random.Random) -> None:
    """pages/analytics.py, every tab (Streamlit runs all tabs' code on each run)."""
    _step(db, rec, creator, "creators.get_creator (app.py sidebar)", creators.get_creator)
    gate.refresh(db, rec, creator)
    page = _step(db, rec, creator, "page_data.analytics_page", page_data.analytics_page)
    course_list, library, as_of = page.courses, page.videos, page.as_of
    if not page.viewing:
        return
    today = datetime.now(UTC).date()
    start, today = periods.period_range(rng.choice(PRESETS), today, page.first_day)
    course_id = rng.choice(course_list).id if course_list and rng.random() < 0.3 else None
    f = dashboards.Filters(start, today, course_id, None)
    granularity = rng.choice(GRANULARITIES)
    q = Queries(db, rec, creator, as_of)

    q.kpis(f)
    q.views_over_time(f, granularity)  # Trends
    if rng.random() < CLICK_SHARE:  # a bar clicked: that period's videos
        day = start + timedelta(days=rng.randrange(f.days))
        q.top_videos(dashboards.Filters(day, min(day + timedelta(days=6), today), f.course_id, None))
    q.engagement_heatmap(f)
    if library:  # Retention
        video = rng.choice(library).id
        curve = q.retention_curve(video, f)
        if curve["sessions"].max():
            _step(db, rec, creator, "timeline.retention_moments",
                  partial(timeline.retention_moments, video_id=video, start=f.start, end=f.end, course_id=f.course_id))
            q.typical_retention(video, f)
            if len(library) > 1 and rng.random() < CLICK_SHARE:
                q.retention_curve(rng.choice([v.id for v in library if v.id != video]), f)
    if course_list:  # Courses
        funnel_course = f.course_id or course_list[0].id
        q.course_funnel(funnel_course, f)
        risk = q.at_risk_students(funnel_course)
        if not risk.empty and rng.random() < CLICK_SHARE:
            q.student_progress(funnel_course, risk.iloc[rng.randrange(len(risk))]["student_id"])
    top = q.top_videos(f)  # Videos
    if not top.empty and rng.random() < CLICK_SHARE:
        q.retention_curve(top.iloc[rng.randrange(len(top))]["video_id"], f)
    q.breakdown(f, "device")  # Audience
    q.breakdown(f, "referrer")
    q.costs(f)  # Costs


def _overview_page(db: Database, rec: Recorder, gate: RollupGate, creator: uuid.UUID, rng: random.Random) -> None:
    """pages/overview.py."""
    _step(db, rec, creator, "creators.get_creator (app.py sidebar)", creators.get_creator)
    gate.refresh(db, rec, creator)
    page = _step(db, rec, creator, "page_data.overview_page", page_data.overview_page)
    if page.as_of is not None:
        Queries(db, rec, creator, page.as_of).kpis(page.last_30_days)


def _user(db: Database, workspaces: list[LoadedWorkspace], gate: RollupGate, rec: Recorder, seed: int,
          stop: threading.Event) -> None:
    rng = random.Random(seed)
    stop.wait(rng.uniform(0, THINK_SECONDS[1]))  # users do not all arrive in the same millisecond
    while not stop.is_set():
        ws = workspaces[0] if rng.random() < 0.5 or len(workspaces) == 1 else rng.choice(workspaces[1:])
        page, render = (("Analytics", _analytics_page) if rng.random() < ANALYTICS_SHARE
                        else ("Overview", _overview_page))
        started, rec.group = time.perf_counter(), PAGE_FIRST
        try:
            render(db, rec, gate, ws.creator_id, rng)
        except Exception as exc:  # the page would show the error; the user reloads after thinking
            rec.error(exc)
            rec.failed_pages += 1
        else:
            rec.pages[page].append((time.perf_counter() - started) * 1000)
        stop.wait(rng.uniform(*THINK_SECONDS))


# --- the event stream -------------------------------------------------------------------------------

class Stream:
    """What the students and the feed sent, to compare with what the database stored."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.lock = threading.Lock()
        # live path: (session id, event type, milestone) -> creator, for every event that must exist once
        self.expected: dict[tuple[str, str, str], uuid.UUID] = {}
        self.sessions: dict[str, uuid.UUID] = {}
        self.live_calls = 0
        self.live_resent = 0
        # feed path
        self.keys: dict[str, uuid.UUID] = {}  # import key -> creator
        self.feed_sent = 0
        self.feed_resent = 0
        self.feed_reported = 0  # what append_events said it stored
        self.retries: queue.Queue = queue.Queue()
        # (student, video) pairs each student thread saw completed, kept across phases
        self.completed: dict[int, set[tuple[uuid.UUID, uuid.UUID]]] = defaultdict(set)


def _attempt(db: Database, rec: Recorder, creator: uuid.UUID, label: str, work: Callable[[Workspace], Any]) -> Any:
    """A client's call with its retries: an error rolls the transaction back, so sending it again is safe."""
    for attempt in range(ATTEMPTS):
        try:
            return _step(db, rec, creator, label, work)
        except Exception as exc:
            rec.error(exc)
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


class _Player:
    """One watch session's calls, each its own transaction, some sent twice."""

    def __init__(self, db: Database, rec: Recorder, creator: uuid.UUID) -> None:
        self.db, self.rec, self.creator = db, rec, creator
        self.calls = self.resent = 0

    def send(self, label: str, work: Callable[[Workspace], Any], again: bool = False) -> Any:
        result = _attempt(self.db, self.rec, self.creator, label, work)
        self.calls += 1
        if again:  # the reply was "lost": the player sends the same call once more
            self.calls += 1
            self.resent += 1
            try:
                _attempt(self.db, self.rec, self.creator, label + " (re-sent)", work)
            except Exception:
                pass  # recorded; a duplicate that failed changes no expectation
        return result


def _watch(player: _Player, rng: random.Random, lesson: Lesson, student: uuid.UUID, rewatch: bool) -> list[tuple]:
    """A whole watch session through ``chronos_data.viewing.watching``; returns the events it must have
    stored once each: (session id, event type, milestone)."""
    session = player.send("watching.start_viewing", partial(
        watching.start_viewing, video_id=lesson.video_id, student_id=student, course_id=lesson.course_id,
        module_id=lesson.module_id, device_type=rng.choice(DEVICE_TYPES), referrer_type=rng.choice(REFERRER_TYPES)))
    sid = str(session)
    expected = [(sid, "video_started", ""), *([(sid, "video_rewatched", "")] if rewatch else [])]
    stop_at = lesson.duration if rng.random() < 0.35 else lesson.duration * rng.uniform(0.03, 0.95)
    position = watched = 0.0
    reported = 0  # the highest percent the database acknowledged
    try:
        while position < stop_at:
            step = lesson.duration * rng.uniform(0.08, 0.2)
            position, watched = min(stop_at, position + step), watched + step
            player.send("watching.report_progress", partial(
                watching.report_progress, session_id=session, position_seconds=position, watched_seconds=watched),
                again=rng.random() < RETRY_SHARE)
            reported = max(reported, min(100, int(position * 100 // lesson.duration)))  # as report_progress
            if rng.random() < REWIND_SHARE and position > 10:
                player.send("watching.report_rewind", partial(
                    watching.report_rewind, session_id=session, from_seconds=position,
                    to_seconds=position - rng.uniform(5, position)))
            time.sleep(rng.uniform(*REPORT_PAUSE_SECONDS))
        player.send("watching.end_viewing", partial(watching.end_viewing, session_id=session),
                    again=rng.random() < RETRY_SHARE)
    except Exception:
        pass  # recorded; the expectation covers what was acknowledged
    expected += [(sid, "video_progress", str(m)) for m in watching.MILESTONES if m <= reported]
    if reported >= watching.COMPLETION_PERCENT:
        expected.append((sid, "video_completed", ""))
    return expected


def _watcher(db: Database, workspaces: list[LoadedWorkspace], stream: Stream, rec: Recorder, worker: int,
             stop: threading.Event) -> None:
    """A student thread: watch sessions one after another, like the preview player, for its own
    share of each workspace's stream students (so whether a start is a rewatch is known here)."""
    rng = random.Random(1_000 * (len(stream.sessions) + 1) + worker)
    completed = stream.completed[worker]
    for number in itertools.count():
        if stop.is_set():
            return
        ws = workspaces[number % len(workspaces)]
        student, lesson = rng.choice(ws.stream_students[worker::LIVE_THREADS]), rng.choice(ws.lessons)
        player = _Player(db, rec, ws.creator_id)
        try:
            expected = _watch(player, rng, lesson, student, (student, lesson.video_id) in completed)
        except Exception:
            continue  # the start failed every attempt: no session
        if (expected[0][0], "video_completed", "") in expected:
            completed.add((student, lesson.video_id))
        with stream.lock:
            stream.sessions[expected[0][0]] = ws.creator_id
            stream.expected.update((key, ws.creator_id) for key in expected)
            stream.live_calls += player.calls
            stream.live_resent += player.resent


def _feed_batch(stream: Stream, ws: LoadedWorkspace, rng: random.Random) -> list[EventRow]:
    """About ``FEED_BATCH`` events of a few watch sessions, each with its own import key."""
    events: list[EventRow] = []
    now = datetime.now(UTC)
    while len(events) < FEED_BATCH:
        lesson, student, session = rng.choice(ws.lessons), rng.choice(ws.stream_students), str(uuid.uuid4())
        reached = rng.choice(watching.MILESTONES)
        shape = [("video_started", None), *(("video_progress", m) for m in watching.MILESTONES if m <= reached)]
        if reached >= watching.COMPLETION_PERCENT and rng.random() < 0.8:
            shape.append(("video_completed", None))
        for event_type, milestone in shape:
            key = f"{ws.index}:{uuid.uuid4().hex}"
            metadata = {"import_key": key, "load_run": stream.run_id, "session_id": session}
            if milestone is not None:
                metadata |= {"milestone": milestone, "percent_complete": milestone}
            events.append(EventRow(event_type, lesson.video_id, now - timedelta(seconds=rng.randrange(600)),
                                   student, lesson.course_id, lesson.module_id, metadata))
    return events


def _feeder(db: Database, workspaces: list[LoadedWorkspace], stream: Stream, rec: Recorder, worker: int,
            stop: threading.Event) -> None:
    """A buffered feed through ``event_batch.append_events``; some batches are sent again."""
    rng = random.Random(2_000 + worker)
    previous: dict[int, list[EventRow]] = {}
    for number in itertools.count():
        if stop.is_set():
            return
        try:  # a batch another thread sent, whose reply was "lost", re-sent here in another order
            ws, events = stream.retries.get_nowait()
            events = rng.sample(events, len(events))
            label, fresh = "event_batch.append_events (re-sent, shuffled, other thread)", False
        except queue.Empty:
            ws = workspaces[(number * FEED_THREADS + worker) % len(workspaces)]
            events = _feed_batch(stream, ws, rng)
            if ws.index in previous and rng.random() < OVERLAP_SHARE:
                events += rng.sample(previous[ws.index], 5)  # a buffer that kept 5 unacknowledged events
            label, fresh = "event_batch.append_events", True
        batches = [events]
        if fresh and rng.random() < RETRY_SHARE:
            if rng.random() < 0.5:
                batches.append(events)  # the same batch again at once
            else:
                stream.retries.put((ws, events))
        for position, batch in enumerate(batches):
            try:
                stored = _attempt(db, rec, ws.creator_id, label if position == 0 else label + " (re-sent)",
                                  lambda t, b=batch: append_events(t, b))
            except Exception:
                continue
            known = sum(1 for e in batch if e.metadata["import_key"] in stream.keys)
            with stream.lock:
                for e in batch:
                    stream.keys[e.metadata["import_key"]] = ws.creator_id
                stream.feed_sent += len(batch)
                stream.feed_resent += known
                stream.feed_reported += stored
        if fresh:
            previous[ws.index] = events[:FEED_BATCH]
        stop.wait(FEED_PAUSE_SECONDS)


# --- a phase ----------------------------------------------------------------------------------------

@dataclass
class Phase:
    users: int
    seconds: float
    rec: Recorder
    events_stored: int
    pool_samples: list[int]
    pool_size: int
    pool_capacity: int
    connections_opened: int
    cpu: dict[str, float]


def _postmaster(db: Database) -> psutil.Process | None:
    with db.engine.connect() as conn:
        backend = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    try:
        return psutil.Process(backend).parent()
    except psutil.Error:
        return None


def _server_cpu(postmaster: psutil.Process | None) -> float:
    """CPU seconds of the server so far: the postmaster, its live backends, and the backends that
    already exited (reaped into the postmaster's children times: overflow connections come and go)."""
    if postmaster is None:
        return float("nan")
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        try:
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        except psutil.Error:  # exited between the listing and now: already in the children times
            pass
    return total


def _busy(times: Any) -> float:
    """CPU seconds the machine spent working (guest time is already inside user time)."""
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal"))


def _event_count(db: Database) -> int:
    with db.owner() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM chronos.video_analytics_events")).scalar_one()


def _phase(db: Database, workspaces: list[LoadedWorkspace], stream: Stream, gate: RollupGate, users: int,
           seconds: float) -> Phase:
    stop = threading.Event()
    recorders = [Recorder() for _ in range(users + LIVE_THREADS + FEED_THREADS)]
    threads = [threading.Thread(target=_user, args=(db, workspaces, gate, recorders[i], 100 * users + i, stop))
               for i in range(users)]
    threads += [threading.Thread(target=_watcher, args=(db, workspaces, stream, recorders[users + i], i, stop))
                for i in range(LIVE_THREADS)]
    threads += [threading.Thread(target=_feeder, args=(db, workspaces, stream, recorders[users + LIVE_THREADS + i],
                                                       i, stop)) for i in range(FEED_THREADS)]
    samples: list[int] = []

    def watch_pool() -> None:
        while not stop.wait(0.1):
            samples.append(db.engine.pool.checkedout())

    opened = [0]

    def connected(*_args: Any) -> None:
        opened[0] += 1

    monitor = threading.Thread(target=watch_pool)
    before_events = _event_count(db)
    me, postmaster = psutil.Process(), _postmaster(db)
    machine_before, me_before, server_before = psutil.cpu_times(), me.cpu_times(), _server_cpu(postmaster)
    sa.event.listen(db.engine, "connect", connected)
    started = time.perf_counter()
    for thread in [*threads, monitor]:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in [*threads, monitor]:
        thread.join()
    wall = time.perf_counter() - started
    sa.event.remove(db.engine, "connect", connected)
    machine_after, me_after, server_after = psutil.cpu_times(), me.cpu_times(), _server_cpu(postmaster)
    cpu = {"client": me_after.user + me_after.system - me_before.user - me_before.system,
           "server": server_after - server_before,
           "machine": _busy(machine_after) - _busy(machine_before), "available": wall * (os.cpu_count() or 1)}
    merged = Recorder()
    for rec in recorders:
        merged.merge(rec)
    size = db.engine.pool.size()
    return Phase(users, wall, merged, _event_count(db) - before_events, samples, size,
                 size + db.engine.pool._max_overflow, opened[0], cpu)


# --- the check at the end ---------------------------------------------------------------------------

@dataclass
class Check:
    live_expected: int
    live_stored: int
    live_duplicates: int
    live_missing: int
    live_unexpected: int
    feed_distinct: int
    feed_stored: int
    feed_duplicates: int
    feed_missing: int
    feed_unexpected: int
    wrong_creator: int
    crossed_rows: int
    sessions_started: int
    sessions_stored: int

    @property
    def passed(self) -> bool:
        return not (self.live_duplicates or self.live_missing or self.live_unexpected or self.feed_duplicates
                    or self.feed_missing or self.feed_unexpected or self.wrong_creator or self.crossed_rows
                    or self.sessions_started != self.sessions_stored)


def _check(db: Database, stream: Stream) -> Check:
    sessions = list(stream.sessions)
    with db.owner() as conn:
        live = conn.execute(sa.text("""
            SELECT e.creator_id, coalesce(e.metadata ->> 'session_id', e.metadata ->> 'rewatch_session_id') AS sid,
                   e.event_type, coalesce(e.metadata ->> 'milestone', '') AS milestone, count(*) AS n
            FROM chronos.video_analytics_events e
            WHERE e.metadata ->> 'session_id' = ANY (:s) OR e.metadata ->> 'rewatch_session_id' = ANY (:s)
            GROUP BY 1, 2, 3, 4"""), {"s": sessions}).all()
        feed = conn.execute(sa.text("""
            SELECT e.creator_id, e.metadata ->> 'import_key' AS key, count(*) AS n
            FROM chronos.video_analytics_events e WHERE e.metadata ->> 'load_run' = :run GROUP BY 1, 2"""),
            {"run": stream.run_id}).all()
        stored_sessions = dict(conn.execute(sa.text(
            "SELECT id::text, creator_id FROM chronos.video_watch_sessions WHERE id::text = ANY (:s)"),
            {"s": sessions}).all())
        # Any row anywhere whose video or student belongs to another workspace than the row itself.
        crossed = conn.execute(sa.text("""
            SELECT (SELECT count(*) FROM chronos.video_analytics_events e
                    JOIN chronos.videos v ON v.id = e.video_id LEFT JOIN chronos.students s ON s.id = e.student_id
                    WHERE v.creator_id <> e.creator_id OR s.creator_id <> e.creator_id)
                 + (SELECT count(*) FROM chronos.video_watch_sessions w
                    JOIN chronos.videos v ON v.id = w.video_id JOIN chronos.students s ON s.id = w.student_id
                    WHERE v.creator_id <> w.creator_id OR s.creator_id <> w.creator_id)""")).scalar_one()
    live_rows = {(r.sid, r.event_type, r.milestone): (r.creator_id, r.n) for r in live}
    feed_rows = {r.key: (r.creator_id, r.n) for r in feed}
    wrong = sum(1 for key, (creator, _) in live_rows.items() if stream.expected.get(key, creator) != creator)
    wrong += sum(1 for key, (creator, _) in feed_rows.items() if stream.keys.get(key, creator) != creator)
    wrong += sum(1 for sid, creator in stored_sessions.items() if stream.sessions[sid] != creator)
    return Check(
        live_expected=len(stream.expected),
        live_stored=sum(n for _, n in live_rows.values()),
        live_duplicates=sum(n - 1 for _, n in live_rows.values()),
        live_missing=len(stream.expected.keys() - live_rows.keys()),
        live_unexpected=len(live_rows.keys() - stream.expected.keys()),
        feed_distinct=len(stream.keys),
        feed_stored=sum(n for _, n in feed_rows.values()),
        feed_duplicates=sum(n - 1 for _, n in feed_rows.values()),
        feed_missing=len(stream.keys.keys() - feed_rows.keys()),
        feed_unexpected=len(feed_rows.keys() - stream.keys.keys()),
        wrong_creator=wrong,
        crossed_rows=crossed,
        sessions_started=len(sessions),
        sessions_stored=len(stored_sessions),
    )


# --- the report -------------------------------------------------------------------------------------

def _pct(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(percent) - 1]


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _cache_hits(keys: list[tuple[float, Any]]) -> tuple[int, int]:
    """(hits, calls) had the process-wide ``st.cache_data`` of ``analytics_data._run`` been in front of
    these calls: same key (function, creator, arguments, data as of) within the TTL, 500 entries, LRU."""
    cache: dict[Any, float] = {}
    hits = 0
    for at, key in sorted(keys, key=lambda item: item[0]):
        try:
            hash(key)
        except TypeError:
            key = repr(key)
        stored = cache.pop(key, None)
        if stored is not None and at - stored < CACHE_SECONDS:
            hits += 1
            cache[key] = stored
            continue
        cache[key] = at
        if len(cache) > CACHE_ENTRIES:
            cache.pop(next(iter(cache)))
    return hits, len(keys)


def _report(command: str, server: str, workspaces: list[LoadedWorkspace], baseline: Phase, load: Phase,
            stream: Stream, check: Check, setup_seconds: float, pool: str) -> str:
    events_total = sum(ws.events for ws in workspaces)
    lines = [
        "## Load: concurrent dashboard users and a stream of watch events",
        "",
        f"`{command}`",
        "",
        f"Machine: {describe()}; PostgreSQL {server} (embedded, fsync on), client and server on the same "
        f"{os.cpu_count()} cores. One process, one app engine from `open_database` shared by every thread, as "
        f"in the Streamlit app ({pool}).",
        "",
        f"Workspaces ({setup_seconds:.0f} s to build): "
        + "; ".join(f"{ws.label}: {ws.events:,} events, {ws.students:,} students, {len(ws.lessons)} lessons"
                    for ws in workspaces)
        + f" ({events_total:,} events in all), plus {STREAM_STUDENTS} fresh students each for the stream.",
        "",
        f"Each user loads the Analytics page ({ANALYTICS_SHARE:.0%}) or the Overview ({1 - ANALYTICS_SHARE:.0%}) of a "
        "random workspace (half of them the main demo) with random filters, calling what the page calls "
        "(one transaction per call), then thinks "
        f"{THINK_SECONDS[0]}-{THINK_SECONDS[1]} s. Every dashboard query reaches the database (the app's query "
        "cache is not modelled; the hit rate it would have had is below); the rollup refresh runs once per "
        f"workspace per {ROLLUP_SECONDS} s, as the app's cache makes it. Meanwhile {LIVE_THREADS} student threads "
        f"record viewing through `chronos_data.viewing.watching` (one transaction per call) and {FEED_THREADS} feed threads "
        f"store batches of {FEED_BATCH} events with `event_batch.append_events`; {RETRY_SHARE:.0%} of the calls "
        "and batches are sent again. Not modelled: Streamlit's own work on each run (widgets, figures, "
        "serialisation), which in the app shares this process and its interpreter lock with the queries.",
        "",
        "### Throughput and latency",
        "",
        "| phase | users | time | page loads/s | dashboard transactions/s | events stored/s | page p50 | page p95 "
        "| page p99 | failed pages | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, phase in (("baseline", baseline), ("load", load)):
        pages = [v for values in phase.rec.pages.values() for v in values]
        dashboard_calls = sum(len(v) for k, v in phase.rec.calls.items() if not k.startswith(("watching.", "event_batch.")))
        lines.append(f"| {name} | {phase.users} | {phase.seconds:.0f} s | {len(pages) / phase.seconds:.1f} | "
                     f"{dashboard_calls / phase.seconds:,.0f} | {phase.events_stored / phase.seconds:,.0f} | "
                     f"{_ms(_pct(pages, 50))} | {_ms(_pct(pages, 95))} | {_ms(_pct(pages, 99))} | "
                     f"{phase.rec.failed_pages} | {sum(phase.rec.errors.values())} |")
    ratio_rows = []
    for page in ("Analytics", "Overview"):
        one, many = baseline.rec.pages.get(page, []), load.rec.pages.get(page, [])
        if one and many:
            ratio_rows.append(f"{page} p95 {_ms(_pct(many, 95))} with {load.users} users against {_ms(_pct(one, 95))} "
                              f"with 1: **{_pct(many, 95) / _pct(one, 95):.1f}x**")
    load_rate = sum(len(v) for v in load.rec.pages.values()) / load.seconds
    think = sum(THINK_SECONDS) / 2
    lines += [
        "",
        "Baseline ratio (same process, same event stream): " + "; ".join(ratio_rows) + ".",
        "",
        f"A closed loop: {load.users} users who think {think:.2f} s on average and get {load_rate:.1f} pages/s can "
        f"expect a page in about {load.users / load_rate - think:.2f} s on average (users ÷ throughput − think "
        "time); page times above this share are queueing for the cores and the pool.",
        "",
        f"### Per page load ({load.users} users)",
        "",
        "| page | loads | p50 | p95 | p99 | max | p95 with 1 user | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for page in ("Analytics", "Overview"):
        values, one = load.rec.pages.get(page, []), baseline.rec.pages.get(page, [])
        ratio = f"{_pct(values, 95) / _pct(one, 95):.1f}x" if values and one else ""
        lines.append(f"| {page} | {len(values):,} | {_ms(_pct(values, 50))} | {_ms(_pct(values, 95))} | "
                     f"{_ms(_pct(values, 99))} | {_ms(max(values, default=float('nan')))} | "
                     f"{_ms(_pct(one, 95))} ({len(one)}) | {ratio} |")
    lines += [
        "",
        f"### Per call ({load.users} users; each call is a transaction, the wait for a pooled connection included)",
        "",
        "| call | calls | p50 | p95 | p99 | p95 with 1 user | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label in sorted(load.rec.calls, key=lambda k: (k.startswith(("watching", "event_batch")), k)):
        values, one = load.rec.calls[label], baseline.rec.calls.get(label, [])
        ratio = f"{_pct(values, 95) / _pct(one, 95):.1f}x" if one else ""
        lines.append(f"| `{label}` | {len(values):,} | {_ms(_pct(values, 50))} | {_ms(_pct(values, 95))} | "
                     f"{_ms(_pct(values, 99))} | {_ms(_pct(one, 95)) if one else ''} | {ratio} |")
    full_share = sum(1 for s in load.pool_samples if s >= load.pool_capacity) / max(1, len(load.pool_samples))
    hits, cached_calls = _cache_hits(load.rec.cache_keys)
    lines += [
        "",
        "### Waiting for a connection",
        "",
        "From asking for a transaction to being inside it: the pool checkout (with its pre-ping), BEGIN and "
        "setting the creator.",
        "",
        "| who asks | transactions | p50 | p95 | p99 | max | p95 with 1 user |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for group in (PAGE_FIRST, PAGE_NEXT, "event writers"):
        values, one = load.rec.waits.get(group, []), baseline.rec.waits.get(group, [])
        lines.append(f"| {group} | {len(values):,} | {_ms(_pct(values, 50))} | {_ms(_pct(values, 95))} | "
                     f"{_ms(_pct(values, 99))} | {_ms(max(values, default=float('nan')))} | {_ms(_pct(one, 95))} |")
    lines += [
        "",
        f"All {load.pool_capacity} connections were checked out in {full_share:.0%} of {len(load.pool_samples):,} "
        f"samples (every 0.1 s). New connections opened by the app engine: {baseline.connections_opened:,} in the "
        f"baseline, {load.connections_opened:,} under load (the pool keeps {load.pool_size}; an overflow "
        "connection is closed when it comes back to a full pool, and the next one connects again).",
        "",
        f"The app's query cache (`st.cache_data`, keyed by the data-as-of time, {CACHE_SECONDS} s, "
        f"{CACHE_ENTRIES} entries) would have answered {hits:,} of these {cached_calls:,} dashboard queries "
        f"({hits / max(1, cached_calls):.0%}) from memory: the page times above are those of users whose queries "
        "all miss it.",
        "",
        "### Events: exactly once",
        "",
        "| path | sent (with re-sends) | re-sent | distinct events | stored | duplicates | missing | unexpected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| `watching` calls ({check.sessions_started:,} sessions, {check.sessions_stored:,} stored) | "
        f"{stream.live_calls:,} calls | {stream.live_resent:,} calls | {check.live_expected:,} | {check.live_stored:,} | "
        f"{check.live_duplicates} | {check.live_missing} | {check.live_unexpected} |",
        f"| `append_events` batches (each event with an import key) | {stream.feed_sent:,} events | "
        f"{stream.feed_resent:,} events | {check.feed_distinct:,} | {check.feed_stored:,} "
        f"(append_events reported {stream.feed_reported:,}) | {check.feed_duplicates} | {check.feed_missing} | "
        f"{check.feed_unexpected} |",
        "",
        f"Rows stored in another creator's workspace than the one that sent them: {check.wrong_creator}; rows anywhere "
        f"whose video or student belongs to another workspace than the row: {check.crossed_rows}. "
        f"Exactly once: **{'yes' if check.passed else 'NO'}**.",
        "",
        "### CPU and errors",
        "",
        "| phase | this process (client, all threads) | PostgreSQL | whole machine busy | of which other processes |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, phase in (("baseline", baseline), ("load", load)):
        c = phase.cpu
        other = max(0.0, c["machine"] - c["client"] - c["server"])
        lines.append(f"| {name} | {c['client']:.0f} s ({c['client'] / phase.seconds:.2f} cores) | {c['server']:.0f} s "
                     f"({c['server'] / phase.seconds:.2f} cores) | {c['machine'] / c['available']:.0%} of "
                     f"{os.cpu_count()} cores | {other:.0f} s |")
    lines.append("")
    errors = baseline.rec.errors + load.rec.errors
    if errors:
        lines += ["| error (both phases) | count |", "|---|---:|",
                  *(f"| {kind} | {count:,} |" for kind, count in errors.most_common())]
    else:
        lines.append("Errors: none (no pool timeout, no deadlock, no failed call) in either phase.")
    return "\n".join(lines)


def _say(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


# --- entry --------------------------------------------------------------------------------------------

def run(repeat: int = 1, *, quick: bool = False, users: int | None = None, seconds: int | None = None) -> str:
    """The load test; ``repeat`` does not apply (one run, its length set by ``seconds``)."""
    _, _, baseline_seconds, default_seconds = SCALES["quick" if quick else "full"]
    users = 50 if users is None else users
    seconds = default_seconds if seconds is None else seconds
    if users < 1 or seconds < 1:
        raise ValueError("--users and --seconds must be at least 1")
    baseline_seconds = baseline_seconds or max(30, seconds // 4)
    command = " ".join(["python -m bench load", f"--users {users}", f"--seconds {seconds}", *(["--quick"] * quick)])
    with tempfile.TemporaryDirectory(prefix="chronos-bench-") as folder:
        db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": folder}))
        try:
            with db.owner() as conn:
                server = conn.execute(sa.text("SHOW server_version")).scalar_one().split()[0]
            pool = db.engine.pool
            pool_text = (f"pool of {pool.size()} connections plus {pool._max_overflow} overflow, "
                         f"{pool.timeout():.0f} s checkout timeout")
            started = time.perf_counter()
            _say("building the workspaces")
            workspaces = _workspaces(db, quick)
            setup = time.perf_counter() - started
            stream, gate = Stream(uuid.uuid4().hex[:12]), RollupGate()
            warm = Recorder()
            for ws in workspaces:  # first visits: today's rollup, the server's caches
                for page in (_overview_page, _analytics_page):
                    page(db, warm, gate, ws.creator_id, random.Random(ws.index))
            _say(f"baseline: 1 user for {baseline_seconds} s")
            baseline = _phase(db, workspaces, stream, gate, 1, baseline_seconds)
            _say(f"load: {users} users for {seconds} s")
            load = _phase(db, workspaces, stream, gate, users, seconds)
            _say("checking what was stored")
            while not stream.retries.empty():  # re-sends still queued when the phase ended are dropped
                stream.retries.get_nowait()
            check = _check(db, stream)
        finally:
            db.dispose()
    return _report(command, server, workspaces, baseline, load, stream, check, setup, pool_text)
