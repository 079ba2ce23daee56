"""YouTube through yt-dlp: listing a playlist's or channel's videos, and a subtitle fallback.

Two jobs youtube-transcript-api cannot do, or sometimes cannot do:

* :func:`list_videos` lists a playlist or a channel's Videos tab without downloading any media:
  yt-dlp's ``YoutubeTabIE`` reads the page's ``ytInitialData`` (and follows the ``browse``
  continuations) in flat mode, so one request per 100 videos instead of one per video;
* :func:`fetch_subtitles` reads a video's captions when youtube-transcript-api is blocked or
  asked for a proof-of-origin token: yt-dlp asks YouTube's player API as other clients (by
  default the ones that need no JavaScript runtime), lists the tracks in ``info["subtitles"]``
  (uploaded) and ``info["automatic_captions"]`` (speech recognition plus machine translations of
  it), and the chosen track's WebVTT is fetched through yt-dlp's own opener, so proxy, headers and
  cookies are the same as for the extraction.

Every failure leaves as :class:`~chronos_data.errors.SourceError` holding one plain sentence, with
``transient`` true only where trying again later can help (network trouble, HTTP 5xx and 429).
yt-dlp's own retries are cut to one: the import worker retries transient errors itself, and
yt-dlp's default of three retries on each of several requests can keep a worker waiting minutes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests.adapters
import requests.utils
import yt_dlp
from yt_dlp.networking.exceptions import HTTPError, ProxyError, RequestError, TransportError
from yt_dlp.utils import ExtractorError, UnsupportedError

from chronos_data.errors import SourceError, ValidationError
from chronos_data.ingest import caption_tracks
from chronos_data.ingest.caption_tracks import Track
from chronos_data.ingest.segments import Transcript
from chronos_data.ingest.sources.youtube import is_youtube_id, youtube_watch_url
from chronos_data.ingest.subtitles import parse_subtitles
from chronos_data.ingest.youtube import DEFAULT_TIMEOUT_SECONDS

__all__ = [
    "DEFAULT_LIMIT",
    "METHOD",
    "ChosenTrack",
    "ListedVideo",
    "Listing",
    "choose_track",
    "fetch_subtitles",
    "list_videos",
]

log = logging.getLogger(__name__)

#: ``Transcript.method`` of what :func:`fetch_subtitles` returns.
METHOD = "yt_dlp_subtitles"
#: How many entries :func:`list_videos` reads by default.
DEFAULT_LIMIT = 500

_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
# A channel link without a tab: yt-dlp would then list Videos, Shorts and Live as separate nested
# playlists (three times the requests); Chronos imports a channel's uploads, i.e. its Videos tab.
_BARE_CHANNEL_PATH = re.compile(r"^/(@[^/]+|channel/UC[\w-]{22}|c/[^/]+|user/[^/]+)/?$")
# What YouTube shows in a playlist where a video was made private or deleted after it was added.
_PLACEHOLDER_TITLES = {"[private video]", "[deleted video]", "[unavailable video]"}
# Subtitle formats parse_subtitles reads, best first: YouTube serves both for every track.
_READABLE_FORMATS = ("vtt", "srt")
# A language subtag after the primary one ("zh-Hans", "pt-BR"); YouTube's named tracks add an id
# with digits ("en-nP7-2PuUl7o") that is not part of the language.
_LANGUAGE_SUBTAG = re.compile(r"^(?:[A-Za-z]{2,4}|\d{3})$")


def _keep_requests_proxy_contract() -> None:
    """Undo the process-wide side effect of ``import yt_dlp`` on ``requests``, keeping yt-dlp's fix.

    yt-dlp's requests backend replaces ``requests.adapters.select_proxy`` with its own on import, to
    honour a ``no`` (no_proxy) key. Its version fails on ``proxies=None``, which is
    ``HTTPAdapter.send``'s default, and ignores requests' per-host keys ("https://host"), so every
    other ``requests`` user in the process (youtube-transcript-api, OpenAI) would change behaviour
    just because this module was imported. yt-dlp's version stays in charge where a ``no`` key asks
    for it; everything else gets requests' original.
    """
    current = requests.adapters.select_proxy
    if getattr(current, "_chronos_wrapper", False) or current is requests.utils.select_proxy:
        return
    ytdlp_select_proxy = current
    original = requests.utils.select_proxy  # requests.adapters imported it from here

    def select_proxy(url: str, proxies: Mapping[str, str] | None) -> str | None:
        if proxies and "no" in proxies:
            return ytdlp_select_proxy(url, proxies)
        return original(url, proxies)

    select_proxy._chronos_wrapper = True  # type: ignore[attr-defined]
    requests.adapters.select_proxy = select_proxy


_keep_requests_proxy_contract()

_PROXY_HINT = "set a proxy (CHRONOS_PROXY_HTTPS) so Chronos reaches YouTube through it"
_UPLOAD_HINT = "upload the video's subtitle file instead"

Kind = Literal["playlist", "channel", "video"]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ListedVideo:
    """One video of a playlist or channel, as the listing shows it (no media fetched)."""

    video_id: str
    title: str
    duration_seconds: int | None
    url: str  # https://www.youtube.com/watch?v=ID


@dataclass(frozen=True)
class Listing:
    """A playlist's or channel's videos, in YouTube's order, without duplicates."""

    title: str  # playlist or channel name
    videos: list[ListedVideo]


