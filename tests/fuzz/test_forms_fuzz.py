"""Property tests of the small parsers and form checks that need no database: titles, questions,
moments, upload names and sizes, CSV of links, and the Markdown escaping every page uses."""

from __future__ import annotations

import io
import re
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chronos_data import chat
from chronos_data._rows import require_text
from chronos_data.config import Settings
from chronos_data.creators import UPLOAD_LIMIT_BYTES
from chronos_data.errors import ValidationError
from chronos_data.ingest.imports import parse_csv
from chronos_data.rag import Citation
from chronos_data.timecode import format_seconds
from chronos_data.uploads import MEDIA_EXTENSIONS, check_upload, store_upload
from components.assistant_view import linked_answer
from components.layout import inert
from tests.fuzz._support import FUZZ, INJECTIONS, assert_plain_message, examples, hostile_text

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- titles and questions ------------------------------------------------------------------------


@settings(FUZZ, max_examples=examples(200))
@given(st.one_of(st.none(), hostile_text, st.text(min_size=490, max_size=520)), st.sampled_from([200, 500]))
@example("a\x00b", 500)  # reached PostgreSQL, which refuses NUL in text: a DataError, not a message
@example("\ud800 half a pair", 500)  # no UTF-8 form: psycopg could not send it
@example("'; DROP TABLE courses;--", 500)
def test_a_title_is_kept_as_typed_or_refused_plainly(value, max_length):
    try:
        text = require_text(value, "course title", max_length=max_length)
    except ValidationError as error:
        assert_plain_message(error)
        stripped = (value or "").strip()
        assert not stripped or len(stripped) > max_length or "\x00" in stripped or re.search("[\ud800-\udfff]", stripped)
    else:
        assert text == value.strip() and 0 < len(text) <= max_length and "\x00" not in text


@settings(FUZZ, max_examples=examples(200))
@given(st.one_of(st.none(), hostile_text, st.text(min_size=1990, max_size=2100),
                 st.text(st.sampled_from(" \t\n\r\x00\x1b\x7f\x0b\x0c"), max_size=20)))
@example("tuple\x00key\x1b[31m?")
@example("   \n\t ")
def test_a_question_is_stored_on_one_line_without_control_characters_or_refused(question):
    try:
        cleaned = chat.clean_question(question)
    except ValidationError as error:
        assert_plain_message(error)
        expected = " ".join(_CONTROL.sub(" ", question or "").split())
        # Refused only when empty, too long, or without a letter or digit (emoji, symbols only).
        assert (not expected or len(expected) > chat.MAX_QUESTION_CHARS
                or not any(ch.isalnum() for ch in expected)), expected
    else:
        assert cleaned == " ".join(_CONTROL.sub(" ", question).split())
        assert 0 < len(cleaned) <= chat.MAX_QUESTION_CHARS and not _CONTROL.search(cleaned)
        title = chat.auto_title(cleaned)
        assert title and len(title) <= 61 and cleaned.startswith(title.removesuffix("…").rstrip(",;:.-"))


# --- moments ---------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=examples(150))
@given(st.one_of(st.integers(-10**6, 10**8), st.floats(-1e6, 1e8, allow_nan=False)))
def test_a_moment_reads_back_as_the_same_whole_second(seconds):
    text = format_seconds(seconds)
    parts = [int(p) for p in text.split(":")]
    assert re.fullmatch(r"(\d+:\d{2}:\d{2}|\d{2}:\d{2})", text)
    total = parts[0] * 3600 + parts[1] * 60 + parts[2] if len(parts) == 3 else parts[0] * 60 + parts[1]
    assert total == max(int(seconds), 0)


# --- uploads ---------------------------------------------------------------------------------------

_NAMES = st.one_of(st.text(max_size=40), st.sampled_from(INJECTIONS), st.text(min_size=250, max_size=400),
                   st.sampled_from(["../../etc/passwd", "C:\\Users\\me\\talk", "..", ".", "/", "講義", "\x00", "a/b/c"]))


@settings(FUZZ, max_examples=examples(200))
@given(_NAMES, st.sampled_from([*MEDIA_EXTENSIONS, ".MP4", ".Mov", ".pdf", ".srt", "", ".mp4.exe", ".mp4\x00"]),
       st.integers(-1, 20 * 1024**3), st.sampled_from([*UPLOAD_LIMIT_BYTES, "unknown"]))
def test_an_upload_is_accepted_by_type_and_plan_or_refused_plainly(stem, suffix, size, tier):
    name = stem + suffix
    try:
        check_upload(name, size, tier)
    except ValidationError as error:
        assert str(error).strip() and str(error).rstrip().endswith(".")
        assert Path(name).suffix.lower() not in MEDIA_EXTENSIONS or size > UPLOAD_LIMIT_BYTES.get(
            tier, UPLOAD_LIMIT_BYTES["basic"])
    else:
        assert Path(name).suffix.lower() in MEDIA_EXTENSIONS and size <= max(UPLOAD_LIMIT_BYTES.values())


