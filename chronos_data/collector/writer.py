"""Group commit: the rows of many requests written in one transaction per workspace.

One commit per request would cap the collector at the database's commits per second (the player
path's 278 events/s). Requests hand their checked rows to one writer thread instead; it gathers
what arrives within ``FLUSH_SECONDS`` (or up to ``BATCH_ROWS``), writes each workspace's share with
one ``append_events`` in one transaction, and only then answers each request: an acknowledged event
is committed. ``close`` writes what is queued before it returns (the service's shutdown).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..db import Database, Workspace, lock_wait_limit
from ..errors import ChronosError, ValidationError
from ..viewing import watching
from ..viewing.event_batch import EventRow, append_events
from .rows import Checked, SessionReport

__all__ = ["BATCH_ROWS", "FLUSH_SECONDS", "QUEUE_ROWS", "WRITERS", "WRITE_LOCK_SECONDS", "QueueFull", "Stored",
           "WorkspaceBusy", "Writer"]

log = logging.getLogger(__name__)

#: How long the writer waits for more requests before it writes what it has: short enough that a
#: player does not notice, long enough to gather a busy second's requests into a few transactions.
FLUSH_SECONDS = 0.05
#: Rows written in one transaction at most (append_events checks and copies 20,000 at a time).
BATCH_ROWS = 20_000
#: Rows waiting to be written before requests are turned away (429): about two seconds of writing.
QUEUE_ROWS = 50_000
#: Transactions written at once. A PostgreSQL backend uses one core: with one writer, the database
#: inserted on one core while the other waited; two overlap one batch's checks and COPY with the
#: other's insert. append_events orders rows alike in every batch, so overlapping ones do not deadlock.
WRITERS = 2
#: How long a write waits for rows another transaction holds (a rollup of the workspace, a Whop sync,
#: a long import) before its requests are answered 503 with Retry-After: one busy workspace must not
#: hold up the writer, and with it every other workspace's requests.
WRITE_LOCK_SECONDS = 5.0


class QueueFull(ChronosError):
    """The writer has more rows waiting than it may hold; the sender should retry shortly."""


class WorkspaceBusy(ChronosError):
    """The workspace's rows stayed held by another transaction for ``WRITE_LOCK_SECONDS``; nothing of
    the batch was written and the sender should retry shortly (the collector answers 503)."""


@dataclass
class Stored:
    """What became of one request's rows."""

    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Job:
    creator_id: uuid.UUID
    checked: Checked
    future: Future


