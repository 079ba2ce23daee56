"""Subtitle files a user uploads become the right timed text, or a message saying what to fix."""

from __future__ import annotations

import codecs
import itertools

import pytest

from chronos_data.errors import ValidationError
from chronos_data.ingest.segments import Segment
from chronos_data.ingest.subtitles import MAX_SUBTITLE_BYTES, SUBTITLE_EXTENSIONS, parse_subtitles

SRT = """1
00:00:01,000 --> 00:00:04,500
café – naïve

2
00:00:05,000 --> 00:01:02,250
Second cue,
on two lines.

3
01:00:00,000 --> 01:00:03,000
Last one!
"""
SRT_SEGMENTS = [
    Segment(1.0, 4.5, "café – naïve"),
    Segment(5.0, 62.25, "Second cue, on two lines."),
    Segment(3600.0, 3603.0, "Last one!"),
]


def _messages(data: bytes, filename: str, **kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_subtitles(data, filename, **kwargs)
    return str(caught.value)


# --- formats -------------------------------------------------------------------------------------


def test_srt_gives_times_in_seconds_and_joins_cue_lines():
    assert parse_subtitles(SRT.encode(), "lesson.srt") == SRT_SEGMENTS


def test_webvtt_with_header_metadata_notes_styles_identifiers_and_settings():
    vtt = """WEBVTT - lesson one
Kind: captions
Language: en

NOTE written by hand
with --> no meaning

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:04.000 align:start position:10%
Hello
world

00:00:05.500 --> 00:00:07.000
Second
"""
    assert parse_subtitles(vtt.encode(), "lesson.vtt") == [
        Segment(1.0, 4.0, "Hello world"),
        Segment(5.5, 7.0, "Second"),
    ]


def test_sbv_from_youtube_studio():
    sbv = "0:00:01.000,0:00:04.000\nHello there\nfriends\n\n0:01:05.250,0:01:07.000\n>> Next speaker\n"
    assert parse_subtitles(sbv.encode(), "captions.sbv") == [
        Segment(1.0, 4.0, "Hello there friends"),
        Segment(65.25, 67.0, ">> Next speaker"),
    ]


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(SRT.rstrip("\n"), id="no-trailing-newline"),
        pytest.param(SRT.replace("\n", "\r\n"), id="crlf"),
        pytest.param(SRT.replace("\n", "\r"), id="old-mac-cr"),
        pytest.param(
            SRT.replace("1\n00:00:01", "00:00:01").replace("2\n00:00:05", "00:00:05").replace("3\n01:00", "01:00"),
            id="no-cue-numbers",
        ),
        pytest.param(SRT.replace("\n\n2\n", "\n7\n").replace("\n\n3\n", "\n\n\n\n9\n"), id="odd-numbers-and-gaps"),
        pytest.param("\n\nMy subtitles, made by hand\n\n" + SRT, id="title-before-first-cue"),
        pytest.param(SRT.replace("café", "  café"), id="leading-spaces"),
    ],
)
def test_srt_that_players_accept_but_the_library_alone_would_not(variant):
    assert parse_subtitles(variant.encode(), "lesson.srt") == SRT_SEGMENTS


def test_srt_with_dotted_milliseconds_is_still_srt():
    assert parse_subtitles(SRT.replace(",", ".").replace("cue.", "cue,").encode(), "lesson.srt") == SRT_SEGMENTS


