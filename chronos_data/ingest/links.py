"""Recognise what a creator pasted: a YouTube video, playlist or channel, a Loom or Mux video."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from ..errors import ValidationError

__all__ = ["Link", "moment_url", "parse_link", "youtube_thumbnail", "youtube_watch_url"]

# \Z, not $: "$" also matches before a final newline, and parse_qs decodes "v=…%0A" into one.
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}\Z")
_PLAYLIST_ID = re.compile(r"^[A-Za-z0-9_-]+\Z")
_CHANNEL_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]+\Z")  # handles may be in any script
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com",
                  "youtube-nocookie.com", "www.youtube-nocookie.com"}
_PATH_ID_PREFIXES = ("shorts", "embed", "live", "v", "e")
_LOOM_HOSTS = {"loom.com", "www.loom.com"}
_MUX_PLAYBACK_ID = re.compile(r"^[A-Za-z0-9]{20,64}\Z")


@dataclass(frozen=True)
class Link:
    """What a pasted text points at. ``kind`` is youtube_video, youtube_list, loom or mux."""

    kind: str
    id: str
    url: str
    start_seconds: int | None = None


def youtube_watch_url(video_id: str, start_seconds: int | None = None) -> str:
    """The canonical link to a YouTube video, optionally at a moment."""
    suffix = f"&t={int(start_seconds)}s" if start_seconds else ""
    return f"https://www.youtube.com/watch?v={video_id}{suffix}"


def youtube_thumbnail(video_id: str) -> str:
    """The thumbnail YouTube serves for every video (what its oEmbed names), known without asking it."""
    return f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg"


def parse_link(text: str) -> Link:
    """Parse a YouTube/Loom/Mux link or a bare 11-character YouTube id.

    Raises:
        ValidationError: the text is not a link Chronos can import (the message says which work).
    """
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("The link is empty; paste a YouTube, Loom or Mux link.")
    if _YOUTUBE_ID.match(raw):
        return Link("youtube_video", raw, youtube_watch_url(raw))
    try:
        url = urlparse(raw if "://" in raw else f"https://{raw}")
        host = (url.hostname or "").lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a link Chronos knows either way
        url, host = None, ""
    if host in _YOUTUBE_HOSTS or host == "youtu.be":
        return _youtube(url, host, raw)
    if host in _LOOM_HOSTS:
        parts = [p for p in url.path.split("/") if p]
        if len(parts) >= 2 and parts[0] in {"share", "embed"} and re.fullmatch(r"[0-9a-f]{32}", parts[1]):
            return Link("loom", parts[1], f"https://www.loom.com/share/{parts[1]}")
        raise ValidationError("That Loom link has no video id; copy the share link (loom.com/share/…).")
    if host in {"stream.mux.com", "player.mux.com", "image.mux.com"}:
        playback = [p for p in url.path.split("/") if p][:1]
        candidate = playback[0].removesuffix(".m3u8") if playback else ""
        if _MUX_PLAYBACK_ID.match(candidate):
            return Link("mux", candidate, f"https://stream.mux.com/{candidate}.m3u8")
    raise ValidationError(
        f"'{_shorten(raw)}' is not a YouTube, Loom or Mux link; paste a link such as "
        "https://www.youtube.com/watch?v=… or an 11-character YouTube video id."
    )


def _youtube(url, host: str, raw: str) -> Link:
    query = parse_qs(url.query)
    start = _seconds(query.get("t", query.get("start", [None]))[0])
    parts = [p for p in url.path.split("/") if p]
    video_id = None
    if host == "youtu.be":
        video_id = parts[0] if parts else None
    elif parts and parts[0] == "watch":
        video_id = query.get("v", [None])[0]
    elif len(parts) >= 2 and parts[0] in _PATH_ID_PREFIXES:
        video_id = parts[1]
    if video_id and _YOUTUBE_ID.match(video_id):
        return Link("youtube_video", video_id, youtube_watch_url(video_id), start)
    if video_id:
        raise ValidationError(
            f"'{_shorten(raw)}' has a malformed YouTube video id ('{_shorten(video_id, 20)}'); "
            "copy the link again from the video's Share button."
        )
    if "list" in query and parts[:1] in (["playlist"], ["watch"], []):
        playlist = query["list"][0]
        if not _PLAYLIST_ID.match(playlist):
            raise ValidationError(
                f"'{_shorten(raw)}' has a malformed YouTube playlist id ('{_shorten(playlist, 20)}'); "
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
        f"'{_shorten(raw)}' is a YouTube link but not to a video, playlist or channel; "
        "open the video and copy its link."
    )


def _seconds(value: str | None) -> int | None:
    if not value:
        return None
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", value)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _shorten(text: str, limit: int = 80) -> str:
    # Control characters (a NUL, a terminal escape) would make the message unreadable or unprintable.
    text = "".join(" " if ord(char) < 32 or 0x7F <= ord(char) < 0xA0 else char for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def moment_url(source_type: str, source_id: str | None, seconds: float | None) -> str | None:
    """A link that opens the video at ``seconds`` (YouTube and Loom); None for other sources."""
    if not source_id:
        return None
    start = int(seconds or 0)
    if source_type == "youtube":
        return youtube_watch_url(source_id, start or None)
    if source_type == "loom":
        return f"https://www.loom.com/share/{source_id}" + (f"?t={start}" if start else "")
    return None
