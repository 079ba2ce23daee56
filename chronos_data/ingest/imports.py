"""Batch imports: many sources at once (command line, CSV of links), each refused or queued alone."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..creators import get_creator
from ..db import Workspace
from ..errors import ChronosError, ValidationError
from ..uploads import MEDIA_EXTENSIONS, keep_file, removed_on_error, store_upload
from .pipeline import (
    DuplicateVideo,
    add_subtitled_video,
    add_upload_to_transcribe,
    add_youtube_video,
    attach_subtitles,
)
from .sources import parse_link, source_for
from .subtitles import SUBTITLE_EXTENSIONS

__all__ = ["ImportRequest", "Queued", "list_playlist", "parse_csv", "queue_imports"]

_CSV_LINK_COLUMNS = ("url", "link", "source", "video")


@dataclass(frozen=True)
class ImportRequest:
    source: str
    kind: str | None = None
    title: str | None = None
    languages: str = "en"
    subtitles: str | None = None


@dataclass(frozen=True)
class Queued:
    source: str
    video_id: uuid.UUID | None
    error: str | None = None


def parse_csv(data: bytes, *, languages: str = "en") -> list[ImportRequest]:
    """Rows of a CSV of links: a column named url/link (or the first column), optional title.

    Raises:
        ValidationError: the file is not a CSV with links.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    try:
        # newline="": the csv module itself handles \r, \n and quoted line breaks.
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValidationError(f"The CSV file cannot be read ({exc}); export it again as CSV, one link per row.") from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ValidationError("The CSV file is empty; put one video link per row.")
    header = [cell.strip().lower() for cell in rows[0]]
    link_col = next((header.index(c) for c in _CSV_LINK_COLUMNS if c in header), None)
    title_col = header.index("title") if "title" in header else None
    body = rows[1:] if link_col is not None else rows
    link_col = 0 if link_col is None else link_col
    requests = [ImportRequest(source=row[link_col].strip(),
                              title=(row[title_col].strip() or None) if title_col is not None and len(row) > title_col
                              else None, languages=languages)
                for row in body if len(row) > link_col and row[link_col].strip()]
    if not requests:
        raise ValidationError("The CSV file has no links; put one video link per row (a 'url' column).")
    return requests


def queue_imports(t: Workspace, settings: Settings, requests: list[ImportRequest]) -> list[Queued]:
    """Queue every request that is valid; a bad one is reported and does not stop the others."""
    expanded: list[ImportRequest] = []
    queued: list[Queued] = []
    for request in requests:
        if request.source.lower().endswith(".csv") and Path(request.source).is_file():
            expanded.extend(parse_csv(Path(request.source).read_bytes(), languages=request.languages))
        elif _is_youtube_list(request.source):
            try:
                expanded.extend(_listed(request))
            except ChronosError as exc:
                queued.append(Queued(request.source, None, str(exc)))
        else:
            expanded.append(request)
    for request in expanded:
        try:
            with t.conn.begin_nested():  # one bad source rolls back only itself
                queued.append(Queued(request.source, _queue_one(t, settings, request)))
        except ChronosError as exc:
            queued.append(Queued(request.source, None, str(exc)))
    return queued


def _is_youtube_list(source: str) -> bool:
    try:
        return parse_link(source).kind == "youtube_list"
    except ChronosError:
        return False


def list_playlist(link: str, *, limit: int = 500):
    """The videos of a YouTube playlist or channel link, listed without downloading media.

    Raises:
        ValidationError: the link is not a playlist or channel.
        SourceError: YouTube could not list it (the message says why).
    """
    from .ytdlp import list_videos

    parsed = parse_link(link)
    if parsed.kind != "youtube_list":
        raise ValidationError("That is not a playlist or channel link; paste a link such as "
                              "https://www.youtube.com/playlist?list=… or https://www.youtube.com/@channel.")
    return list_videos(parsed.url, limit=limit)


