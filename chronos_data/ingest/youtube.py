"""A YouTube video's captions and basic metadata, with errors a creator can act on.

Captions come from ``youtube-transcript-api`` 1.2.x. For one video it makes, in order:

1. ``GET https://www.youtube.com/watch?v=ID`` - the watch page, only to read the
   ``INNERTUBE_API_KEY`` from it (a cookie-consent page is answered once with a ``CONSENT``
   cookie and the page fetched again);
2. ``POST https://www.youtube.com/youtubei/v1/player?key=KEY`` - the player JSON, whose
   ``playabilityStatus`` says whether the video plays and whose ``captions`` list the tracks;
3. ``GET https://www.youtube.com/api/timedtext?...&lang=xx[&tlang=yy]`` - the chosen track's XML.

Steps 1-2 are :func:`list_tracks`; :func:`fetch_transcript` adds step 3 for the track it chose.
Metadata (title, channel, thumbnail) comes from YouTube's oEmbed endpoint instead, which needs no
API key and is rarely blocked.

Every failure leaves as :class:`~chronos_data.errors.SourceError` holding one plain sentence;
``transient`` is true only where trying again later can help (network trouble, timeouts, HTTP 5xx
and 429 rate limits). There is no retry loop here: the import worker retries transient errors.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.etree.ElementTree import ParseError

import requests
from youtube_transcript_api import (
    AgeRestricted,
    CouldNotRetrieveTranscript,
    FailedToCreateConsentCookie,
    InvalidVideoId,
    IpBlocked,
    NoTranscriptFound,
    NotTranslatable,
    PoTokenRequired,
    RequestBlocked,
    TranscriptsDisabled,
    TranslationLanguageNotAvailable,
    VideoUnavailable,
    VideoUnplayable,
    YouTubeRequestFailed,
    YouTubeTranscriptApi,
    YouTubeTranscriptApiException,
)
from youtube_transcript_api import Transcript as LibraryTrack
from youtube_transcript_api.proxies import (
    GenericProxyConfig,
    ProxyConfig,
    WebshareProxyConfig,
)

from chronos_data.errors import SourceError
from chronos_data.ingest.caption_tracks import Track, choose_track, primary_language
from chronos_data.ingest.segments import Segment, Transcript
from chronos_data.ingest.sources.youtube import is_youtube_id, youtube_watch_url

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "METHOD",
    "OEMBED_URL",
    "ProxySettings",
    "TimeoutSession",
    "TrackInfo",
    "VideoMetadata",
    "fetch_metadata",
    "fetch_transcript",
    "list_tracks",
]

#: Seconds one HTTP request to YouTube may take before it counts as a (transient) failure.
DEFAULT_TIMEOUT_SECONDS = 20.0
#: ``Transcript.method`` of everything this module returns.
METHOD = "youtube_captions"
OEMBED_URL = "https://www.youtube.com/oembed"

# YouTube ids have been 11 characters of this alphabet since 2005; checking first turns a pasted
# URL or a typo into a clear message instead of three wasted requests and a vague "unavailable".
_WHITESPACE = re.compile(r"\s+")
_AUTO_SUFFIX = " (auto-generated)"
_HTTP_STATUS = re.compile(r"^(\d{3})\b")

_PROXY_ENV_HINT = (
    "set CHRONOS_PROXY_HTTPS (or WEBSHARE_PROXY_USERNAME and WEBSHARE_PROXY_PASSWORD) "
    "so Chronos fetches captions through a proxy"
)
_WEBSHARE_HINT = (
    "a rotating residential proxy (WEBSHARE_PROXY_USERNAME and WEBSHARE_PROXY_PASSWORD) "
    "is the most reliable way around this"
)


# --------------------------------------------------------------------------- proxies


@dataclass(frozen=True, repr=False)
class ProxySettings:
    """From env: CHRONOS_PROXY_HTTP / CHRONOS_PROXY_HTTPS (generic) or WEBSHARE_PROXY_USERNAME /
    WEBSHARE_PROXY_PASSWORD (rotating residential).

    YouTube blocks most cloud-provider IPs, so a server often needs a proxy to read captions.
    Webshare wins when both kinds are set: its rotating residential pool is what the library
    recommends, and the library then retries a blocked request on a fresh IP by itself.
    """

    http_url: str | None = None
    https_url: str | None = None
    webshare_username: str | None = None
    webshare_password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProxySettings:
        """Read the four variables from ``env`` (default ``os.environ``); blank means unset."""
        source = os.environ if env is None else env

        def value(name: str) -> str | None:
            return (source.get(name) or "").strip() or None

        return cls(
            http_url=value("CHRONOS_PROXY_HTTP"),
            https_url=value("CHRONOS_PROXY_HTTPS"),
            webshare_username=value("WEBSHARE_PROXY_USERNAME"),
            webshare_password=value("WEBSHARE_PROXY_PASSWORD"),
        )

    @property
    def configured(self) -> bool:
        """Whether any proxy is set at all."""
        return any((self.http_url, self.https_url, self.webshare_username, self.webshare_password))

    def to_proxy_config(self) -> ProxyConfig | None:
        """The library's proxy object, or None when no proxy is configured.

        Raises SourceError when only one half of the Webshare login is set: silently going
        direct would end in a confusing "YouTube is blocking this server" later.
        """
        if self.webshare_username or self.webshare_password:
            if not (self.webshare_username and self.webshare_password):
                missing = "WEBSHARE_PROXY_PASSWORD" if self.webshare_username else "WEBSHARE_PROXY_USERNAME"
                raise SourceError(
                    f"The Webshare proxy is only half configured: set {missing} as well, or unset both "
                    "WEBSHARE_PROXY_USERNAME and WEBSHARE_PROXY_PASSWORD."
                )
            return WebshareProxyConfig(proxy_username=self.webshare_username,
                                       proxy_password=self.webshare_password)
        if self.http_url or self.https_url:
            return GenericProxyConfig(http_url=self.http_url, https_url=self.https_url)
        return None

    def __repr__(self) -> str:
        # Proxy URLs and the Webshare password are credentials: keep them out of logs.
        return (
            f"ProxySettings(http_url={_redact_url(self.http_url)!r}, "
            f"https_url={_redact_url(self.https_url)!r}, "
            f"webshare_username={self.webshare_username!r}, "
            f"webshare_password={'***' if self.webshare_password else None!r})"
        )


def _redact_url(url: str | None) -> str | None:
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# --------------------------------------------------------------------------- HTTP session


class TimeoutSession(requests.Session):
    """A ``requests.Session`` that gives every request a default timeout.

    ``requests`` waits forever by default, and youtube-transcript-api passes no timeout, so a
    stalled YouTube connection would hang an import worker without this.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        # Only when the caller passed none: positional timeouts (7th argument) are left alone.
        if len(args) < 7 and kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


