"""A fake YouTube on 127.0.0.1 for yt-dlp's real YouTube extractors, and a yt-dlp transport to it.

yt-dlp reads YouTube through its own networking layer (``yt_dlp.networking``), not ``requests``, so
the adapter in ``tests/fakes/youtube.py`` cannot reach it. :func:`route_ytdlp_to` swaps yt-dlp's
registry of request handlers for a single :class:`FakeYouTubeRH` while it is active: every
``YoutubeDL`` created meanwhile sends ``https://www.youtube.com/...`` (and ``youtube.com``,
``m.youtube.com``) over plain HTTP to :class:`FakeYouTubeSite`, keeping method, path, query,
headers and body, and refuses every other host, so a test can never reach the internet::

    with FakeYouTubeSite() as site, route_ytdlp_to(site):
        site.add_playlist("PL...", "Talks", [FakeVideo("abcdefghijk", "Intro", 61)])
        listing = list_videos("https://www.youtube.com/playlist?list=PL...")

What the site answers, shaped like YouTube's own answers (trimmed to the fields yt-dlp reads):

* ``GET /playlist?list=ID`` - the playlist page: ``ytcfg.set({...})`` and ``var ytInitialData``
  holding a ``playlistVideoListRenderer`` of ``playlistVideoRenderer`` items, ``page_size`` at a
  time with a ``continuationItemRenderer`` token after them; an unknown id gets YouTube's
  "The playlist does not exist." alert (HTTP 200, as YouTube does);
* ``POST /youtubei/v1/browse`` - ``{"browseId": "VL<ID>"}`` (yt-dlp reloads a playlist "with
  unavailable videos") answers the first page again; ``{"continuation": TOKEN}`` the next page
  as an ``appendContinuationItemsAction``;
* ``GET /@handle[/featured|/videos|/shorts]`` (or ``/channel/UC...``) - a channel page with that
  tab selected (Home without one): Videos is a ``richGridRenderer`` of ``videoRenderer`` items,
  Shorts of ``shortsLockupViewModel`` items; unknown channels get 404 here and on
  ``POST /youtubei/v1/navigation/resolve_url``, as on YouTube;
* ``GET /watch?v=ID`` - the watch page with ``ytcfg``, ``ytInitialPlayerResponse`` and
  ``ytInitialData``; ``POST /youtubei/v1/player`` - the player JSON whose
  ``captions.playerCaptionsTracklistRenderer.captionTracks`` list the caption tracks;
* ``GET /api/timedtext?v=ID&lang=xx[&kind=asr]&fmt=vtt`` - one track as WebVTT.

:meth:`FakeYouTubeSite.fail` makes a path (or all of them) answer an HTTP error or drop the connection.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from yt_dlp.networking import common as ytdlp_networking
from yt_dlp.networking._urllib import UrllibRH
from yt_dlp.networking.exceptions import HTTPError, TransportError

from tests.fakes.http import FakeHTTPServer, RecordedRequest, Reply


@dataclass
class _Page(Reply):
    """A reply of the site: HTML unless said otherwise."""

    content_type: str = "text/html; charset=utf-8"

__all__ = [
    "API_KEY",
    "CaptionTrack",
    "FakeChannel",
    "FakeVideo",
    "FakeYouTubeRH",
    "FakeYouTubeSite",
    "RecordedRequest",
    "deleted_video",
    "private_video",
    "route_ytdlp_to",
    "vtt",
]

#: The INNERTUBE_API_KEY the pages carry (YouTube's public web key has this shape).
API_KEY = "AIzaSyFakeFakeFakeFakeFakeFakeFakeFakeFak"
_CLIENT_VERSION = "2.20260101.00.00"
_VISITOR_DATA = "CgtGYWtlVmlzaXRvcijAgICABjIKCgJVUxIEGgAgAA%3D%3D"
_YOUTUBE_HOSTS = {"www.youtube.com", "youtube.com", "m.youtube.com"}


# --------------------------------------------------------------------------- content


@dataclass(frozen=True)
class FakeVideo:
    """A video as a playlist or channel lists it. ``duration_seconds`` None = no length shown."""

    video_id: str
    title: str
    duration_seconds: int | None = None
    #: YouTube lists private and deleted videos of a playlist with these placeholder titles.
    placeholder: bool = False


def private_video(video_id: str) -> FakeVideo:
    """A playlist entry for a video made private after it was added."""
    return FakeVideo(video_id, "[Private video]", None, placeholder=True)


def deleted_video(video_id: str) -> FakeVideo:
    """A playlist entry for a deleted video."""
    return FakeVideo(video_id, "[Deleted video]", None, placeholder=True)


@dataclass(frozen=True)
class FakeChannel:
    """A channel with a Home, a Videos and a Shorts tab."""

    name: str
    channel_id: str
    handle: str
    videos: Sequence[FakeVideo]
    shorts: Sequence[FakeVideo] = ()


@dataclass(frozen=True)
class CaptionTrack:
    """One caption track of a video: uploaded by the creator, or YouTube's speech recognition."""

    language_code: str
    name: str
    body: bytes
    generated: bool = False
    translatable: bool = True


