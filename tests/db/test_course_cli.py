"""``python -m chronos_data course``: list, export and import course outlines from the command line."""

from __future__ import annotations

import json
import uuid

import pytest

from chronos_data import cli, courses, creators, videos


@pytest.fixture
def env(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.fixture
def workspace(db, env):
    """A committed workspace with one course of two lessons; returns (email, course id)."""
    email = f"cli-course-{uuid.uuid4().hex[:6]}@example.com"
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        course = courses.create_course(t, "Shell basics")
        module = courses.create_module(t, course, "Week 1")
        for title, youtube_id, seconds in (("Pipes", "PPPPPPPPPPP", 300), ("Globs", "GGGGGGGGGGG", 90)):
            video = videos.create_video(t, title=title, source_type="youtube", source_id=youtube_id,
                                        duration_seconds=seconds)
            courses.add_lesson(t, module, video)
    return email, course


def test_course_list_json_and_text(workspace, capsys):
    email, course = workspace
    assert cli.main(["course", "list", "--json", "--creator", email]) == 0
    assert json.loads(capsys.readouterr().out) == {"courses": [
        {"id": str(course), "title": "Shell basics", "published": False, "lessons": 2, "minutes": 7}]}
    assert cli.main(["course", "list", "--creator", email]) == 0
    out = capsys.readouterr().out
    assert str(course) in out and "Shell basics" in out and "draft" in out and "2 lessons" in out


def test_course_list_of_an_empty_workspace(env, capsys):
    assert cli.main(["course", "list", "--creator", f"empty-{uuid.uuid4().hex[:6]}@example.com"]) == 0
    assert capsys.readouterr().out.strip() == "No courses yet."


def test_course_export_prints_json_or_markdown(workspace, capsys):
    email, course = workspace
    assert cli.main(["course", "export", str(course), "--creator", email]) == 0
    outline = json.loads(capsys.readouterr().out)
    assert outline["format"] == "chronos.course/1"
    assert [lesson["title"] for lesson in outline["modules"][0]["lessons"]] == ["Pipes", "Globs"]

    assert cli.main(["course", "export", str(course), "--format", "md", "--creator", email]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("# Shell basics\n") and "## Module 1: Week 1" in markdown
    assert "1. **Pipes** · 5 min · required" in markdown

    assert cli.main(["course", "export", str(course), "--format", "md", "--json", "--creator", email]) == 0
    wrapped = json.loads(capsys.readouterr().out)
    assert wrapped["course_id"] == str(course) and wrapped["format"] == "md"
    assert wrapped["outline"].startswith("# Shell basics")


def test_course_import_creates_a_draft_and_reports_unmatched(workspace, tmp_path, capsys):
    email, course = workspace
    assert cli.main(["course", "export", str(course), "--creator", email]) == 0
    outline = json.loads(capsys.readouterr().out)
    outline["modules"][0]["lessons"].append({"title": "Not in the library", "video": {"title": "Nope"}})
    path = tmp_path / "outline.json"
    path.write_text(json.dumps(outline))

    assert cli.main(["course", "import", str(path), "--json", "--creator", email]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["matched"] == 2 and report["unmatched"] == ["Not in the library"]
    assert uuid.UUID(report["course_id"]) != course

    assert cli.main(["course", "import", str(path), "--creator", email]) == 0
    out = capsys.readouterr().out
    assert "course id: " in out and "matched: 2 lessons" in out and "Not in the library" in out
    assert cli.main(["course", "list", "--json", "--creator", email]) == 0
    assert [c["lessons"] for c in json.loads(capsys.readouterr().out)["courses"]] == [2, 2, 2]


def test_course_errors_are_one_line_and_exit_1(workspace, tmp_path, capsys):
    email, _ = workspace
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "T", "modules": [{"title": "M", "lessons": [{}]}]}))
    assert cli.main(["course", "import", str(bad), "--creator", email]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: modules[0].lessons[0] has no title")

    assert cli.main(["course", "import", str(tmp_path / "missing.json"), "--creator", email]) == 1
    assert "Cannot read" in capsys.readouterr().err

    assert cli.main(["course", "export", "not-an-id", "--creator", email]) == 1
    assert "is not a course id" in capsys.readouterr().err

    assert cli.main(["course", "export", str(uuid.uuid4()), "--json", "--creator", email]) == 1
    assert json.loads(capsys.readouterr().out) == {"error": "That course is not in this workspace."}


def test_one_lesson_is_counted_in_the_singular(db, env, tmp_path, capsys):
    email = f"cli-one-{uuid.uuid4().hex[:6]}@example.com"
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        course = courses.create_course(t, "One lesson")
        video = videos.create_video(t, title="Pipes", source_type="youtube", source_id="PPPPPPPPPPP",
                                    duration_seconds=300)
        courses.add_lesson(t, courses.create_module(t, course, "Week 1"), video)
    assert cli.main(["course", "list", "--creator", email]) == 0
    listed = capsys.readouterr().out
    assert " 1 lesson " in listed and "lessons" not in listed
    assert cli.main(["course", "export", str(course), "--creator", email]) == 0
    path = tmp_path / "one.json"
    path.write_text(capsys.readouterr().out)
    assert cli.main(["course", "import", str(path), "--creator", email]) == 0
    assert "matched: 1 lesson\n" in capsys.readouterr().out


def test_course_publish_lists_the_checklist_then_publishes_anyway_and_unpublishes(db, workspace, capsys):
    email, course = workspace  # both lesson videos are still processing
    assert cli.main(["course", "publish", str(course), "--creator", email]) == 1
    err = capsys.readouterr().err
    assert "Before you publish" in err and "Pipes" in err and "--anyway" in err
    assert _published(db, email, course) is False

    assert cli.main(["course", "publish", str(course), "--anyway", "--json", "--creator", email]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["published"] is True and len(report["problems_accepted"]) == 2
    assert _published(db, email, course) is True

    assert cli.main(["course", "unpublish", str(course), "--creator", email]) == 0
    assert "Unpublished" in capsys.readouterr().out
    assert _published(db, email, course) is False


def test_a_course_without_lessons_is_never_published_even_anyway(db, workspace, capsys):
    email, _ = workspace
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        empty = courses.create_course(t, "Nothing yet")
    assert cli.main(["course", "publish", str(empty), "--anyway", "--creator", email]) == 1
    assert "Add a lesson first" in capsys.readouterr().err
    assert _published(db, email, empty) is False


def _published(db, email: str, course: uuid.UUID) -> bool:
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        return next(c.is_published for c in courses.list_courses(t) if c.id == course)
