"""YouTube: links to videos, playlists and channels, moments as ``&t=``, captions from YouTube itself.

The HTTP clients live beside this package (``ingest.youtube`` for the transcript API and oEmbed,
``ingest.ytdlp`` for the fallback and listings); they load only when a transcript is fetched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from ...errors import SourceError, ValidationError
from ..segments import Transcript
from .registry import Link, VideoSource, register, shorten

__all__ = ["YOUTUBE", "YouTube", "is_youtube_id", "youtube_thumbnail", "youtube_watch_url"]

log = logging.getLogger(__name__)

# \Z, not $: "$" also matches before a final newline, and parse_qs decodes "v=…%0A" into one.
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}\Z")
_PLAYLIST_ID = re.compile(r"^[A-Za-z0-9_-]+\Z")
_CHANNEL_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]+\Z")  # handles may be in any script
_PATH_ID_PREFIXES = ("shorts", "embed", "live", "v", "e")
_TRANSIENT_ATTEMPTS = 3


def is_youtube_id(text: object) -> bool:
    """Whether ``text`` is an 11-character YouTube video id (the one check of it in Chronos)."""
    return isinstance(text, str) and bool(_VIDEO_ID.match(text))


def youtube_watch_url(video_id: str, start_seconds: int | None = None) -> str:
    """The canonical link to a YouTube video, optionally at a moment."""
    suffix = f"&t={int(start_seconds)}s" if start_seconds else ""
    return f"https://www.youtube.com/watch?v={video_id}{suffix}"


def youtube_thumbnail(video_id: str) -> str:
    """The thumbnail YouTube serves for every video (what its oEmbed names), known without asking it."""
    return f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg"


class YouTube(VideoSource):
    name = "youtube"
    label = "YouTube"
    link_label = "YouTube link or video id"
    key_column = "youtube_video_id"
    embed_type = "youtube"
    hosts = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com",
                       "youtube-nocookie.com", "www.youtube-nocookie.com", "youtu.be"})
    player = "video"  # st.video plays a watch link through YouTube's own player
    tracking = "youtube"
    links_to_moments = True
    fetches_transcript = True
    placeholder_title = "YouTube video "

    def parse_id(self, text: str) -> Link | None:
        return Link("youtube_video", text, youtube_watch_url(text)) if is_youtube_id(text) else None

    def parse_url(self, url: Any, raw: str) -> Link:
        query = parse_qs(url.query)
        start = _seconds(query.get("t", query.get("start", [None]))[0])
        parts = [p for p in url.path.split("/") if p]
        video_id = None
        if url.hostname.lower() == "youtu.be":
            video_id = parts[0] if parts else None
        elif parts and parts[0] == "watch":
            video_id = query.get("v", [None])[0]
        elif len(parts) >= 2 and parts[0] in _PATH_ID_PREFIXES:
            video_id = parts[1]
        if video_id and is_youtube_id(video_id):
            return Link("youtube_video", video_id, youtube_watch_url(video_id), start)
        if video_id:
            raise ValidationError(
                f"'{shorten(raw)}' has a malformed YouTube video id ('{shorten(video_id, 20)}'); "
                "copy the link again from the video's Share button."
            )
        if "list" in query and parts[:1] in (["playlist"], ["watch"], []):
            playlist = query["list"][0]
            if not _PLAYLIST_ID.match(playlist):
                raise ValidationError(
                    f"'{shorten(raw)}' has a malformed YouTube playlist id ('{shorten(playlist, 20)}'); "
                    "copy the link again from the playlist's Share button."
                )
            return Link("youtube_list", playlist, f"https://www.youtube.com/playlist?list={playlist}")
        # A channel is /@handle or /channel|c|user/NAME; a bare "/@" or "/channel" names none.
        handle = bool(parts) and parts[0].startswith("@") and bool(_CHANNEL_NAME.match(parts[0][1:]))
        named = len(parts) > 1 and parts[0] in {"channel", "c", "user"} and bool(_CHANNEL_NAME.match(parts[1]))
        if handle or named:
            channel_path = parts[0] if handle else "/".join(parts[:2])
            return Link("youtube_list", channel_path, f"https://www.youtube.com/{channel_path}/videos")
        raise ValidationError(
            f"'{shorten(raw)}' is a YouTube link but not to a video, playlist or channel; "
            "open the video and copy its link."
        )

    def moment_url(self, key: str, seconds: int) -> str:
        return youtube_watch_url(key, seconds or None)

    def embed_url(self, key: str, seconds: int) -> str:
        return youtube_watch_url(key)  # st.video starts it at the second itself (start_time)

    def thumbnail_url(self, key: str) -> str:
        return youtube_thumbnail(key)

    def fetch_transcript(self, key: str, options: Mapping[str, Any], reach: Any, *, creator_id: Any,
                         on_progress: Callable[[float], None]) -> Transcript:
        """The captions the creator chose (``options``: languages, translate_to,
        only_these_languages), asked again after a transient failure with a growing pause."""
        for attempt in range(1, _TRANSIENT_ATTEMPTS + 1):
            try:
                return self._captions(key, options, reach)
            except SourceError as exc:
                if not exc.transient or attempt == _TRANSIENT_ATTEMPTS:
                    raise
                reach.sleep(reach.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _captions(self, key: str, options: Mapping[str, Any], reach: Any) -> Transcript:
        """YouTube's captions; when YouTube refuses the transcript API itself, yt-dlp's subtitles."""
        from .. import youtube  # imported late: requests and the transcript API load only when needed

        languages = options.get("languages") or ["en"]
        try:
            return youtube.fetch_transcript(key, languages=languages, translate_to=options.get("translate_to"),
                                            fallback=not options.get("only_these_languages", False),
                                            proxy=reach.proxy, http_client=reach.youtube_session)
        except SourceError as exc:
            if not (reach.ytdlp_fallback and _blocked(exc)):
                raise
            from .. import ytdlp  # the fallback, for when the transcript API itself is refused

            try:
                fallback = ytdlp.fetch_subtitles(key, languages=languages, proxy_url=_proxy_url(reach.proxy),
                                                 ydl_params=reach.ytdlp_params)
            except SourceError as fallback_error:
                log.info("yt-dlp fallback for %s failed too: %s", key, fallback_error)
                raise exc from None  # the first message names the real problem and its fixes
            # The fallback neither translates nor holds to "only these languages": a transcript that
            # is not what the creator asked for is refused rather than stored as if it were.
            wanted = [options.get("translate_to")] if options.get("translate_to") else (
                languages if options.get("only_these_languages") else None)
            if wanted and _primary_language(fallback.language) not in {_primary_language(code) for code in wanted}:
                log.info("yt-dlp fallback for %s found only %s captions", key, fallback.language)
                raise exc from None
            return fallback

    def fetch_metadata(self, key: str, reach: Any) -> Any | None:
        from .. import youtube

        try:
            return youtube.fetch_metadata(key, http_client=reach.youtube_session)
        except SourceError as exc:  # the transcript is what matters; a missing title is not fatal
            log.warning("no metadata for %s: %s", key, exc)
            return None


def _seconds(value: str | None) -> int | None:
    if not value:
        return None
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", value)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


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


YOUTUBE = register(YouTube())