@settings(FUZZ, max_examples=examples(80))
@given(_NAMES, st.sampled_from([*MEDIA_EXTENSIONS, ".MP4", ".Mov"]), st.binary(max_size=64))
@example("a" * 300, ".mp4", b"x")  # a name past the file system's 255 bytes: "File name too long"
@example("講義", ".mp4", b"x")  # kept as "mp4", without its suffix
def test_a_kept_upload_has_a_safe_bounded_name_with_its_suffix_inside_its_own_folder(stem, suffix, content):
    with tempfile.TemporaryDirectory() as folder:
        settings_ = Settings.from_env({"CHRONOS_DATA_DIR": folder})
        creator = uuid.uuid4()
        try:
            path = store_upload(settings_, creator, stem + suffix, io.BytesIO(content), len(content), "basic")
        except ValidationError:  # ".mp4" alone is a hidden file without a suffix, as pathlib says
            assert Path(stem + suffix).suffix.lower() not in MEDIA_EXTENSIONS
            assert not list(Path(folder).rglob("*.*"))  # nothing written
            return
        uploads, owner, unique, name = Path(path).parts
        assert (uploads, owner) == ("uploads", str(creator)) and re.fullmatch(r"[0-9a-f]{32}", unique)
        assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", name) and len(name.encode()) <= 255
        assert Path(name).suffix.lower() == suffix.lower()
        assert (Path(folder) / path).read_bytes() == content


# --- CSV of links ----------------------------------------------------------------------------------


@settings(FUZZ, max_examples=examples(120))
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.lists(hostile_text, max_size=4), max_size=6).map(
                     lambda rows: "\r\n".join(",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in row)
                                              for row in rows).encode("utf-8", "surrogatepass"))))
def test_any_csv_of_links_gives_requests_or_a_plain_error(data):
    try:
        requests = parse_csv(data)
    except ValidationError as error:
        assert_plain_message(error)
    else:
        assert requests and all(r.source and r.source == r.source.strip() for r in requests)


@pytest.mark.parametrize("data", ids=["huge field", "CR line endings"], argvalues=[
    b"url,title\nhttps://youtu.be/dQw4w9WgXcQ," + b"x" * 200_000 + b"\n",
    b"url,title\rhttps://youtu.be/dQw4w9WgXcQ,One\rhttps://youtu.be/9bZkp7q19f0,Two\r",
])
def test_a_csv_of_links_with_a_huge_field_or_mac_line_endings_gives_links_or_a_plain_error(data):
    try:
        assert parse_csv(data)
    except ValidationError as error:
        assert_plain_message(error)


# --- Markdown escaping -----------------------------------------------------------------------------

#: What Streamlit's Markdown gives meaning to: CommonMark's punctuation, GFM tables, strikethrough
#: and automatic links (":", "@", "."), LaTeX dollars, Streamlit's ":color[…]" directives, HTML tags
#: and entities.
_ACTIVE = set("\\`*_{}[]()#+-.!|<>~$&:@")
_REFERENCE = re.compile(r"&#(\d+);")


def _rendered_text(markdown: str) -> str:
    """What CommonMark shows for text that ``inert`` produced: each backslash escape or numeric
    character reference is its character; no markup character is left bare."""
    out, i = [], 0
    while i < len(markdown):
        reference = _REFERENCE.match(markdown, i)
        if reference:
            out.append(chr(int(reference[1])))
            i = reference.end()
        elif markdown[i] == "\\" and i + 1 < len(markdown) and markdown[i + 1] in _ACTIVE:
            out.append(markdown[i + 1])
            i += 2
        else:
            assert markdown[i] not in _ACTIVE, f"unescaped {markdown[i]!r} in {markdown!r}"
            out.append(markdown[i])
            i += 1
    return "".join(out)


@settings(FUZZ, max_examples=examples(300))
@given(hostile_text.map(lambda text: text.replace("\n", " ").replace("\r", " ")))
@example("It costs $5 and $6")  # was LaTeX between the dollars
@example("&lt;script&gt;")  # the entities showed as a tag's text
@example('<img src=x onerror="alert(1)">')
def test_inert_text_shows_exactly_as_typed(text):
    assert _rendered_text(inert(text)) == text


_LOOM = "0123456789abcdef0123456789abcdef"


def _citation(number: int, title: str, *, linked: bool) -> Citation:
    return Citation(number=number, video_id=uuid.uuid4(), title=title, source_type="loom" if linked else "upload",
                    youtube_video_id=None, source_key=_LOOM if linked else None, start_seconds=75, end_seconds=80,
                    snippet="snippet")


@settings(FUZZ, max_examples=examples(200))
@given(st.lists(st.sampled_from(["[1]", "[2]", "[01]", "[99]", "[x]", " "]) | hostile_text, max_size=8)
       .map(lambda parts: "".join(parts).replace("\ue000", "")),
       hostile_text.map(lambda title: title.replace("\n", " ")))
@example("It costs $5 [1] & $6 [2]", "C:\\talks\\")  # a title ending in "\" escaped the link's closing quote
@example("<script>alert(1)</script> [1]", "&amp; <img src=x onerror=alert(1)>")
def test_a_quoted_answer_shows_as_typed_with_each_citation_linked(text, title):
    citations = [_citation(1, title, linked=True), _citation(2, title, linked=False)]
    markdown = linked_answer(text, citations, quoted=True)
    tip = inert(f"{title} at 01:15".replace('"', "'"))
    link = f'[\\[1 · 01:15\\]]({citations[0].url} "{tip}")'
    bold = "**\\[2 · 01:15\\]**"
    # The citations become a link and a bold label; everything else shows exactly as written.
    rest = markdown.replace(link, "\ue000").replace(bold, "\ue000")
    expected = re.sub(r"\[(\d{1,2})\]", lambda m: "\ue000" if int(m[1]) in (1, 2) else m[0], text)
    assert _rendered_text(rest) == expected
    assert _rendered_text(tip) == f"{title} at 01:15".replace('"', "'")  # the tooltip too
