"""What a creator pastes: every YouTube link form, Loom and Mux links, and clear refusals."""

import pytest

from chronos_data.errors import ValidationError
from chronos_data.ingest.sources import parse_link, youtube_watch_url

ID = "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "text",
    [
        ID,
        f"https://www.youtube.com/watch?v={ID}",
        f"http://youtube.com/watch?v={ID}&feature=share",
        f"www.youtube.com/watch?v={ID}",
        f"https://m.youtube.com/watch?v={ID}&list=PL123&index=2",
        f"https://youtu.be/{ID}",
        f"https://youtu.be/{ID}?si=abc",
        f"https://www.youtube.com/shorts/{ID}",
        f"https://www.youtube.com/embed/{ID}?rel=0",
        f"https://www.youtube-nocookie.com/embed/{ID}",
        f"https://www.youtube.com/live/{ID}?feature=shared",
        f"https://music.youtube.com/watch?v={ID}",
        f"  https://www.youtube.com/watch?v={ID}  \n",
    ],
)
def test_every_youtube_video_link_form_gives_the_id(text):
    link = parse_link(text)
    assert (link.kind, link.id, link.url) == ("youtube_video", ID, f"https://www.youtube.com/watch?v={ID}")


@pytest.mark.parametrize(("suffix", "seconds"), [("&t=90", 90), ("&t=1m30s", 90), ("&t=1h2m3s", 3723), ("&start=5", 5)])
def test_start_times_are_kept(suffix, seconds):
    assert parse_link(f"https://www.youtube.com/watch?v={ID}{suffix}").start_seconds == seconds
    assert youtube_watch_url(ID, seconds) == f"https://www.youtube.com/watch?v={ID}&t={seconds}s"


@pytest.mark.parametrize(
    ("text", "kind", "id_"),
    [
        ("https://www.youtube.com/playlist?list=PLabc123", "youtube_list", "PLabc123"),
        ("https://www.youtube.com/@pythonista", "youtube_list", "@pythonista"),
        ("https://www.youtube.com/channel/UCabc/videos", "youtube_list", "channel/UCabc"),
        ("https://www.loom.com/share/0123456789abcdef0123456789abcdef?sid=1", "loom", "0123456789abcdef0123456789abcdef"),
        ("https://stream.mux.com/a1B2c3D4e5F6g7H8i9J0k1L2.m3u8", "mux", "a1B2c3D4e5F6g7H8i9J0k1L2"),
    ],
)
def test_playlists_channels_loom_and_mux(text, kind, id_):
    link = parse_link(text)
    assert (link.kind, link.id) == (kind, id_)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("https://vimeo.com/12345", "not a YouTube, Loom or Mux link"),
        ("not a link at all", "not a YouTube, Loom or Mux link"),
        ("https://www.youtube.com/watch?v=short", "malformed YouTube video id"),
        ("https://www.youtube.com/feed/subscriptions", "not to a video, playlist or channel"),
        ("https://www.loom.com/looms/videos", "no video id"),
    ],
)
def test_bad_links_are_refused_with_a_reason(text, says):
    with pytest.raises(ValidationError, match=says):
        parse_link(text)