# --- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(SRT.encode("utf-8"), id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + SRT.encode("utf-8"), id="utf-8-bom"),
        pytest.param(codecs.BOM_UTF16_LE + SRT.encode("utf-16-le"), id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + SRT.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(codecs.BOM_UTF32_LE + SRT.encode("utf-32-le"), id="utf-32-le-bom"),
        pytest.param(codecs.BOM_UTF32_BE + SRT.encode("utf-32-be"), id="utf-32-be-bom"),
        pytest.param(SRT.encode("cp1252"), id="windows-1252"),
        pytest.param(SRT.replace("\n", "\r\n").encode("utf-16"), id="utf-16-crlf"),
        # Without a BOM, as some Windows tools write them (the README promises these too).
        pytest.param(SRT.encode("utf-16-le"), id="utf-16-le-no-bom"),
        pytest.param(SRT.encode("utf-16-be"), id="utf-16-be-no-bom"),
        pytest.param(SRT.replace("\n", "\r\n").encode("utf-16-le"), id="utf-16-le-crlf-no-bom"),
        pytest.param(SRT.encode("utf-32-le"), id="utf-32-le-no-bom"),
        pytest.param(SRT.encode("utf-32-be"), id="utf-32-be-no-bom"),
    ],
)
def test_every_supported_encoding_gives_the_same_segments(encoded):
    assert parse_subtitles(encoded, "lesson.srt") == SRT_SEGMENTS


def test_short_windows_1252_text_is_not_read_as_another_code_page():
    # charset-normalizer alone calls these bytes cp1125 (Ukrainian DOS): "cafщ Ц naяve".
    assert parse_subtitles("café – naïve".encode("cp1252"), "note.txt")[0].text == "café – naïve"


def test_cyrillic_windows_1251_is_still_detected():
    srt = "1\n00:00:01,000 --> 00:00:02,000\nПривет, как дела? Это тест субтитров.\n"
    assert parse_subtitles(srt.encode("cp1251"), "ru.srt")[0].text == "Привет, как дела? Это тест субтитров."


# --- cue text ------------------------------------------------------------------------------------


def _one_cue_vtt(payload: str) -> bytes:
    return f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{payload}\n".encode()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("<i>Italic</i> and <b>bold</b> and <u>under</u>", "Italic and bold and under"),
        ('<font color="#ffff00">Yellow</font> text', "Yellow text"),
        ("<v Dr. Smith>Good morning</v>", "Good morning"),
        ("<v.loud Bob>Hey</v> <c.yellow.bg_blue>there</c>", "Hey there"),
        ("one<00:00:01.200><c> two</c><00:00:01.500><c> three</c>", "one two three"),
        ("{\\an8}{\\i1}Top of screen{\\i0}", "Top of screen"),
        ("Tom &amp; Jerry &gt; Sylvester &lt;3 it&#39;s&nbsp;here", "Tom & Jerry > Sylvester <3 it's here"),
        ("  lots \t of   space  \n\n  ", "lots of space"),
        ("first line\nsecond line\n third", "first line second line third"),
    ],
)
def test_cue_text_is_cleaned(payload, expected):
    assert parse_subtitles(_one_cue_vtt(payload), "x.vtt") == [Segment(1.0, 2.0, expected)]


def test_cues_that_are_only_tags_or_blank_are_dropped():
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<i></i>\n\n"
        "00:00:03.000 --> 00:00:04.000\n{\\an8}\u200b\n\n"
        "00:00:05.000 --> 00:00:06.000\nkept\n"
    )
    assert parse_subtitles(vtt.encode(), "x.vtt") == [Segment(5.0, 6.0, "kept")]


# "\x20" lines hold the single space YouTube writes; escaped so editors that trim spaces keep them.
YOUTUBE_AUTO_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.350 align:start position:0%
\x20
hello<00:00:00.480><c> world</c><00:00:00.960><c> this</c>

00:00:02.350 --> 00:00:02.360 align:start position:0%
hello world this
\x20

00:00:02.360 --> 00:00:04.950 align:start position:0%
hello world this
is<00:00:02.800><c> a</c><00:00:03.200><c> test</c>

00:00:04.950 --> 00:00:04.960 align:start position:0%
is a test
\x20

