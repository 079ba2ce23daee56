"""Property tests of the link parser: any text gives a Link or a plain ValidationError, and every
link form built from its parts (ids, hosts, extra parameters, whitespace, case) gives back its id."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from hypothesis import example, given, settings
from hypothesis import strategies as st

from chronos_data.errors import ValidationError
from chronos_data.ingest.sources import parse_link
from tests.fuzz._support import FUZZ, assert_plain_message, examples

YOUTUBE_ID = st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True)
PLAYLIST_ID = st.from_regex(r"(PL|UU|OL|RD|FL)[A-Za-z0-9_-]{10,32}", fullmatch=True)
LOOM_ID = st.from_regex(r"[0-9a-f]{32}", fullmatch=True)
MUX_ID = st.from_regex(r"[A-Za-z0-9]{20,64}", fullmatch=True)
HANDLE = st.from_regex(r"[A-Za-z0-9_.-]{3,30}", fullmatch=True)
SPACE = st.sampled_from(["", " ", "  ", "\t", "\n", " \r\n"])
SCHEME = st.sampled_from(["https://", "http://", ""])
NOISE = st.dictionaries(st.sampled_from(["si", "feature", "ab_channel", "pp", "index", "utm_source", "rel"]),
                        st.from_regex(r"[A-Za-z0-9_.-]{0,12}", fullmatch=True), max_size=3)


def _case(draw, text: str) -> str:
    """Host names are case-insensitive: write each letter in a random case."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(text, flips, strict=True))


def _query(draw, first: dict[str, str]) -> str:
    params = {**draw(NOISE), **first}
    items = draw(st.permutations(list(params.items())))
    return urlencode(items)


@st.composite
def youtube_video_links(draw) -> tuple[str, str, int | None]:
    video_id = draw(YOUTUBE_ID)
    hours, minutes, seconds = draw(st.tuples(st.integers(0, 5), st.integers(0, 59), st.integers(0, 59)))
    start = draw(st.sampled_from([None, "plain", "hms", "start"]))
    timing: dict[str, str] = {}
    expected_start = None
    if start == "plain":
        timing, expected_start = {"t": str(hours * 3600 + minutes * 60 + seconds)}, hours * 3600 + minutes * 60 + seconds
    elif start == "hms":
        timing = {"t": f"{hours}h{minutes}m{seconds}s"} if hours else {"t": f"{minutes}m{seconds}s"}
        expected_start = (hours * 3600 + minutes * 60 + seconds) or None
    elif start == "start":
        timing, expected_start = {"start": str(seconds + 1)}, seconds + 1
    form = draw(st.sampled_from(["bare", "watch", "short", "path"]))
    if form == "bare":
        return draw(SPACE) + video_id + draw(SPACE), video_id, None
    if form == "watch":
        host = _case(draw, draw(st.sampled_from(["www.youtube.com", "youtube.com", "m.youtube.com",
                                                 "music.youtube.com"])))
        extra = {"list": draw(PLAYLIST_ID)} if draw(st.booleans()) else {}
        text = f"{draw(SCHEME)}{host}/watch?{_query(draw, {'v': video_id, **timing, **extra})}"
    elif form == "short":
        host = _case(draw, "youtu.be")
        query = _query(draw, timing)
        text = f"{draw(SCHEME)}{host}/{video_id}" + (f"?{query}" if query else "")
    else:
        prefix = draw(st.sampled_from(["shorts", "embed", "live", "v", "e"]))
        host = _case(draw, draw(st.sampled_from(["www.youtube.com", "youtube.com", "www.youtube-nocookie.com"])))
        query = _query(draw, timing)
        text = f"{draw(SCHEME)}{host}/{prefix}/{video_id}" + (f"?{query}" if query else "")
    return draw(SPACE) + text + draw(SPACE), video_id, expected_start


@settings(FUZZ, max_examples=examples(300))
@given(youtube_video_links())
@example(("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1h2m3s", "dQw4w9WgXcQ", 3723))
def test_every_youtube_video_link_form_gives_its_id(case):
    text, video_id, start = case
    link = parse_link(text)
    assert (link.kind, link.id, link.url) == ("youtube_video", video_id, f"https://www.youtube.com/watch?v={video_id}")
    assert link.start_seconds == start
    assert parse_link(link.url).id == video_id  # the canonical link parses to itself


