"""An import worker killed mid-video (SIGKILL, no goodbye): the video's chunks are never half
written, and the next worker takes the video over once the dead one's lease runs out.

The workers are real ``python -m chronos_data worker`` processes; their embeddings come from the
fake OpenAI server on 127.0.0.1, slowed down so the kill lands between two embedding batches.
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
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from chronos_data.config import Settings
from chronos_data.db import Database, open_database
from chronos_data.embeddings import OpenAIEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import claim_next, run_until_done
from tests.conftest import new_creator
from tests.fakes.openai_server import FakeOpenAI
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3.0
OLD_MODEL, NEW_MODEL = "text-embedding-ada-002", "text-embedding-3-small"
FIRST_KEY, SECOND_KEY = "sk-first-worker", "sk-second-worker"
EMBEDDING_BATCH_DELAY = 0.3  # seconds the fake takes per embeddings request: the worker is mid-video for a while


def _long_srt(captions: int = 1100) -> bytes:
    """About 15,000 words: some 140 chunks, three embedding batches of 64."""
    lines = []
    for i in range(captions):
        start, end = i * 4, i * 4 + 3
        lines.append(f"{i + 1}\n{_ts(start)} --> {_ts(end)}\nPoint {i} of the lecture says loops repeat work "
                     f"while condition {i % 37} holds.\n")
    return "\n".join(lines).encode()


def _ts(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d},000"


@pytest.fixture
def queue(fresh_url: str, tmp_path: Path) -> Iterator[tuple[Database, Settings, FakeOpenAI]]:
    """A database of its own (a worker serves every creator's queue) and the fake OpenAI server."""
    with FakeOpenAI() as api:
        settings = Settings(database_url=fresh_url, data_dir=tmp_path / "data", openai_api_key="sk-test",
                            openai_base_url=api.base_url, import_lease_seconds=LEASE_SECONDS)
        db = open_database(settings)
        try:
            yield db, settings, api
        finally:
            db.dispose()


def _worker(settings: Settings, model: str, key: str) -> subprocess.Popen[str]:
    """A worker process whose requests the fake tells apart by ``key``."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "CHRONOS_DATA_DIR": str(settings.data_dir),
           "OPENAI_API_KEY": key, "OPENAI_BASE_URL": settings.openai_base_url,
           "CHRONOS_OPENAI_EMBEDDING_MODEL": model, "CHRONOS_IMPORT_LEASE_SECONDS": str(LEASE_SECONDS)}
    return subprocess.Popen([sys.executable, "-m", "chronos_data", "worker", "--idle", "0.2", "--json"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _chunk_models(db: Database, creator: uuid.UUID, video_id: uuid.UUID) -> dict[str, int]:
    with db.workspace(creator) as t:
        rows = t.conn.execute(sa.text("SELECT embedding_model, count(*) AS n FROM video_chunks "
                                      "WHERE creator_id = :c AND video_id = :v GROUP BY 1"),
                              {"c": creator, "v": video_id})
        return {row.embedding_model: row.n for row in rows}


def _video(db: Database, creator: uuid.UUID, video_id: uuid.UUID):
    with db.workspace(creator) as t:
        return t.conn.execute(sa.text("SELECT status, error_message, claimed_at, now() - claimed_at AS age, "
                                      "progress FROM videos WHERE creator_id = :c AND id = :v"),
                              {"c": creator, "v": video_id}).one()


def test_a_worker_killed_mid_video_leaves_no_half_written_chunks_and_the_next_one_resumes(queue):
    db, settings, api = queue
    creator = new_creator(db, "killed")
    with db.workspace(creator) as t:
        video_id = pipeline.add_subtitled_video(t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
                                                subtitle_bytes=_long_srt(), subtitle_filename="lecture.srt",
                                                title="A long lecture")
    # First a finished import with another model: its chunks must stay whole until the swap.
    run_until_done(db, creator, OpenAIEmbedder(replace(settings, openai_embedding_model=OLD_MODEL)), [video_id],
                   sources=pipeline.Sources(settings=settings), timeout=120)
    old = _chunk_models(db, creator, video_id)
    assert list(old) == [OLD_MODEL] and old[OLD_MODEL] > 2 * 64
    with db.workspace(creator) as t:
        pipeline.retry_video(t, video_id)  # re-embed with the new model, in a worker process

    seen: set[tuple[tuple[str, int], ...]] = set()
    sampling = threading.Event()

    def sample() -> None:  # what a search could see, all along
        while not sampling.is_set():
            seen.add(tuple(sorted(_chunk_models(db, creator, video_id).items())))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    api.requests.clear()
    api.slow(EMBEDDING_BATCH_DELAY, "/embeddings")
    first = _worker(settings, NEW_MODEL, FIRST_KEY)
    second = None

    def embedding_requests(key: str) -> int:
        return sum(1 for r in api.requests_to("/embeddings") if r["key"] == key)

    try:
        # Batch one is embedded and batch two is on its way: kill the worker there.
        wait_until(lambda: embedding_requests(FIRST_KEY) >= 2, timeout=60, poll=0.05,
                   what="the first worker's second embedding batch")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = time.monotonic()
        at_kill = _video(db, creator, video_id)
        assert first.returncode == -signal.SIGKILL
        assert at_kill.status == "embedding" and at_kill.claimed_at is not None
        assert _chunk_models(db, creator, video_id) == old  # nothing of the new model, nothing of the old lost

        second = _worker(settings, NEW_MODEL, SECOND_KEY)
        wait_until(lambda: embedding_requests(SECOND_KEY) > 0, timeout=30, poll=0.05,
                   what="the second worker to take the video over")
        taken_over_at = time.monotonic()
        # Not before the dead worker's lease ran out (from its last renewal).
        earliest = killed_at + LEASE_SECONDS - at_kill.age.total_seconds()
        assert taken_over_at >= earliest - 0.1
        wait_until(lambda: _video(db, creator, video_id).status in ("completed", "failed"), timeout=60, poll=0.05,
                   what="the video to finish")
        done_at = time.monotonic()
    finally:
        sampling.set()
        sampler.join()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)  # a clean stop
                process.wait(15)

    final = _video(db, creator, video_id)
    new = _chunk_models(db, creator, video_id)
    assert (final.status, final.error_message, final.claimed_at) == ("completed", None, None)
    assert list(new) == [NEW_MODEL]
    with db.workspace(creator) as t:
        stored = t.conn.execute(sa.text("SELECT chunk_index, chunk_text FROM video_chunks WHERE creator_id = :c "
                                        "AND video_id = :v ORDER BY 1"), {"c": creator, "v": video_id}).all()
    assert [index for index, _ in stored] == list(range(new[NEW_MODEL]))  # every chunk, once
    # A search never saw a mix or a part: the old model's chunks, all of them, then the new model's.
    assert seen <= {tuple(old.items()), tuple(new.items())}, seen
    # The next worker embedded the video once, from the start: each chunk in one of its requests. Its
    # requests are told apart by key (one the killed worker sent just before the kill may reach the fake
    # after it), and its chunks' from the assistant's moments it embeds once the video is completed
    # (before or after the stop above, as the race goes).
    chunk_texts = {text for _, text in stored}
    second_batches = [r["body"]["input"] for r in api.requests_to("/embeddings") if r["key"] == SECOND_KEY]
    chunk_batches = [texts for texts in second_batches if set(texts) <= chunk_texts]
    batches = -(-new[NEW_MODEL] // 64)
    assert len(chunk_batches) == batches and sorted(sum(chunk_batches, [])) == sorted(chunk_texts)
    requests_by_first = embedding_requests(FIRST_KEY)
    print(f"\nchunks before: {old}, at the kill: {old}, after: {new}; embedding requests: {requests_by_first} "
          f"by the killed worker, {batches} by the next (and {len(second_batches) - batches} of its moments); "
          f"lease {LEASE_SECONDS:g} s, renewed "
          f"{at_kill.age.total_seconds():.2f} s before the kill; taken over {taken_over_at - killed_at:.2f} s "
          f"after the kill, completed {done_at - killed_at:.2f} s after it")


class _SlowEmbedder:
    """Deterministic vectors; one call takes longer than the whole lease."""

    model, dimensions = "all-MiniLM-L6-v2", 384

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def embed(self, texts):
        time.sleep(self.seconds)
        rng = np.random.default_rng(len(texts))
        vectors = rng.standard_normal((len(texts), self.dimensions)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_live_worker_keeps_its_video_when_one_call_outlasts_the_lease(db, settings):
    # Renewed every third of it: 2 s leaves a renewal 1.3 s late before a claim could take the video over
    # (with 1 s, a renewal held up 0.7 s on a loaded CI machine let a claim take a live worker's video).
    lease = timedelta(seconds=2)
    creator = new_creator(db, "slow")
    with db.workspace(creator) as t:
        video_id = pipeline.add_subtitled_video(
            t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
            subtitle_bytes=b"1\n00:00:00,000 --> 00:00:04,000\nLoops repeat work until a condition changes.\n",
            subtitle_filename="short.srt", title="Short")
    assert claim_next(db, lease, creator_id=creator) == (creator, video_id)
    sources = pipeline.Sources(settings=replace(settings, import_lease_seconds=lease.total_seconds()))
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(
        pipeline.process_video(db, creator, video_id, _SlowEmbedder(2.5 * lease.total_seconds()), sources)))
    worker.start()
    stolen = []
    while worker.is_alive():
        if claimed := claim_next(db, lease, creator_id=creator):  # another worker, looking for abandoned work
            stolen.append(claimed)
        time.sleep(0.1)
    worker.join()
    assert stolen == [] and result == ["completed"]