@dataclass(frozen=True)
class ChosenTrack:
    """The caption track :func:`choose_track` picked, and the URL of its file."""

    url: str
    language: str
    is_generated: bool
    ext: str


# --------------------------------------------------------------------------- listing


def list_videos(
    url: str,
    *,
    limit: int = DEFAULT_LIMIT,
    proxy_url: str | None = None,
    ydl_params: Mapping[str, Any] | None = None,
) -> Listing:
    """The videos of a YouTube playlist or channel, without downloading any media.

    ``url`` is a playlist link (``https://www.youtube.com/playlist?list=...``) or a channel link
    (``https://www.youtube.com/@handle/videos``, ``/channel/UC.../videos``; a channel link without
    a tab lists the Videos tab). At most ``limit`` entries are read (YouTube's order: newest first
    for channels); private and deleted placeholders and repeated videos among them are skipped,
    so fewer than ``limit`` videos may come back.

    ``proxy_url`` (``http://user:pass@host:port``) sends every request through that proxy; None
    leaves yt-dlp to its default, the standard proxy environment variables. ``ydl_params`` adds
    or overrides YoutubeDL options.
    """
    if limit < 1:
        raise ValidationError(f"Chronos can list at most {limit} videos; ask for at least 1.")
    target = _listing_url(url)
    kind: Kind = "playlist" if "list" in parse_qs(urlsplit(target).query) else "channel"
    params = _params(proxy_url, ydl_params, {
        # "in_playlist": entries stay unresolved url results - title, duration and id come from
        # the listing page itself, not one watch-page request per video.
        "extract_flat": "in_playlist",
        "playlistend": limit,
    })
    with _translated_errors(kind, proxy_in_use=bool(proxy_url)), yt_dlp.YoutubeDL(params) as ydl:
        info = ydl.extract_info(target, download=False)
    if not isinstance(info, dict) or info.get("_type") not in ("playlist", "multi_video"):
        raise SourceError("This link is a single YouTube video, not a playlist or channel; "
                          "paste the playlist's or channel's link instead.")
    videos = _listed_videos(info.get("entries") or (), limit)
    log.info("listed %d videos of %s", len(videos), target)
    return Listing(title=_listing_title(info), videos=videos)


def _listing_url(url: str) -> str:
    text = (url or "").strip()
    if text.startswith(("www.", "youtube.com/", "m.youtube.com/")):
        text = "https://" + text  # pasted without the scheme
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in _YOUTUBE_HOSTS:
        raise SourceError(f"“{url}” is not a YouTube playlist or channel link; paste a link such as "
                          "https://www.youtube.com/playlist?list=… or https://www.youtube.com/@channel/videos.")
    path = parts.path
    if _BARE_CHANNEL_PATH.match(path):
        path = path.rstrip("/") + "/videos"
    return urlunsplit(("https", "www.youtube.com", path, parts.query, ""))


