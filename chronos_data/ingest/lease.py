"""A worker's claim on a video: renewed while it works, released when it stops, taken over by
another worker when the lease runs out without a sign of life."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

import sqlalchemy as sa

from ..db import Database, Workspace
from .queueing import STAGES

__all__ = ["LEASE", "LeaseKeeper", "release", "release_claim"]

log = logging.getLogger(__name__)

#: A claimed video whose worker showed no sign of life for this long is taken over by another
#: worker (the first is presumed dead); CHRONOS_IMPORT_LEASE_SECONDS changes it.
LEASE = timedelta(minutes=5)
_RENEWALS_PER_LEASE = 3  # a live worker renews its lease this often per lease: one late renewal is harmless


def release_claim(t: Workspace, video_id: uuid.UUID) -> None:
    """Give up a worker's claim on a video still in the pipeline, so any worker may resume it at
    once instead of after the lease (a graceful stop; see ``ImportWorker.stop``)."""
    t.conn.execute(sa.text("UPDATE videos SET claimed_at = NULL WHERE creator_id = :c AND id = :v "
                           "AND status = ANY(:stages)"),
                   {"c": t.creator_id, "v": video_id, "stages": list(STAGES)})


def release(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID) -> None:
    """``release_claim`` in a transaction of its own, at shutdown: a failure only logs (the lease frees it)."""
    try:
        with db.workspace(creator_id) as t:
            release_claim(t, video_id)
        log.info("released the claim on video %s for the next worker", video_id)
    except Exception as exc:  # the database may be gone first at shutdown: then the lease frees it
        log.warning("could not release the claim on video %s: %s", video_id, exc)


class LeaseKeeper:
    """Renews a claimed video's lease from a thread until the block ends (see ``process_video``)."""

    def __init__(self, db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, lease: timedelta) -> None:
        self._db, self._creator_id, self._video_id = db, creator_id, video_id
        self._every = lease.total_seconds() / _RENEWALS_PER_LEASE
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"chronos-lease-{video_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self._every):
            try:
                with self._db.workspace(self._creator_id) as t:
                    t.conn.execute(sa.text("UPDATE videos SET claimed_at = now() WHERE creator_id = :c AND id = :v "
                                           "AND status = ANY(:stages)"),
                                   {"c": self._creator_id, "v": self._video_id, "stages": list(STAGES)})
            except Exception as exc:  # the database may be away for a moment; the next renewal tries again
                log.warning("could not renew the lease of video %s: %s", self._video_id, exc)
