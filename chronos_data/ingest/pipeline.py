"""The import pipeline: pending -> transcribing -> processing -> embedding -> completed | failed.

Adding a video only writes a ``pending`` row (and, for subtitle files, the parsed transcript, so a
bad file is refused before anything is stored). A worker then claims the video and takes it
through the stages, each in short transactions. The chunks are swapped in, and the video marked
completed, in one final transaction: a crash never leaves half a transcript searchable, and the
claim's lease lets another worker resume the video.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .. import analytics, chunks, usage
from .._rows import require_text
from ..config import Settings
from ..db import Database, Tenant
from ..embeddings import Embedder
from ..errors import ChronosError, NotFound, SourceError, ValidationError
from ..rag.moment_vectors import moment_texts, store_moment_vectors
from ..uploads import check_storage_path, stored_file
from .chunking import chunk_segments
from .links import parse_link, youtube_thumbnail
from .segments import Segment, Transcript
from .subtitles import parse_subtitles

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

_TRANSIENT_ATTEMPTS = 3
_MOMENT_BATCH = 64  # texts per embedding call between stop checks (the embedder batches further)
#: A claimed video whose worker showed no sign of life for this long is taken over by another
#: worker (the first is presumed dead); CHRONOS_IMPORT_LEASE_SECONDS changes it.
LEASE = timedelta(minutes=5)
_RENEWALS_PER_LEASE = 3  # a live worker renews its lease this often per lease: one late renewal is harmless
_STAGES = ("pending", "transcribing", "processing", "embedding")
# A language tag as YouTube writes them ("en", "pt-BR", "zh-Hans", "fil"): anything else is a typo
# that YouTube would answer with "no captions", so it is refused while the creator is still typing.
#: The title of a YouTube video until YouTube's own is known.
_YOUTUBE_PLACEHOLDER = "YouTube video "
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class DuplicateVideo(ValidationError):
    """The creator already has this YouTube video (or Loom or Mux link); ``video_id`` is the existing one."""

    def __init__(self, message: str, video_id: uuid.UUID) -> None:
        super().__init__(message)
        self.video_id = video_id


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
    t: Tenant,
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
        sa.text("SELECT id, title FROM videos WHERE creator_id = :c AND youtube_video_id = :y AND NOT is_deleted"),
        {"c": t.creator_id, "y": parsed.id},
    ).one_or_none()
    if existing:
        raise DuplicateVideo(
            f"'{existing.title}' is already in your library; re-import it from the library to fetch "
            "its transcript again.", existing.id)
    options = _options_json(_checked_options(languages, translate_to, only_these_languages))
    try:
        with t.conn.begin_nested():
            video_id = _insert_video(t, title=title or f"{_YOUTUBE_PLACEHOLDER}{parsed.id}", source_type="youtube",
                                     key_column="youtube_video_id", key=parsed.id, url=parsed.url,
                                     embed_type="youtube", options=options)
    except IntegrityError as exc:  # a second tab added it a moment ago
        raise ValidationError("This video was just added to your library; refresh the page.") from exc
    analytics.track_event(t, "video_imported", video_id, metadata={"source_type": "youtube"})
    usage.add_usage(t, videos_uploaded=1)
    return video_id


def add_subtitled_video(
    t: Tenant,
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
    if source_type in {"loom", "mux"}:
        parsed = parse_link(source)
        if parsed.kind != source_type:
            raise ValidationError(f"That is not a {source_type.title()} link; paste the video's share link "
                                  "or choose the right source.")
        key_column, key, url = ("embed_id" if source_type == "loom" else "mux_playback_id"), parsed.id, parsed.url
        existing = t.conn.execute(  # key_column is one of the two names above
            sa.text(f"SELECT id, title FROM videos WHERE creator_id = :c AND {key_column} = :k AND NOT is_deleted"),
            {"c": t.creator_id, "k": key},
        ).one_or_none()
        if existing:  # as for YouTube: one copy of a link in the library
            raise DuplicateVideo(
                f"'{existing.title}' is already in your library with this {source_type.title()} link; open it "
                "there, or move it to the trash first to add the link again.", existing.id)
    elif source_type == "upload":
        key_column, key, url = "storage_path", check_storage_path(t.creator_id, source), None
    else:
        raise ValidationError(f"'{source_type}' videos do not take subtitle files; use loom, mux or upload.")
    if not (title or "").strip():
        raise ValidationError("The title is empty; give the video a title.")
    transcript = Transcript(segments, language=None, is_generated=False, method="subtitle_file")
    video_id = _insert_video(t, title=title, source_type=source_type, key_column=key_column, key=key, url=url,
                             embed_type="loom" if source_type == "loom" else None, options={},
                             duration=duration_seconds or math.ceil(segments[-1].end), size=file_size_bytes)
    _store_transcript(t, video_id, transcript)
    analytics.track_event(t, "video_imported", video_id, metadata={
        "source_type": source_type, "duration_seconds": duration_seconds, "file_size_bytes": file_size_bytes})
    usage.add_usage(t, videos_uploaded=1, storage_used_bytes=file_size_bytes or 0)
    return video_id


def add_upload_to_transcribe(t: Tenant, *, storage_path: str, title: str, file_size_bytes: int | None) -> uuid.UUID:
    """Queue an uploaded audio or video file whose transcript OpenAI will make; returns its id."""
    if not (title or "").strip():
        raise ValidationError("The title is empty; give the video a title.")
    check_storage_path(t.creator_id, storage_path)
    video_id = _insert_video(t, title=title, source_type="upload", key_column="storage_path", key=storage_path,
                             url=None, embed_type=None, options={}, size=file_size_bytes)
    analytics.track_event(t, "video_imported", video_id, metadata={
        "source_type": "upload", "file_size_bytes": file_size_bytes})
    usage.add_usage(t, videos_uploaded=1, storage_used_bytes=file_size_bytes or 0)
    return video_id


def retry_video(t: Tenant, video_id: uuid.UUID, *, refetch: bool = False,
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
        if row.source_type != "youtube":
            raise ValidationError("Only YouTube videos have caption languages to choose; attach a subtitle file "
                                  "to this one instead.")
        options = json.dumps(_options_json(_checked_options(captions.languages, captions.translate_to,
                                                            captions.only_these_languages)))
    clear = row.source_type == "youtube" and (
        captions is not None or (refetch and row.transcript_method != "subtitle_file"))
    t.conn.execute(
        sa.text("UPDATE videos SET status = 'pending', error_message = NULL, claimed_at = NULL, progress = 0, "
                "import_options = coalesce(CAST(:options AS jsonb), import_options)"
                + (", transcript_segments = NULL" if clear else "") + " WHERE creator_id = :c AND id = :v"),
        {"c": t.creator_id, "v": video_id, "options": options},
    )


def caption_options(t: Tenant, video_id: uuid.UUID) -> CaptionOptions:
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


def attach_subtitles(t: Tenant, video_id: uuid.UUID, *, subtitle_bytes: bytes, subtitle_filename: str,
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
        sa.text("SELECT source_type, youtube_video_id, status, claimed_at IS NOT NULL AS claimed FROM videos "
                "WHERE creator_id = :c AND id = :v AND NOT is_deleted FOR UPDATE"),
        {"c": t.creator_id, "v": video_id},
    ).one_or_none()
    if video is None:
        raise NotFound("That video is not in this workspace (or it is in the trash).")
    if video.status in _STAGES and (video.status != "pending" or video.claimed):
        raise ValidationError("This video is being imported right now; attach the subtitle file once it has "
                              "finished or failed.")
    segments = parse_subtitles(subtitle_bytes, subtitle_filename, duration_seconds=duration_seconds)
    _store_transcript(t, video_id, Transcript(segments, language=None, is_generated=False, method="subtitle_file"))
    t.conn.execute(
        sa.text("UPDATE videos SET status = 'pending', error_message = NULL, claimed_at = NULL, progress = 0, "
                "thumbnail_url = coalesce(thumbnail_url, :thumbnail) WHERE creator_id = :c AND id = :v"),
        {"c": t.creator_id, "v": video_id,
         "thumbnail": youtube_thumbnail(video.youtube_video_id) if video.youtube_video_id else None},
    )


def requeue_for_embedding(t: Tenant) -> list[uuid.UUID]:
    """Queue every live video that has a transcript, to embed it again (e.g. after the provider
    changed); returns their ids."""
    rows = t.conn.execute(
        sa.text("UPDATE videos SET status = 'pending', error_message = NULL, claimed_at = NULL, progress = 0 "
                "WHERE creator_id = :c AND NOT is_deleted AND transcript_segments IS NOT NULL "
                "AND status IN ('completed', 'failed') RETURNING id"),
        {"c": t.creator_id},
    )
    return [row.id for row in rows]


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
        with _LeaseKeeper(db, creator_id, video_id, sources.lease):
            _check(stop)
            transcript = _transcript(db, creator_id, video_id, sources, stop)
            _check(stop)
            pieces = chunk_segments(transcript.segments)
            if not pieces:
                raise ValidationError("The transcript has no words to search; upload a subtitle file with text.")
            with db.tenant(creator_id) as t:
                _set_stage(t, video_id, "embedding")
            vectors = _embed(db, creator_id, video_id, embedder, [p.text for p in pieces], stop)
            with db.tenant(creator_id) as t:
                _replace_chunks(t, video_id, pieces, vectors, embedder, transcript)
        if moments:  # searchable already; the assistant's moments follow
            _embed_moments_or_leave_them(db, creator_id, video_id, embedder, stop)
        return "completed"
    except _Stopped:
        _release(db, creator_id, video_id)
        return "released"
    except KeyboardInterrupt:
        _release(db, creator_id, video_id)
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
    with db.tenant(creator_id) as t:
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
    with db.tenant(creator_id) as t:
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


def release_claim(t: Tenant, video_id: uuid.UUID) -> None:
    """Give up a worker's claim on a video still in the pipeline, so any worker may resume it at
    once instead of after the lease (a graceful stop; see ``ImportWorker.stop``)."""
    t.conn.execute(sa.text("UPDATE videos SET claimed_at = NULL WHERE creator_id = :c AND id = :v "
                           "AND status = ANY(:stages)"),
                   {"c": t.creator_id, "v": video_id, "stages": list(_STAGES)})


def _release(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID) -> None:
    try:
        with db.tenant(creator_id) as t:
            release_claim(t, video_id)
        log.info("released the claim on video %s for the next worker", video_id)
    except Exception as exc:  # the database may be gone first at shutdown: then the lease frees it
        log.warning("could not release the claim on video %s: %s", video_id, exc)


class _LeaseKeeper:
    """Renews a claimed video's lease from a thread until the block ends (see ``process_video``)."""

    def __init__(self, db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, lease: timedelta) -> None:
        self._db, self._creator_id, self._video_id = db, creator_id, video_id
        self._every = lease.total_seconds() / _RENEWALS_PER_LEASE
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"chronos-lease-{video_id}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self._every):
            try:
                with self._db.tenant(self._creator_id) as t:
                    t.conn.execute(sa.text("UPDATE videos SET claimed_at = now() WHERE creator_id = :c AND id = :v "
                                           "AND status = ANY(:stages)"),
                                   {"c": self._creator_id, "v": self._video_id, "stages": list(_STAGES)})
            except Exception as exc:  # the database may be away for a moment; the next renewal tries again
                log.warning("could not renew the lease of video %s: %s", self._video_id, exc)


