"""videos.set_status: the one place the import pipeline's status writes go through."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from chronos_data import videos
from chronos_data.errors import NotFound, ValidationError
from chronos_data.ingest import pipeline


def _row(t, video):
    return t.conn.execute(sa.text("SELECT status, error_message, progress, attempts, claimed_at IS NOT NULL AS claimed, "
                                  "processing_started_at, processing_completed_at FROM videos WHERE id = :v"),
                          {"v": video}).one()


def test_a_video_goes_through_the_stages_with_its_claim_progress_clock_and_attempts(t):
    video = pipeline.add_youtube_video(t, "https://youtu.be/dQw4w9WgXcQ")
    videos.set_status(t, video, "transcribing", progress=0, claimed=True)
    started = _row(t, video)
    assert (started.status, started.claimed, started.progress) == ("transcribing", True, 0)
    assert started.processing_started_at is not None
    videos.set_status(t, video, "embedding", progress=0.5, claimed=True)
    assert _row(t, video).processing_started_at == started.processing_started_at  # the clock started once
    videos.set_status(t, video, "failed", "captions are disabled", progress=0, claimed=False)
    failed = _row(t, video)
    assert (failed.status, failed.error_message, failed.attempts, failed.claimed) == (
        "failed", "captions are disabled", 1, False)
    pipeline.retry_video(t, video)
    queued = _row(t, video)
    assert (queued.status, queued.error_message, queued.claimed, queued.attempts) == ("pending", None, False, 1)
    videos.set_status(t, video, "completed", progress=1, claimed=False)
    done = _row(t, video)
    assert (done.progress, done.processing_completed_at is not None) == (1, True)


def test_none_keeps_the_claim_and_progress(t):
    video = pipeline.add_youtube_video(t, "https://youtu.be/dQw4w9WgXcQ")
    videos.set_status(t, video, "processing", progress=0.25, claimed=True)
    videos.set_status(t, video, "embedding")
    row = _row(t, video)
    assert (row.status, row.progress, row.claimed) == ("embedding", 0.25, True)


def test_refusals(t):
    video = pipeline.add_youtube_video(t, "https://youtu.be/dQw4w9WgXcQ")
    with pytest.raises(ValidationError, match="error message"):
        videos.set_status(t, video, "failed")
    with pytest.raises(ValidationError, match="not a video status"):
        videos.set_status(t, video, "done")
    with pytest.raises(NotFound):
        videos.set_status(t, uuid.uuid4(), "completed")