def vtt(*cues: tuple[float, float, str]) -> bytes:
    """A small WebVTT file as YouTube's timedtext endpoint serves it (``fmt=vtt``)."""

    def stamp(seconds: float) -> str:
        whole = int(seconds)
        millis = round((seconds - whole) * 1000)
        return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{millis:03d}"

    lines = ["WEBVTT", "Kind: captions", "Language: en", ""]
    for start, end, text in cues:
        lines += [f"{stamp(start)} --> {stamp(end)} align:start position:0%", text, ""]
    return "\n".join(lines).encode()


@dataclass
class _Video:
    video_id: str
    title: str
    duration_seconds: int
    captions: Sequence[CaptionTrack]
    playability: dict[str, Any]


# --------------------------------------------------------------------------- the site


class FakeYouTubeSite(FakeHTTPServer):
    thread_name = "fake-youtube-ytdlp"
    protocol_version = "HTTP/1.1"
    """The HTTP server and what it knows; use as a context manager (starts and stops the server)."""

    def __init__(self) -> None:
        self._playlists: dict[str, tuple[str, list[FakeVideo], int]] = {}
        self._channels: dict[str, FakeChannel] = {}
        self._videos: dict[str, _Video] = {}
        self._faults: dict[str, _Page] = {}
        super().__init__()

    # -- content

    def add_playlist(self, playlist_id: str, title: str, videos: Sequence[FakeVideo], *,
                     page_size: int = 100) -> None:
        """A public playlist; YouTube sends 100 entries per page, ``page_size`` makes pages smaller."""
        self._playlists[playlist_id] = (title, list(videos), page_size)

    def add_channel(self, channel: FakeChannel) -> None:
        """A channel, reachable by ``/@handle/videos`` and ``/channel/UC.../videos``."""
        self._channels[channel.handle.lower()] = channel
        self._channels[channel.channel_id] = channel

    def add_video(self, video_id: str, title: str = "A video", *, duration_seconds: int = 61,
                  captions: Sequence[CaptionTrack] = (), playability: dict[str, Any] | None = None) -> None:
        """A video with these caption tracks (in YouTube's order: as listed in the player JSON)."""
        self._videos[video_id] = _Video(video_id, title, duration_seconds, list(captions),
                                        playability or {"status": "OK", "playableInEmbed": True})

    def fail(self, path: str, status: int | None = None, *, drop_connection: bool = False) -> None:
        """Answer every request for ``path`` (``"*"``: any path) with HTTP ``status`` or by closing the connection."""
        body = b"<html><body>Error</body></html>"
        self._faults[path] = _Page(status or 500, body, drop_connection=drop_connection,
                                    headers={"Retry-After": "60"} if status == 429 else {})

    # -- serving (handler threads)

    def _reply(self, request: RecordedRequest) -> _Page:
        fault = self._faults.get(request.path) or self._faults.get("*")
        if fault is not None:
            return fault
        path, method = request.path, request.method
        if method == "GET" and path == "/playlist":
            return self._playlist_page((request.query.get("list") or [""])[0])
        if method == "GET" and (match := re.fullmatch(r"/(@[^/]+|channel/UC[\w-]{22})(?:/(videos|shorts|featured))?",
                                                      path)):
            return self._channel_page(match.group(1).removeprefix("channel/"), match.group(2) or "featured")
        if method == "GET" and path == "/watch":
            return self._watch_page((request.query.get("v") or [""])[0])
        if method == "GET" and path == "/api/timedtext":
            return self._timedtext(request.query)
        if method == "POST" and path.startswith("/youtubei/v1/"):
            if (request.query.get("key") or [API_KEY])[0] != API_KEY:
                return _json_reply({"error": {"code": 400, "message": "API key not valid."}}, 400)
            return self._api(path.removeprefix("/youtubei/v1/"), request.json() or {})
        return _Page(404, b"<html><body>404 Not Found</body></html>")

    def _api(self, endpoint: str, body: dict[str, Any]) -> _Page:
        if endpoint == "browse":
            if token := body.get("continuation"):
                playlist_id, _, page = str(token).rpartition(":")
                if playlist_id in self._playlists and page.isdigit():
                    return _json_reply(self._playlist_continuation(playlist_id, int(page)))
                return _json_reply({"error": {"code": 400, "message": "Request contains an invalid argument."}}, 400)
            browse_id = str(body.get("browseId") or "")
            if browse_id.startswith("VL") and browse_id[2:] in self._playlists:
                return _json_reply(self._playlist_data(browse_id[2:]))
            return _json_reply({"error": {"code": 404, "message": "Requested entity was not found."}}, 404)
        if endpoint == "navigation/resolve_url":
            # Reached only when the page itself failed: YouTube does not know the URL either.
            return _json_reply({"error": {"code": 404, "message": "Requested entity was not found.",
                                          "status": "NOT_FOUND"}}, 404)
        if endpoint == "player":
            video = self._videos.get(str(body.get("videoId")))
            return _json_reply(self._player_response(video, str(body.get("videoId"))))
        if endpoint == "next":
            return _json_reply({"contents": {"twoColumnWatchNextResults": {}}})
        return _json_reply({"error": {"code": 404, "message": "Not found"}}, 404)

    # -- playlists

    def _playlist_page(self, playlist_id: str) -> _Page:
        if playlist_id not in self._playlists:
            data = {
                "responseContext": {"visitorData": _VISITOR_DATA},
                "alerts": [{"alertWithButtonRenderer": {
                    "type": "ERROR", "text": {"simpleText": "The playlist does not exist."}}}],
            }
            return _html_reply(_page(data))
        return _html_reply(_page(self._playlist_data(playlist_id)))

    def _playlist_data(self, playlist_id: str) -> dict[str, Any]:
        title, videos, page_size = self._playlists[playlist_id]
        contents = [_playlist_video(v, i + 1) for i, v in enumerate(videos[:page_size])]
        if len(videos) > page_size:
            contents.append(_continuation_item(f"{playlist_id}:1"))
        tab = {"tabRenderer": {"selected": True, "content": {"sectionListRenderer": {"contents": [
            {"itemSectionRenderer": {"contents": [
                {"playlistVideoListRenderer": {"contents": contents, "playlistId": playlist_id,
                                               "isEditable": False, "canReorder": False}}]}}]}}}}
        return {
            "responseContext": {"visitorData": _VISITOR_DATA},
            "contents": {"twoColumnBrowseResultsRenderer": {"tabs": [tab]}},
            "header": {"playlistHeaderRenderer": {
                "playlistId": playlist_id, "title": {"simpleText": title},
                "numVideosText": {"runs": [{"text": str(len(videos))}, {"text": " videos"}]},
                "privacy": "PUBLIC"}},
            "metadata": {"playlistMetadataRenderer": {"title": title, "description": ""}},
            "microformat": {"microformatDataRenderer": {"title": title, "noindex": False, "unlisted": False}},
        }

    def _playlist_continuation(self, playlist_id: str, page: int) -> dict[str, Any]:
        _, videos, page_size = self._playlists[playlist_id]
        start = page * page_size
        items: list[dict[str, Any]] = [_playlist_video(v, start + i + 1)
                                       for i, v in enumerate(videos[start:start + page_size])]
        if len(videos) > start + page_size:
            items.append(_continuation_item(f"{playlist_id}:{page + 1}"))
        return {
            "responseContext": {"visitorData": _VISITOR_DATA},
            "onResponseReceivedActions": [{"appendContinuationItemsAction": {
                "continuationItems": items, "targetId": f"VL{playlist_id}"}}],
        }

    # -- channels

    def _channel_page(self, key: str, tab: str) -> _Page:
        """The channel page with ``tab`` selected; only the selected tab has content, as on YouTube."""
        channel = self._channels.get(key.lower()) or self._channels.get(key)
        if channel is None:
            return _Page(404, b"<html><body>404 Not Found</body></html>")
        base = f"/{channel.handle}"
        contents = {
            "featured": {"sectionListRenderer": {"contents": []}},
            "videos": {"richGridRenderer": {"contents": [
                {"richItemRenderer": {"content": {"videoRenderer": _video_renderer(v, channel)}}}
                for v in channel.videos]}},
            "shorts": {"richGridRenderer": {"contents": [
                {"richItemRenderer": {"content": {"shortsLockupViewModel": _shorts_lockup(v)}}}
                for v in channel.shorts]}},
        }
        tabs = []
        for tab_id, title in (("featured", "Home"), ("videos", "Videos"), ("shorts", "Shorts")):
            renderer: dict[str, Any] = {"title": title, "endpoint": _browse_endpoint(f"{base}/{tab_id}", channel)}
            if tab_id == tab:
                renderer.update(selected=True, content=contents[tab_id])
            tabs.append({"tabRenderer": renderer})
        data = {
            "responseContext": {"visitorData": _VISITOR_DATA},
            "contents": {"twoColumnBrowseResultsRenderer": {"tabs": tabs}},
            "metadata": {"channelMetadataRenderer": {
                "title": channel.name, "description": "", "externalId": channel.channel_id,
                "channelUrl": f"https://www.youtube.com/channel/{channel.channel_id}",
                "vanityChannelUrl": f"http://www.youtube.com/{channel.handle}", "isFamilySafe": True}},
            "microformat": {"microformatDataRenderer": {"title": channel.name, "noindex": False, "unlisted": False}},
        }
        return _html_reply(_page(data))

    # -- videos and captions

    def _watch_page(self, video_id: str) -> _Page:
        video = self._videos.get(video_id)
        player = self._player_response(video, video_id)
        data = {"responseContext": {"visitorData": _VISITOR_DATA},
                "contents": {"twoColumnWatchNextResults": {"results": {"results": {"contents": []}}}}}
        return _html_reply(_page(data, player_response=player))

    def _player_response(self, video: _Video | None, video_id: str) -> dict[str, Any]:
        if video is None:
            return {"responseContext": {"visitorData": _VISITOR_DATA},
                    "playabilityStatus": {"status": "ERROR", "reason": "This video is unavailable"}}
        answer: dict[str, Any] = {
            "responseContext": {"visitorData": _VISITOR_DATA},
            "playabilityStatus": video.playability,
            "videoDetails": {
                "videoId": video.video_id, "title": video.title, "lengthSeconds": str(video.duration_seconds),
                "channelId": "UCfakefakefakefakefake00", "author": "Fake Channel", "shortDescription": "",
                "isLiveContent": False, "viewCount": "1234", "isPrivate": False,
            },
        }
        if video.playability.get("status") != "OK":
            return answer
        answer["streamingData"] = {"expiresInSeconds": "21540", "formats": [{
            "itag": 18, "url": f"https://rr1---sn-fake.googlevideo.com/videoplayback?id={video_id}&itag=18",
            "mimeType": 'video/mp4; codecs="avc1.42001E, mp4a.40.2"', "bitrate": 400000,
            "width": 640, "height": 360, "contentLength": "3000000", "quality": "medium", "fps": 30,
            "qualityLabel": "360p", "audioQuality": "AUDIO_QUALITY_LOW",
            "approxDurationMs": str(video.duration_seconds * 1000), "audioSampleRate": "44100", "audioChannels": 2,
        }], "adaptiveFormats": []}
        if video.captions:
            tracks = []
            for track in video.captions:
                query = {"v": video_id, "ei": "fakeEI", "opi": "112496729", "xoaf": "5", "hl": "en",
                         "ip": "0.0.0.0", "ipbits": "0", "expire": "4102444800", "sparams": "ip,ipbits,expire,v,ei",
                         "signature": "FAKE.SIGNATURE", "key": "yt8"}
                if track.generated:
                    query["kind"] = "asr"
                query["lang"] = track.language_code
                entry: dict[str, Any] = {
                    "baseUrl": f"https://www.youtube.com/api/timedtext?{urlencode(query)}",
                    "name": {"runs": [{"text": track.name}]},
                    "vssId": ("a." if track.generated else ".") + track.language_code,
                    "languageCode": track.language_code, "isTranslatable": track.translatable,
                    "trackName": "",
                }
                if track.generated:
                    entry["kind"] = "asr"
                tracks.append(entry)
            answer["captions"] = {"playerCaptionsTracklistRenderer": {
                "captionTracks": tracks,
                "audioTracks": [{"captionTrackIndices": list(range(len(tracks))), "visibility": "UNAVAILABLE"}],
                # A few of YouTube's ~150; yt-dlp offers each as a machine translation of every track.
                "translationLanguages": [
                    {"languageCode": code, "languageName": {"runs": [{"text": name}]}}
                    for code, name in (("de", "German"), ("en", "English"), ("fr", "French"), ("es", "Spanish"))
                ],
                "defaultAudioTrackIndex": 0,
            }}
        return answer

    def _timedtext(self, query: dict[str, list[str]]) -> _Page:
        video = self._videos.get((query.get("v") or [""])[0])
        lang = (query.get("lang") or [""])[0]
        generated = (query.get("kind") or [""])[0] == "asr"
        if video is None or query.get("tlang"):
            # Translations are never what the tests want: serving none makes choosing one fail loudly.
            return _Page(404, b"")
        for track in video.captions:
            if track.language_code == lang and track.generated == generated:
                if (query.get("fmt") or [""])[0] != "vtt":
                    return _Page(200, b"<?xml version=\"1.0\" encoding=\"utf-8\" ?><timedtext/>", "text/xml")
                return _Page(200, track.body, "text/vtt; charset=utf-8")
        return _Page(404, b"")