def _listed_videos(entries: Iterable[Any], limit: int) -> list[ListedVideo]:
    videos: list[ListedVideo] = []
    seen: set[str] = set()
    for entry in _flat_entries(entries):
        if len(videos) >= limit:
            break
        video_id = entry.get("id")
        if not is_youtube_id(video_id) or video_id in seen:
            continue
        if entry.get("ie_key") not in (None, "Youtube"):
            continue  # a playlist or channel inside the listing (e.g. on a channel's home tab)
        title = str(entry.get("title") or "").strip()
        if title.lower() in _PLACEHOLDER_TITLES or entry.get("availability") == "private":
            continue
        seen.add(video_id)
        duration = entry.get("duration")
        videos.append(ListedVideo(
            video_id=video_id,
            title=title or video_id,
            duration_seconds=round(duration) if isinstance(duration, int | float) and duration > 0 else None,
            url=youtube_watch_url(video_id),
        ))
    return videos


def _flat_entries(entries: Iterable[Any]) -> Iterator[dict[str, Any]]:
    # A channel can come back as a playlist of tab playlists; their videos count as its own.
    for entry in entries:
        if not isinstance(entry, dict):
            continue  # yt-dlp leaves None where an entry failed
        if entry.get("_type") == "playlist":
            yield from _flat_entries(entry.get("entries") or ())
        else:
            yield entry


def _listing_title(info: Mapping[str, Any]) -> str:
    # For a channel yt-dlp titles the listing "Name - Videos"; the channel's name is what people know.
    is_channel = bool(info.get("channel_id")) and info.get("id") == info.get("channel_id")
    title = (info.get("channel") if is_channel else None) or info.get("title") or info.get("id") or ""
    return str(title).strip()


# --------------------------------------------------------------------------- subtitles


def fetch_subtitles(
    video_id: str,
    *,
    languages: Sequence[str] = ("en",),
    proxy_url: str | None = None,
    ydl_params: Mapping[str, Any] | None = None,
) -> Transcript:
    """A video's captions as timed segments, read through yt-dlp (see :func:`choose_track`).

    ``proxy_url`` and ``ydl_params`` as for :func:`list_videos`.
    """
    if not is_youtube_id(video_id):
        raise SourceError(f"“{video_id}” is not a YouTube video id (it should be 11 letters, digits, - or _); "
                          "check the link you pasted.")
    wanted = (languages,) if isinstance(languages, str) else tuple(languages)
    params = _params(proxy_url, ydl_params, {})
    with _translated_errors("video", proxy_in_use=bool(proxy_url)), yt_dlp.YoutubeDL(params) as ydl:
        # process=False: only the extraction; format selection would add nothing but ways to fail.
        info = ydl.extract_info(youtube_watch_url(video_id), download=False, process=False)
        chosen = choose_track(info if isinstance(info, dict) else {}, wanted)
        if chosen is None:
            raise SourceError("This video has no captions on YouTube (they are turned off or were never made), "
                              f"so {_UPLOAD_HINT}.")
        log.info("fetching %s captions (%s, %s) of %s through yt-dlp", chosen.language,
                 "generated" if chosen.is_generated else "uploaded", chosen.ext, video_id)
        try:
            with ydl.urlopen(chosen.url) as response:
                data = response.read()
        except RequestError as exc:
            raise _caption_file_error(exc, proxy_in_use=bool(proxy_url)) from exc
    try:
        segments = parse_subtitles(data, f"{video_id}.{chosen.ext}")
    except ValidationError as exc:
        raise SourceError("YouTube sent this video's captions in a form Chronos could not read (or empty); "
                          f"{_UPLOAD_HINT}.") from exc
    return Transcript(segments=segments, language=chosen.language, is_generated=chosen.is_generated,
                      method=METHOD)


def choose_track(info: Mapping[str, Any], languages: Sequence[str]) -> ChosenTrack | None:
    """Which caption track of a yt-dlp video ``info`` to read, or None when it has none.

    Uploaded tracks are ``info["subtitles"]``, speech recognition ``info["automatic_captions"]``
    (the one marked ``-orig`` is in the spoken language); the choice is ``caption_tracks.choose_track``'s,
    as for the transcript API. YouTube's machine translations (every other entry of
    ``automatic_captions``) are never chosen.
    """
    tracks = [*_tracks(info.get("subtitles"), generated=False), *_tracks(info.get("automatic_captions"), generated=True)]
    found = caption_tracks.choose_track(tracks, languages)
    return found.item if found else None


