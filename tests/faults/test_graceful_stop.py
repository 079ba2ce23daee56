"""A gracefully stopped import worker (Ctrl-C, SIGTERM, the app's process ending) releases the video
it was processing, so the next worker resumes it at once; only a killed worker's video waits for
the lease (tests/faults/test_worker_killed.py). Issue 17 item 4.

The subprocess tests run the real local embedding model (onnxruntime), whose threads once aborted
the interpreter's exit with "terminate called without an active exception".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from chronos_data.config import Settings
from chronos_data.db import Database, open_database
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import ImportWorker, claim_next
from tests.conftest import new_creator
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _long_srt(captions: int) -> bytes:
    lines = []
    for i in range(captions):
        start = i * 4
        lines.append(f"{i + 1}\n{_ts(start)} --> {_ts(start + 3)}\nPoint {i} of the lecture says loops repeat work "
                     f"while condition {i % 37} holds.\n")
    return "\n".join(lines).encode()


def _ts(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d},000"


@pytest.fixture
def queue(fresh_url: str, tmp_path: Path) -> Iterator[tuple[Database, Settings]]:
    """A database of its own: a worker serves every creator's queue."""
    settings = Settings(database_url=fresh_url, data_dir=tmp_path / "data", openai_api_key=None, openai_base_url=None)
    db = open_database(settings)
    try:
        yield db, settings
    finally:
        db.dispose()


def _add_long_video(db: Database, captions: int) -> tuple[uuid.UUID, uuid.UUID]:
    creator = new_creator(db, "graceful")
    with db.workspace(creator) as t:
        video_id = pipeline.add_subtitled_video(t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
                                                subtitle_bytes=_long_srt(captions), subtitle_filename="lecture.srt",
                                                title="A long lecture")
    return creator, video_id


def _video(db: Database, creator: uuid.UUID, video_id: uuid.UUID):
    with db.workspace(creator) as t:
        return t.conn.execute(sa.text("SELECT status, error_message, claimed_at, progress FROM videos "
                                      "WHERE creator_id = :c AND id = :v"), {"c": creator, "v": video_id}).one()


class _PacedEmbedder:
    """Deterministic vectors; each batch waits a moment, so a stop lands between two batches."""

    model, dimensions = "all-MiniLM-L6-v2", 384

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.batches = 0
        self.started = threading.Event()

    def embed(self, texts):
        self.started.set()
        time.sleep(self.seconds)
        self.batches += 1
        rng = np.random.default_rng(len(texts))
        vectors = rng.standard_normal((len(texts), self.dimensions)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_stopped_worker_releases_its_video_and_the_next_claims_it_at_once(queue):
    db, _ = queue
    creator, video_id = _add_long_video(db, 1100)  # some 140 chunks: three embedding batches
    # A second a batch: the stop must come before two more batches end the video; with 0.3 s, this thread
    # held up 0.8 s (a loaded CI machine) let the worker finish it, 3 batches of 3.
    embedder = _PacedEmbedder(1.0)
    worker = ImportWorker(db, embedder, idle_seconds=0.2).start()
    try:
        assert embedder.started.wait(60), "the worker never started embedding"
    finally:
        worker.stop()
    stopped = _video(db, creator, video_id)
    assert embedder.batches < 3  # it stopped after the batch in hand, not at the end of the video
    assert (stopped.status, stopped.error_message, stopped.claimed_at) == ("embedding", None, None)
    # The default lease is five minutes; a released video is claimable now.
    assert claim_next(db, creator_id=creator) == (creator, video_id)
    assert pipeline.process_video(db, creator, video_id, _PacedEmbedder(0)) == "completed"


def test_process_video_told_to_stop_releases_instead_of_failing(queue):
    db, _ = queue
    creator, video_id = _add_long_video(db, 10)
    assert claim_next(db, creator_id=creator) == (creator, video_id)
    stop = threading.Event()
    stop.set()
    assert pipeline.process_video(db, creator, video_id, _PacedEmbedder(0), stop=stop) == "released"
    assert _video(db, creator, video_id).claimed_at is None
    assert claim_next(db, creator_id=creator) == (creator, video_id)


def _env(settings: Settings) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "OPENAI_API_KEY"}
    return {**env, "DATABASE_URL": settings.database_url, "CHRONOS_DATA_DIR": str(settings.data_dir)}


def _embedding_started(db: Database, creator: uuid.UUID, video_id: uuid.UUID) -> bool:
    video = _video(db, creator, video_id)
    return video.status == "embedding" and video.progress > 0


def test_sigterm_stops_a_worker_process_cleanly_and_releases_its_video(queue):
    db, settings = queue
    creator, video_id = _add_long_video(db, 5000)  # some 600 chunks: ten batches of the local model
    worker = subprocess.Popen([sys.executable, "-m", "chronos_data", "worker", "--idle", "0.2", "--json"], cwd=ROOT,
                              env=_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _embedding_started(db, creator, video_id), timeout=120, what="the worker's first embedding batch")
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, stderr
    assert "terminate called" not in stderr
    video = _video(db, creator, video_id)
    assert (video.status, video.claimed_at) == ("embedding", None), stderr
    assert claim_next(db, creator_id=creator) == (creator, video_id)


# What `streamlit run app.py` does on Ctrl-C or SIGTERM: its server stops and the interpreter exits
# normally, with the app's import worker thread still in the middle of an embedding batch.
_APP_PROCESS = """
import sys
from chronos_data.config import Settings
from chronos_data.db import open_database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest.pipeline import Sources
from chronos_data.ingest.worker import ImportWorker

settings = Settings.from_env()
ImportWorker(open_database(settings), LocalEmbedder(), Sources(settings=settings), idle_seconds=0.2).start()
sys.stdin.readline()  # the test says when: mid-video
sys.exit(0)
"""


def test_an_app_process_that_exits_mid_video_stops_its_worker_cleanly_and_releases_the_video(queue):
    db, settings = queue
    creator, video_id = _add_long_video(db, 5000)
    app = subprocess.Popen([sys.executable, "-c", _APP_PROCESS], cwd=ROOT, env=_env(settings), stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _embedding_started(db, creator, video_id), timeout=120, what="the worker's first embedding batch")
        _, stderr = app.communicate("exit\n", timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, stderr
    assert "terminate called" not in stderr
    video = _video(db, creator, video_id)
    assert (video.status, video.claimed_at) == ("embedding", None), stderr
    assert claim_next(db, creator_id=creator) == (creator, video_id)