def _page(data: dict[str, Any], *, player_response: dict[str, Any] | None = None) -> bytes:
    """An HTML page with ytcfg and the initial data inline, as YouTube serves its pages."""
    ytcfg = {
        "INNERTUBE_API_KEY": API_KEY,
        "INNERTUBE_CLIENT_NAME": "WEB",
        "INNERTUBE_CLIENT_VERSION": _CLIENT_VERSION,
        "INNERTUBE_CONTEXT_CLIENT_NAME": 1,
        "INNERTUBE_CONTEXT": {"client": {"hl": "en", "gl": "US", "clientName": "WEB",
                                         "clientVersion": _CLIENT_VERSION, "visitorData": _VISITOR_DATA}},
        "VISITOR_DATA": _VISITOR_DATA,
    }
    scripts = [f"ytcfg.set({json.dumps(ytcfg)});"]
    if player_response is not None:
        scripts.append(f"var ytInitialPlayerResponse = {json.dumps(player_response)};")
    scripts.append(f"var ytInitialData = {json.dumps(data)};")
    body = "".join(f'<script nonce="fake">{s}</script>' for s in scripts)
    return (f'<!DOCTYPE html><html lang="en"><head><title>YouTube</title></head>'
            f"<body>{body}</body></html>").encode()


def _playlist_video(video: FakeVideo, index: int) -> dict[str, Any]:
    renderer: dict[str, Any] = {
        "videoId": video.video_id,
        "title": {"runs": [{"text": video.title}]},
        "index": {"simpleText": str(index)},
        "isPlayable": not video.placeholder,
    }
    if not video.placeholder:
        renderer["shortBylineText"] = {"runs": [{"text": "Fake Channel", "navigationEndpoint": {
            "browseEndpoint": {"browseId": "UCfakefakefakefakefake00", "canonicalBaseUrl": "/@fakechannel"}}}]}
        if video.duration_seconds is not None:
            renderer["lengthSeconds"] = str(video.duration_seconds)
            renderer["lengthText"] = {"simpleText": _clock(video.duration_seconds)}
    return {"playlistVideoRenderer": renderer}


