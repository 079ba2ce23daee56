"""Videos: the creator's library, from YouTube, Mux, Loom or an uploaded file."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import courses
from ._rows import require_text, to_record
from .db import Workspace
from .errors import NotFound, ValidationError
from .ingest.sources import all_sources, source_for

__all__ = [
    "SOURCE_TYPES",
    "STATUSES",
    "Video",
    "LiveCopyExists",
    "VideoDetails",
    "create_video",
    "delete_trashed_copy",
    "get_video",
    "list_videos",
    "restore_video",
    "set_status",
    "soft_delete_video",
    "video_details",
]

#: The platforms a video comes from (``ingest.sources`` registers them).
SOURCE_TYPES = tuple(source.name for source in all_sources())
STATUSES = ("pending", "uploading", "transcribing", "processing", "embedding", "completed", "failed")
_COLUMNS = (
    "id, title, description, url, source_type, status, error_message, duration_seconds, "
    "thumbnail_url, youtube_video_id, mux_playback_id, embed_id, storage_path, "
    "transcript_language, transcript_is_generated, transcript_method, progress, attempts, "
    "is_deleted, created_at, updated_at"
)


@dataclass(frozen=True)
class Video:
    id: uuid.UUID
    title: str
    description: str | None
    url: str | None
    source_type: str
    status: str
    error_message: str | None
    duration_seconds: int | None
    thumbnail_url: str | None
    youtube_video_id: str | None
    mux_playback_id: str | None
    embed_id: str | None
    storage_path: str | None
    transcript_language: str | None
    transcript_is_generated: bool | None
    transcript_method: str | None
    progress: float
    attempts: int
    is_deleted: bool
    created_at: datetime
    updated_at: datetime

    @property
    def in_progress(self) -> bool:
        return self.status in {"pending", "uploading", "transcribing", "processing", "embedding"}


@dataclass(frozen=True)
class VideoDetails:
    """What the library's detail panel shows: the timed transcript and how it was indexed."""

    video: Video
    segments: list[tuple[float, float, str]]
    chunk_count: int
    embedding_models: list[str]
    #: What importing it cost so far (transcription), in US dollars: captions and subtitles are free.
    cost_usd: float