def _tracks(container: Any, *, generated: bool) -> Iterator[Track[ChosenTrack]]:
    if not isinstance(container, Mapping):
        return
    keys = list(container)
    for key in keys:
        formats = container[key]
        if not isinstance(key, str) or not isinstance(formats, list) or key == "live_chat":
            continue
        if generated and key.endswith("-orig"):
            continue  # the same track as the plain key; marked original below
        chosen = _readable_format(formats)
        if chosen is None:
            continue
        url, ext = chosen
        if generated and "tlang" in parse_qs(urlsplit(url).query):
            continue  # a machine translation, not captions of what is said
        language = _language_of(key)
        yield Track(language, generated, ChosenTrack(url=url, language=language, is_generated=generated, ext=ext),
                    aliases=(key,), original=generated and f"{key}-orig" in container)


def _readable_format(formats: list[Any]) -> tuple[str, str] | None:
    by_ext = {f.get("ext"): f.get("url") for f in formats if isinstance(f, Mapping) and f.get("url")}
    for ext in _READABLE_FORMATS:
        if by_ext.get(ext):
            return str(by_ext[ext]), ext
    return None


def _language_of(key: str) -> str:
    primary, *rest = key.split("-")
    kept = [primary]
    for part in rest:
        if not _LANGUAGE_SUBTAG.match(part):
            break
        kept.append(part)
    return "-".join(kept)


# --------------------------------------------------------------------------- yt-dlp options