def _video_renderer(video: FakeVideo, channel: FakeChannel) -> dict[str, Any]:
    renderer: dict[str, Any] = {
        "videoId": video.video_id,
        "title": {"runs": [{"text": video.title}]},
        "publishedTimeText": {"simpleText": "2 weeks ago"},
        "viewCountText": {"simpleText": "1,234 views"},
        "navigationEndpoint": {"commandMetadata": {"webCommandMetadata": {"url": f"/watch?v={video.video_id}"}},
                               "watchEndpoint": {"videoId": video.video_id}},
    }
    if video.duration_seconds is not None:
        renderer["lengthText"] = {"simpleText": _clock(video.duration_seconds)}
        renderer["thumbnailOverlays"] = [{"thumbnailOverlayTimeStatusRenderer": {
            "text": {"simpleText": _clock(video.duration_seconds)}, "style": "DEFAULT"}}]
    return renderer


def _shorts_lockup(video: FakeVideo) -> dict[str, Any]:
    return {
        "entityId": f"shorts-shelf-item-{video.video_id}",
        "accessibilityText": f"{video.title}, 1.2K views - play Short",
        "onTap": {"innertubeCommand": {"reelWatchEndpoint": {"videoId": video.video_id}}},
        "overlayMetadata": {"primaryText": {"content": video.title}, "secondaryText": {"content": "1.2K views"}},
    }


