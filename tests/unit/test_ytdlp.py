"""Playlist/channel listing and the subtitle fallback, through yt-dlp's real YouTube extractors.

Everything runs offline: tests/fakes/ytdlp_pages.py serves YouTube-shaped pages and innertube
JSON on 127.0.0.1, and swaps yt-dlp's request handlers for its own urllib handler pointed there,
so yt-dlp's extraction, pagination, retry and error code runs for real on every test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chronos_data.errors import SourceError, ValidationError
from chronos_data.ingest.segments import Segment
from chronos_data.ingest.ytdlp import (
    METHOD,
    ChosenTrack,
    ListedVideo,
    Listing,
    choose_track,
    fetch_subtitles,
    list_videos,
)
from tests.fakes.ytdlp_pages import (
    CaptionTrack,
    FakeChannel,
    FakeVideo,
    FakeYouTubeSite,
    deleted_video,
    private_video,
    route_ytdlp_to,
    vtt,
)

# No disk cache, and no JavaScript runtime even where deno is installed: yt-dlp then asks the
# player API as the clients that need none, which is the path the fake serves.
PARAMS = {"cachedir": False, "js_runtimes": {}}
PLAYLIST = "PLfakeTalks0000000001"
PLAYLIST_URL = f"https://www.youtube.com/playlist?list={PLAYLIST}"
CHANNEL = FakeChannel("Chronos Talks", "UC" + "c" * 22, "@chronostalks",
                      [FakeVideo("chan0000001", "Newest upload", 125), FakeVideo("chan0000002", "Older upload", 3725)],
                      shorts=[FakeVideo("short000001", "A short", 30)])
VIDEO = "vid00000001"

ENGLISH_CUES = vtt((0.0, 1.5, "Hello there."), (1.5, 4.25, "General Kenobi!"))
ENGLISH_SEGMENTS = [Segment(0.0, 1.5, "Hello there."), Segment(1.5, 4.25, "General Kenobi!")]


def watch(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def listed(video_id: str, title: str, duration: int | None) -> ListedVideo:
    return ListedVideo(video_id, title, duration, watch(video_id))


@pytest.fixture
def site() -> Iterator[FakeYouTubeSite]:
    with FakeYouTubeSite() as fake, route_ytdlp_to(fake):
        yield fake


def continuation_requests(site: FakeYouTubeSite) -> list[str]:
    return [r.json()["continuation"] for r in site.requests_to("/youtubei/v1/browse") if "continuation" in r.json()]


# --------------------------------------------------------------------------- listing


def test_a_playlist_lists_its_videos_with_titles_and_durations(site: FakeYouTubeSite) -> None:
    site.add_playlist(PLAYLIST, "Conference talks", [
        FakeVideo("talk0000001", "Opening keynote", 3725),
        FakeVideo("talk0000002", "Lightning talk", 61),
        FakeVideo("talk0000003", "Premiere without a length", None),
    ])

    listing = list_videos(PLAYLIST_URL, ydl_params=PARAMS)

    assert listing == Listing("Conference talks", [
        listed("talk0000001", "Opening keynote", 3725),
        listed("talk0000002", "Lightning talk", 61),
        listed("talk0000003", "Premiere without a length", None),
    ])
    assert site.requests_to("/watch") == []  # flat: nothing per video, no media


def test_private_deleted_and_repeated_entries_are_skipped(site: FakeYouTubeSite) -> None:
    site.add_playlist(PLAYLIST, "Mixed bag", [
        FakeVideo("keep0000001", "First", 10),
        private_video("priv0000001"),
        FakeVideo("keep0000002", "Second", 20),
        deleted_video("dele0000001"),
        FakeVideo("keep0000001", "First", 10),  # added to the playlist twice
    ])

    listing = list_videos(PLAYLIST_URL, ydl_params=PARAMS)

    assert [v.video_id for v in listing.videos] == ["keep0000001", "keep0000002"]


def test_a_long_playlist_is_followed_across_pages(site: FakeYouTubeSite) -> None:
    videos = [FakeVideo(f"page{i:07d}", f"Part {i}", 60 + i) for i in range(1, 6)]
    site.add_playlist(PLAYLIST, "Series", videos, page_size=2)

    listing = list_videos(PLAYLIST_URL, ydl_params=PARAMS)

    assert [v.title for v in listing.videos] == ["Part 1", "Part 2", "Part 3", "Part 4", "Part 5"]
    assert continuation_requests(site) == [f"{PLAYLIST}:1", f"{PLAYLIST}:2"]


def test_limit_stops_the_listing_without_reading_further_pages(site: FakeYouTubeSite) -> None:
    videos = [FakeVideo(f"page{i:07d}", f"Part {i}", 60) for i in range(1, 6)]
    site.add_playlist(PLAYLIST, "Series", videos, page_size=2)

    assert [v.title for v in list_videos(PLAYLIST_URL, limit=2, ydl_params=PARAMS).videos] == ["Part 1", "Part 2"]
    assert continuation_requests(site) == []

    assert [v.title for v in list_videos(PLAYLIST_URL, limit=3, ydl_params=PARAMS).videos] == [
        "Part 1", "Part 2", "Part 3"]
    assert continuation_requests(site) == [f"{PLAYLIST}:1"]


def test_limit_below_one_is_rejected_before_any_request(site: FakeYouTubeSite) -> None:
    with pytest.raises(ValidationError):
        list_videos(PLAYLIST_URL, limit=0, ydl_params=PARAMS)
    assert site.requests == []


@pytest.mark.parametrize("url", [
    "https://www.youtube.com/@chronostalks/videos",
    "https://www.youtube.com/channel/UCcccccccccccccccccccccc/videos",
    "https://youtube.com/@chronostalks",  # no tab: the Videos tab, not Shorts as well
])
def test_a_channel_lists_its_uploads_under_the_channel_name(site: FakeYouTubeSite, url: str) -> None:
    site.add_channel(CHANNEL)

    listing = list_videos(url, ydl_params=PARAMS)

    assert listing == Listing("Chronos Talks", [
        listed("chan0000001", "Newest upload", 125),
        listed("chan0000002", "Older upload", 3725),
    ])
    assert [r.path for r in site.requests] == [url.removeprefix("https://youtube.com").removeprefix(
        "https://www.youtube.com").removesuffix("/videos") + "/videos"]


def test_a_missing_playlist_says_so_plainly(site: FakeYouTubeSite) -> None:
    with pytest.raises(SourceError) as caught:
        list_videos("https://www.youtube.com/playlist?list=PLdoesNotExist0001", ydl_params=PARAMS)

    assert str(caught.value) == (
        "YouTube has no public playlist at this link: it does not exist or is private; check the link, "
        "or make the playlist public or unlisted.")
    assert caught.value.transient is False


def test_an_unknown_channel_says_so_plainly(site: FakeYouTubeSite) -> None:
    with pytest.raises(SourceError) as caught:
        list_videos("https://www.youtube.com/@nobodyhere/videos", ydl_params=PARAMS)

    assert str(caught.value) == "YouTube has no channel at this link; check the @handle or channel link you pasted."
    assert caught.value.transient is False


def test_a_network_failure_is_transient(site: FakeYouTubeSite) -> None:
    site.add_playlist(PLAYLIST, "Talks", [FakeVideo("talk0000001", "Keynote", 60)])
    site.fail("*", drop_connection=True)

    with pytest.raises(SourceError) as caught:
        list_videos(PLAYLIST_URL, ydl_params=PARAMS)

    assert caught.value.transient is True
    assert "could not reach YouTube" in str(caught.value)
    assert site.requests  # yt-dlp really tried


def test_rate_limiting_is_transient_and_suggests_a_proxy(site: FakeYouTubeSite) -> None:
    site.add_playlist(PLAYLIST, "Talks", [FakeVideo("talk0000001", "Keynote", 60)])
    site.fail("*", 429)

    with pytest.raises(SourceError) as caught:
        list_videos(PLAYLIST_URL, ydl_params=PARAMS)

    assert caught.value.transient is True
    assert "too many" in str(caught.value)
    assert "CHRONOS_PROXY_HTTPS" in str(caught.value)


def test_a_server_error_is_transient(site: FakeYouTubeSite) -> None:
    site.fail("*", 503)

    with pytest.raises(SourceError) as caught:
        list_videos(PLAYLIST_URL, ydl_params=PARAMS)

    assert caught.value.transient is True
    assert "HTTP 503" in str(caught.value)


@pytest.mark.parametrize("url", ["https://vimeo.com/channels/staffpicks", "not a link", ""])
def test_a_link_that_is_not_youtube_is_refused_without_a_request(site: FakeYouTubeSite, url: str) -> None:
    with pytest.raises(SourceError, match="is not a YouTube playlist or channel link"):
        list_videos(url, ydl_params=PARAMS)
    assert site.requests == []


def test_a_single_video_link_is_not_a_listing(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, "Just one")

    with pytest.raises(SourceError, match="single YouTube video"):
        list_videos(watch(VIDEO), ydl_params=PARAMS)


def test_the_proxy_is_handed_to_ytdlp() -> None:
    with FakeYouTubeSite() as site, route_ytdlp_to(site) as handler:
        site.add_playlist(PLAYLIST, "Talks", [FakeVideo("talk0000001", "Keynote", 60)])
        list_videos(PLAYLIST_URL, proxy_url="http://user:secret@proxy.example:3128", ydl_params=PARAMS)

    assert handler.proxies_seen
    assert all(p == {"all": "http://user:secret@proxy.example:3128"} for p in handler.proxies_seen)


# --------------------------------------------------------------------------- subtitles


def test_uploaded_captions_beat_speech_recognition_in_the_wanted_language(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[
        CaptionTrack("en", "English (auto-generated)", vtt((0, 1, "auto text")), generated=True),
        CaptionTrack("en", "English", ENGLISH_CUES),
    ])

    transcript = fetch_subtitles(VIDEO, languages=("en",), ydl_params=PARAMS)

    assert transcript.segments == ENGLISH_SEGMENTS
    assert (transcript.language, transcript.is_generated, transcript.method) == ("en", False, METHOD)
    [caption_request] = site.requests_to("/api/timedtext")
    assert caption_request.query["fmt"] == ["vtt"] and "kind" not in caption_request.query


def test_uploaded_captions_in_a_second_language_beat_generated_ones_in_the_first(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[
        CaptionTrack("de", "German (auto-generated)", vtt((0, 1, "automatisch")), generated=True),
        CaptionTrack("en", "English", ENGLISH_CUES),
    ])

    transcript = fetch_subtitles(VIDEO, languages=("de", "en"), ydl_params=PARAMS)

    assert (transcript.language, transcript.is_generated) == ("en", False)


def test_the_creators_language_order_decides_between_uploaded_tracks(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[
        CaptionTrack("en", "English", ENGLISH_CUES),
        CaptionTrack("de", "German", vtt((0, 2, "Hallo zusammen."))),
    ])

    transcript = fetch_subtitles(VIDEO, languages=("de", "en"), ydl_params=PARAMS)

    assert transcript.language == "de"
    assert transcript.segments == [Segment(0.0, 2.0, "Hallo zusammen.")]


def test_generated_captions_are_used_when_nobody_uploaded_any(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[CaptionTrack("en", "English (auto-generated)", ENGLISH_CUES, generated=True)])

    transcript = fetch_subtitles(VIDEO, ydl_params=PARAMS)

    assert transcript.segments == ENGLISH_SEGMENTS
    assert (transcript.language, transcript.is_generated) == ("en", True)
    assert site.requests_to("/api/timedtext")[0].query["kind"] == ["asr"]


def test_a_regional_track_counts_for_its_language(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[CaptionTrack("en-GB", "English (United Kingdom)", ENGLISH_CUES)])

    transcript = fetch_subtitles(VIDEO, languages=("en",), ydl_params=PARAMS)

    assert (transcript.language, transcript.segments) == ("en-GB", ENGLISH_SEGMENTS)


def test_without_the_wanted_language_the_original_language_is_taken_not_a_translation(
        site: FakeYouTubeSite) -> None:
    # YouTube offers French as a machine translation of the Spanish speech recognition; the
    # creator's spoken language is what Chronos wants instead.
    site.add_video(VIDEO, captions=[
        CaptionTrack("es", "Spanish (auto-generated)", vtt((0, 2, "Hola a todos.")), generated=True),
        CaptionTrack("de", "German", vtt((0, 2, "Hallo zusammen."))),
    ])

    transcript = fetch_subtitles(VIDEO, languages=("fr",), ydl_params=PARAMS)

    assert (transcript.language, transcript.is_generated) == ("es", True)
    assert transcript.segments == [Segment(0.0, 2.0, "Hola a todos.")]
    assert all("tlang" not in r.query for r in site.requests_to("/api/timedtext"))


def test_the_fallback_prefers_uploaded_captions_in_the_spoken_language(site: FakeYouTubeSite) -> None:
    # Asked for French; manual before auto holds for the fallback too.
    site.add_video(VIDEO, captions=[
        CaptionTrack("en", "English (auto-generated)", vtt((0, 2, "hello everyone")), generated=True),
        CaptionTrack("en", "English", ENGLISH_CUES),
    ])

    transcript = fetch_subtitles(VIDEO, languages=("fr",), ydl_params=PARAMS)

    assert (transcript.language, transcript.is_generated) == ("en", False)
    assert transcript.segments == ENGLISH_SEGMENTS


def test_without_speech_recognition_the_first_uploaded_track_is_the_fallback(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[
        CaptionTrack("ja", "Japanese", vtt((0, 2, "こんにちは。"))),
        CaptionTrack("ko", "Korean", vtt((0, 2, "안녕하세요."))),
    ])

    transcript = fetch_subtitles(VIDEO, languages=("en",), ydl_params=PARAMS)

    assert (transcript.language, transcript.is_generated, transcript.text) == ("ja", False, "こんにちは。")


def test_a_video_without_captions_says_so_and_suggests_a_subtitle_file(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[])

    with pytest.raises(SourceError) as caught:
        fetch_subtitles(VIDEO, ydl_params=PARAMS)

    assert str(caught.value) == ("This video has no captions on YouTube (they are turned off or were never made), "
                                 "so upload the video's subtitle file instead.")
    assert caught.value.transient is False
    assert site.requests_to("/api/timedtext") == []


def test_an_unavailable_video_says_so(site: FakeYouTubeSite) -> None:
    with pytest.raises(SourceError, match="private, deleted or otherwise unavailable") as caught:
        fetch_subtitles("gone0000001", ydl_params=PARAMS)
    assert caught.value.transient is False


def test_a_private_video_says_so(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, playability={"status": "LOGIN_REQUIRED", "reason": "This video is private"})

    with pytest.raises(SourceError, match="private, deleted or otherwise unavailable"):
        fetch_subtitles(VIDEO, ydl_params=PARAMS)


def test_youtubes_bot_check_suggests_a_proxy(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, playability={
        "status": "LOGIN_REQUIRED", "reason": "Sign in to confirm you’re not a bot",
        "errorScreen": {"playerErrorMessageRenderer": {
            "reason": {"simpleText": "Sign in to confirm you’re not a bot"},
            "subreason": {"runs": [{"text": "This helps protect our community. Learn more"}]}}}})

    with pytest.raises(SourceError) as caught:
        fetch_subtitles(VIDEO, ydl_params=PARAMS)

    assert "blocking requests from this server" in str(caught.value)
    assert "CHRONOS_PROXY_HTTPS" in str(caught.value)


def test_rate_limiting_on_the_caption_file_is_transient(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[CaptionTrack("en", "English", ENGLISH_CUES)])
    site.fail("/api/timedtext", 429)

    with pytest.raises(SourceError, match="too many") as caught:
        fetch_subtitles(VIDEO, ydl_params=PARAMS)
    assert caught.value.transient is True


def test_a_refused_caption_file_is_explained(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[CaptionTrack("en", "English", ENGLISH_CUES)])
    site.fail("/api/timedtext", 403)

    with pytest.raises(SourceError, match=r"refused to send this video's caption file \(HTTP 403\)") as caught:
        fetch_subtitles(VIDEO, ydl_params=PARAMS)
    assert caught.value.transient is False


def test_an_empty_caption_file_is_reported(site: FakeYouTubeSite) -> None:
    site.add_video(VIDEO, captions=[CaptionTrack("en", "English", b"WEBVTT\n\n")])

    with pytest.raises(SourceError, match="could not read"):
        fetch_subtitles(VIDEO, ydl_params=PARAMS)


def test_a_network_failure_while_reading_captions_is_transient(site: FakeYouTubeSite) -> None:
    site.fail("*", drop_connection=True)

    with pytest.raises(SourceError, match="could not reach YouTube") as caught:
        fetch_subtitles(VIDEO, ydl_params=PARAMS)
    assert caught.value.transient is True


def test_a_bad_video_id_is_refused_without_a_request(site: FakeYouTubeSite) -> None:
    with pytest.raises(SourceError, match="is not a YouTube video id"):
        fetch_subtitles("https://youtu.be/abc", ydl_params=PARAMS)
    assert site.requests == []


# --------------------------------------------------------------------------- choose_track edge cases


def test_choose_track_takes_srt_when_no_vtt_and_ignores_live_chat() -> None:
    info = {
        "subtitles": {
            "live_chat": [{"ext": "json", "url": "https://www.youtube.com/live_chat"}],
            "en-nP7-2PuUl7o": [{"ext": "json3", "url": "https://x/j"}, {"ext": "srt", "url": "https://x/s"}],
        },
        "automatic_captions": {},
    }

    assert choose_track(info, ["en"]) == ChosenTrack("https://x/s", "en", False, "srt")
    assert choose_track({"subtitles": {}, "automatic_captions": {}}, ["en"]) is None


# --------------------------------------------------------------------------- side effects of importing yt-dlp


def test_importing_ytdlp_leaves_requests_proxy_selection_working() -> None:
    # yt-dlp swaps requests' select_proxy on import; requests' own contract must still hold for
    # youtube-transcript-api and every other requests user in the process.
    import requests.adapters

    assert requests.adapters.select_proxy("https://www.youtube.com/watch", None) is None
    assert requests.adapters.select_proxy(
        "https://www.youtube.com/watch", {"https://www.youtube.com": "http://p:1"}) == "http://p:1"
    # yt-dlp's no_proxy handling still applies where yt-dlp asks for it.
    assert requests.adapters.select_proxy(
        "https://www.youtube.com/watch", {"https": "http://p:1", "no": "www.youtube.com"}) is None