@contextmanager
def _session(http_client: requests.Session | None) -> Iterator[requests.Session]:
    """The caller's session as is, or a fresh TimeoutSession closed afterwards."""
    if http_client is not None:
        yield http_client
        return
    session = TimeoutSession()
    try:
        yield session
    finally:
        session.close()


# --------------------------------------------------------------------------- tracks


@dataclass(frozen=True)
class TrackInfo:
    """One caption track YouTube offers for a video.

    ``language`` is YouTube's English name without the "(auto-generated)" suffix, which
    ``is_generated`` carries instead.
    """

    language_code: str
    language: str
    is_generated: bool
    is_translatable: bool


@dataclass(frozen=True)
class VideoMetadata:
    """What YouTube's oEmbed endpoint tells about a video (it has no duration)."""

    title: str
    channel_name: str | None
    channel_url: str | None
    thumbnail_url: str | None
    duration_seconds: int | None = None


def list_tracks(
    video_id: str,
    *,
    proxy: ProxySettings | None = None,
    http_client: requests.Session | None = None,
) -> list[TrackInfo]:
    """The caption tracks of a video: manually created ones first, then generated ones.

    ``proxy`` None reads :meth:`ProxySettings.from_env`; pass ``ProxySettings()`` to go direct.
    Note that youtube-transcript-api sets ``proxies`` (and, for Webshare, adapters and a
    ``Connection: close`` header) on ``http_client`` itself.
    """
    _check_video_id(video_id)
    settings = ProxySettings.from_env() if proxy is None else proxy
    proxy_config = settings.to_proxy_config()
    with _session(http_client) as session, _translated_errors(video_id, proxy_in_use=proxy_config is not None):
        tracks = list(YouTubeTranscriptApi(proxy_config=proxy_config, http_client=session).list(video_id))
    return [_track_info(track) for track in tracks]


