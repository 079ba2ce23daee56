"""A fake YouTube on 127.0.0.1 that serves youtube-transcript-api's own recorded responses.

The library ships real YouTube answers it records for its own tests
(``youtube_transcript_api/test/assets/*.static``). This server plays them back over real HTTP,
per video id and "scenario", so the library's real request and parsing code runs against
recorded bytes. A ``requests`` transport adapter sends ``https://www.youtube.com/...`` (and
``youtube.com``, ``m.youtube.com``) to the server, keeping path, query, headers and body, and
refuses every other host so a test can never reach the internet by accident::

    with FakeYouTube() as yt:
        yt.scenario("abcdefghijk", "ok")
        transcript = fetch_transcript("abcdefghijk", http_client=yt.session())

Endpoints, as the library (1.2.x) and oEmbed use them:

* ``GET /watch?v=ID`` - the watch page (the library only reads INNERTUBE_API_KEY from it);
* ``POST /youtubei/v1/player?key=KEY`` - the player JSON (body ``{"videoId": ID, ...}``);
  a wrong key gets HTTP 400, as on YouTube;
* ``GET /api/timedtext?v=ID&lang=..`` - the caption XML;
* ``GET /oembed?url=https://www.youtube.com/watch?v=ID&format=json`` - title, channel, thumbnail.

The recordings carry their own video id inside the caption URLs; the fake rewrites that id to
the requested one, so the caption request of each video reaches that video's scenario. Ids
without a scenario are unavailable, as unknown ids are on YouTube.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests
import youtube_transcript_api
from requests.adapters import HTTPAdapter

from tests.fakes.http import FakeHTTPServer, RecordedRequest, Reply

__all__ = [
    "ASSETS",
    "RECORDED_API_KEY",
    "RECORDED_VIDEO_ID",
    "SCENARIOS",
    "FakeYouTube",
    "FakeYouTubeAdapter",
    "RecordedRequest",
]

ASSETS = Path(youtube_transcript_api.__file__).parent / "test" / "assets"
#: The video the main recordings are of (Dave2D's "Surface Go Review").
RECORDED_VIDEO_ID = "GJLlxj_dtq8"
#: The INNERTUBE_API_KEY inside youtube.html.static.
RECORDED_API_KEY = "AIzaSyAO_FJ2SlqU8Q4STEHLGCilw_Y9_11qcW8"

#: scenario -> what it plays back. "ok"-like scenarios accept a custom track list.
SCENARIOS: dict[str, str] = {
    "ok": "recorded video with 9 tracks: manual zh, cs, en, de, hi, ja, ko, es and generated en",
    "english_only": "recorded video (F1xioXWb8CY) with a manual and a generated English track",
    "no_english": "the 'ok' recording without its two English tracks",
    "consent": "cookie-consent page until the CONSENT cookie is sent, then 'ok'",
    "consent_failed": "cookie-consent page every time",
    "transcripts_disabled": "recorded video whose captions are turned off",
    "transcripts_disabled2": "another recorded video without captions",
    "age_restricted": "recorded LOGIN_REQUIRED 'may be inappropriate' player answer",
    "unavailable": "recorded ERROR 'This video is unavailable' player answer; oEmbed 404",
    "private": "player answer LOGIN_REQUIRED 'This video is private' (built on a recording); oEmbed 401",
    "unplayable": "recorded player answer with status CUSTOM, reason 'Custom Reason'",
    "request_blocked": "recorded LOGIN_REQUIRED 'Sign in to confirm you're not a bot' player answer",
    "too_many_requests": "recorded captcha page (HTTP 200) instead of the watch page",
    "rate_limited": "HTTP 429 on the watch page",
    "transcript_rate_limited": "'ok', but HTTP 429 on the caption XML",
    "po_token_required": "recorded player answer whose English caption URL needs a PO token",
    "server_error_500": "HTTP 500 on the player request",
    "server_error_503": "HTTP 503 on the player request",
    "forbidden_403": "HTTP 403 on the player request",
    "connection_reset": "the watch page request is answered by closing the connection",
    "slow": "'ok', but the watch page waits `slow_seconds` before answering",
    "garbage": "the player request answers with HTML instead of JSON",
}

# Scenarios whose player answer is a recording with captions, so `tracks=` may reshape it.
_WITH_CAPTIONS = {"ok", "english_only", "no_english", "consent", "transcript_rate_limited", "slow",
                  "po_token_required"}
_YOUTUBE_HOSTS = {"www.youtube.com", "youtube.com", "m.youtube.com"}
_TIMEDTEXT_ID = re.compile(rb"(/api/timedtext\?v=)[A-Za-z0-9_-]{11}")

#: A track of a custom caption list: (language code, is generated).
Track = tuple[str, bool]


def _asset(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


@dataclass
class _Plan:
    scenario: str
    tracks: Sequence[Track] | None = None
    oembed_status: int | None = None
    transcript_xml: bytes | None = None


class FakeYouTube(FakeHTTPServer):
    thread_name = "fake-youtube"
    """The server and its scenarios; use as a context manager (it starts and stops the server)."""

    def __init__(self, *, default_scenario: str = "unavailable", slow_seconds: float = 2.0) -> None:
        _check_scenario(default_scenario)
        self.default_scenario = default_scenario
        self.slow_seconds = slow_seconds
        self._plans: dict[str, _Plan] = {}
        super().__init__()

    # -- configuration

    def scenario(
        self,
        video_id: str,
        name: str,
        *,
        tracks: Sequence[Track] | None = None,
        oembed_status: int | None = None,
        transcript_xml: bytes | None = None,
    ) -> None:
        """Make ``video_id`` behave as scenario ``name`` (see SCENARIOS).

        ``tracks`` replaces the recorded caption list with tracks built from the recorded English
        ones, e.g. ``[("de", True), ("fr", False)]`` = generated German, manual French.
        ``oembed_status`` forces the oEmbed status; ``transcript_xml`` replaces the caption XML.
        """
        _check_scenario(name)
        if tracks is not None and name not in _WITH_CAPTIONS:
            raise ValueError(f"scenario {name!r} has no caption list to replace")
        self._plans[video_id] = _Plan(name, tracks, oembed_status, transcript_xml)

    def session(self, *, timeout: float | None = None) -> requests.Session:
        """A plain ``requests.Session`` whose YouTube requests reach this server."""
        session = requests.Session()
        if timeout is not None:
            # A short client timeout for the "slow" scenario, without the module's own session.
            original = session.request
            session.request = lambda *a, **kw: original(*a, **{"timeout": timeout, **kw})  # type: ignore[method-assign]
        return self.install(session)

    def install(self, session: requests.Session) -> requests.Session:
        """Route ``session``'s YouTube requests here and refuse all other hosts; returns it."""
        adapter = FakeYouTubeAdapter(self.base_url)
        # Longer prefixes win in requests, so these survive the library mounting its own
        # retrying adapters on "https://" when a Webshare proxy is configured.
        for host in sorted(_YOUTUBE_HOSTS):
            session.mount(f"https://{host}/", adapter)
            session.mount(f"http://{host}/", adapter)
        session.mount("https://", _OfflineAdapter())
        session.mount("http://", _OfflineAdapter())
        return session

    # -- serving (called from the handler threads)

    def _plan(self, video_id: str | None) -> tuple[str, _Plan]:
        vid = video_id or ""
        return vid, self._plans.get(vid, _Plan(self.default_scenario))

    def _reply(self, request: RecordedRequest) -> Reply:
        if request.method == "GET" and request.path == "/watch":
            return self._watch(*self._plan(request.param("v")), request)
        if request.method == "POST" and request.path == "/youtubei/v1/player":
            try:
                video_id = json.loads(request.body or b"{}").get("videoId")
            except ValueError:
                return Reply(400, b'{"error": {"code": 400, "message": "Invalid JSON payload"}}',
                              "application/json")
            if request.param("key") != RECORDED_API_KEY:
                return Reply(400, b'{"error": {"code": 400, "message": "API key not valid."}}',
                              "application/json")
            return self._player(*self._plan(video_id))
        if request.method == "GET" and request.path == "/api/timedtext":
            return self._timedtext(*self._plan(request.param("v")))
        if request.method == "GET" and request.path == "/oembed":
            watch = urlsplit(request.param("url") or "")
            ids = parse_qs(watch.query).get("v") or [None]
            return self._oembed(*self._plan(ids[0]))
        return Reply(404, b"Not Found")

    def _watch(self, video_id: str, plan: _Plan, request: RecordedRequest) -> Reply:
        page = "text/html; charset=utf-8"
        match plan.scenario:
            case "connection_reset":
                return Reply(200, drop_connection=True)
            case "too_many_requests":
                return Reply(200, _asset("youtube_too_many_requests.html.static"), page)
            case "rate_limited":
                return Reply(429, _asset("youtube_too_many_requests.html.static"), page)
            case "consent_failed":
                return Reply(200, _asset("youtube_consent_page.html.static"), page)
            case "consent" if "CONSENT=YES+" not in request.headers.get("cookie", ""):
                return Reply(200, _asset("youtube_consent_page.html.static"), page)
            case "slow":
                return Reply(200, _asset("youtube.html.static"), page, delay=self.slow_seconds)
        return Reply(200, _asset("youtube.html.static"), page)

    def _player(self, video_id: str, plan: _Plan) -> Reply:
        as_json = "application/json; charset=utf-8"
        status = {"server_error_500": 500, "server_error_503": 503, "forbidden_403": 403}.get(plan.scenario)
        if status is not None:
            return Reply(status, b"<html><body>Error</body></html>", "text/html; charset=utf-8")
        if plan.scenario == "garbage":
            return Reply(200, b"<html><body>Something went wrong</body></html>", as_json)
        body = _player_body(plan.scenario)
        if plan.tracks is not None:
            body = _with_tracks(body, plan.tracks)
        # The recording's caption URLs name the recorded video; point them at this one.
        body = _TIMEDTEXT_ID.sub(rb"\g<1>" + video_id.encode(), body)
        return Reply(200, body, as_json)

    def _timedtext(self, video_id: str, plan: _Plan) -> Reply:
        if plan.scenario == "transcript_rate_limited":
            return Reply(429, b"Too Many Requests")
        if plan.scenario not in _WITH_CAPTIONS:
            return Reply(404, b"Not Found")
        return Reply(200, plan.transcript_xml or _asset("transcript.xml.static"), "text/xml; charset=UTF-8")

    def _oembed(self, video_id: str, plan: _Plan) -> Reply:
        status = plan.oembed_status
        if status is None:
            status = {"unavailable": 404, "private": 401}.get(plan.scenario, 200)
        if status != 200:
            reason = {400: b"Bad Request", 401: b"Unauthorized", 403: b"Forbidden", 404: b"Not Found",
                      429: b"Too Many Requests"}.get(status, b"Error")
            return Reply(status, reason)
        details = json.loads(_player_body(plan.scenario if plan.scenario in _WITH_CAPTIONS else "ok")
                             ).get("videoDetails", {})
        thumbnail = f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg"
        answer = {
            "title": details.get("title", f"Video {video_id}"),
            "author_name": details.get("author", "Unknown channel"),
            # Real oEmbed gives the @handle URL; the recordings only hold the channel id.
            "author_url": f"https://www.youtube.com/channel/{details.get('channelId', 'UC0000000000000000000000')}",
            "type": "video", "height": 113, "width": 200, "version": "1.0",
            "provider_name": "YouTube", "provider_url": "https://www.youtube.com/",
            "thumbnail_height": 360, "thumbnail_width": 480, "thumbnail_url": thumbnail,
            "html": f'<iframe width="200" height="113" src="https://www.youtube.com/embed/{video_id}?feature=oembed"'
                    ' frameborder="0" allowfullscreen></iframe>',
        }
        return Reply(200, json.dumps(answer).encode(), "application/json; charset=utf-8")


