"""Property tests of the subtitle parser: generated SRT, WebVTT and SBV files in every supported
encoding and line ending parse back to their cues exactly; any bytes at all give segments a
transcript can hold, or a ValidationError with a message, never another exception."""

from __future__ import annotations

import codecs
import math

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from chronos_data.errors import ValidationError
from chronos_data.ingest.segments import Segment
from chronos_data.ingest.subtitles import MAX_SECONDS, parse_subtitles
from tests.fuzz._support import FUZZ, examples

# Cue text the cleaner leaves as it is: no tags (<i>), entities (&amp;), SSA overrides ({\an8}),
# arrows (-->) or invisible marks; words of letters, digits and everyday punctuation.
_LETTERS = st.characters(categories=("L",), exclude_characters="\ufeff")
_WORD = st.text(st.characters(categories=("L", "N"), include_characters=".,!?'\"()…–:;%$€/"), min_size=1, max_size=8)
_LINE = st.builds(lambda first, rest: " ".join([first, *rest]),
                  st.text(_LETTERS, min_size=1, max_size=8), st.lists(_WORD, max_size=6))
# Windows-1252 files are only told apart from other legacy code pages by their content, so its
# text is what such files hold: Western European words, their accented letters one at a time.
_ASCII = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"():;%$"),
                 max_size=5)
_ACCENTED = st.sampled_from(["", "é", "è", "ê", "à", "â", "ä", "ö", "ü", "ß", "ç", "ñ", "ó", "í", "ú", "É", "À", "Ö", "Ü",
                             "Ç", "œ", "€"])
_LATIN_WORD = st.builds(lambda a, accented, b: a + accented + b, _ASCII, _ACCENTED, _ASCII).filter(bool)
_LATIN_LETTERS = st.sampled_from("abcdefghijklmnopqrstuvwxyzÀÇÉÖÜ")
_LATIN_LINE = st.builds(lambda first, rest: " ".join([first, *rest]),
                        st.builds(lambda letter, tail: letter + tail, _LATIN_LETTERS,
                                  st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), max_size=7)),
                        st.lists(_LATIN_WORD, max_size=6))

ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8 BOM": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "utf-16-le BOM": lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    "utf-16-be BOM": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "utf-32-le BOM": lambda text: codecs.BOM_UTF32_LE + text.encode("utf-32-le"),
    "utf-32-be BOM": lambda text: codecs.BOM_UTF32_BE + text.encode("utf-32-be"),
    "cp1252": lambda text: text.encode("cp1252"),
}


def _clock(ms: int, fmt: str, *, short: bool) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    if fmt == "srt":
        return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"
    if fmt == "sbv":
        return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    return f"{minutes:02d}:{seconds:02d}.{millis:03d}" if short and hours == 0 else \
        f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


@st.composite
def subtitle_files(draw):
    """(bytes, filename, expected segments) of a valid file with distinct caption lines."""
    fmt = draw(st.sampled_from(["srt", "vtt", "sbv"]))
    encoding = draw(st.sampled_from(sorted(ENCODINGS)))
    line = _LATIN_LINE if encoding == "cp1252" else _LINE
    lines = draw(st.lists(line, min_size=1, max_size=14, unique=True))
    cuts = sorted(draw(st.sets(st.integers(1, len(lines) - 1), max_size=len(lines) - 1))) if len(lines) > 1 else []
    groups = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    # Cues in time order, not overlapping (gaps of 0 ms included), up to 99 hours in.
    clock, cues = draw(st.integers(0, 3_600_000)), []
    for group in groups:
        start = clock + draw(st.integers(0, 600_000))
        end = start + draw(st.integers(0, 30_000))
        cues.append((start, end, group))
        clock = end
    assume(clock < 99 * 3_600_000)
    short = draw(st.booleans())
    numbered = draw(st.booleans())
    blocks = []
    for number, (start, end, group) in enumerate(cues, start=1):
        if fmt == "sbv":
            timing = f"{_clock(start, fmt, short=short)},{_clock(end, fmt, short=short)}"
        else:
            timing = f"{_clock(start, fmt, short=short)} --> {_clock(end, fmt, short=short)}"
        head = [str(number)] if numbered and fmt != "sbv" else []
        blocks.append("\n".join([*head, timing, *group]))
    body = "\n\n".join(blocks) + "\n"
    if fmt == "vtt":
        body = "WEBVTT" + draw(st.sampled_from(["", " - a title"])) + "\n\n" + body
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    names = {"srt": [".srt", ".SRT", ".txt", "", ".vtt"], "vtt": [".vtt", ".srt", ".txt", ""],
             "sbv": [".sbv", ".txt", ""]}[fmt]
    filename = "captions" + draw(st.sampled_from(names))
    expected = [Segment(start / 1000, end / 1000, " ".join(group)) for start, end, group in cues]
    return ENCODINGS[encoding](body.replace("\n", newline)), filename, expected