@st.composite
def list_links(draw) -> tuple[str, str, str]:
    host = _case(draw, draw(st.sampled_from(["www.youtube.com", "youtube.com", "m.youtube.com"])))
    kind = draw(st.sampled_from(["playlist", "watch-list", "handle", "channel", "c", "user"]))
    if kind in ("playlist", "watch-list"):
        playlist = draw(PLAYLIST_ID)
        path = "playlist" if kind == "playlist" else "watch"
        return f"{draw(SCHEME)}{host}/{path}?{_query(draw, {'list': playlist})}", playlist, \
            f"https://www.youtube.com/playlist?list={playlist}"
    tail = draw(st.sampled_from(["", "/", "/videos", "/featured", "/shorts"]))
    if kind == "handle":
        handle = "@" + draw(HANDLE)
        return f"{draw(SCHEME)}{host}/{handle}{tail}", handle, f"https://www.youtube.com/{handle}/videos"
    name = draw(st.from_regex(r"UC[A-Za-z0-9_-]{22}", fullmatch=True)) if kind == "channel" else draw(HANDLE)
    return f"{draw(SCHEME)}{host}/{kind}/{name}{tail}", f"{kind}/{name}", f"https://www.youtube.com/{kind}/{name}/videos"


@settings(FUZZ, max_examples=examples(150))
@given(list_links(), SPACE, SPACE)
def test_playlist_and_channel_links_give_their_id(case, before, after):
    text, list_id, url = case
    link = parse_link(before + text + after)
    assert (link.kind, link.id, link.url) == ("youtube_list", list_id, url)


@settings(FUZZ, max_examples=examples(150))
@given(st.data())
def test_loom_and_mux_links_give_their_id(data):
    scheme, before, after = data.draw(SCHEME), data.draw(SPACE), data.draw(SPACE)
    if data.draw(st.booleans()):
        loom = data.draw(LOOM_ID)
        host = _case(data.draw, data.draw(st.sampled_from(["www.loom.com", "loom.com"])))
        kind = data.draw(st.sampled_from(["share", "embed"]))
        query = _query(data.draw, {})
        link = parse_link(f"{before}{scheme}{host}/{kind}/{loom}" + (f"?{query}" if query else "") + after)
        assert (link.kind, link.id, link.url) == ("loom", loom, f"https://www.loom.com/share/{loom}")
    else:
        mux = data.draw(MUX_ID)
        host, suffix = data.draw(st.sampled_from([("stream.mux.com", ".m3u8"), ("stream.mux.com", ""),
                                                   ("player.mux.com", ""), ("image.mux.com", "/thumbnail.png")]))
        link = parse_link(f"{before}{scheme}{_case(data.draw, host)}/{mux}{suffix}{after}")
        assert (link.kind, link.id, link.url) == ("mux", mux, f"https://stream.mux.com/{mux}.m3u8")


_URL_PIECES = st.sampled_from([
    "https://", "http://", "://", "youtube.com", "www.youtube.com", "youtu.be", "loom.com", "stream.mux.com",
    "/", "//", "watch", "?", "&", "=", "v=", "list=", "t=", "#", "@", "%", "%0A", "%00", "[", "]", "[::1", ":", ":99999",
    "shorts/", "embed/", "channel", "share/", ".m3u8", " ", "\n", "\x00", "\u202e", "é", "..", "\\",
])
_URLISH = st.lists(_URL_PIECES | st.text(max_size=6) | YOUTUBE_ID, max_size=12).map("".join)

_KIND_ID = {
    "youtube_video": re.compile(r"[A-Za-z0-9_-]{11}"),
    "loom": re.compile(r"[0-9a-f]{32}"),
    "mux": re.compile(r"[A-Za-z0-9]{20,64}"),
    "youtube_list": re.compile(r"[A-Za-z0-9_-]+|@[^\s\x00-\x1f\x7f/]+|(channel|c|user)/[^\s\x00-\x1f\x7f/]+"),
}


@settings(FUZZ, max_examples=examples(600))
@given(st.one_of(st.text(), _URLISH, st.binary(max_size=40).map(lambda b: b.decode("latin-1"))))
@example("http://[::1")  # urlparse raised ValueError (Invalid IPv6 URL)
@example("https://www.youtube.com/watch?v=dQw4w9WgXcQ%0A")  # the id kept a newline ("$" matched before it)
@example("https://youtube.com/?list=%00")  # a NUL playlist id
@example("https://www.youtube.com/channel")  # "channel" alone became a channel
@example("https://youtube.com/@")  # so did a bare "@"
@example("\x00\x1b[31m")  # the message echoed control characters
def test_any_text_gives_a_link_with_a_well_formed_id_or_a_plain_validation_error(text):
    try:
        link = parse_link(text)
    except ValidationError as error:
        assert_plain_message(error)
    else:
        assert _KIND_ID[link.kind].fullmatch(link.id), link
        assert link.url.startswith("https://") and not any(c.isspace() or ord(c) < 32 for c in link.url), link
        assert parse_link(link.url).id == link.id
