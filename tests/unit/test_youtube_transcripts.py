"""YouTube captions and metadata, against a fake YouTube serving the library's recorded answers.

Everything runs offline: tests/fakes/youtube.py plays youtube-transcript-api's own recordings
back over real HTTP on 127.0.0.1, so the library's request and parsing code runs for real.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from youtube_transcript_api.proxies import GenericProxyConfig, WebshareProxyConfig

from chronos_data.errors import SourceError
from chronos_data.ingest import youtube
from chronos_data.ingest.segments import Segment
from chronos_data.ingest.youtube import (
    ProxySettings,
    TimeoutSession,
    TrackInfo,
    VideoMetadata,
    fetch_metadata,
    fetch_transcript,
    list_tracks,
)
from tests.fakes.youtube import FakeYouTube

VIDEO = "abcdefghijk"
DIRECT = ProxySettings()  # no proxy, whatever the environment says
PROXY_VARS = ("CHRONOS_PROXY_HTTP", "CHRONOS_PROXY_HTTPS", "WEBSHARE_PROXY_USERNAME", "WEBSHARE_PROXY_PASSWORD")

RECORDED_SEGMENTS = [
    Segment(0.0, 1.54, "Hey, this is just a test"),
    Segment(1.54, 5.7, "this is not the original transcript"),
    Segment(5.7, 8.939, "just something shorter, I made up for testing"),
]


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def yt() -> Iterator[FakeYouTube]:
    with FakeYouTube(slow_seconds=3.0) as fake:
        yield fake


def fetch(yt: FakeYouTube, video_id: str = VIDEO, **kwargs):
    kwargs.setdefault("proxy", DIRECT)
    return fetch_transcript(video_id, http_client=yt.session(), **kwargs)


def caption_request(yt: FakeYouTube):
    (request,) = yt.requests_to("/api/timedtext")
    return request


def failure(yt: FakeYouTube, scenario: str, **kwargs) -> SourceError:
    yt.scenario(VIDEO, scenario)
    with pytest.raises(SourceError) as caught:
        fetch(yt, **kwargs)
    return caught.value


# --------------------------------------------------------------------------- a normal video


def test_a_normal_video_gives_timestamped_segments_with_language_and_origin(yt):
    yt.scenario(VIDEO, "ok")

    transcript = fetch(yt)

    assert transcript.segments == RECORDED_SEGMENTS  # the empty recorded line is dropped
    assert transcript.language == "en"
    assert transcript.is_generated is False
    assert transcript.method == "youtube_captions"
    assert transcript.text.startswith("Hey, this is just a test this is not")


def test_it_asks_youtube_for_the_page_the_player_and_then_the_chosen_captions(yt):
    yt.scenario(VIDEO, "ok")

    fetch(yt)

    assert [(r.method, r.path) for r in yt.requests] == [
        ("GET", "/watch"), ("POST", "/youtubei/v1/player"), ("GET", "/api/timedtext"),
    ]
    assert yt.requests[0].param("v") == VIDEO
    assert b'"videoId": "' + VIDEO.encode() in yt.requests[1].body
    captions = caption_request(yt)
    assert (captions.param("v"), captions.param("lang"), captions.param("kind")) == (VIDEO, "en", None)


def test_caption_text_is_unescaped_and_whitespace_collapsed_and_empty_lines_dropped(yt):
    # XML decoding and the library each undo one level of escaping; captions escaped once more
    # than that ("&amp;amp;#39;") still come out as plain text.
    xml = (b'<?xml version="1.0" encoding="utf-8" ?><transcript>'
           b'<text start="1" dur="2">  Rock &amp;amp;amp; roll\n  it&amp;amp;#39;s   [Music]  </text>'
           b'<text start="3" dur="1">   \n </text>'
           b'<text start="4.25" dur="0.5">caf\xc3\xa9 &amp;quot;ok&amp;quot;</text>'
           b'</transcript>')
    yt.scenario(VIDEO, "ok", transcript_xml=xml)

    transcript = fetch(yt)

    assert transcript.segments == [
        Segment(1.0, 3.0, "Rock & roll it's [Music]"),
        Segment(4.25, 4.75, 'café "ok"'),
    ]


def test_the_consent_page_is_answered_and_the_captions_still_arrive(yt):
    yt.scenario(VIDEO, "consent")

    transcript = fetch(yt)

    assert transcript.segments == RECORDED_SEGMENTS
    first, second = yt.requests_to("/watch")
    assert "CONSENT" not in first.headers.get("cookie", "")
    assert "CONSENT=YES+cb.20210328-17-p0.de+FX+119" in second.headers["cookie"]


def test_list_tracks_names_every_track_manual_first(yt):
    yt.scenario(VIDEO, "english_only")

    tracks = list_tracks(VIDEO, proxy=DIRECT, http_client=yt.session())

    assert tracks == [
        TrackInfo("en", "English", is_generated=False, is_translatable=True),
        TrackInfo("en", "English", is_generated=True, is_translatable=True),
    ]


def test_list_tracks_of_the_main_recording(yt):
    yt.scenario(VIDEO, "ok")

    tracks = list_tracks(VIDEO, proxy=DIRECT, http_client=yt.session())

    assert [(t.language_code, t.is_generated) for t in tracks] == [
        ("zh", False), ("cs", False), ("en", False), ("de", False), ("hi", False),
        ("ja", False), ("ko", False), ("es", False), ("en", True),
    ]
    assert {t.language for t in tracks} >= {"German", "Spanish", "English"}


# --------------------------------------------------------------------------- which language


def test_the_creators_first_language_wins_when_it_exists(yt):
    yt.scenario(VIDEO, "ok")

    transcript = fetch(yt, languages=["de", "en"])

    assert transcript.language == "de"
    assert caption_request(yt).param("lang") == "de"


def test_a_manual_track_beats_a_generated_one_in_the_same_language(yt):
    yt.scenario(VIDEO, "english_only")

    transcript = fetch(yt, languages=["en"])

    assert transcript.is_generated is False
    assert caption_request(yt).param("kind") is None


def test_manual_captions_in_a_later_language_beat_generated_ones_in_the_first(yt):
    yt.scenario(VIDEO, "ok", tracks=[("de", True), ("en", False)])

    transcript = fetch(yt, languages=["de", "en"])

    assert (transcript.language, transcript.is_generated) == ("en", False)


def test_generated_captions_are_used_when_no_manual_ones_match(yt):
    yt.scenario(VIDEO, "ok", tracks=[("fr", False), ("de", True)])

    transcript = fetch(yt, languages=["de"])

    assert (transcript.language, transcript.is_generated) == ("de", True)
    request = caption_request(yt)
    assert (request.param("lang"), request.param("kind")) == ("de", "asr")


def test_a_regional_track_counts_for_its_language(yt):
    yt.scenario(VIDEO, "ok", tracks=[("de", False), ("en-GB", False)])

    transcript = fetch(yt, languages=["en"])

    assert transcript.language == "en-GB"


def test_a_single_language_string_is_not_read_letter_by_letter(yt):
    yt.scenario(VIDEO, "ok")

    assert fetch(yt, languages="de").language == "de"


def test_without_the_wanted_language_it_falls_back_to_the_original_spoken_language(yt):
    # The generated track is YouTube's speech recognition, i.e. the language spoken.
    yt.scenario(VIDEO, "ok", tracks=[("fr", False), ("de", True)])

    transcript = fetch(yt, languages=["en"])

    assert (transcript.language, transcript.is_generated) == ("de", True)
    assert transcript.segments == RECORDED_SEGMENTS


def test_the_fallback_prefers_manual_captions_in_the_original_language(yt):
    # Asked for French; the video has manual and auto-generated English: manual before auto holds
    # for the fallback too.
    yt.scenario(VIDEO, "english_only")

    transcript = fetch(yt, languages=["fr"])

    assert (transcript.language, transcript.is_generated) == ("en", False)
    assert caption_request(yt).param("kind") is None


def test_the_fallback_keeps_the_spoken_language_over_a_manual_track_in_another(yt):
    yt.scenario(VIDEO, "ok", tracks=[("fr", False), ("de", True), ("de-AT", False)])

    transcript = fetch(yt, languages=["en"])

    assert (transcript.language, transcript.is_generated) == ("de-AT", False)


def test_without_generated_tracks_the_fallback_is_the_first_uploaded_track(yt):
    yt.scenario(VIDEO, "ok", tracks=[("fr", False), ("es", False)])

    transcript = fetch(yt, languages=["en"])

    assert (transcript.language, transcript.is_generated) == ("fr", False)


def test_without_fallback_the_error_lists_the_languages_the_video_has(yt):
    yt.scenario(VIDEO, "ok", tracks=[("de", False), ("fr", True)])

    with pytest.raises(SourceError) as caught:
        fetch(yt, languages=["en", "es"], fallback=False)

    message = str(caught.value)
    assert "English (en) or Spanish (es)" in message
    assert "only in: German (de), French (fr, auto-generated)" in message
    assert "choose one of those languages" in message
    assert caught.value.transient is False
    assert yt.requests_to("/api/timedtext") == []  # nothing fetched after the choice failed


def test_without_fallback_a_video_with_the_language_still_works(yt):
    yt.scenario(VIDEO, "no_english")

    assert fetch(yt, languages=["es"], fallback=False).language == "es"
    with pytest.raises(SourceError, match=r"only in: Chinese \(zh\), Czech \(cs\), German \(de\)"):
        fetch(yt, languages=["en"], fallback=False)


# --------------------------------------------------------------------------- translation


def test_captions_are_translated_when_asked(yt):
    yt.scenario(VIDEO, "ok")

    transcript = fetch(yt, languages=["de"], translate_to="fr")

    assert transcript.language == "fr"
    assert transcript.is_generated is True  # machine-translated text
    request = caption_request(yt)
    assert (request.param("lang"), request.param("tlang")) == ("de", "fr")


def test_no_translation_when_the_captions_are_already_in_that_language(yt):
    yt.scenario(VIDEO, "ok")

    transcript = fetch(yt, languages=["en"], translate_to="en")

    assert (transcript.language, transcript.is_generated) == ("en", False)
    assert caption_request(yt).param("tlang") is None


@pytest.mark.parametrize("target", ["sw", "xx"])
def test_a_translation_youtube_does_not_offer_is_refused_naming_what_it_offers(yt, target):
    # Returning the German text as it was would store it as if it were the translation.
    yt.scenario(VIDEO, "ok")

    with pytest.raises(SourceError) as caught:
        fetch(yt, languages=["de"], translate_to=target)

    message = str(caught.value)
    assert f"cannot translate this video's German captions into “{target}”" in message
    assert "French (fr)" in message and "clear “Translate to”" in message
    assert caught.value.transient is False
    assert yt.requests_to("/api/timedtext") == []


def test_the_fallback_language_is_translated_too(yt):
    yt.scenario(VIDEO, "ok", tracks=[("de", True)])

    transcript = fetch(yt, languages=["en"], translate_to="en")

    assert transcript.language == "en"
    request = caption_request(yt)
    assert (request.param("lang"), request.param("tlang")) == ("de", "en")


# --------------------------------------------------------------------------- errors

PROXY_ADVICE = ("subtitle file", "CHRONOS_PROXY_HTTPS", "WEBSHARE_PROXY_USERNAME", "WEBSHARE_PROXY_PASSWORD")

ERROR_CASES = {
    # scenario: (words the message must hold, transient)
    "unavailable": (("private", "deleted", "unavailable", "subtitle file"), False),
    "private": (("private", "unavailable"), False),
    "age_restricted": (("age-restricted", "signed-in", "subtitle file"), False),
    "transcripts_disabled": (("no captions", "subtitle file"), False),
    "transcripts_disabled2": (("no captions", "subtitle file"), False),
    "request_blocked": (("blocking", "IP address", *PROXY_ADVICE), False),
    "too_many_requests": (("too many", "try again later", *PROXY_ADVICE), True),
    "rate_limited": (("too many", "try again later", *PROXY_ADVICE), True),
    "transcript_rate_limited": (("too many", "try again later"), True),
    "po_token_required": (("token", *PROXY_ADVICE), False),
    "consent_failed": (("consent", "subtitle file"), False),
    "unplayable": (("will not play", "Custom Reason", "subtitle file"), False),
    "server_error_500": (("temporary", "HTTP 500", "trying again"), True),
    "server_error_503": (("temporary", "HTTP 503"), True),
    "forbidden_403": (("refused", "HTTP 403"), False),
    "connection_reset": (("could not reach YouTube", "trying again"), True),
    "garbage": (("could not read",), False),
}


@pytest.mark.parametrize("scenario", sorted(ERROR_CASES))
def test_each_failure_becomes_one_plain_sentence_with_the_right_retry_flag(yt, scenario):
    words, transient = ERROR_CASES[scenario]

    error = failure(yt, scenario)

    message = str(error)
    assert type(error) is SourceError
    for word in words:
        assert word in message, (word, message)
    assert error.transient is transient
    # One sentence a creator can read: no library wall of text, no newlines, no stray sentences.
    assert "\n" not in message
    assert "github" not in message.lower() and "youtube_transcript_api" not in message
    assert message.endswith(".") and ". " not in message.rstrip(".")
    assert error.__cause__ is not None  # the library's own error stays attached for the logs


def test_the_messages_tell_the_cases_apart(yt):
    scenarios = ["unavailable", "age_restricted", "transcripts_disabled", "request_blocked",
                 "too_many_requests", "po_token_required", "server_error_500", "connection_reset"]
    messages = {str(failure(yt, scenario)) for scenario in scenarios}

    assert len(messages) == len(scenarios)


def test_an_unknown_video_is_unavailable(yt):
    with pytest.raises(SourceError, match="unavailable") as caught:
        fetch(yt, "zzzzzzzzzzz")
    assert caught.value.transient is False


@pytest.mark.parametrize("bad_id", ["https://www.youtube.com/watch?v=GJLlxj_dtq8", "short", "", "GJLlxj dtq8"])
def test_an_invalid_video_id_is_refused_before_asking_youtube(yt, bad_id):
    with pytest.raises(SourceError, match="not a YouTube video id") as caught:
        fetch(yt, bad_id)

    assert caught.value.transient is False
    assert yt.requests == []


def test_po_token_only_hurts_the_track_that_needs_it(yt):
    # In the recording only the manual English track carries YouTube's PO-token marker.
    yt.scenario(VIDEO, "po_token_required")

    assert fetch(yt, languages=["de"]).language == "de"


def test_a_slow_youtube_times_out_as_a_transient_error(yt):
    yt.scenario(VIDEO, "slow")
    session = yt.install(TimeoutSession(timeout=0.3))

    with pytest.raises(SourceError, match="did not answer in time") as caught:
        fetch_transcript(VIDEO, proxy=DIRECT, http_client=session)

    assert caught.value.transient is True


def test_without_a_session_of_its_own_every_request_gets_a_timeout(yt, monkeypatch):
    yt.scenario(VIDEO, "slow")
    made = []

    def short_timeout_session() -> TimeoutSession:
        session = yt.install(TimeoutSession(timeout=0.3))
        made.append(session)
        return session

    monkeypatch.setattr(youtube, "TimeoutSession", short_timeout_session)

    with pytest.raises(SourceError) as caught:
        fetch_transcript(VIDEO, proxy=DIRECT)

    assert caught.value.transient is True
    assert len(made) == 1


def test_the_default_timeout_is_about_twenty_seconds():
    assert TimeoutSession().timeout == youtube.DEFAULT_TIMEOUT_SECONDS == 20.0


# --------------------------------------------------------------------------- proxies


def test_no_proxy_variables_means_no_proxy():
    assert ProxySettings.from_env({}).to_proxy_config() is None
    assert ProxySettings.from_env({"CHRONOS_PROXY_HTTPS": "  ", "WEBSHARE_PROXY_USERNAME": ""}) == ProxySettings()


def test_a_generic_proxy_from_the_environment():
    settings = ProxySettings.from_env({"CHRONOS_PROXY_HTTPS": "http://user:secret@proxy.example:3128"})

    config = settings.to_proxy_config()

    assert type(config) is GenericProxyConfig
    # Only one given: the library uses it for both schemes.
    assert config.to_requests_dict() == {"http": "http://user:secret@proxy.example:3128",
                                         "https": "http://user:secret@proxy.example:3128"}
    assert "secret" not in repr(settings)


def test_separate_http_and_https_proxies():
    config = ProxySettings.from_env({"CHRONOS_PROXY_HTTP": "http://a:1", "CHRONOS_PROXY_HTTPS": "http://b:2"}
                                    ).to_proxy_config()

    assert config.to_requests_dict() == {"http": "http://a:1", "https": "http://b:2"}


def test_webshare_from_the_environment_wins_over_a_generic_proxy():
    settings = ProxySettings.from_env({"WEBSHARE_PROXY_USERNAME": "me", "WEBSHARE_PROXY_PASSWORD": "pw",
                                       "CHRONOS_PROXY_HTTPS": "http://b:2"})

    config = settings.to_proxy_config()

    assert type(config) is WebshareProxyConfig
    assert config.url == "http://me-rotate:pw@p.webshare.io:80/"
    assert config.prevent_keeping_connections_alive is True
    assert config.retries_when_blocked > 0
    assert "pw" not in repr(settings)


@pytest.mark.parametrize("env, missing", [({"WEBSHARE_PROXY_USERNAME": "me"}, "WEBSHARE_PROXY_PASSWORD"),
                                          ({"WEBSHARE_PROXY_PASSWORD": "pw"}, "WEBSHARE_PROXY_USERNAME")])
def test_half_a_webshare_login_is_reported(env, missing):
    with pytest.raises(SourceError, match=missing):
        ProxySettings.from_env(env).to_proxy_config()


def test_the_proxy_is_handed_to_the_http_session(yt):
    yt.scenario(VIDEO, "ok")
    session = yt.session()

    fetch_transcript(VIDEO, proxy=ProxySettings(https_url="http://proxy.example:3128"), http_client=session)

    assert session.proxies == {"http": "http://proxy.example:3128", "https": "http://proxy.example:3128"}


def test_without_explicit_settings_the_environment_is_read(yt, monkeypatch):
    monkeypatch.setenv("WEBSHARE_PROXY_USERNAME", "me")
    monkeypatch.setenv("WEBSHARE_PROXY_PASSWORD", "pw")
    yt.scenario(VIDEO, "ok")

    fetch_transcript(VIDEO, http_client=yt.session())

    # The library's Webshare settings: rotate the IP on every request.
    assert all(r.headers.get("connection") == "close" for r in yt.requests)


def test_blocked_even_through_a_proxy_says_so(yt):
    error = failure(yt, "request_blocked", proxy=ProxySettings(https_url="http://proxy.example:3128"))

    assert "even through the configured proxy" in str(error)
    assert "WEBSHARE_PROXY_USERNAME" in str(error)
    assert error.transient is False


# --------------------------------------------------------------------------- metadata


def test_metadata_comes_from_oembed(yt):
    yt.scenario(VIDEO, "ok")

    metadata = fetch_metadata(VIDEO, http_client=yt.session())

    assert metadata == VideoMetadata(
        title="Surface Go Review - It\u2019s Awesome",
        channel_name="Dave2D",
        channel_url="https://www.youtube.com/channel/UCVYamHliCI9rw1tHR1xbkfw",
        thumbnail_url=f"https://i.ytimg.com/vi/{VIDEO}/hqdefault.jpg",
    )
    assert metadata.duration_seconds is None
    (request,) = yt.requests
    assert request.path == "/oembed"
    assert request.param("url") == f"https://www.youtube.com/watch?v={VIDEO}"
    assert request.param("format") == "json"


@pytest.mark.parametrize("scenario, status", [("unavailable", None), ("private", None), ("ok", 403)])
def test_metadata_of_a_private_or_deleted_video(yt, scenario, status):
    yt.scenario(VIDEO, scenario, oembed_status=status)

    with pytest.raises(SourceError, match="private or unavailable") as caught:
        fetch_metadata(VIDEO, http_client=yt.session())

    assert caught.value.transient is False


@pytest.mark.parametrize("status", [429, 500, 503])
def test_metadata_rate_limits_and_server_errors_are_transient(yt, status):
    yt.scenario(VIDEO, "ok", oembed_status=status)

    with pytest.raises(SourceError) as caught:
        fetch_metadata(VIDEO, http_client=yt.session())

    assert caught.value.transient is True


def test_metadata_network_failure_is_transient():
    with FakeYouTube() as yt:
        session = yt.session()
    # The server is gone now: the connection is refused.
    with pytest.raises(SourceError, match="could not reach YouTube") as caught:
        fetch_metadata(VIDEO, http_client=session)

    assert caught.value.transient is True


def test_metadata_for_an_invalid_id_asks_nothing(yt):
    with pytest.raises(SourceError, match="not a YouTube video id"):
        fetch_metadata("not an id", http_client=yt.session())

    assert yt.requests == []
