"""Queueing videos for import: adding a YouTube, Loom, Mux or uploaded video, retrying one, giving
one its subtitle file. Each only writes rows (a ``pending`` video, a parsed subtitle file's
transcript); the worker (``pipeline.process_video``) does the rest.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .. import videos
from .._rows import require_text
from ..db import Workspace
from ..errors import NotFound, ValidationError
from ..viewing import analytics, usage
from .segments import Transcript
from .sources import VideoSource, all_sources, parse_link, source_for
from .sources.youtube import YOUTUBE
from .subtitles import parse_subtitles
from .transcripts import store_transcript

__all__ = [
    "CaptionOptions",
    "DuplicateVideo",
    "add_subtitled_video",
    "add_upload_to_transcribe",
    "add_youtube_video",
    "attach_subtitles",
    "caption_options",
    "requeue_for_embedding",
    "retry_video",
]

#: The statuses of a video the pipeline is working on (``pending`` until a worker claims it).
STAGES = ("pending", "transcribing", "processing", "embedding")
# A language tag as YouTube writes them ("en", "pt-BR", "zh-Hans", "fil"): anything else is a typo
# that YouTube would answer with "no captions", so it is refused while the creator is still typing.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class DuplicateVideo(ValidationError):
    """The creator already has this YouTube video (or Loom or Mux link); ``video_id`` is the existing one."""

    def __init__(self, message: str, video_id: uuid.UUID) -> None:
        super().__init__(message)
        self.video_id = video_id


@dataclass(frozen=True)
class CaptionOptions:
    """Which YouTube captions an import reads: ``languages`` in order of preference (manual
    captions before auto-generated ones), optionally machine-translated into ``translate_to``;
    ``only_these_languages`` fails the import instead of falling back to the video's own language."""

    languages: tuple[str, ...] = ("en",)
    translate_to: str | None = None
    only_these_languages: bool = False


def _checked_options(languages: Sequence[str], translate_to: str | None, only_these_languages: bool) -> CaptionOptions:
    codes = tuple(code.strip() for code in languages if code and code.strip()) or ("en",)
    target = (translate_to or "").strip() or None
    for code in (*codes, *([target] if target else [])):
        if not _LANGUAGE_TAG.match(code):
            raise ValidationError(f"'{code}' is not a language code; write codes such as en, de or pt-BR, "
                                  "separated by commas.")
    return CaptionOptions(codes, target, bool(only_these_languages))


def _options_json(options: CaptionOptions) -> dict[str, Any]:
    return {"languages": list(options.languages), "translate_to": options.translate_to,
            "only_these_languages": options.only_these_languages}


def add_youtube_video(
    t: Workspace,
    link: str,
    *,
    languages: Sequence[str] = ("en",),
    translate_to: str | None = None,
    title: str | None = None,
    only_these_languages: bool = False,
) -> uuid.UUID:
    """Queue a YouTube video by link or id; returns its id.

    Without ``only_these_languages``, a video with no captions in ``languages`` is imported in
    its own language rather than failing; with it, the import fails and lists the languages
    that exist.

    Raises:
        ValidationError: the link is not a YouTube video link, or a language code is malformed.
        DuplicateVideo: the workspace already has this video (retry or re-import that one).
    """
    parsed = parse_link(link)
    if parsed.kind != "youtube_video":
        raise ValidationError("That is not a link to one YouTube video; paste a video link, or use the "
                              "playlist import for playlists and channels.")
    existing = t.conn.execute(
        sa.text(f"SELECT id, title FROM videos WHERE creator_id = :c AND {YOUTUBE.key_column} = :y AND NOT is_deleted"),
        {"c": t.creator_id, "y": parsed.id},
    ).one_or_none()
    if existing:
        raise DuplicateVideo(
            f"'{existing.title}' is already in your library; re-import it from the library to fetch "
            "its transcript again.", existing.id)
    options = _options_json(_checked_options(languages, translate_to, only_these_languages))
    try:
        with t.conn.begin_nested():
            video_id = _insert_video(t, YOUTUBE, title=title or f"{YOUTUBE.placeholder_title}{parsed.id}",
                                     key=parsed.id, url=parsed.url, options=options)
    except IntegrityError as exc:  # a second tab added it a moment ago
        raise ValidationError("This video was just added to your library; refresh the page.") from exc
    analytics.track_event(t, "video_imported", video_id, metadata={"source_type": YOUTUBE.name})
    usage.add_usage(t, videos_uploaded=1)
    return video_id