def fetch_transcript(
    video_id: str,
    *,
    languages: Sequence[str] = ("en",),
    translate_to: str | None = None,
    fallback: bool = True,
    proxy: ProxySettings | None = None,
    http_client: requests.Session | None = None,
) -> Transcript:
    """The captions of a YouTube video as timed segments.

    Which track: a manually created one in ``languages`` (in the creator's order of preference),
    else a generated one in ``languages``; a regional track ("en-GB") counts for its language
    ("en") when no exact match exists. When none of ``languages`` exists, ``fallback=True``
    (the default) takes the video's original language - the language of the first generated
    track, which is YouTube's speech recognition in the spoken language, as a manual track if one
    exists in it, else the generated one; without generated tracks, the first manual one - while
    ``fallback=False`` raises a SourceError that lists the languages the video has.

    ``translate_to`` asks YouTube to machine-translate the chosen track when it is in another
    language; when YouTube cannot translate it into that language (an unknown code, or a track
    YouTube does not translate) a SourceError says so and lists the languages it offers.
    Translated captions count as generated.

    ``proxy`` None reads :meth:`ProxySettings.from_env`; pass ``ProxySettings()`` to go direct.
    """
    _check_video_id(video_id)
    wanted = (languages,) if isinstance(languages, str) else tuple(languages)
    settings = ProxySettings.from_env() if proxy is None else proxy
    proxy_config = settings.to_proxy_config()
    with _session(http_client) as session, _translated_errors(video_id, proxy_in_use=proxy_config is not None):
        tracks = list(YouTubeTranscriptApi(proxy_config=proxy_config, http_client=session).list(video_id))
        if not tracks:  # a caption list with no tracks in it is "disabled" in all but name
            raise SourceError(_MESSAGES[TranscriptsDisabled])
        found = choose_track([Track(t.language_code, bool(t.is_generated), t) for t in tracks], wanted,
                             fallback=fallback)
        if found is None:
            raise SourceError(_missing_languages_message(tracks, wanted))
        chosen = found.item
        if translate_to:
            chosen = _translated(chosen, translate_to)
        fetched = chosen.fetch()
    segments = []
    for snippet in fetched:
        text = _clean_text(snippet.text)
        if text:
            start = float(snippet.start)
            end = start + max(float(snippet.duration), 0.0)
            segments.append(Segment(round(start, 3), round(end, 3), text))
    return Transcript(segments=segments, language=fetched.language_code,
                      is_generated=bool(fetched.is_generated), method=METHOD)


def fetch_metadata(video_id: str, *, http_client: requests.Session | None = None) -> VideoMetadata:
    """Title, channel and thumbnail of a public or unlisted video, from YouTube's oEmbed."""
    _check_video_id(video_id)
    watch_url = youtube_watch_url(video_id)
    with _session(http_client) as session, _translated_errors(video_id, proxy_in_use=False):
        response = session.get(OEMBED_URL, params={"url": watch_url, "format": "json"})
        status = response.status_code
        if status in (401, 403, 404):
            raise SourceError(f"YouTube has no public details for video {video_id}: it is private or unavailable.")
        if status == 400:
            raise SourceError(_invalid_id_message(video_id))
        if status == 429:
            raise SourceError("YouTube is rate-limiting requests from this server for now; "
                              "it is worth trying again in a few minutes.", transient=True)
        if status >= 500:
            raise SourceError(f"YouTube had a temporary server error (HTTP {status}) while Chronos asked for "
                              "the video's details; it is worth trying again in a few minutes.", transient=True)
        if status != 200:
            raise SourceError(f"YouTube refused to give the video's details (HTTP {status}).")
        data = response.json()
    if not isinstance(data, dict) or not data.get("title"):
        raise SourceError("YouTube answered with video details Chronos could not read.")
    return VideoMetadata(
        title=str(data["title"]),
        channel_name=_optional_str(data.get("author_name")),
        channel_url=_optional_str(data.get("author_url")),
        thumbnail_url=_optional_str(data.get("thumbnail_url")),
    )


# --------------------------------------------------------------------------- translating a track