class _YtDlpLogger:
    """yt-dlp's messages go to logging, never to stdout/stderr (this runs in a server)."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def warning(self, message: str) -> None:
        log.warning("yt-dlp: %s", message)

    def error(self, message: str) -> None:
        # The error also arrives as an exception, which becomes the SourceError the caller reports.
        log.debug("yt-dlp: %s", message)


def _params(proxy_url: str | None, extra: Mapping[str, Any] | None, specific: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "skip_download": True,
        "logger": _YtDlpLogger(),
        "socket_timeout": DEFAULT_TIMEOUT_SECONDS,
        "extractor_retries": 1,  # see the module docstring
        "noplaylist": False,
        **specific,
    }
    if proxy_url:
        params["proxy"] = proxy_url
    params.update(extra or {})
    return params


# --------------------------------------------------------------------------- errors


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything behind it: yt-dlp wraps causes in several ways."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)  # DownloadError keeps the original this way
        if isinstance(exc_info, tuple) and len(exc_info) > 1 and isinstance(exc_info[1], BaseException):
            todo.append(exc_info[1])
        cause = getattr(current, "cause", None)  # ExtractorError.cause and RequestError.cause
        if isinstance(cause, BaseException):
            todo.append(cause)
        todo += [current.__cause__, current.__context__]


def _http_status(exc: BaseException) -> int | None:
    for item in _chain(exc):
        if isinstance(item, HTTPError):
            return item.status
    return None


def _message(exc: BaseException) -> str:
    parts = []
    for item in _chain(exc):
        text = getattr(item, "orig_msg", None) or getattr(item, "msg", None) or str(item)
        parts.append(str(text))
    return " | ".join(parts).lower()


def _rate_limited_message(proxy_in_use: bool) -> str:
    cause = "YouTube is refusing requests from this server for now because it received too many from its IP address"
    if proxy_in_use:
        return cause + " (even through the configured proxy); try again later or " + _UPLOAD_HINT + "."
    return cause + "; try again later, " + _UPLOAD_HINT + ", or " + _PROXY_HINT + "."


def _not_found_message(kind: Kind) -> str:
    if kind == "playlist":
        return ("YouTube has no public playlist at this link: it does not exist or is private; check the link, "
                "or make the playlist public or unlisted.")
    if kind == "channel":
        return "YouTube has no channel at this link; check the @handle or channel link you pasted."
    return ("This YouTube video is private, deleted or otherwise unavailable, so Chronos cannot read its captions; "
            f"make it public or unlisted, or {_UPLOAD_HINT}.")


def _source_error(exc: BaseException, kind: Kind, *, proxy_in_use: bool) -> SourceError:
    status = _http_status(exc)
    text = _message(exc)
    what = "video list" if kind != "video" else "captions"
    if status == 429 or "captcha" in text or ("try again later" in text and "rate-limited" in text):
        return SourceError(_rate_limited_message(proxy_in_use), transient=True)
    if status is not None and status >= 500:
        return SourceError(f"YouTube had a temporary server error (HTTP {status}) while Chronos read the {what}; "
                           "it is worth trying again in a few minutes.", transient=True)
    if status in (404, 410) or "does not exist" in text or "redirected to youtube.com home page" in text:
        return SourceError(_not_found_message(kind))
    if kind == "playlist" and ("playlist is private" in text or "does the playlist exist" in text):
        return SourceError(_not_found_message(kind))
    if kind == "channel" and "does not have a" in text and "tab" in text:
        return SourceError("This YouTube channel has no Videos tab to list; paste the link of one of its "
                           "playlists instead.")
    if kind == "video":
        # Age first: "Sign in to confirm your age" starts like the bot check.
        if "confirm your age" in text or "age-restricted" in text or "inappropriate" in text:
            return SourceError("This video is age-restricted, so YouTube shows its captions only to signed-in "
                               f"viewers and Chronos cannot fetch them; {_UPLOAD_HINT}.")
        if "not a bot" in text or "sign in to confirm you" in text:
            if proxy_in_use:
                return SourceError("YouTube is blocking caption requests even through the configured proxy; "
                                   f"{_UPLOAD_HINT}.")
            return SourceError("YouTube is blocking requests from this server's IP address (cloud servers often "
                               f"are), so Chronos cannot read the captions; {_UPLOAD_HINT}, or {_PROXY_HINT}.")
        if "private" in text or "unavailable" in text or "removed" in text or "terminated" in text:
            return SourceError(_not_found_message(kind))
    if isinstance(exc, UnsupportedError) or any(isinstance(e, UnsupportedError) for e in _chain(exc)):
        return SourceError("This link is not a YouTube playlist or channel Chronos can list; paste a link such as "
                           "https://www.youtube.com/playlist?list=… or https://www.youtube.com/@channel/videos.")
    if any(isinstance(e, ProxyError) for e in _chain(exc)):
        return SourceError("Chronos could not reach YouTube through the configured proxy (it refused or did not "
                           "answer); check the proxy settings, or try again in a few minutes.", transient=True)
    if status is None and any(isinstance(e, TransportError | TimeoutError | ConnectionError) for e in _chain(exc)):
        return SourceError("Chronos could not reach YouTube (the network or YouTube is down); it is worth trying "
                           "again in a few minutes.", transient=True)
    if status is not None:
        return SourceError(f"YouTube refused to give the {what} (HTTP {status}); try again later"
                           + (f" or {_UPLOAD_HINT}." if kind == "video" else "."))
    if kind == "video":
        return SourceError("YouTube did not give Chronos this video's captions (its pages may have changed); "
                           f"{_UPLOAD_HINT}, or try again after an update.")
    return SourceError(f"YouTube did not give Chronos this {kind}'s video list (its pages may have changed); "
                       "try again later, or after an update.")


def _caption_file_error(exc: RequestError, *, proxy_in_use: bool) -> SourceError:
    status = _http_status(exc)
    if status is not None and 400 <= status < 500 and status != 429:
        # The track was listed a moment ago, so a refusal now is about access, not existence.
        return SourceError(f"YouTube refused to send this video's caption file (HTTP {status}); it may demand a "
                           f"proof-of-origin token Chronos cannot supply, so {_UPLOAD_HINT}.")
    return _source_error(exc, "video", proxy_in_use=proxy_in_use)


@contextmanager
def _translated_errors(kind: Kind, *, proxy_in_use: bool) -> Iterator[None]:
    """Turn whatever yt-dlp raises into a SourceError with one sentence; nothing of yt-dlp's escapes."""
    try:
        yield
    except (SourceError, ValidationError):
        raise
    except (yt_dlp.utils.YoutubeDLError, ExtractorError, RequestError, OSError) as exc:
        error = _source_error(exc, kind, proxy_in_use=proxy_in_use)
        log.info("yt-dlp failed on a %s (%s): %s", kind, type(exc).__name__, exc)
        raise error from exc
    except Exception as exc:  # a yt-dlp bug or a page shape it does not expect
        log.warning("unexpected error from yt-dlp on a %s", kind, exc_info=True)
        raise _source_error(exc, kind, proxy_in_use=proxy_in_use) from exc
