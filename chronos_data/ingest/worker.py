"""The import worker: claims queued videos and processes them off the page's thread.

Every app process runs one worker thread (unless CHRONOS_IMPORT_WORKER=off); the command line runs
one until its videos are done; ``python -m chronos_data worker`` runs one as its own process, for
deployments where imports should not share the web servers' CPU.
Claims use FOR UPDATE SKIP LOCKED with a lease, so workers never take the same video. A worker
stopped gracefully (Ctrl-C, SIGTERM, the end of the process) finishes the step in hand and releases
its claim, so the next worker resumes the video at once; only the work of a killed (or crashed)
worker waits for its lease to run out: ``Sources.lease``, CHRONOS_IMPORT_LEASE_SECONDS, five
minutes by default.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

import sqlalchemy as sa

from ..db import Database
from ..embeddings import Embedder
from ..errors import DatabaseUnavailable
from .pipeline import LEASE, Sources, process_video, release_claim

__all__ = ["ImportWorker", "LEASE", "claim_next", "drain", "run_until_done"]

log = logging.getLogger(__name__)


def claim_next(db: Database, lease: timedelta = LEASE,
               creator_id: uuid.UUID | None = None) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Claim the oldest unclaimed (or abandoned) queued video, of one creator or of any:
    returns (creator, video)."""
    with db.engine.begin() as conn:
        row = conn.execute(sa.text("SELECT video_id, creator_id FROM claim_import_job(:lease, :creator)"),
                           {"lease": lease, "creator": creator_id}).one_or_none()
    return (row.creator_id, row.video_id) if row else None


def run_until_done(db: Database, creator_id: uuid.UUID, embedder: Embedder, video_ids: Iterable[uuid.UUID], *,
                   sources: Sources | None = None, on_progress: Callable[[], None] | None = None,
                   timeout: float = 3600.0) -> None:
    """Process this creator's queue in this thread until every video in ``video_ids`` is finished."""
    waiting = set(video_ids)
    lease = (sources or Sources()).lease
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        claimed = claim_next(db, lease, creator_id=creator_id)
        if claimed:
            process_video(db, claimed[0], claimed[1], embedder, sources)
        else:
            time.sleep(0.5)  # another worker holds the rest; wait for it
        waiting -= _finished(db, creator_id, waiting)
        if on_progress:
            on_progress()


def drain(db: Database, embedder: Embedder, sources: Sources | None = None,
          stop: threading.Event | None = None) -> int:
    """Process every creator's queued videos until none is left to claim (or ``stop`` is set:
    the video in hand is then released for the next worker); returns how many were finished."""
    processed = 0
    lease = (sources or Sources()).lease
    while not (stop and stop.is_set()) and (claimed := claim_next(db, lease)):
        if process_video(db, claimed[0], claimed[1], embedder, sources, stop=stop) != "released":
            processed += 1
    return processed


def _finished(db: Database, creator_id: uuid.UUID, video_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    with db.workspace(creator_id) as t:
        rows = t.conn.execute(sa.text("SELECT id FROM videos WHERE creator_id = :c AND id = ANY(:ids) AND "
                                      "(status IN ('completed', 'failed') OR is_deleted)"),
                              {"c": creator_id, "ids": list(video_ids)})
        return {row.id for row in rows}


class ImportWorker:
    """A daemon thread that keeps claiming and processing videos; ``wake()`` after queueing one.

    ``stop()`` runs by itself when the interpreter exits (Streamlit's Ctrl-C or SIGTERM ends in a
    normal exit): the thread is joined there rather than left running inside the embedding model
    while the interpreter is torn down (which aborted with "terminate called without an active
    exception"), and the video in hand is released for the next process.
    """

    #: Seconds ``stop()`` waits for the step in hand (an embedding batch, one request to a source).
    STOP_TIMEOUT = 20.0

    def __init__(self, db: Database, embedder: Embedder, sources: Sources | None = None,
                 idle_seconds: float = 5.0) -> None:
        self._db = db
        self._embedder = embedder
        self._sources = sources
        self._idle = idle_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._current: tuple[uuid.UUID, uuid.UUID] | None = None
        self._thread = threading.Thread(target=self._run, name="chronos-import-worker", daemon=True)

    def start(self) -> ImportWorker:
        self._thread.start()
        atexit.register(self.stop)
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the step in hand and release the claim on the video being processed."""
        atexit.unregister(self.stop)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.STOP_TIMEOUT if timeout is None else timeout)
        current = self._current
        if self._thread.is_alive() and current is not None:
            # Stuck in a call that does not return (a source that hangs): the process is going
            # away, so the next one need not wait for the lease either.
            log.warning("import worker still busy with video %s after %s s; releasing it", current[1],
                        self.STOP_TIMEOUT if timeout is None else timeout)
            try:
                with self._db.workspace(current[0]) as t:
                    release_claim(t, current[1])
            except Exception as exc:
                log.warning("could not release the claim on video %s: %s", current[1], exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = claim_next(self._db, (self._sources or Sources()).lease)
                if claimed:
                    self._current = claimed
                    try:
                        process_video(self._db, claimed[0], claimed[1], self._embedder, self._sources,
                                      stop=self._stop)
                    finally:
                        self._current = None
                    continue
            except DatabaseUnavailable:
                log.warning("import worker: database unavailable, retrying")
            except Exception:  # keep the thread alive; the video itself was marked failed
                log.exception("import worker error")
            self._wake.wait(self._idle)
            self._wake.clear()