def add_subtitled_video(
    t: Workspace,
    *,
    source_type: str,
    source: str,
    subtitle_bytes: bytes,
    subtitle_filename: str,
    title: str,
    duration_seconds: int | None = None,
    file_size_bytes: int | None = None,
) -> uuid.UUID:
    """Queue a Loom, Mux or uploaded video whose transcript is a subtitle file; returns its id.

    ``source`` is the Loom or Mux link (or id), or for uploads the stored file's path. The
    subtitle file is parsed first: a bad one is refused before anything is written.
    """
    segments = parse_subtitles(subtitle_bytes, subtitle_filename, duration_seconds=duration_seconds)
    platform = _subtitled_source(source_type)
    link = platform.parse_source(source, t.creator_id)
    if platform.hosts:  # as for YouTube: one copy of a link in the library
        existing = t.conn.execute(  # the column is a fixed name from the registry
            sa.text(f"SELECT id, title FROM videos WHERE creator_id = :c AND {platform.key_column} = :k "
                    "AND NOT is_deleted"),
            {"c": t.creator_id, "k": link.id},
        ).one_or_none()
        if existing:
            raise DuplicateVideo(
                f"'{existing.title}' is already in your library with this {platform.label} link; open it "
                "there, or move it to the trash first to add the link again.", existing.id)
    if not (title or "").strip():
        raise ValidationError("The title is empty; give the video a title.")
    transcript = Transcript(segments, language=None, is_generated=False, method="subtitle_file")
    video_id = _insert_video(t, platform, title=title, key=link.id, url=link.url, options={},
                             duration=duration_seconds or math.ceil(segments[-1].end), size=file_size_bytes)
    store_transcript(t, video_id, transcript)
    analytics.track_event(t, "video_imported", video_id, metadata={
        "source_type": source_type, "duration_seconds": duration_seconds, "file_size_bytes": file_size_bytes})
    usage.add_usage(t, videos_uploaded=1, storage_used_bytes=file_size_bytes or 0)
    return video_id


def add_upload_to_transcribe(t: Workspace, *, storage_path: str, title: str, file_size_bytes: int | None) -> uuid.UUID:
    """Queue an uploaded audio or video file whose transcript OpenAI will make; returns its id."""
    if not (title or "").strip():
        raise ValidationError("The title is empty; give the video a title.")
    upload = source_for("upload")
    video_id = _insert_video(t, upload, title=title, key=upload.parse_source(storage_path, t.creator_id).id,
                             url=None, options={}, size=file_size_bytes)
    analytics.track_event(t, "video_imported", video_id, metadata={
        "source_type": "upload", "file_size_bytes": file_size_bytes})
    usage.add_usage(t, videos_uploaded=1, storage_used_bytes=file_size_bytes or 0)
    return video_id


def retry_video(t: Workspace, video_id: uuid.UUID, *, refetch: bool = False,
                captions: CaptionOptions | None = None) -> None:
    """Put a video back in the queue (a failed one, or any one to re-process).

    ``refetch`` asks the source for the transcript again (YouTube; a transcript the creator gave
    as a subtitle file is kept unless ``captions`` is given); otherwise the stored transcript is
    chunked and embedded again. ``captions`` (YouTube only) replaces the languages, translation
    and strictness the video was added with, and implies ``refetch``.

    Raises:
        NotFound: no such live video in this workspace.
        ValidationError: ``captions`` for a video that is not from YouTube, or a malformed code.
    """
    row = t.conn.execute(
        sa.text("SELECT source_type, transcript_method FROM videos "
                "WHERE creator_id = :c AND id = :v AND NOT is_deleted"),
        {"c": t.creator_id, "v": video_id},
    ).one_or_none()
    if row is None:
        raise NotFound("That video is not in this workspace (or it is in the trash).")
    options = None
    if captions is not None:
        if not source_for(row.source_type).fetches_transcript:
            raise ValidationError("Only YouTube videos have caption languages to choose; attach a subtitle file "
                                  "to this one instead.")
        options = json.dumps(_options_json(_checked_options(captions.languages, captions.translate_to,
                                                            captions.only_these_languages)))
    clear = source_for(row.source_type).fetches_transcript and (
        captions is not None or (refetch and row.transcript_method != "subtitle_file"))
    t.conn.execute(
        sa.text("UPDATE videos SET import_options = coalesce(CAST(:options AS jsonb), import_options)"
                + (", transcript_segments = NULL" if clear else "") + " WHERE creator_id = :c AND id = :v"),
        {"c": t.creator_id, "v": video_id, "options": options},
    )
    videos.set_status(t, video_id, "pending", progress=0, claimed=False)


