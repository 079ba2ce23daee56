"""Videos: the creator's library, from YouTube, Mux, Loom or an uploaded file."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ._rows import require_text, to_record
from .db import Tenant
from .errors import NotFound, ValidationError

__all__ = [
    "SOURCE_TYPES",
    "STATUSES",
    "Video",
    "create_video",
    "get_video",
    "list_videos",
    "restore_video",
    "set_status",
    "soft_delete_video",
]

SOURCE_TYPES = ("youtube", "mux", "loom", "upload")
STATUSES = ("pending", "uploading", "transcribing", "processing", "embedding", "completed", "failed")
#: The column each source must fill (the seeds' videos_source_validation constraint).
_SOURCE_KEY = {"youtube": "youtube_video_id", "mux": "mux_playback_id", "loom": "embed_id", "upload": "storage_path"}
_COLUMNS = (
    "id, title, description, url, source_type, status, error_message, duration_seconds, "
    "thumbnail_url, youtube_video_id, mux_playback_id, embed_id, storage_path, "
    "transcript_language, is_deleted, created_at, updated_at"
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
    is_deleted: bool
    created_at: datetime
    updated_at: datetime


def create_video(
    t: Tenant,
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
    if source_type not in SOURCE_TYPES:
        raise ValidationError(f"'{source_type}' is not a video source; use one of {', '.join(SOURCE_TYPES)}.")
    title = require_text(title, "title")
    source_id = require_text(source_id, f"{source_type} id", max_length=2000)
    key_column = _SOURCE_KEY[source_type]
    embed_type = "loom" if source_type == "loom" else ("youtube" if source_type == "youtube" else None)
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


def get_video(t: Tenant, video_id: uuid.UUID) -> Video:
    """One video of the workspace, deleted or not. Raises NotFound."""
    row = t.conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM videos WHERE creator_id = :creator AND id = :id"),
        {"creator": t.creator_id, "id": video_id},
    ).one_or_none()
    if row is None:
        raise NotFound("That video is not in this workspace.")
    return to_record(Video, row)


def list_videos(t: Tenant, *, include_deleted: bool = False, status: str | None = None) -> list[Video]:
    """The workspace's videos, newest first; deleted ones only when asked."""
    rows = t.conn.execute(
        sa.text(
            f"SELECT {_COLUMNS} FROM videos WHERE creator_id = :creator "
            "AND (:include_deleted OR NOT is_deleted) "
            "AND (CAST(:status AS text) IS NULL OR status = :status) "
            "ORDER BY created_at DESC"
        ),
        {"creator": t.creator_id, "include_deleted": include_deleted, "status": status},
    )
    return [to_record(Video, row) for row in rows]


def set_status(t: Tenant, video_id: uuid.UUID, status: str, error_message: str | None = None) -> None:
    """Move a video along its pipeline; ``failed`` needs an error message saying why."""
    if status not in STATUSES:
        raise ValidationError(f"'{status}' is not a video status; use one of {', '.join(STATUSES)}.")
    if status == "failed" and not (error_message or "").strip():
        raise ValidationError("A failed video needs an error message that says why it failed.")
    _update_one(
        t,
        video_id,
        "status = :status, error_message = :error, "
        "processing_started_at = CASE WHEN :status = 'transcribing' THEN now() ELSE processing_started_at END, "
        "processing_completed_at = CASE WHEN :status = 'completed' THEN now() ELSE processing_completed_at END",
        {"status": status, "error": error_message if status == "failed" else None},
    )


def soft_delete_video(t: Tenant, video_id: uuid.UUID) -> None:
    """Move a video to the trash; lessons keep pointing at it, and it can be restored."""
    _update_one(t, video_id, "is_deleted = true", {})


def restore_video(t: Tenant, video_id: uuid.UUID) -> None:
    """Take a video out of the trash."""
    _update_one(t, video_id, "is_deleted = false", {})


def _update_one(t: Tenant, video_id: uuid.UUID, assignments: str, params: dict[str, Any]) -> None:
    result = t.conn.execute(
        sa.text(f"UPDATE videos SET {assignments} WHERE creator_id = :creator AND id = :id"),
        {**params, "creator": t.creator_id, "id": video_id},
    )
    if result.rowcount == 0:
        raise NotFound("That video is not in this workspace.")