def create_video(
    t: Workspace,
    *,
    title: str,
    source_type: str,
    source_id: str,
    url: str | None = None,
    duration_seconds: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Add a video in status ``pending``; ``source_id`` is the YouTube id, Mux playback id,
    Loom id or storage path, as ``source_type`` requires. Returns the new id."""
    source = source_for(source_type)
    title = require_text(title, "title")
    source_id = require_text(source_id, f"{source_type} id", max_length=2000)
    key_column, embed_type = source.key_column, source.embed_type  # the column a fixed name from the registry
    return t.conn.execute(
        sa.text(
            f"INSERT INTO videos (creator_id, title, url, source_type, {key_column}, embed_type, "
            "duration_seconds, metadata) "
            "VALUES (:creator, :title, :url, :source, :key, :embed_type, :duration, "
            "CAST(:metadata AS jsonb)) RETURNING id"
        ),
        {
            "creator": t.creator_id,
            "title": title,
            "url": url,
            "source": source_type,
            "key": source_id,
            "embed_type": embed_type,
            "duration": duration_seconds,
            "metadata": json.dumps(metadata or {}),
        },
    ).scalar_one()


def get_video(t: Workspace, video_id: uuid.UUID) -> Video:
    """One video of the workspace, deleted or not. Raises NotFound."""
    row = t.conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM videos WHERE creator_id = :creator AND id = :id"),
        {"creator": t.creator_id, "id": video_id},
    ).one_or_none()
    if row is None:
        raise NotFound("That video is not in this workspace.")
    return to_record(Video, row)


def list_videos(
    t: Workspace,
    *,
    include_deleted: bool = False,
    only_deleted: bool = False,
    status: str | None = None,
    statuses: list[str] | None = None,
    source_types: list[str] | None = None,
    query: str | None = None,
) -> list[Video]:
    """The workspace's videos, newest first, filtered by status, source and a search of title and
    transcript text; deleted ones only when asked (``only_deleted`` lists the trash)."""
    wanted = list(statuses or ([] if status is None else [status]))
    rows = t.conn.execute(
        sa.text(
            f"SELECT {_COLUMNS} FROM videos WHERE creator_id = :creator "
            "AND (CASE WHEN :only_deleted THEN is_deleted WHEN :include_deleted THEN true ELSE NOT is_deleted END) "
            "AND (cardinality(CAST(:statuses AS text[])) = 0 OR status = ANY(CAST(:statuses AS text[]))) "
            "AND (cardinality(CAST(:sources AS text[])) = 0 OR source_type = ANY(CAST(:sources AS text[]))) "
            "AND (CAST(:query AS text) IS NULL OR title ILIKE :pattern OR transcript ILIKE :pattern) "
            "ORDER BY created_at DESC, title, id"
        ),
        {"creator": t.creator_id, "include_deleted": include_deleted, "only_deleted": only_deleted,
         "statuses": wanted, "sources": list(source_types or []), "query": (query or "").strip() or None,
         "pattern": f"%{_escape_like((query or '').strip())}%"},
    )
    return [to_record(Video, row) for row in rows]


def video_details(t: Workspace, video_id: uuid.UUID) -> VideoDetails:
    """A video with its timed transcript and chunk statistics. Raises NotFound."""
    video = get_video(t, video_id)
    row = t.conn.execute(
        sa.text("SELECT transcript_segments, "
                "(SELECT count(*) FROM video_chunks c WHERE c.creator_id = v.creator_id AND c.video_id = v.id), "
                "(SELECT coalesce(array_agg(DISTINCT embedding_model), '{}') FROM video_chunks c "
                " WHERE c.creator_id = v.creator_id AND c.video_id = v.id AND embedding_model IS NOT NULL), "
                "(SELECT coalesce(sum((e.metadata->>'cost')::numeric), 0) FROM video_analytics_events e "
                " WHERE e.creator_id = v.creator_id AND e.video_id = v.id AND e.event_type = 'video_transcribed') "
                "FROM videos v WHERE creator_id = :creator AND id = :id"),
        {"creator": t.creator_id, "id": video_id},
    ).one()
    segments = [(float(a), float(b), str(text)) for a, b, text in (row[0] or [])]
    return VideoDetails(video, segments, int(row[1]), list(row[2]), float(row[3]))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def set_status(t: Workspace, video_id: uuid.UUID, status: str, error_message: str | None = None, *,
               progress: float | None = None, claimed: bool | None = None) -> None:
    """Move a video along its pipeline (every status write of the import goes through here).

    ``failed`` needs an error message saying why, and counts an attempt; any other status clears
    the message. Entering ``transcribing`` or ``processing`` from ``pending`` starts the processing
    clock; ``completed`` stops it.

    Args:
        progress: the new stage's progress (0..1); None keeps the stored one.
        claimed: True renews a worker's claim (a sign of life), False releases it, None keeps it.

    Raises:
        ValidationError: not a status, or ``failed`` without a message.
        NotFound: no such video in this workspace.
    """
    if status not in STATUSES:
        raise ValidationError(f"'{status}' is not a video status; use one of {', '.join(STATUSES)}.")
    if status == "failed" and not (error_message or "").strip():
        raise ValidationError("A failed video needs an error message that says why it failed.")
    claim = {None: "claimed_at", True: "now()", False: "NULL"}[claimed]  # one of three fixed fragments
    _update_one(
        t,
        video_id,
        "status = :status, error_message = :error, progress = coalesce(CAST(:progress AS real), progress), "
        f"claimed_at = {claim}, "
        "attempts = attempts + CASE WHEN :status = 'failed' THEN 1 ELSE 0 END, "
        "processing_started_at = CASE WHEN :status IN ('transcribing', 'processing') AND status = 'pending' "
        "  THEN now() ELSE processing_started_at END, "
        "processing_completed_at = CASE WHEN :status = 'completed' THEN now() ELSE processing_completed_at END",
        {"status": status, "error": error_message if status == "failed" else None, "progress": progress},
    )


def soft_delete_video(t: Workspace, video_id: uuid.UUID) -> None:
    """Move a video to the trash; lessons keep pointing at it, and it can be restored."""
    _update_one(t, video_id, "is_deleted = true", {})


class LiveCopyExists(ValidationError):
    """A video in the trash cannot come back: the same YouTube video was added again since.

    ``live`` is the copy in the library; the message names it and the two ways out.
    """

    def __init__(self, trashed: Video, live: Video) -> None:
        super().__init__(
            f"'{trashed.title}' cannot be restored as it is: the same YouTube video is in your library "
            f"as '{live.title}' (added {live.created_at:%d %b %Y}), and the library holds one copy of "
            "each. Keep one: replace the copy in the library with this one, or keep the library's copy "
            "and delete this one for good.")
        self.trashed = trashed
        self.live = live


def restore_video(t: Workspace, video_id: uuid.UUID, *, replace_live_copy: bool = False) -> None:
    """Take a video out of the trash.

    Args:
        replace_live_copy: when the same YouTube video was added again after this copy went to
            the trash, move that copy to the trash in its place (its lessons then show it as
            missing, as they would after any trash).

    Raises:
        LiveCopyExists: the same YouTube video is in the library and ``replace_live_copy`` is off.
        NotFound: the video is not in this workspace.
    """
    video = get_video(t, video_id)
    if not video.is_deleted:
        return
    live = _live_copy(t, video)
    if live is not None:
        if not replace_live_copy:
            raise LiveCopyExists(video, live)
        soft_delete_video(t, live.id)
    _update_one(t, video_id, "is_deleted = false", {})


def delete_trashed_copy(t: Workspace, video_id: uuid.UUID) -> int:
    """Keep the library's copy of a YouTube video and delete its copy in the trash for good.

    The trashed copy's lessons are given to the library's copy (a module that already has it
    keeps the one lesson); its transcript and viewing history go with it. Returns how many
    lessons now play the library's copy.

    Raises:
        ValidationError: the video is not in the trash, or no other copy of it is in the library.
        NotFound: the video is not in this workspace.
    """
    video = get_video(t, video_id)
    live = _live_copy(t, video) if video.is_deleted else None
    if live is None:
        raise ValidationError(f"'{video.title}' is not a trashed copy of a video in your library; only such "
                              "a copy can be deleted for good.")
    moved = courses.swap_lesson_video(t, video_id, live.id)
    t.conn.execute(sa.text("DELETE FROM videos WHERE creator_id = :creator AND id = :id"),
                   {"creator": t.creator_id, "id": video_id})
    return moved


def _live_copy(t: Workspace, video: Video) -> Video | None:
    """The copy of the same YouTube video that is in the library (not in the trash), if any."""
    if not video.youtube_video_id:
        return None
    row = t.conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM videos WHERE creator_id = :creator AND youtube_video_id = :youtube "
                "AND NOT is_deleted AND id <> :id"),
        {"creator": t.creator_id, "youtube": video.youtube_video_id, "id": video.id},
    ).one_or_none()
    return None if row is None else to_record(Video, row)


def _update_one(t: Workspace, video_id: uuid.UUID, assignments: str, params: dict[str, Any]) -> None:
    result = t.conn.execute(
        sa.text(f"UPDATE videos SET {assignments} WHERE creator_id = :creator AND id = :id"),
        {**params, "creator": t.creator_id, "id": video_id},
    )
    if result.rowcount == 0:
        raise NotFound("That video is not in this workspace.")

