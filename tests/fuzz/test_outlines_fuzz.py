"""Property tests of importing course outlines on the real database: any outline (unicode, SQL and
HTML in titles, duplicates, missing fields, thousands of lessons) is either imported exactly as
written, its titles byte for byte, or refused with a message naming where, storing nothing."""

from __future__ import annotations

import copy
import json
import uuid

import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chronos_data import courses, outlines, videos
from chronos_data.errors import ValidationError
from tests.fuzz._support import DB, INJECTIONS, examples, rolled_back, storable_text

#: The importing workspace's videos: (YouTube id or None, title).
WORKSPACE = (("dQw4w9WgXcQ", "'; DROP TABLE courses;--"), ("9bZkp7q19f0", "<script>alert('x')</script>"),
             (None, "Ünïcödé 👩‍💻 lesson"))

# Titles as a person (or a script) might write them: any storable text with something visible,
# injection strings, surrounding whitespace (stripped on import) and right up to the 500 limit.
_TITLE = st.one_of(
    st.sampled_from(INJECTIONS),
    storable_text.filter(lambda s: s.strip()),
    st.builds(lambda pad, body: pad + body + pad, st.sampled_from(["", " ", "\t", "\n "]),
              st.sampled_from(INJECTIONS) | storable_text.filter(lambda s: s.strip() and len(s) <= 5)),
    st.text(st.sampled_from("ab€𝕳 "), min_size=495, max_size=500).filter(lambda s: s.strip() and len(s.strip()) <= 500),
)
_DESCRIPTION = st.one_of(st.none(), st.just(""), storable_text, st.sampled_from(INJECTIONS))


def _ascii_case(draw, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.swapcase() if flip and c.isascii() else c for c, flip in zip(text, flips, strict=True))


def _unmatched_title(title: str) -> bool:
    return title.strip().casefold() not in {t.casefold() for _, t in WORKSPACE}


@st.composite
def lesson_specs(draw) -> tuple[dict, int | None]:
    """A lesson and the WORKSPACE index of the video it should match (None: no video matches)."""
    lesson: dict = {"title": draw(_TITLE.filter(_unmatched_title))}
    target = draw(st.sampled_from([0, 1, 2, None]))
    if target is None:  # without a video title, a lesson is matched by its own title: never a video's here
        how = draw(st.sampled_from(["unknown id", "unknown title", "null", "absent"]))
        if how != "absent":
            lesson["video"] = {"unknown id": {"youtube_video_id": "zzzzzzzzzzz"}, "unknown title": {"title": "No such"},
                               "null": None}[how]
    else:
        youtube_id, title = WORKSPACE[target]
        how = draw(st.sampled_from(["youtube", "title", "both"])) if youtube_id else "title"
        video = {}
        if how in ("youtube", "both"):
            video["youtube_video_id"] = draw(st.sampled_from([youtube_id, f" {youtube_id} "]))
        if how in ("title", "both"):
            video["title"] = _ascii_case(draw, title)  # matched ignoring case
        if draw(st.booleans()):
            video["source_type"], video["url"] = "youtube", "https://example.com/ignored"
        lesson["video"] = video
    for key, value in (("description", _DESCRIPTION), ("is_required", st.booleans()),
                       ("estimated_duration_minutes", st.none() | st.integers(1, 100_000))):
        if draw(st.booleans()):
            lesson[key] = draw(value)
    return lesson, target


@st.composite
def outline_specs(draw) -> tuple[dict, list[list[int | None]]]:
    """An outline, and for each module the WORKSPACE index each lesson should match."""
    modules = draw(st.lists(st.lists(lesson_specs(), max_size=5), max_size=4))
    outline: dict = {"title": draw(_TITLE), "modules": []}
    if draw(st.booleans()):
        outline["format"] = outlines.FORMAT
    if draw(st.booleans()):
        outline["description"] = draw(_DESCRIPTION)
    for lessons in modules:
        module: dict = {"title": draw(_TITLE), "lessons": [lesson for lesson, _ in lessons]}
        if draw(st.booleans()):
            module["description"] = draw(_DESCRIPTION)
        outline["modules"].append(module)
    return outline, [[target for _, target in lessons] for lessons in modules]


