"""Course outlines: export, Markdown, import into another workspace, and refused outlines."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from chronos_data import courses, outlines, videos
from chronos_data.db import Database, Workspace
from chronos_data.errors import ValidationError
from tests.conftest import new_creator


def _yt(t: Workspace, title: str, youtube_id: str, minutes: int | None = 4) -> uuid.UUID:
    video = videos.create_video(t, title=title, source_type="youtube", source_id=youtube_id,
                                duration_seconds=None if minutes is None else minutes * 60)
    videos.set_status(t, video, "completed")
    return video


def _sample_course(t: Workspace) -> uuid.UUID:
    course = courses.create_course(t, "Python *basics*", "From zero to loops")
    week1 = courses.create_module(t, course, "Week 1", "Getting started")
    week2 = courses.create_module(t, course, "Week 2")
    intro = courses.add_lesson(t, week1, _yt(t, "Intro video", "AAAAAAAAAAA"), title="Welcome")
    courses.update_lesson(t, intro, description="What we will build", estimated_duration_minutes=3)
    courses.add_lesson(t, week1, _yt(t, "Variables", "BBBBBBBBBBB", minutes=12), is_required=False)
    courses.add_lesson(t, week2, _yt(t, "Loops in depth", "CCCCCCCCCCC", minutes=65))
    courses.add_lesson(t, week2, _yt(t, "Bonus Q&A", "DDDDDDDDDDD"))
    return course


def test_export_is_a_json_able_chronos_outline(t):
    course = _sample_course(t)
    outline = outlines.export_outline(t, course)
    assert json.loads(json.dumps(outline)) == outline
    assert (outline["format"], outline["title"], outline["description"]) == (
        "chronos.course/1", "Python *basics*", "From zero to loops")
    assert [m["title"] for m in outline["modules"]] == ["Week 1", "Week 2"]
    welcome = outline["modules"][0]["lessons"][0]
    assert welcome == {
        "title": "Welcome", "description": "What we will build", "is_required": True,
        "estimated_duration_minutes": 3,
        "video": {"title": "Intro video", "source_type": "youtube", "youtube_video_id": "AAAAAAAAAAA",
                  "url": "https://www.youtube.com/watch?v=AAAAAAAAAAA"},
    }
    assert outline["modules"][0]["lessons"][1]["is_required"] is False


def test_markdown_outline_reads_like_a_syllabus(t):
    course = _sample_course(t)
    markdown = outlines.outline_markdown(t, course)
    lines = markdown.splitlines()
    assert lines[0] == r"# Python \*basics\*"
    assert "_2 modules · 4 lessons · 1 h 24 min_" in lines
    assert "## Module 1: Week 1" in lines and "## Module 2: Week 2" in lines
    assert ("1. **Welcome** · 3 min · required · [Watch on YouTube](<https://www.youtube.com/watch?v=AAAAAAAAAAA>)"
            in lines)
    assert any(line.startswith("2. **Variables** · 12 min · optional") for line in lines)
    assert any(line.startswith("1. **Loops in depth** · 1 h 05 min · required") for line in lines)
    assert "   What we will build" in lines
    assert lines.index("## Module 1: Week 1") < lines.index("## Module 2: Week 2")


def test_round_trip_into_another_workspace_matches_by_youtube_id_then_title(db: Database, t):
    exported = outlines.export_outline(t, _sample_course(t))
    other = new_creator(db, "importer")
    try:
        with db.workspace(other) as theirs:
            same_id = _yt(theirs, "A different title", "AAAAAAAAAAA")  # matched by YouTube id
            by_title = videos.create_video(theirs, title="variables", source_type="loom",
                                           source_id="0123456789abcdef0123456789abcdef")  # by title, any case
            _yt(theirs, "Loops in depth", "EEEEEEEEEEE")  # other YouTube id: matched by its title
            deleted = _yt(theirs, "Bonus Q&A", "FFFFFFFFFFF")
            videos.soft_delete_video(theirs, deleted)  # the trash is never matched

            result = outlines.import_outline(theirs, json.dumps(exported).encode())

            assert (result.matched, result.unmatched) == (3, ["Bonus Q&A"])
            imported = courses.course_outline(theirs, result.course_id)
            assert imported.course.title == "Python *basics*" and not imported.course.is_published
            assert [m.module.title for m in imported.modules] == ["Week 1", "Week 2"]
            assert imported.modules[0].module.description == "Getting started"
            welcome, variables = imported.modules[0].lessons
            assert (welcome.video_id, welcome.title, welcome.description, welcome.estimated_duration_minutes) == (
                same_id, "Welcome", "What we will build", 3)
            assert (variables.video_id, variables.is_required, variables.lesson_order) == (by_title, False, 2)
            assert [lesson.title for lesson in imported.modules[1].lessons] == ["Loops in depth"]
            assert courses.list_courses(theirs)[-1].id == result.course_id
    finally:
        with db.owner() as conn:
            conn.execute(sa.text("DELETE FROM chronos.creators WHERE id = :c"), {"c": other})


def test_an_outline_never_reaches_another_workspace_s_videos(db: Database, t):
    _yt(t, "Mine only", "GGGGGGGGGGG")
    other = new_creator(db, "outsider")
    try:
        with db.workspace(other) as theirs:
            result = outlines.import_outline(theirs, {"title": "T", "modules": [{"title": "M", "lessons": [
                {"title": "Mine only", "video": {"youtube_video_id": "GGGGGGGGGGG", "title": "Mine only"}}]}]})
            assert (result.matched, result.unmatched) == (0, ["Mine only"])
    finally:
        with db.owner() as conn:
            conn.execute(sa.text("DELETE FROM chronos.creators WHERE id = :c"), {"c": other})


def test_legacy_video_ids_modules_are_accepted(t):
    by_id = _yt(t, "Setup", "HHHHHHHHHHH")
    by_title = _yt(t, "Functions", "IIIIIIIIIII")
    own_uuid = _yt(t, "Classes", "JJJJJJJJJJJ")
    result = outlines.import_outline(t, json.dumps({
        "title": "Legacy course",
        "modules": [{"title": "Old module", "video_ids": ["HHHHHHHHHHH", "functions", str(own_uuid), "Missing one"]}],
    }))
    assert (result.matched, result.unmatched) == (3, ["Missing one"])
    [module] = courses.course_outline(t, result.course_id).modules
    assert [(x.video_id, x.title) for x in module.lessons] == [
        (by_id, "Setup"), (by_title, "Functions"), (own_uuid, "Classes")]


@pytest.mark.parametrize(("outline", "message"), [
    (b"{not json", "The outline is not valid JSON"),
    (b"\xff\xfe", "not UTF-8"),
    ("[]", "not a JSON object"),
    ({"format": "other/9", "title": "T"}, "format is 'other/9'"),
    ({"title": "  "}, "The outline has no title"),
    ({"title": "T", "modules": {}}, "modules is not a list"),
    ({"title": "T", "modules": [{"title": "M"}, "x"]}, "modules[1] is not an object"),
    ({"title": "T", "modules": [{"title": "M"}, {"title": "N", "lessons": [{"description": "d"}]}]},
     "modules[1].lessons[0] has no title"),
    ({"title": "T", "modules": [{"title": "M", "lessons": [{"title": "L", "is_required": "yes"}]}]},
     "modules[0].lessons[0].is_required is 'yes'"),
    ({"title": "T", "modules": [{"title": "M", "lessons": [{"title": "L", "estimated_duration_minutes": 0}]}]},
     "modules[0].lessons[0].estimated_duration_minutes is 0"),
    ({"title": "T", "modules": [{"title": "M", "lessons": [{"title": "L", "video": {"youtube_video_id": "short"}}]}]},
     "modules[0].lessons[0].video.youtube_video_id is 'short'"),
    ({"title": "T", "modules": [{"title": "M", "video_ids": [3]}]}, "modules[0].video_ids[0] is not a YouTube id"),
])
def test_invalid_outlines_are_refused_with_the_path_of_the_problem(t, outline, message):
    before = len(courses.list_courses(t))
    with pytest.raises(ValidationError) as refused:
        outlines.import_outline(t, outline)
    assert message in str(refused.value)
    assert str(refused.value).count("\n") == 0 and str(refused.value).endswith(".")
    assert len(courses.list_courses(t)) == before  # checked before anything is written


def test_an_outline_whose_title_is_taken_is_imported_as_a_distinct_entry(t):
    course = _sample_course(t)
    exported = outlines.export_outline(t, course)

    first, second = (outlines.import_outline(t, exported) for _ in range(2))

    titles = [c.title for c in courses.list_courses(t)]
    assert titles == ["Python *basics*", "Python *basics* (imported)", "Python *basics* (imported 2)"]
    assert (first.title, second.title) == ("Python *basics* (imported)", "Python *basics* (imported 2)")
    courses.delete_course(t, course)  # a course in the trash keeps its title too: restoring it must not clash
    assert outlines.import_outline(t, exported).title == "Python *basics* (imported 3)"