def _check_scenario(name: str) -> None:
    if name not in SCENARIOS:
        raise ValueError(f"unknown fake YouTube scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")


def _player_body(scenario: str) -> bytes:
    match scenario:
        case "english_only":
            return _asset("youtube_ww1_nl_en.innertube.json.static")
        case "no_english":
            data = json.loads(_asset("youtube.innertube.json.static"))
            captions = data["captions"]["playerCaptionsTracklistRenderer"]
            captions["captionTracks"] = [t for t in captions["captionTracks"] if t["languageCode"] != "en"]
            return json.dumps(data).encode()
        case "private":
            data = json.loads(_asset("youtube_unplayable.innertube.json.static"))
            data["playabilityStatus"].update(status="LOGIN_REQUIRED", reason="This video is private")
            return json.dumps(data).encode()
        case "transcripts_disabled" | "transcripts_disabled2" | "age_restricted" | "request_blocked" \
                | "po_token_required" | "unplayable":
            return _asset(f"youtube_{scenario}.innertube.json.static")
        case "unavailable":
            return _asset("youtube_video_unavailable.innertube.json.static")
    return _asset("youtube.innertube.json.static")


def _with_tracks(body: bytes, tracks: Sequence[Track]) -> bytes:
    """The player JSON with its caption list rebuilt from the recorded English tracks."""
    data = json.loads(body)
    captions = data["captions"]["playerCaptionsTracklistRenderer"]
    recorded = captions["captionTracks"]
    templates = {
        True: next(t for t in recorded if t.get("kind") == "asr"),
        False: next(t for t in recorded if t.get("kind") != "asr"),
    }
    names = {lang["languageCode"]: lang["languageName"]["runs"][0]["text"]
             for lang in captions.get("translationLanguages", [])}
    built = []
    for code, generated in tracks:
        track = json.loads(json.dumps(templates[generated]))
        name = names.get(code, code) + (" (auto-generated)" if generated else "")
        track.update(languageCode=code, name={"runs": [{"text": name}]},
                     vssId=("a." if generated else ".") + code, isTranslatable=True)
        track["baseUrl"] = re.sub(r"([?&])lang=[^&]*", rf"\g<1>lang={code}", track["baseUrl"])
        built.append(track)
    captions["captionTracks"] = built
    for audio in captions.get("audioTracks", []):
        audio["captionTrackIndices"] = list(range(len(built)))
    return json.dumps(data).encode()


class FakeYouTubeAdapter(HTTPAdapter):
    """Sends requests for YouTube hosts to the fake server, unchanged but for scheme and host.

    The response keeps the original URL and request, so cookies the fake sets land on
    ``.youtube.com`` in the session's jar, and cookies the library sets there (the consent
    cookie) go out with the next request, as they would against YouTube.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._netloc = urlsplit(base_url).netloc

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        original_url = request.url or ""
        parts = urlsplit(original_url)
        if parts.hostname not in _YOUTUBE_HOSTS:
            raise requests.ConnectionError(f"the fake YouTube does not serve {parts.hostname}")
        local = request.copy()
        local.url = urlunsplit(("http", self._netloc, parts.path, parts.query, ""))
        # Proxies (from a ProxyConfig or the environment) are ignored: the fake is local. An empty
        # dict, not None: once yt-dlp is imported, its patch of requests' proxy lookup needs a dict.
        response = super().send(local, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies={})
        response.url = original_url
        response.request = request
        return response


class _OfflineAdapter(HTTPAdapter):
    """Refuses every request: tests with the fake must never reach the internet."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        host = urlsplit(request.url or "").hostname
        raise requests.ConnectionError(f"offline test: no network to {host}")