def _counts(t) -> tuple[int, int, int]:
    return t.conn.execute(sa.text(
        "SELECT (SELECT count(*) FROM courses WHERE creator_id = :c), "
        "(SELECT count(*) FROM course_modules WHERE creator_id = :c), "
        "(SELECT count(*) FROM module_lessons WHERE creator_id = :c)"), {"c": t.creator_id}).one()


def _workspace(t) -> list[uuid.UUID]:
    ids = []
    for youtube_id, title in WORKSPACE:
        if youtube_id:
            video = videos.create_video(t, title=title, source_type="youtube", source_id=youtube_id)
        else:
            video = videos.create_video(t, title=title, source_type="loom", source_id=uuid.uuid4().hex)
        videos.set_status(t, video, "completed")
        ids.append(video)
    return ids


def _as_sent(outline: dict, form: str):
    if form == "dict":
        return outline
    text = json.dumps(outline, ensure_ascii=form != "json")  # bytes hold escapes: "\udfff" has no UTF-8
    return text if form != "bytes" else b"\xef\xbb\xbf" + text.encode()


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


@settings(DB, max_examples=examples(30))
@given(outline_specs(), st.sampled_from(["dict", "ascii json", "json", "bytes"]))
@example(({"title": "'; DROP TABLE courses;--", "modules": [{"title": "<script>alert(1)</script>", "lessons": [
    {"title": "<img src=x onerror=alert(1)>", "video": {"youtube_video_id": "dQw4w9WgXcQ"}},
    {"title": "again", "video": {"title": "'; drop table COURSES;--"}}]}]},
          [[0, 0]]), "json")  # the second mention of a video in a module adds nothing
def test_an_outline_is_imported_exactly_as_written(t, spec, form):
    outline, modules = spec
    with rolled_back(t):
        video_ids = _workspace(t)
        result = outlines.import_outline(t, _as_sent(copy.deepcopy(outline), form))
        imported = courses.course_outline(t, result.course_id)
        assert imported.course.title == outline["title"].strip()
        assert imported.course.description == _text(outline.get("description"))
        assert [m.module.title for m in imported.modules] == [m["title"].strip() for m in outline["modules"]]
        assert [m.module.description for m in imported.modules] == [_text(m.get("description"))
                                                                      for m in outline["modules"]]
        unmatched, matched = [], 0
        for entry, module, targets in zip(imported.modules, outline["modules"], modules, strict=True):
            expected, used = [], set()
            for lesson, target in zip(module["lessons"], targets, strict=True):
                if target is None:
                    unmatched.append(lesson["title"].strip())
                elif target not in used:
                    used.add(target)
                    expected.append((video_ids[target], lesson["title"].strip(), _text(lesson.get("description")),
                                     lesson.get("is_required", True), lesson.get("estimated_duration_minutes")))
            assert [(x.video_id, x.title, x.description, x.is_required, x.estimated_duration_minutes)
                    for x in entry.lessons] == expected
            assert [x.lesson_order for x in entry.lessons] == list(range(1, len(expected) + 1))
            matched += len(expected)
        assert (result.matched, result.unmatched) == (matched, unmatched)
        exported = outlines.export_outline(t, result.course_id)  # and it leaves as it came
        assert exported["title"] == imported.course.title
        assert [[lesson["title"] for lesson in m["lessons"]] for m in exported["modules"]] == \
            [[x.title for x in m.lessons] for m in imported.modules]