def caption_options(t: Workspace, video_id: uuid.UUID) -> CaptionOptions:
    """The caption choice a YouTube video was added (or last retried) with, to draw a Retry form.

    Raises:
        NotFound: no such video in this workspace.
    """
    options = t.conn.execute(
        sa.text("SELECT import_options FROM videos WHERE creator_id = :c AND id = :v"),
        {"c": t.creator_id, "v": video_id},
    ).one_or_none()
    if options is None:
        raise NotFound("That video is not in this workspace.")
    stored = options.import_options or {}
    return CaptionOptions(tuple(stored.get("languages") or ("en",)), stored.get("translate_to") or None,
                          bool(stored.get("only_these_languages")))


def attach_subtitles(t: Workspace, video_id: uuid.UUID, *, subtitle_bytes: bytes, subtitle_filename: str,
                     duration_seconds: int | None = None) -> None:
    """Give a video its transcript as a subtitle file and queue it (e.g. a YouTube video whose
    captions YouTube refused: blocked, proof-of-origin token, captions off).

    The video keeps its source: a YouTube video keeps its id, so its thumbnail and its links to a
    moment (``&t=``) stay. The file is parsed first; a bad one changes nothing.

    Raises:
        NotFound: no such live video in this workspace.
        ValidationError: the subtitle file cannot be read, or the video is being imported right now.
    """
    video = t.conn.execute(
        sa.text(f"SELECT source_type, {_key_columns()}, status, claimed_at IS NOT NULL AS claimed FROM videos "
                "WHERE creator_id = :c AND id = :v AND NOT is_deleted FOR UPDATE"),
        {"c": t.creator_id, "v": video_id},
    ).one_or_none()
    if video is None:
        raise NotFound("That video is not in this workspace (or it is in the trash).")
    if video.status in STAGES and (video.status != "pending" or video.claimed):
        raise ValidationError("This video is being imported right now; attach the subtitle file once it has "
                              "finished or failed.")
    segments = parse_subtitles(subtitle_bytes, subtitle_filename, duration_seconds=duration_seconds)
    store_transcript(t, video_id, Transcript(segments, language=None, is_generated=False, method="subtitle_file"))
    key = getattr(video, source_for(video.source_type).key_column)
    t.conn.execute(
        sa.text("UPDATE videos SET thumbnail_url = coalesce(thumbnail_url, :thumbnail) WHERE creator_id = :c AND id = :v"),
        {"c": t.creator_id, "v": video_id, "thumbnail": source_for(video.source_type).thumbnail_url(key) if key else None},
    )
    videos.set_status(t, video_id, "pending", progress=0, claimed=False)


def requeue_for_embedding(t: Workspace) -> list[uuid.UUID]:
    """Queue every live video that has a transcript, to embed it again (e.g. after the provider
    changed); returns their ids."""
    ids = t.conn.execute(
        sa.text("SELECT id FROM videos WHERE creator_id = :c AND NOT is_deleted AND transcript_segments IS NOT NULL "
                "AND status IN ('completed', 'failed') FOR UPDATE"),
        {"c": t.creator_id},
    ).scalars().all()
    for video_id in ids:
        videos.set_status(t, video_id, "pending", progress=0, claimed=False)
    return list(ids)


def _insert_video(t: Workspace, source: VideoSource, *, title: str, key: str, url: str | None,
                  options: dict[str, Any], duration: int | None = None, size: int | None = None) -> uuid.UUID:
    values: dict[str, Any] = {
        "creator_id": t.creator_id, "title": require_text(title, "video title"), "url": url, "source_type": source.name,
        "import_options": json.dumps(options), "duration_seconds": duration, "file_size_bytes": size,
        source.key_column: key,
    }
    if source.embed_type:  # the seeds' generic embed columns: what a player needs to show the video
        values["embed_type"] = source.embed_type
        values["embed_id"] = key
    columns = sorted(values)  # fixed names from this module and the registry, never from input
    placeholders = [f"CAST(:{c} AS jsonb)" if c == "import_options" else f":{c}" for c in columns]
    return t.conn.execute(
        sa.text(f"INSERT INTO videos ({', '.join(columns)}) VALUES ({', '.join(placeholders)}) RETURNING id"),
        values,
    ).scalar_one()


def _subtitled_source(source_type: str) -> VideoSource:
    """The source of a video whose transcript is a subtitle file (any but those that fetch their own)."""
    takers = [source for source in all_sources() if not source.fetches_transcript]
    for source in takers:
        if source.name == source_type:
            return source
    names = [source.name for source in takers]
    raise ValidationError(f"'{source_type}' videos do not take subtitle files; use {', '.join(names[:-1])} "
                          f"or {names[-1]}.")


def _key_columns() -> str:
    return ", ".join(sorted({source.key_column for source in all_sources()}))  # fixed names from the registry