def _browse_endpoint(url: str, channel: FakeChannel) -> dict[str, Any]:
    return {"commandMetadata": {"webCommandMetadata": {"url": url}},
            "browseEndpoint": {"browseId": channel.channel_id, "canonicalBaseUrl": f"/{channel.handle}"}}


def _continuation_item(token: str) -> dict[str, Any]:
    return {"continuationItemRenderer": {"trigger": "CONTINUATION_TRIGGER_ON_ITEM_SHOWN", "continuationEndpoint": {
        "commandMetadata": {"webCommandMetadata": {"apiUrl": "/youtubei/v1/browse"}},
        "continuationCommand": {"token": token, "request": "CONTINUATION_REQUEST_TYPE_BROWSE"}}}}


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _html_reply(body: bytes) -> _Page:
    return _Page(200, body, "text/html; charset=utf-8")


def _json_reply(data: Any, status: int = 200) -> _Page:
    return _Page(status, json.dumps(data).encode(), "application/json; charset=UTF-8")


# --------------------------------------------------------------------------- yt-dlp transport


class FakeYouTubeRH(UrllibRH):
    """yt-dlp's own urllib handler, sending YouTube requests to the fake site and refusing the rest.

    Only scheme and host change: yt-dlp's real request building, headers, cookies, redirects,
    decompression and error mapping (HTTP errors, dropped connections) all run. Responses keep
    the original URL, as extractors compare it. Proxies are recorded, never used: the fake is local.
    """

    RH_NAME = "fake-youtube"
    netloc: ClassVar[str] = ""
    #: The proxies yt-dlp asked for, one entry per request.
    proxies_seen: ClassVar[list[dict[str, str]]] = []

    def _get_proxies(self, request: ytdlp_networking.Request) -> dict[str, str]:
        type(self).proxies_seen.append(super()._get_proxies(request))
        return {}

    def _send(self, request: ytdlp_networking.Request) -> ytdlp_networking.Response:
        original_url = request.url
        parts = urlsplit(original_url)
        if parts.hostname not in _YOUTUBE_HOSTS:
            raise TransportError(f"offline test: no network to {parts.hostname}")
        local = request.copy()
        local.url = urlunsplit(("http", type(self).netloc, parts.path, parts.query, ""))
        try:
            response = super()._send(local)
        except HTTPError as exc:
            exc.response.url = original_url
            raise
        response.url = original_url
        return response


@contextmanager
def route_ytdlp_to(site: FakeYouTubeSite) -> Iterator[type[FakeYouTubeRH]]:
    """While active, every new ``YoutubeDL`` reaches only ``site`` (through :class:`FakeYouTubeRH`).

    YoutubeDL builds its request handlers from yt-dlp's registry the first time it sends a
    request, so swapping the registry's contents covers YoutubeDL objects the code under test
    creates itself. Yields the handler class, whose ``proxies_seen`` tells which proxies were asked for.
    """
    registry = ytdlp_networking._REQUEST_HANDLERS
    saved = dict(registry)
    bound = type("FakeYouTubeRH", (FakeYouTubeRH,), {"netloc": site.netloc, "proxies_seen": []})
    registry.clear()
    registry[bound.RH_KEY] = bound
    try:
        yield bound
    finally:
        registry.clear()
        registry.update(saved)