00:00:04.960 --> 00:00:07.000 align:start position:0%
is a test
of<00:00:05.500><c> rolling</c><00:00:06.000><c> captions</c>
"""


def test_youtube_rolling_captions_keep_each_line_once():
    assert parse_subtitles(YOUTUBE_AUTO_VTT.encode(), "auto.en.vtt") == [
        Segment(0.0, 2.36, "hello world this"),
        Segment(2.36, 4.96, "is a test"),
        Segment(4.96, 7.0, "of rolling captions"),
    ]


def test_a_cue_repeating_the_previous_one_extends_it():
    srt = "1\n00:00:01,000 --> 00:00:02,000\nSame\nwords\n\n2\n00:00:02,000 --> 00:00:03,500\nSame\nwords\n"
    assert parse_subtitles(srt.encode(), "x.srt") == [Segment(1.0, 3.5, "Same words")]


def test_the_same_words_said_again_after_a_pause_are_kept():
    srt = "1\n00:00:01,000 --> 00:00:02,000\nNo.\n\n2\n00:00:30,000 --> 00:00:31,000\nNo.\n"
    assert parse_subtitles(srt.encode(), "x.srt") == [Segment(1.0, 2.0, "No."), Segment(30.0, 31.0, "No.")]


def test_output_is_sorted_with_start_before_end():
    srt = (
        "1\n00:00:10,000 --> 00:00:12,000\nlater\n\n"
        "2\n00:00:01,000 --> 00:00:03,000\nearlier\n\n"
        "3\n00:00:20,000 --> 00:00:19,000\nends before it starts\n"
    )
    segments = parse_subtitles(srt.encode(), "x.srt")
    assert [s.text for s in segments] == ["earlier", "later", "ends before it starts"]
    assert segments[-1] == Segment(20.0, 20.0, "ends before it starts")
    assert all(isinstance(s.start, float) and isinstance(s.end, float) for s in segments)


# --- choosing the format -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        pytest.param(_one_cue_vtt("Hi"), "captions.txt", id="vtt-named-txt"),
        pytest.param(_one_cue_vtt("Hi"), "captions.srt", id="vtt-named-srt"),
        pytest.param(_one_cue_vtt("Hi"), "captions", id="vtt-without-extension"),
        pytest.param(codecs.BOM_UTF8 + b"\n\n" + _one_cue_vtt("Hi"), "captions.vtt", id="vtt-after-blank-lines"),
        pytest.param(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n", "captions.vtt", id="srt-named-vtt"),
        pytest.param(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n", "captions.txt", id="srt-named-txt"),
        pytest.param(b"0:00:01.000,0:00:02.000\nHi\n", "captions.txt", id="sbv-named-txt"),
        pytest.param(b"00:01.000 --> 00:02.000\nHi\n", "captions.vtt", id="vtt-missing-header"),
        pytest.param(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n", "CAPTIONS.SRT", id="upper-case-extension"),
        pytest.param(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n", "C:\\Users\\me\\Talk 2.0", id="windows-path"),
    ],
)
def test_content_decides_the_format_when_the_name_is_missing_or_wrong(data, filename):
    assert parse_subtitles(data, filename) == [Segment(1.0, 2.0, "Hi")]


def test_supported_extensions_are_the_four_formats():
    assert SUBTITLE_EXTENSIONS == (".srt", ".vtt", ".sbv", ".txt")


# --- plain text ----------------------------------------------------------------------------------


def test_plain_text_is_spread_over_the_duration_by_word_count():
    text = "One two three four five six. Seven eight!\nNine ten"
    segments = parse_subtitles(text.encode(), "notes.txt", duration_seconds=100.0)
    assert [s.text for s in segments] == ["One two three four five six.", "Seven eight!", "Nine ten"]
    assert segments[0].start == 0.0 and segments[-1].end == 100.0
    assert [t for s in segments for t in (s.start, s.end)] == pytest.approx([0, 60, 60, 80, 80, 100])


def test_plain_text_without_duration_assumes_150_words_a_minute():
    words = " ".join(["word"] * 150)
    segments = parse_subtitles(f"{words}.\n\nAnd thirty more {' '.join(['w'] * 27)}.".encode(), "talk.txt")
    assert segments[0].start == 0.0
    assert segments[-1].end == pytest.approx(72.0)  # 180 words at 2.5 words a second


@pytest.mark.parametrize("duration", [None, 0.0, -5.0, float("nan"), float("inf")])
def test_plain_text_with_an_unusable_duration_falls_back_to_the_estimate(duration):
    segments = parse_subtitles(b"Five words in this line.", "a.txt", duration_seconds=duration)
    assert segments == [Segment(0.0, 2.0, "Five words in this line.")]


def test_plain_text_keeps_lines_apart_but_joins_a_sentence_wrapped_mid_way():
    text = "Welcome everyone\nToday we look at how a long sentence\nwraps onto the next line. Then stop.\n"
    segments = parse_subtitles(text.encode(), "a.txt", duration_seconds=10)
    assert [s.text for s in segments] == [
        "Welcome everyone",
        "Today we look at how a long sentence wraps onto the next line.",
        "Then stop.",
    ]
    assert all(a.end == b.start for a, b in itertools.pairwise(segments))


def test_a_very_long_unpunctuated_paragraph_is_cut_into_short_segments():
    text = " ".join(f"w{i}" for i in range(100))
    segments = parse_subtitles(text.encode(), "a.txt", duration_seconds=100)
    assert [len(s.text.split()) for s in segments] == [33, 33, 34]
    assert " ".join(s.text for s in segments) == text


def test_a_subtitle_extension_without_any_timing_is_read_as_plain_text():
    assert parse_subtitles(b"Just a transcript.", "talk.srt", duration_seconds=4) == [
        Segment(0.0, 4.0, "Just a transcript.")
    ]


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + "\n".encode("utf-16-le")])
def test_an_empty_file_is_refused(data):
    message = _messages(data, "lesson.srt")
    assert "lesson.srt" in message and "empty" in message and "upload" in message


@pytest.mark.parametrize(
    "data",
    [
        b"WEBVTT\n\nNOTE nothing to see\n",
        b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<i></i>\n",
        b"1\n00:00:01,000 --> 00:00:02,000\n{\\an8}\n",
    ],
)
def test_a_file_with_no_caption_text_is_refused(data):
    message = _messages(data, "lesson.vtt")
    assert "no caption text" in message and "lesson.vtt" in message


@pytest.mark.parametrize(
    ("data", "filename", "line", "example"),
    [
        (b"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 --> 00:00:04\nbad\n", "a.srt", 6, "00:00:01,000"),
        (b"1\n00:00:0x,000 --> 00:00:02,000\nbad\n", "a.srt", 2, "00:00:01,000"),
        (
            b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:03.000 --> 00:61:00.000\nbad\n",
            "a.vtt",
            6,
            "00:00:01.000",
        ),
        (b"0:00:01.000,0:00:02.000\nok\n\n0:00:0x.000,0:00:04.000\nbad\n", "a.sbv", 4, "0:00:01.000,"),
    ],
)
def test_an_unreadable_timing_is_refused_naming_its_line(data, filename, line, example):
    message = _messages(data, filename)
    assert f"Line {line} of '{filename}'" in message and example in message and "upload" in message


def test_a_file_the_library_rejects_whole_names_the_bad_line():
    # webvtt-py refuses an SBV file outright when its first cue's milliseconds have two digits.
    message = _messages(b"0:00:01.00,0:00:02.00\nHi\n", "a.sbv")
    assert message.startswith("Line 1 of 'a.sbv' has a timing") and "0:00:01.000,0:00:04.000" in message


def test_a_file_the_library_rejects_without_a_bad_timing_is_refused_plainly():
    # An SBV file must start with a cue that has text; here the first cue is empty.
    message = _messages(b"0:00:01.000,0:00:02.000\n\n\nstray text\n", "a.sbv")
    assert message == (
        "'a.sbv' could not be read as SBV subtitles; export them again or upload an .srt, .vtt, .sbv or .txt file."
    )


@pytest.mark.parametrize("filename", ["notes.docx", "slides.pdf", "movie.mp4", "subs.ass"])
def test_other_file_types_are_refused_by_name(filename):
    message = _messages(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n", filename)
    assert message == f"'{filename}' is not a subtitle file; upload an .srt, .vtt, .sbv or .txt file."


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nH\x00i\n", "binary data"),
        (bytes(range(1, 256)) * 4, "binary data"),
    ],
)
def test_binary_data_is_refused(data, words):
    message = _messages(data, "captions.txt")
    assert "'captions.txt' is not a text file" in message and words in message


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf_16_without_a_bom_keeps_every_script(encoding):
    srt = "1\n00:00:01,000 --> 00:00:03,000\nПривет, мир. 你好，世界。 Grüße!\n"
    assert parse_subtitles(srt.encode(encoding), "intl.srt")[0].text == "Привет, мир. 你好，世界。 Grüße!"


def test_a_short_utf_16_text_without_a_bom_reads_in_its_own_byte_order():
    assert parse_subtitles("Hi there".encode("utf-16-le"), "note.txt")[0].text == "Hi there"
    assert parse_subtitles("Hi there".encode("utf-16-be"), "note.txt")[0].text == "Hi there"


def test_a_single_nul_byte_in_a_long_file_is_refused():
    message = _messages(SRT.encode() * 50 + b"\x00", "lesson.srt")
    assert "not a text file" in message and "UTF-8" in message


def test_a_file_with_a_bom_but_garbage_after_it_is_refused():
    message = _messages(codecs.BOM_UTF16_LE + bytes(range(0xD8, 0xE0)) * 8, "a.srt")
    assert "not a text file" in message


def test_one_damaged_character_after_a_bom_is_tolerated():
    srt = codecs.BOM_UTF16_LE + SRT.replace("Last one!", "Last one!\udc00").encode("utf-16-le", "surrogatepass")
    assert parse_subtitles(srt, "lesson.srt")[-1].text == "Last one!\ufffd"


def test_a_dos_end_of_file_mark_is_not_binary():
    assert parse_subtitles(SRT.encode() + b"\x1a", "lesson.srt") == SRT_SEGMENTS


@pytest.mark.parametrize(
    "data",
    [
        b"-->",
        b"1\n-->\n",
        b"WEBVTT\n\n-->\n-->\n",
        b"WEBVTT\n\n00:00:01.000 --> 99999999999:00:00.000\nx\n",
        b"1\n99999999999999999999:00:00,000 --> 00:00:01,000\nx\n",
        b"0:00:01.000,0:00:02.000",
        b"STYLE\n-->",
        "\u2028\u2029\x85".encode(),
    ],
)
def test_odd_input_gives_segments_or_a_validation_error_never_a_library_exception(data):
    try:
        segments = parse_subtitles(data, "odd.srt")
    except ValidationError as error:
        assert str(error).endswith(".")
    else:
        assert all(s.text and s.start <= s.end for s in segments)


def test_a_subtitle_file_over_the_cap_is_refused_before_it_is_read():
    """A 50 MB SRT took 33 s and 822 MB to parse in the page's request, then hours of the worker."""
    cue = b"1\n00:00:00,000 --> 00:00:01,000\nwords\n\n"
    data = cue * (MAX_SUBTITLE_BYTES // len(cue) + 1)
    with pytest.raises(ValidationError, match=r"is 10\.0 MB; Chronos takes subtitle files up to 10 MB"):
        parse_subtitles(data, "huge.srt")
    assert parse_subtitles(cue * 1000, "fine.srt")  # well under the cap: read as before