def _translated(track: LibraryTrack, target: str) -> LibraryTrack:
    # A translation YouTube cannot make is refused: the creator asked for that language, and
    # storing the original as if it were the translation would hide the problem.
    if primary_language(track.language_code) == primary_language(target):
        return track
    name = _plain_name(track.language)
    if not track.is_translatable:
        raise SourceError(f"YouTube cannot translate this video's {name} captions; clear “Translate to” to "
                          "import them as they are, or upload a subtitle file in the language you want.")
    offered = {language.language_code: language.language for language in track.translation_languages}
    exact = [code for code in offered if code.lower() == target.strip().lower()]
    close = [code for code in offered if primary_language(code) == primary_language(target)]
    code = (exact or close or [None])[0]
    if code is None:
        listed = ", ".join(f"{language} ({code})" for code, language in offered.items())
        raise SourceError(f"YouTube cannot translate this video's {name} captions into “{target.strip()}”; "
                          f"it translates them into: {listed} - choose one of those, or "
                          "clear “Translate to”.")
    return track.translate(code)


def _track_info(track: LibraryTrack) -> TrackInfo:
    return TrackInfo(language_code=track.language_code, language=_plain_name(track.language),
                     is_generated=bool(track.is_generated), is_translatable=bool(track.is_translatable))


def _plain_name(name: str) -> str:
    return name.removesuffix(_AUTO_SUFFIX)


def _missing_languages_message(tracks: list[LibraryTrack], wanted: Sequence[str]) -> str:
    names = {t.language_code: _plain_name(t.language) for t in tracks}
    for track in tracks:  # the translation list names many languages the video lacks
        for language in track.translation_languages:
            names.setdefault(language.language_code, language.language)
    asked = " or ".join(f"{names.get(code, code)} ({code})" for code in wanted) or "the requested languages"
    available = ", ".join(
        f"{_plain_name(t.language)} ({t.language_code}{', auto-generated' if t.is_generated else ''})"
        for t in tracks
    )
    return (f"This video has no captions in {asked}; YouTube has them only in: {available} - "
            "choose one of those languages, or upload a subtitle file instead.")


def _clean_text(text: str) -> str:
    # YouTube often escapes twice ("&amp;#39;"), and the library unescapes only once.
    return _WHITESPACE.sub(" ", html.unescape(text)).strip()


def _optional_str(value: object) -> str | None:
    return str(value) if value else None


def _check_video_id(video_id: str) -> None:
    if not is_youtube_id(video_id):
        raise SourceError(_invalid_id_message(video_id))


def _invalid_id_message(video_id: object) -> str:
    return (f"“{video_id}” is not a YouTube video id (it should be 11 letters, digits, - or _); "
            "check the link you pasted.")


# --------------------------------------------------------------------------- errors

_MESSAGES: dict[type, str] = {
    VideoUnavailable: "This YouTube video is private, deleted or otherwise unavailable, so Chronos cannot read "
                      "its captions; make it public or unlisted, or upload its subtitle file instead.",
    AgeRestricted: "This video is age-restricted, so YouTube shows its captions only to signed-in viewers and "
                   "Chronos cannot fetch them; upload the video's subtitle file instead.",
    TranscriptsDisabled: "This video has no captions on YouTube (they are turned off or were never made), so "
                         "upload a subtitle file for it instead.",
    FailedToCreateConsentCookie: "YouTube showed this server a cookie-consent page Chronos could not get past; "
                                 "upload the video's subtitle file instead, or " + _PROXY_ENV_HINT + ".",
}


def _blocked_message(*, rate_limited: bool, proxy_in_use: bool) -> str:
    if rate_limited:
        cause = ("YouTube is refusing requests from this server for now because it received too many from its "
                 "IP address")
        if proxy_in_use:
            cause += " (even through the configured proxy)"
        return cause + "; try again later, upload the video's subtitle file instead, or " + (
            _WEBSHARE_HINT if proxy_in_use else _PROXY_ENV_HINT) + "."
    if proxy_in_use:
        return ("YouTube is blocking caption requests even through the configured proxy; upload the video's "
                "subtitle file instead - " + _WEBSHARE_HINT + ".")
    return ("YouTube is blocking caption requests from this server's IP address (cloud servers often are); "
            "upload the video's subtitle file instead, or " + _PROXY_ENV_HINT + ".")