class Writer:
    """The one writing path of a collector process (see the module's docstring)."""

    def __init__(self, db: Database, *, flush_seconds: float = FLUSH_SECONDS, batch_rows: int = BATCH_ROWS,
                 queue_rows: int = QUEUE_ROWS, writers: int = WRITERS,
                 lock_seconds: float = WRITE_LOCK_SECONDS) -> None:
        self._db = db
        self._lock_seconds = lock_seconds
        self._flush = flush_seconds
        self._batch_rows = batch_rows
        self._queue_rows = queue_rows
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._queued = 0
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [threading.Thread(target=self._run, name=f"chronos-collector-writer-{n}", daemon=True)
                         for n in range(writers)]
        for thread in self._threads:
            thread.start()

    @property
    def queued_rows(self) -> int:
        return self._queued

    def submit(self, creator_id: uuid.UUID, checked: Checked) -> Future:
        """Queue a request's rows; the future gives its ``Stored`` once they are committed.

        Raises:
            QueueFull: the queue holds ``queue_rows`` already (or the writer is closing).
        """
        future: Future = Future()
        rows = checked.accepted
        with self._lock:
            if self._closed:
                raise QueueFull("The collector is stopping; send the events again in a moment.")
            if self._queued and self._queued + rows > self._queue_rows:
                raise QueueFull(f"{self._queued:,} events are waiting to be written; send again in a second.")
            self._queued += rows
            # Under the lock: close() puts its stop signals after every job already accepted.
            self._queue.put(_Job(creator_id, checked, future))
        return future

    def close(self) -> None:
        """Write everything queued, then stop the writer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            jobs, rows = [first], first.checked.accepted
            deadline = time.monotonic() + self._flush
            while rows < self._batch_rows:
                try:
                    job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if job is None:
                    stopping = True  # write what was gathered, then whatever is still queued
                    break
                jobs.append(job)
                rows += job.checked.accepted
            self._write(jobs)
        while True:  # after close(): nothing is put any more, so this drains to the end
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is None:  # another writer's stop signal (every job came before it): hand it on
                self._queue.put(None)
                return
            self._write([job])

    def _write(self, jobs: list[_Job]) -> None:
        by_creator: dict[uuid.UUID, list[_Job]] = {}
        for job in jobs:
            by_creator.setdefault(job.creator_id, []).append(job)
        for creator_id, group in by_creator.items():
            try:
                results = self._commit(creator_id, group)
            except ValidationError:
                # A row went bad between the request's check and the write (its video was deleted
                # meanwhile): each request on its own, so the others are not refused with it.
                results = [self._alone(creator_id, job) for job in group] if len(group) > 1 else [
                    _refused(group[0])]
            except Exception as exc:  # the database went away: each request answers 503
                log.warning("writing %d requests of %s failed: %s", len(group), creator_id, exc)
                results = [exc] * len(group)
            for job, result in zip(group, results, strict=True):
                with self._lock:
                    self._queued -= job.checked.accepted
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)

    def _alone(self, creator_id: uuid.UUID, job: _Job) -> Stored | BaseException:
        try:
            return self._commit(creator_id, [job])[0]
        except ValidationError:
            return _refused(job)
        except Exception as exc:
            return exc

    def _commit(self, creator_id: uuid.UUID, jobs: list[_Job]) -> list[Stored]:
        results = [Stored(rejected=list(job.checked.rejected)) for job in jobs]
        busy = WorkspaceBusy("This workspace's data is busy (a rollup, a Whop sync or an import is writing it); "
                             "send the events again in a moment.")
        with self._db.workspace(creator_id) as t, lock_wait_limit(t, self._lock_seconds, busy):
            emails = {email for job in jobs for _, email, _ in job.checked.events}
            emails |= {report.student_email for job in jobs for report in job.checked.sessions}
            students = _students(t, emails)
            # A new row rather than dataclasses.replace(), which costs several times more per event.
            events = [EventRow(e.event_type, e.video_id, e.timestamp, student_id=students[email], metadata=e.metadata)
                      for job in jobs for _, email, e in job.checked.events]
            if events:
                stored = _append_counted(t, events, [len(job.checked.events) for job in jobs])
                for result, job, count in zip(results, jobs, stored, strict=True):
                    result.stored += count
                    result.duplicates += len(job.checked.events) - count
            for result, job in zip(results, jobs, strict=True):
                # In the order they happened, not as sent: a replay's progress sent before the replay's
                # start would otherwise be folded into the play that had ended.
                for report in sorted(job.checked.sessions, key=lambda r: r.at):
                    _apply_report(t, report, students[report.student_email], result)
        return results


def _refused(job: _Job) -> Stored:
    rows = [line for line, _, _ in job.checked.events] + [r.line for r in job.checked.sessions]
    message = "not stored: a video or student of this batch left the workspace while it was written; send again"
    return Stored(rejected=sorted([*job.checked.rejected, *((line, message) for line in rows)]))


def _append_counted(t: Workspace, events: list, sizes: list[int]) -> list[int]:
    """``append_events`` for each request's rows, in the one transaction: how many of each were new."""
    counts, start = [], 0
    for size in sizes:
        counts.append(append_events(t, events[start:start + size]) if size else 0)
        start += size
    return counts


def _students(t: Workspace, emails: set[str]) -> dict[str, uuid.UUID]:
    """The students of ``emails`` (lower case), added to the workspace when new: two statements
    for the whole batch, not one per student."""
    if not emails:
        return {}
    wanted = sorted(emails)
    found = {row[0]: row[1] for row in t.conn.execute(
        sa.text("SELECT lower(email), id FROM students WHERE creator_id = :c AND lower(email) = ANY(:emails)"),
        {"c": t.creator_id, "emails": wanted})}
    missing = [e for e in wanted if e not in found]
    if missing:
        found.update((row[0], row[1]) for row in t.conn.execute(
            sa.text("INSERT INTO students (creator_id, email) SELECT :c, e FROM unnest(CAST(:emails AS text[])) e "
                    "ON CONFLICT (creator_id, lower(email)) WHERE email IS NOT NULL DO UPDATE SET email = students.email "
                    "RETURNING lower(email), id"),
            {"c": t.creator_id, "emails": missing}))
    return found