#: One defect each, with the place its message must name.
_DEFECTS = [
    (("title",), None, "The outline has no title"), (("title",), "   ", "The outline has no title"),
    (("title",), 42, "The outline has no title"), (("title",), "x" * 501, "501 characters"),
    (("title",), "a\x00b", "NUL"), (("title",), "\ud800", "surrogate"),
    (("description",), 7, "description is not text"), (("description",), "a\x00", "NUL"),
    (("format",), "chronos.course/2", "format is"), (("format",), {"x": [1] * 1000}, "format is"),
    (("modules",), {}, "modules is not a list"), (("modules", 0), "x", "modules[0] is not an object"),
    (("modules", 0, "title"), None, "modules[0] has no title"),
    (("modules", 0, "title"), "<script>\x00</script>", "modules[0] has a title that contains a NUL"),
    (("modules", 0, "description"), "\udfff", "modules[0].description contains"),
    (("modules", 0, "lessons"), "abc", "modules[0].lessons is not a list"),
    (("modules", 0, "lessons", 0), 5, "modules[0].lessons[0] is not an object"),
    (("modules", 0, "lessons", 0, "title"), "", "modules[0].lessons[0] has no title"),
    (("modules", 0, "lessons", 0, "title"), "\x00", "modules[0].lessons[0] has a title that contains a NUL"),
    (("modules", 0, "lessons", 0, "is_required"), "yes", "is_required is 'yes'"),
    (("modules", 0, "lessons", 0, "is_required"), list(range(10_000)), "is_required is [0, 1"),
    (("modules", 0, "lessons", 0, "estimated_duration_minutes"), 0, "estimated_duration_minutes is 0"),
    (("modules", 0, "lessons", 0, "estimated_duration_minutes"), 1.5, "estimated_duration_minutes is 1.5"),
    (("modules", 0, "lessons", 0, "estimated_duration_minutes"), True, "estimated_duration_minutes is True"),
    (("modules", 0, "lessons", 0, "estimated_duration_minutes"), 10**12, "from 1 to 100,000"),
    (("modules", 0, "lessons", 0, "video"), "dQw4w9WgXcQ", "video is not an object"),
    (("modules", 0, "lessons", 0, "video"), {"youtube_video_id": "dQw4w9WgXcQ\n"}, None),  # stripped: fine
    (("modules", 0, "lessons", 0, "video"), {"youtube_video_id": "'; DROP--"}, "not a YouTube video id"),
    (("modules", 0, "lessons", 0, "video"), {"title": ["x"]}, "video.title is not text"),
    (("modules", 0, "lessons", 0, "video"), {"title": "a\x00"}, "video.title contains a NUL"),
    (("modules", 0, "video_ids"), [3], "video_ids[0] is not a YouTube id"),
    (("modules", 0, "video_ids"), ["ok", "\x00"], "video_ids[1] contains a NUL"),
]


def _set(outline: dict, path: tuple, value) -> None:
    target = outline
    for key in path[:-1]:
        target = target[key]
    if path[-1] == "video_ids":
        target.pop("lessons", None)
    if value is None and isinstance(target, dict):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value


@settings(DB, max_examples=examples(40))
@given(outline_specs(), st.sampled_from(_DEFECTS), st.sampled_from(["dict", "ascii json", "bytes"]))
def test_a_bad_outline_is_refused_naming_the_place_and_nothing_is_stored(t, spec, defect, form):
    outline, _ = spec
    path, value, says = defect
    if len(path) > 1 and path[0] == "modules":
        outline["modules"] = outline["modules"] or [{"title": "M", "lessons": []}]
        if len(path) > 3:
            outline["modules"][0]["lessons"] = outline["modules"][0]["lessons"] or [{"title": "L"}]
    _set(outline, path, value)
    with rolled_back(t):
        _workspace(t)
        before = _counts(t)
        try:
            outlines.import_outline(t, _as_sent(outline, form))
        except ValidationError as error:
            message = str(error)
            assert says is not None and says in message, message
            assert message.endswith(".") and "\n" not in message and len(message) < 400
            assert _counts(t) == before
        else:
            assert says is None


@settings(DB, max_examples=examples(40))
@given(st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                 lambda children: st.lists(children, max_size=4) | st.dictionaries(
                     st.sampled_from(["title", "modules", "lessons", "video", "video_ids", "description", "format",
                                      "is_required", "estimated_duration_minutes", "youtube_video_id", "x"]),
                     children, max_size=5), max_leaves=25),
))
@example({"title": "T", "modules": [{"title": "M", "video_ids": ["dQw4w9WgXcQ"] * 5001}]})  # too many lessons
@example('{"title": "T\\u0000"}')  # reached PostgreSQL: DataError
@example('{"title": "T", "description": "\\ud83d"}')  # half an emoji: psycopg could not encode it
@example({"title": "T", "modules": [{"title": "M", "lessons": [
    {"title": "L", "estimated_duration_minutes": 2**40, "video": {"youtube_video_id": "dQw4w9WgXcQ"}}]}]})
def test_any_outline_is_imported_or_refused_plainly(t, outline):
    with rolled_back(t):
        _workspace(t)
        before = _counts(t)
        try:
            result = outlines.import_outline(t, outline)
        except ValidationError as error:
            assert str(error).endswith(".") and "\n" not in str(error) and len(str(error)) < 400
            assert _counts(t) == before
        else:
            assert courses.get_course(t, result.course_id).title.strip()
