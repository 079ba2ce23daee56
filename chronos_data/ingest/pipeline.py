"""The import pipeline: pending -> transcribing -> processing -> embedding -> completed | failed.

Adding a video only writes a ``pending`` row (``queueing``; for subtitle files also the parsed
transcript, so a bad file is refused before anything is stored). A worker then claims the video and
takes it through the stages, each in short transactions. The chunks are swapped in, and the video
marked completed, in one final transaction: a crash never leaves half a transcript searchable, and
the claim's lease (``lease``) lets another worker resume the video. Where a transcript comes from is
the video's source's business (``sources``).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from .. import chunks, videos
from ..config import Settings
from ..db import Database, Workspace
from ..embeddings import Embedder
from ..errors import ChronosError, NotFound, ValidationError
from ..rag.moment_vectors import moment_texts, store_moment_vectors
from ..viewing import analytics, usage
from .chunking import chunk_segments
from .lease import LEASE, LeaseKeeper, release, release_claim
from .queueing import (
    CaptionOptions,
    DuplicateVideo,
    add_subtitled_video,
    add_upload_to_transcribe,
    add_youtube_video,
    attach_subtitles,
    caption_options,
    requeue_for_embedding,
    retry_video,
)
from .segments import Segment, Transcript
from .sources import VideoSource, all_sources, source_for
from .transcripts import store_transcript

__all__ = [
    "LEASE",
    "CaptionOptions",
    "DuplicateVideo",
    "Sources",
    "add_subtitled_video",
    "add_upload_to_transcribe",
    "add_youtube_video",
    "attach_subtitles",
    "caption_options",
    "embed_moments",
    "process_video",
    "release_claim",
    "requeue_for_embedding",
    "retry_video",
]

log = logging.getLogger(__name__)

_MOMENT_BATCH = 64  # texts per embedding call between stop checks (the embedder batches further)


@dataclass
class Sources:
    """How the worker reaches the outside world; tests point it at fakes on 127.0.0.1."""

    youtube_session: Any = None
    proxy: Any = None
    #: Where uploads live and whether OpenAI may transcribe them.
    settings: Settings | None = None
    #: Try yt-dlp's subtitle extraction when YouTube blocks the transcript API or wants a PO token.
    ytdlp_fallback: bool = True
    ytdlp_params: dict[str, Any] | None = None
    backoff_seconds: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    @property
    def lease(self) -> timedelta:
        """How long a claimed video may go without a sign of life before another worker takes it."""
        return timedelta(seconds=self.settings.import_lease_seconds) if self.settings else LEASE


def process_video(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, embedder: Embedder,
                  sources: Sources | None = None, *, stop: threading.Event | None = None,
                  moments: bool = True) -> str:
    """Take one claimed video through the remaining stages; returns its final status, or
    ``"released"`` when ``stop`` was set (or Ctrl-C came) on the way.

    Once the video is searchable (``completed``), ``moments`` embeds the assistant's moments too
    (``embed_moments``); if that fails or is stopped, the video stays completed and its first
    question embeds what it quotes.

    While it works, a thread renews the claim's lease, so a live worker keeps its video however
    long one call to a source takes; a killed worker stops renewing and the video is taken over
    when the lease runs out. A worker told to stop finishes the step in hand (one embedding batch,
    one request) and releases its claim, so the next worker resumes the video at once.
    """
    sources = sources or Sources()
    stop = stop or threading.Event()
    try:
        with LeaseKeeper(db, creator_id, video_id, sources.lease):
            _check(stop)
            transcript = _transcript(db, creator_id, video_id, sources, stop)
            _check(stop)
            pieces = chunk_segments(transcript.segments)
            if not pieces:
                raise ValidationError("The transcript has no words to search; upload a subtitle file with text.")
            with db.workspace(creator_id) as t:
                _set_stage(t, video_id, "embedding")
            vectors = _embed(db, creator_id, video_id, embedder, [p.text for p in pieces], stop)
            with db.workspace(creator_id) as t:
                _replace_chunks(t, video_id, pieces, vectors, embedder, transcript)
        if moments:  # searchable already; the assistant's moments follow
            _embed_moments_or_leave_them(db, creator_id, video_id, embedder, stop)
        return "completed"
    except _Stopped:
        release(db, creator_id, video_id)
        return "released"
    except KeyboardInterrupt:
        release(db, creator_id, video_id)
        raise
    except ChronosError as exc:
        _fail(db, creator_id, video_id, str(exc))
    except Exception as exc:  # a bug must not leave the video stuck in a stage forever
        log.exception("import of video %s failed", video_id)
        _fail(db, creator_id, video_id, f"Import failed unexpectedly ({type(exc).__name__}); retry it, and "
                                        "report the problem if it happens again.")
    return "failed"


def embed_moments(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, embedder: Embedder, *,
                  stop: threading.Event | None = None) -> int:
    """Embed and store the pieces of text the assistant's offline answer scores in a searchable
    video (rag.moment_vectors), so no question waits for them; returns how many.

    Raises:
        NotFound: the video is not in this workspace or has no chunks of ``embedder``'s model.
    """
    stop = stop or threading.Event()
    with db.workspace(creator_id) as t:
        segments = t.conn.execute(sa.text("SELECT transcript_segments FROM videos WHERE creator_id = :c AND id = :v"),
                                  {"c": creator_id, "v": video_id}).scalar_one_or_none()
        spans = t.conn.execute(sa.text("SELECT start_time_seconds, end_time_seconds FROM video_chunks "
                                       "WHERE creator_id = :c AND video_id = :v AND embedding_model = :m "
                                       "ORDER BY chunk_index"),
                               {"c": creator_id, "v": video_id, "m": embedder.model}).all()
    if not spans:
        raise NotFound("That video is not in this workspace, or it is not searchable yet.")
    texts = moment_texts([(float(a), float(b), str(c)) for a, b, c in segments or []],
                         [(int(a or 0), int(b or a or 0)) for a, b in spans])
    vectors = []
    for start in range(0, len(texts), _MOMENT_BATCH):
        _check(stop)
        vectors.extend(embedder.embed(texts[start:start + _MOMENT_BATCH]))
    with db.workspace(creator_id) as t:
        return store_moment_vectors(t, video_id, dict(zip(texts, vectors, strict=True)), embedder.model,
                                    replace=True)


def _embed_moments_or_leave_them(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, embedder: Embedder,
                                 stop: threading.Event) -> None:
    try:
        embed_moments(db, creator_id, video_id, embedder, stop=stop)
    except _Stopped:
        log.info("stopped before the moments of video %s were embedded; its first question embeds them", video_id)
    except Exception as exc:  # noqa: BLE001 - the video is searchable: an optional step must not fail it
        log.warning("the moments of video %s were not embedded (%s); its first question embeds them", video_id, exc)


class _Stopped(Exception):
    """The worker is stopping: the video is left, unclaimed, for the next one."""


def _check(stop: threading.Event) -> None:
    if stop.is_set():
        raise _Stopped


def _transcript(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, sources: Sources,
                stop: threading.Event) -> Transcript:
    with db.workspace(creator_id) as t:
        video = t.conn.execute(
            sa.text(f"SELECT source_type, {_key_columns()}, import_options, transcript_segments, "
                    "transcript_language, transcript_is_generated, transcript_method, title FROM videos "
                    "WHERE creator_id = :c AND id = :v"),
            {"c": creator_id, "v": video_id},
        ).one()
        if video.transcript_segments is not None:
            _set_stage(t, video_id, "processing")
            stored = Transcript([Segment(*s) for s in video.transcript_segments], video.transcript_language,
                                video.transcript_is_generated, video.transcript_method or "subtitle_file")
        else:
            stored = None
            _set_stage(t, video_id, "transcribing")
    source = source_for(video.source_type)
    key = getattr(video, source.key_column)
    if stored is not None:
        if source.placeholder_title and video.title.startswith(source.placeholder_title):
            # Its subtitle file came from the creator because the platform refused the captions;
            # the title usually still comes (YouTube's oEmbed is rarely blocked).
            _save_metadata(db, creator_id, video_id, source, source.fetch_metadata(key, sources))
        return stored

    def progress(fraction: float) -> None:
        _check(stop)  # between two pieces of a long file
        _report_progress(db, creator_id, video_id, fraction)  # also renews the lease: long files take minutes

    transcript = source.fetch_transcript(key, video.import_options or {}, sources, creator_id=creator_id,
                                         on_progress=progress)
    metadata = source.fetch_metadata(key, sources)
    with db.workspace(creator_id) as t:
        store_transcript(t, video_id, transcript)
        if transcript.audio_seconds:  # transcribed from the audio: count the minutes
            usage.add_usage(t, transcription_minutes=math.ceil(transcript.audio_seconds / 60))
        _set_stage(t, video_id, "processing")
    _save_metadata(db, creator_id, video_id, source, metadata)
    return transcript


def _save_metadata(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, source: VideoSource, metadata) -> None:
    if metadata is None:
        return
    with db.workspace(creator_id) as t:
        t.conn.execute(
            sa.text("UPDATE videos SET title = CASE WHEN title LIKE :placeholder THEN :title ELSE title END, "
                    "thumbnail_url = coalesce(:thumb, thumbnail_url), metadata = metadata || CAST(:meta AS jsonb) "
                    "WHERE creator_id = :c AND id = :v"),
            {"title": metadata.title, "thumb": metadata.thumbnail_url, "c": creator_id, "v": video_id,
             "placeholder": f"{source.placeholder_title}%",
             "meta": json.dumps({"channel": metadata.channel_name, "channel_url": metadata.channel_url})},
        )


def _embed(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, embedder: Embedder, texts: list[str],
           stop: threading.Event):
    import numpy as np

    batch = 64
    parts = []
    for start in range(0, len(texts), batch):
        _check(stop)
        parts.append(embedder.embed(texts[start : start + batch]))
        _report_progress(db, creator_id, video_id, min(1.0, (start + batch) / len(texts)))  # and a fresh lease
    return np.vstack(parts)


def _replace_chunks(t: Workspace, video_id: uuid.UUID, pieces, vectors, embedder: Embedder,
                    transcript: Transcript) -> None:
    # Two workers finishing one video (one was presumed dead but was not) take turns here: the
    # second's DELETE then sees the first's chunks and replaces them, instead of colliding with them.
    t.conn.execute(sa.text("SELECT id FROM videos WHERE creator_id = :c AND id = :v FOR UPDATE"),
                   {"c": t.creator_id, "v": video_id})
    t.conn.execute(sa.text("DELETE FROM video_chunks WHERE creator_id = :c AND video_id = :v"),
                   {"c": t.creator_id, "v": video_id})
    chunks.insert_chunks(t, video_id, [
        chunks.NewChunk(p.index, p.text, p.start_seconds, p.end_seconds, vectors[i]) for i, p in enumerate(pieces)
    ], embedding_model=embedder.model)
    before = t.conn.execute(
        sa.text("SELECT processing_completed_at IS NULL AS first, duration_seconds FROM videos "
                "WHERE creator_id = :c AND id = :v"), {"c": t.creator_id, "v": video_id}).one()
    videos.set_status(t, video_id, "completed", progress=1, claimed=False)
    analytics.track_event(t, "video_transcribed", video_id, metadata={
        "transcript_method": transcript.method, "cost": round(transcript.cost_usd, 4),
        "word_count": transcript.word_count,
        "language": transcript.language, "is_generated": transcript.is_generated,
        "duration_seconds": before.duration_seconds})
    analytics.track_event(t, "video_embedded", video_id, metadata={"model": embedder.model, "chunks": len(pieces)})
    credits = getattr(embedder, "tokens_used", 0)
    if before.first:  # re-processing the same video must not count its minutes twice
        usage.add_usage(t, total_video_duration_seconds=before.duration_seconds or 0, ai_credits_used=credits)
    elif credits:
        usage.add_usage(t, ai_credits_used=credits)


def _set_stage(t: Workspace, video_id: uuid.UUID, status: str) -> None:
    videos.set_status(t, video_id, status, progress=0, claimed=True)


def _fail(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, message: str) -> None:
    try:
        with db.workspace(creator_id) as t:
            videos.set_status(t, video_id, "failed", message, progress=0, claimed=False)
    except NotFound:  # deleted for good while it was imported: nothing is left to mark
        log.info("video %s was deleted during its import", video_id)


def _report_progress(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, fraction: float) -> None:
    """Progress within the current stage; it is also the worker's sign of life (the lease)."""
    with db.workspace(creator_id) as t:
        t.conn.execute(sa.text("UPDATE videos SET progress = :p, claimed_at = now() WHERE creator_id = :c AND id = :v"),
                       {"p": fraction, "c": creator_id, "v": video_id})


def _key_columns() -> str:
    return ", ".join(sorted({source.key_column for source in all_sources()}))  # fixed names from the registry
