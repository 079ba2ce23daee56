"""The Courses page through AppTest: the course being edited is the one the list shows as
selected, and a write drawn from an old version (another tab) is refused."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import courses, creators, videos

APP = str(Path(__file__).resolve().parents[2] / "app.py")
STALE = "changed in another tab"


@pytest.fixture
def workspace(app_env, monkeypatch, db) -> uuid.UUID:
    email = f"courses-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    with db.engine.begin() as conn:
        return creators.ensure_creator(conn, email)


def _courses_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    return at.switch_page("pages/courses.py").run()


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _create(at: AppTest, title: str) -> AppTest:
    at.text_input(key="courses_new_title").input(title)
    _button(at, "Create course").click().run()
    assert not at.exception
    return at


def _add_module(at: AppTest, title: str) -> AppTest:
    at.text_input(key="courses_new_module_title").input(title)
    _button(at, "Add module").click().run()
    assert not at.exception
    return at


def _edited(at: AppTest) -> str:
    return at.subheader[0].value


def _selected(at: AppTest, t) -> str:
    return courses.get_course(t, at.radio(key="courses_list").value).title


def _modules(db, workspace, title: str) -> list[str]:
    with db.tenant(workspace) as t:
        course = next(c for c in courses.list_courses(t) if c.title == title)
        return [m.title for m in courses.list_modules(t, course.id)]


def test_a_new_course_becomes_the_one_edited_and_its_modules_land_in_it(workspace, db):
    at = _create(_courses_page(), "Course A")
    assert _edited(at) == "Course A"
    _add_module(at, "A1")
    at = _create(at, "Marketing 101")
    assert _edited(at) == "Marketing 101"
    with db.tenant(workspace) as t:
        assert _selected(at, t) == "Marketing 101"
    _add_module(at, "Week 1")
    assert _modules(db, workspace, "Marketing 101") == ["Week 1"]
    assert _modules(db, workspace, "Course A") == ["A1"]


def test_a_duplicate_becomes_the_selection(workspace, db):
    at = _create(_courses_page(), "Course A")
    at = _create(at, "Course B")
    with db.tenant(workspace) as t:
        first = next(c.id for c in courses.list_courses(t) if c.title == "Course A")
    at.radio(key="courses_list").set_value(first).run()
    assert _edited(at) == "Course A"
    at.button(key="courses_duplicate").click().run()
    assert _edited(at) == "Copy of Course A"
    with db.tenant(workspace) as t:
        assert _selected(at, t) == "Copy of Course A"
    _add_module(at, "Copied week")
    assert _modules(db, workspace, "Copy of Course A") == ["Copied week"]
    assert _modules(db, workspace, "Course A") == []


def test_after_unpublish_the_list_still_selects_the_course_edited(workspace, db):
    with db.tenant(workspace) as t:
        video = videos.create_video(t, title="Decorators", source_type="youtube", source_id="dQw4w9WgXcQ",
                                    duration_seconds=300)
        first = courses.create_course(t, "First")
        second = courses.create_course(t, "Second")
        courses.add_lesson(t, courses.create_module(t, second, "Week 1"), video)
        courses.publish_course(t, second)
    at = _courses_page()
    assert at.radio(key="courses_list").value == first
    at.radio(key="courses_list").set_value(second).run()
    assert _edited(at) == "Second"
    at.button(key="courses_unpublish").click().run()
    assert not at.exception
    assert _edited(at) == "Second"
    radio = at.radio(key="courses_list")
    assert radio.value == second
    # The browser keeps the radio's choice by its label, which unpublishing changed: the page must
    # send the choice again under its new label, or the list shows nothing selected.
    assert radio.proto.set_value and radio.proto.raw_value == "Second · Draft · 1 lesson"