def _transcript(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, sources: Sources,
                stop: threading.Event) -> Transcript:
    with db.tenant(creator_id) as t:
        video = t.conn.execute(
            sa.text("SELECT source_type, youtube_video_id, storage_path, import_options, transcript_segments, "
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
    if stored is not None:
        if video.source_type == "youtube" and video.title.startswith(_YOUTUBE_PLACEHOLDER):
            # Its subtitle file came from the creator because YouTube refused the captions; the
            # title usually still comes (oEmbed is rarely blocked).
            _save_metadata(db, creator_id, video_id, _optional_metadata(video.youtube_video_id, sources))
        return stored
    if video.source_type == "upload":
        return _transcribe_upload(db, creator_id, video_id, sources, stop)
    if video.source_type != "youtube":
        raise ValidationError("This video has no transcript; add its subtitle file again.")
    options = video.import_options or {}
    transcript = _with_retries(lambda: _fetch_youtube(video.youtube_video_id, options, sources), sources)
    metadata = _optional_metadata(video.youtube_video_id, sources)
    with db.tenant(creator_id) as t:
        _store_transcript(t, video_id, transcript)
        _set_stage(t, video_id, "processing")
    _save_metadata(db, creator_id, video_id, metadata)
    return transcript


def _save_metadata(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, metadata) -> None:
    if metadata is None:
        return
    with db.tenant(creator_id) as t:
        t.conn.execute(
            sa.text("UPDATE videos SET title = CASE WHEN title LIKE :placeholder THEN :title ELSE title END, "
                    "thumbnail_url = coalesce(:thumb, thumbnail_url), metadata = metadata || CAST(:meta AS jsonb) "
                    "WHERE creator_id = :c AND id = :v"),
            {"title": metadata.title, "thumb": metadata.thumbnail_url, "c": creator_id, "v": video_id,
             "placeholder": _YOUTUBE_PLACEHOLDER + "%",
             "meta": json.dumps({"channel": metadata.channel_name, "channel_url": metadata.channel_url})},
        )


def _transcribe_upload(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, sources: Sources,
                       stop: threading.Event) -> Transcript:
    from dataclasses import replace

    from .transcription import transcribe

    settings = sources.settings
    if settings is None or not settings.openai_api_key:
        raise ValidationError("This upload has no transcript; add its subtitle file, or set OPENAI_API_KEY so "
                              "Chronos can transcribe the audio.")
    with db.tenant(creator_id) as t:
        storage_path = t.conn.execute(sa.text("SELECT storage_path FROM videos WHERE creator_id = :c AND id = :v"),
                                      {"c": creator_id, "v": video_id}).scalar_one()

    def progress(fraction: float) -> None:
        _check(stop)  # between two pieces of a long file
        with db.tenant(creator_id) as t:  # also renews the lease: long files take minutes
            t.conn.execute(sa.text("UPDATE videos SET progress = :p, claimed_at = now() "
                                   "WHERE creator_id = :c AND id = :v"), {"p": fraction, "c": creator_id, "v": video_id})

    result = transcribe(stored_file(settings, storage_path, creator_id), settings, on_progress=progress)
    transcript = replace(result.transcript, cost_usd=result.cost_usd, audio_seconds=result.audio_seconds)
    with db.tenant(creator_id) as t:
        _store_transcript(t, video_id, transcript)
        usage.add_usage(t, transcription_minutes=math.ceil(result.audio_seconds / 60))
        _set_stage(t, video_id, "processing")
    return transcript


def _fetch_youtube(video_id: str, options: dict[str, Any], sources: Sources) -> Transcript:
    youtube = _youtube()
    languages = options.get("languages") or ["en"]
    try:
        return youtube.fetch_transcript(video_id, languages=languages, translate_to=options.get("translate_to"),
                                        fallback=not options.get("only_these_languages", False),
                                        proxy=sources.proxy, http_client=sources.youtube_session)
    except SourceError as exc:
        if not (sources.ytdlp_fallback and _blocked(exc)):
            raise
        from . import ytdlp  # the fallback, for when the transcript API itself is refused

        try:
            fallback = ytdlp.fetch_subtitles(video_id, languages=languages, proxy_url=_proxy_url(sources.proxy),
                                             ydl_params=sources.ytdlp_params)
        except SourceError as fallback_error:
            log.info("yt-dlp fallback for %s failed too: %s", video_id, fallback_error)
            raise exc from None  # the first message names the real problem and its fixes
        # The fallback neither translates nor holds to "only these languages": a transcript that
        # is not what the creator asked for is refused rather than stored as if it were.
        wanted = [options.get("translate_to")] if options.get("translate_to") else (
            languages if options.get("only_these_languages") else None)
        if wanted and _primary_language(fallback.language) not in {_primary_language(code) for code in wanted}:
            log.info("yt-dlp fallback for %s found only %s captions", video_id, fallback.language)
            raise exc from None
        return fallback


def _primary_language(code: str | None) -> str:
    return (code or "").strip().lower().replace("_", "-").split("-")[0]


def _blocked(exc: SourceError) -> bool:
    """Whether YouTube refused the transcript API itself (bot check, rate limit, PO token)."""
    from youtube_transcript_api import PoTokenRequired, RequestBlocked

    return isinstance(exc.__cause__, RequestBlocked | PoTokenRequired)


def _proxy_url(proxy: Any) -> str | None:
    config = proxy.to_proxy_config() if proxy is not None else None
    if config is None:
        return None
    return getattr(config, "url", None) or getattr(config, "https_url", None) or getattr(config, "http_url", None)


def _youtube():
    from . import youtube  # imported late: requests and the transcript API load only when needed

    return youtube


def _optional_metadata(video_id: str, sources: Sources):
    try:
        return _youtube().fetch_metadata(video_id, http_client=sources.youtube_session)
    except SourceError as exc:  # the transcript is what matters; a missing title is not fatal
        log.warning("no metadata for %s: %s", video_id, exc)
        return None


def _with_retries(call: Callable[[], Transcript], sources: Sources) -> Transcript:
    for attempt in range(1, _TRANSIENT_ATTEMPTS + 1):
        try:
            return call()
        except SourceError as exc:
            if not exc.transient or attempt == _TRANSIENT_ATTEMPTS:
                raise
            sources.sleep(sources.backoff_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _embed(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, embedder: Embedder, texts: list[str],
           stop: threading.Event):
    import numpy as np

    batch = 64
    parts = []
    for start in range(0, len(texts), batch):
        _check(stop)
        parts.append(embedder.embed(texts[start : start + batch]))
        with db.tenant(creator_id) as t:  # progress, and a fresh lease, after every batch
            t.conn.execute(sa.text("UPDATE videos SET progress = :p, claimed_at = now() "
                                   "WHERE creator_id = :c AND id = :v"),
                           {"p": min(1.0, (start + batch) / len(texts)), "c": creator_id, "v": video_id})
    return np.vstack(parts)


def _stored_segments(transcript: Transcript) -> list[tuple[float, float, str]]:
    """The timed captions as ``videos.transcript_segments`` keeps them (and a question reads them)."""
    return [(round(s.start, 3), round(s.end, 3), s.text) for s in transcript.segments]


def _store_transcript(t: Tenant, video_id: uuid.UUID, transcript: Transcript) -> None:
    segments = [list(segment) for segment in _stored_segments(transcript)]
    duration = math.ceil(transcript.segments[-1].end) if transcript.segments else None
    t.conn.execute(
        sa.text("UPDATE videos SET transcript = :text, transcript_segments = CAST(:segments AS jsonb), "
                "transcript_language = :language, transcript_is_generated = :generated, transcript_method = :method, "
                "duration_seconds = coalesce(duration_seconds, :duration) WHERE creator_id = :c AND id = :v"),
        {"text": transcript.text, "segments": json.dumps(segments), "language": transcript.language,
         "generated": transcript.is_generated, "method": transcript.method, "duration": duration,
         "c": t.creator_id, "v": video_id},
    )


def _replace_chunks(t: Tenant, video_id: uuid.UUID, pieces, vectors, embedder: Embedder,
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
    t.conn.execute(
        sa.text("UPDATE videos SET status = 'completed', error_message = NULL, progress = 1, claimed_at = NULL, "
                "processing_completed_at = now() WHERE creator_id = :c AND id = :v"),
        {"c": t.creator_id, "v": video_id},
    )
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


def _set_stage(t: Tenant, video_id: uuid.UUID, status: str) -> None:
    t.conn.execute(
        sa.text("UPDATE videos SET status = :s, progress = 0, claimed_at = now(), "
                "processing_started_at = CASE WHEN :s IN ('transcribing', 'processing') AND status = 'pending' "
                "  THEN now() ELSE processing_started_at END "
                "WHERE creator_id = :c AND id = :v"),
        {"s": status, "c": t.creator_id, "v": video_id},
    )


def _fail(db: Database, creator_id: uuid.UUID, video_id: uuid.UUID, message: str) -> None:
    with db.tenant(creator_id) as t:
        t.conn.execute(
            sa.text("UPDATE videos SET status = 'failed', error_message = :m, attempts = attempts + 1, "
                    "claimed_at = NULL, progress = 0 WHERE creator_id = :c AND id = :v"),
            {"m": message, "c": creator_id, "v": video_id},
        )


def _insert_video(t: Tenant, *, title: str, source_type: str, key_column: str, key: str, url: str | None,
                  embed_type: str | None, options: dict[str, Any], duration: int | None = None,
                  size: int | None = None) -> uuid.UUID:
    values: dict[str, Any] = {
        "creator_id": t.creator_id, "title": require_text(title, "video title"), "url": url, "source_type": source_type,
        "import_options": json.dumps(options), "duration_seconds": duration, "file_size_bytes": size,
        key_column: key,
    }
    if embed_type:  # the seeds' generic embed columns: what a player needs to show the video
        values["embed_type"] = embed_type
        values["embed_id"] = key
    columns = sorted(values)  # fixed names from this module, never from input
    placeholders = [f"CAST(:{c} AS jsonb)" if c == "import_options" else f":{c}" for c in columns]
    return t.conn.execute(
        sa.text(f"INSERT INTO videos ({', '.join(columns)}) VALUES ({', '.join(placeholders)}) RETURNING id"),
        values,
    ).scalar_one()