@settings(FUZZ, max_examples=examples(250))
@given(subtitle_files())
@example((b"1\r\n00:00:01,000 --> 00:00:02,500\r\n" + "Ça va? Über alles, À bientôt".encode("cp1252") + b"\r\n", "a.srt",
          [Segment(1.0, 2.5, "Ça va? Über alles, À bientôt")]))  # was read as Big5: "ド va? 鈁er alles"
def test_generated_cues_parse_back_to_the_same_text_and_times(case):
    data, filename, expected = case
    assert parse_subtitles(data, filename) == expected


def _assert_usable(segments: list[Segment]) -> None:
    assert segments
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    for segment in segments:
        assert math.isfinite(segment.start) and math.isfinite(segment.end)
        assert 0 <= segment.start <= segment.end <= MAX_SECONDS, segment
        assert segment.text and segment.text == " ".join(segment.text.split())
        assert "\x00" not in segment.text


_TIMINGS = st.sampled_from([
    "00:00:01,000 --> 00:00:02,000", "00:00:05.000 --> 00:00:01.000", "00:01.000 --> 00:02.000",
    "-00:00:01,000 --> 00:00:02,000", "00:00:01,000 --> -00:00:02,000", "99999999:00:00.000 --> 99999999:00:01.000",
    "00:00:01.000 --> 99999999999:00:00.000", "1000:00:00,000 --> 1000:00:01,000", "00:00:60,000 --> 00:00:61,000",
    "00:60:00.000 --> 01:00:00.000", "1:2:3,4 --> 5:6:7,8", "00:00:01,000 --> 00:00:02,000 --> 00:00:03,000",
    "0:00:01.000,0:00:02.000", "9999:00:01.000,9999:00:02.000", "00:00:00,000 --> 00:00:00,000", "-->", "--> 1",
])
_PIECES = st.sampled_from(["1", "2", "", "WEBVTT", "NOTE a note", "STYLE", "::cue { color: red }", "REGION",
                           "<i>tag</i>", "<v Bob>", "&amp;", "&#0;", "{\\an8}", "\x00", "\ufeff", "\x1a", "\u200b",
                           "\u2028", "\x85", "x"])
_GARBAGE_TEXT = st.lists(_TIMINGS | _PIECES | st.text(max_size=12), max_size=16)


@st.composite
def odd_files(draw) -> bytes:
    lines = draw(_GARBAGE_TEXT)
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252", "latin-1"]))
    return text.encode(encoding, errors="replace")


@settings(FUZZ, max_examples=examples(500))
@given(st.one_of(st.binary(max_size=400), odd_files()),
       st.sampled_from(["a.srt", "a.vtt", "a.sbv", "a.txt", "a", "", "Interview 2.0", "C:\\subs\\a.SRT"]),
       st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**7)))
@example(b"WEBVTT\n\n00:00:01.000 --> 99999999999:00:00.000\nx\n", "a.vtt", None)  # 3.6e14 s: past the database's integers
@example(b"1\n1000:00:00,000 --> 1000:00:01,000\nlate\n", "a.srt", None)
@example(b"A transcript.", "a.txt", 1e12)
@example(b"\xef\xbb\xbf\x00" + b" " * 200 + b"text", "a.srt", None)  # a NUL after a BOM reached the transcript
@example(b"", "a.srt", None)
@example(b"\x89PNG\r\n\x1a\n", "a.srt", None)
def test_any_bytes_give_usable_segments_or_a_validation_error(data, filename, duration):
    try:
        segments = parse_subtitles(data, filename, duration_seconds=duration)
    except ValidationError as error:
        assert str(error).strip() and str(error).endswith(".")
    else:
        _assert_usable(segments)