def _request_failed(exc: YouTubeRequestFailed) -> SourceError:
    status = None
    cause = exc.__context__  # the library raises it inside `except HTTPError`
    if isinstance(cause, requests.HTTPError) and cause.response is not None:
        status = cause.response.status_code
    else:
        match = _HTTP_STATUS.match(getattr(exc, "reason", "") or "")
        status = int(match.group(1)) if match else None
    if status is not None and status >= 500:
        return SourceError(f"YouTube had a temporary server error (HTTP {status}) while Chronos fetched the "
                           "captions; it is worth trying again in a few minutes.", transient=True)
    if status == 429:
        return SourceError(_blocked_message(rate_limited=True, proxy_in_use=False), transient=True)
    shown = f"HTTP {status}" if status is not None else "an unexpected answer"
    return SourceError(f"YouTube refused the caption request ({shown}); try again later or upload the video's "
                       "subtitle file instead.")


@contextmanager
def _translated_errors(video_id: str, *, proxy_in_use: bool) -> Iterator[None]:
    """Turn whatever the library or requests raise into a SourceError with one sentence."""
    try:
        yield
    except SourceError:
        raise
    except InvalidVideoId as exc:
        raise SourceError(_invalid_id_message(video_id)) from exc
    except (VideoUnavailable, AgeRestricted, TranscriptsDisabled, FailedToCreateConsentCookie) as exc:
        raise SourceError(_MESSAGES[next(k for k in _MESSAGES if isinstance(exc, k))]) from exc
    except IpBlocked as exc:  # HTTP 429 or YouTube's captcha page: a rate limit that wears off
        raise SourceError(_blocked_message(rate_limited=True, proxy_in_use=proxy_in_use), transient=True) from exc
    except RequestBlocked as exc:  # "Sign in to confirm you're not a bot": this IP stays blocked
        raise SourceError(_blocked_message(rate_limited=False, proxy_in_use=proxy_in_use)) from exc
    except PoTokenRequired as exc:
        raise SourceError(
            "YouTube now demands a proof-of-origin token for this video's captions, which Chronos cannot "
            "supply; upload the video's subtitle file instead, or " + _PROXY_ENV_HINT + "."
        ) from exc
    except VideoUnplayable as exc:
        reason = (exc.reason or "").strip().rstrip(".")
        if "private" in reason.lower():
            raise SourceError(_MESSAGES[VideoUnavailable]) from exc
        shown = f" ({reason})" if reason else ""
        raise SourceError(f"YouTube will not play this video{shown}, so Chronos cannot read its captions; "
                          "upload its subtitle file instead.") from exc
    except YouTubeRequestFailed as exc:
        raise _request_failed(exc) from exc
    except (NotTranslatable, TranslationLanguageNotAvailable) as exc:
        raise SourceError("YouTube cannot translate this video's captions into that language; "
                          "choose another language or upload a subtitle file.") from exc
    except NoTranscriptFound as exc:
        raise SourceError("This video has no captions in the requested languages; choose another "
                          "language or upload a subtitle file instead.") from exc
    except (CouldNotRetrieveTranscript, YouTubeTranscriptApiException) as exc:
        raise SourceError("YouTube did not give Chronos this video's captions; try again later or upload "
                          "the video's subtitle file instead.") from exc
    except requests.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
        raise SourceError("YouTube did not answer in time; it is worth trying again in a few minutes.",
                          transient=True) from exc
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise SourceError("Chronos could not reach YouTube (the network or YouTube is down); it is worth "
                          "trying again in a few minutes.", transient=True) from exc
    except requests.exceptions.RetryError as exc:  # Webshare's retries on HTTP 429 ran out
        raise SourceError(_blocked_message(rate_limited=True, proxy_in_use=proxy_in_use), transient=True) from exc
    except (requests.RequestException, ParseError, ValueError, KeyError, IndexError, TypeError,
            AttributeError) as exc:
        # Bad JSON or XML, or a reshaped player response: YouTube changed something the library
        # (or we) did not expect. Retrying will not help until the library catches up.
        raise SourceError("YouTube answered in a form Chronos could not read (its pages may have changed); "
                          "upload the video's subtitle file instead, or try again after an update.") from exc