def _listed(request: ImportRequest) -> list[ImportRequest]:
    """Every video of a playlist or channel (the command line imports them all)."""
    listing = list_playlist(request.source)
    return [ImportRequest(source=video.url, title=video.title, languages=request.languages)
            for video in listing.videos]


def _queue_one(t: Workspace, settings: Settings, request: ImportRequest) -> uuid.UUID:
    path = Path(request.source)
    languages = [code.strip() for code in request.languages.split(",")]
    if path.suffix.lower() in (*SUBTITLE_EXTENSIONS, *MEDIA_EXTENSIONS) and path.is_file():
        return _queue_file(t, settings, request, path)
    if path.suffix.lower() in (*SUBTITLE_EXTENSIONS, *MEDIA_EXTENSIONS):
        raise ValidationError(f"{request.source} does not exist; check the file's path.")
    link = parse_link(request.source)
    if link.kind == "youtube_video" and request.kind in (None, "youtube"):
        return _queue_youtube(t, request, languages)
    if not request.subtitles:
        raise ValidationError(f"A {link.kind.title()} video needs its subtitle file; add --subtitles FILE.")
    subtitles = _subtitle_file(request)
    return add_subtitled_video(t, source_type=link.kind, source=request.source, subtitle_bytes=subtitles.read_bytes(),
                               subtitle_filename=subtitles.name, title=request.title or f"{link.kind.title()} video")


def _queue_youtube(t: Workspace, request: ImportRequest, languages: list[str]) -> uuid.UUID:
    """A YouTube video; with a subtitle file, that file is its transcript (YouTube's captions are
    not asked for), also for the copy already in the library (one whose import failed, say)."""
    if not request.subtitles:
        return add_youtube_video(t, request.source, languages=languages, title=request.title)
    subtitles = _subtitle_file(request)
    data = subtitles.read_bytes()
    try:
        video_id = add_youtube_video(t, request.source, languages=languages, title=request.title)
    except DuplicateVideo as exc:
        video_id = exc.video_id
    attach_subtitles(t, video_id, subtitle_bytes=data, subtitle_filename=subtitles.name)
    return video_id


def _subtitle_file(request: ImportRequest) -> Path:
    subtitles = Path(request.subtitles or "")
    if not subtitles.is_file():
        raise ValidationError(f"The subtitle file {request.subtitles} does not exist; check its path.")
    return subtitles


def _queue_file(t: Workspace, settings: Settings, request: ImportRequest, path: Path) -> uuid.UUID:
    subtitle_path = path if path.suffix.lower() in SUBTITLE_EXTENSIONS else (
        Path(request.subtitles) if request.subtitles else None)
    tier = get_creator(t).subscription_tier
    size = path.stat().st_size
    if subtitle_path is None and source_for("upload").can_transcribe(settings):
        with path.open("rb") as media:
            stored = store_upload(settings, t.creator_id, path.name, media, size, tier)
        with removed_on_error(settings, stored):  # a refused video keeps no file
            return add_upload_to_transcribe(t, storage_path=stored, title=request.title or path.stem,
                                            file_size_bytes=size)
    if subtitle_path is None or not subtitle_path.is_file():
        raise ValidationError(f"{path.name} needs a subtitle file (--subtitles FILE), or set OPENAI_API_KEY so "
                              "Chronos can transcribe its audio.")
    with path.open("rb") as media:
        # A subtitle file alone is kept as the upload itself, so the video has a storage path.
        stored = store_upload(settings, t.creator_id, path.name, media, size, tier) \
            if path.suffix.lower() in MEDIA_EXTENSIONS else keep_file(settings, t.creator_id, path.name, media)
    with removed_on_error(settings, stored):
        return add_subtitled_video(t, source_type="upload", source=stored, subtitle_bytes=subtitle_path.read_bytes(),
                                   subtitle_filename=subtitle_path.name, title=request.title or path.stem,
                                   file_size_bytes=size)