def _video_length(t: Workspace, video_id: uuid.UUID) -> float | None:
    return t.conn.execute(sa.text("SELECT duration_seconds FROM videos WHERE creator_id = :c AND id = :v"),
                          {"c": t.creator_id, "v": video_id}).scalar_one_or_none()


def _apply_report(t: Workspace, report: SessionReport, student_id: uuid.UUID, result: Stored) -> None:
    """One viewing report made into the viewing's watch session as the Chronos player's events are
    (``watching``): opened once, played ranges merged, milestones reckoned from what was played.
    Counted as stored when it changed the session, a duplicate when it told nothing new."""
    viewing = f"collector:{report.viewing}"
    try:
        with t.conn.begin_nested():
            t.conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                           {"key": f"chronos.viewing:{t.creator_id}:{viewing}"})
            # The viewing's latest session begun by the report's time (a late row of a viewing that was
            # played again belongs to the play it was sent in), else its latest.
            session = t.conn.execute(
                sa.text("SELECT id, percent_complete, watch_time_seconds, session_end IS NOT NULL AS ended, "
                        "session_end, coalesce(metadata -> 'played', '[]') AS played FROM video_watch_sessions "
                        "WHERE creator_id = :c AND student_id = :s AND video_id = :v AND metadata ->> 'viewing' = :w "
                        "ORDER BY session_start <= :at DESC, session_start DESC LIMIT 1"),
                {"c": t.creator_id, "s": student_id, "v": report.video_id, "w": viewing,
                 "at": report.at}).one_or_none()
            if (session is not None and report.kind == "video_started" and session.session_end is not None
                    and report.at > session.session_end):
                session = None  # played again after the end under the same id: a viewing of its own
            changed = session is None
            if session is None:
                session_id = watching.start_viewing(t, report.video_id, student_id, device_type=report.device,
                                                    referrer_type=report.referrer, at=report.at)
                t.conn.execute(
                    sa.text("UPDATE video_watch_sessions SET metadata = jsonb_set(metadata, '{viewing}', "
                            "to_jsonb(CAST(:w AS text))) WHERE creator_id = :c AND id = :id"),
                    {"c": t.creator_id, "id": session_id, "w": viewing})
                before = (0, 0, False, [])
            else:
                session_id = session.id
                before = (session.percent_complete, session.watch_time_seconds, session.ended, session.played)
            played, watched = report.played, report.watched
            if played is None and report.percent is not None:
                # Only how far it got: the share of the library's length (the one the session's
                # percent is measured against), or else of the player's duration, taken as played
                # from the start (and as watched, when no watch time came).
                length = _video_length(t, report.video_id) or report.duration
                if not length:
                    raise ValidationError("percent_complete alone cannot be counted: this video's length is "
                                          "unknown; send duration (seconds) or the played ranges with it")
                played = [(0.0, length * report.percent / 100)]
                if watched is None:
                    watched = int(played[0][1])
            if played or watched:
                progress = watching.report_progress(
                    t, session_id, position_seconds=max((b for _, b in played or []), default=0.0),
                    watched_seconds=float(watched or 0), duration_seconds=report.duration,
                    played=played or [], at=report.at)
                changed = changed or bool(progress.new_milestones) or progress.percent_complete > before[0]
            if report.end is not None and not before[2]:
                watching.end_viewing(t, session_id, at=report.end)
                changed = True
            if not changed:
                after = t.conn.execute(
                    sa.text("SELECT watch_time_seconds, coalesce(metadata -> 'played', '[]') AS played "
                            "FROM video_watch_sessions WHERE creator_id = :c AND id = :id"),
                    {"c": t.creator_id, "id": session_id}).one()
                changed = (after.watch_time_seconds, after.played) != (before[1], before[3])
    except ChronosError as exc:
        result.rejected.append((report.line, str(exc)))
        return
    if changed:
        result.stored += 1
    else:
        result.duplicates += 1

