"""The Courses page through AppTest: the course being edited is the one the list shows as
selected, and a write drawn from an old version (another tab) is refused."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import courses, creators, videos
from tests.app.shown import shown
from tests.app.transactions import page_transactions

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
    return shown(at.subheader[0].value)


def _selected(at: AppTest, t) -> str:
    return courses.get_course(t, at.radio(key="courses_list").value).title


def _modules(db, workspace, title: str) -> list[str]:
    with db.workspace(workspace) as t:
        course = next(c for c in courses.list_courses(t) if c.title == title)
        return [m.title for m in courses.list_modules(t, course.id)]


def test_a_new_course_becomes_the_one_edited_and_its_modules_land_in_it(workspace, db):
    at = _create(_courses_page(), "Course A")
    assert _edited(at) == "Course A"
    _add_module(at, "A1")
    at = _create(at, "Marketing 101")
    assert _edited(at) == "Marketing 101"
    with db.workspace(workspace) as t:
        assert _selected(at, t) == "Marketing 101"
    _add_module(at, "Week 1")
    assert _modules(db, workspace, "Marketing 101") == ["Week 1"]
    assert _modules(db, workspace, "Course A") == ["A1"]


def test_a_duplicate_becomes_the_selection(workspace, db):
    at = _create(_courses_page(), "Course A")
    at = _create(at, "Course B")
    with db.workspace(workspace) as t:
        first = next(c.id for c in courses.list_courses(t) if c.title == "Course A")
    at.radio(key="courses_list").set_value(first).run()
    assert _edited(at) == "Course A"
    at.button(key="courses_duplicate").click().run()
    assert _edited(at) == "Copy of Course A"
    with db.workspace(workspace) as t:
        assert _selected(at, t) == "Copy of Course A"
    _add_module(at, "Copied week")
    assert _modules(db, workspace, "Copy of Course A") == ["Copied week"]
    assert _modules(db, workspace, "Course A") == []


def test_two_copies_with_the_same_label_are_told_apart(workspace, db):
    at = _create(_courses_page(), "Course A")
    at.button(key="courses_duplicate").click().run()
    with db.workspace(workspace) as t:
        first = next(c.id for c in courses.list_courses(t) if c.title == "Course A")
    at.radio(key="courses_list").set_value(first).run()
    at.button(key="courses_duplicate").click().run()
    with db.workspace(workspace) as t:
        copies = [c.id for c in courses.list_courses(t) if c.title == "Copy of Course A"]
    radio = at.radio(key="courses_list")
    assert len(copies) == 2 and len(set(radio.options)) == 3
    # The newest copy sits right after the original; the list selects it, not its twin.
    assert radio.value == copies[0] and radio.index == 1
    assert radio.proto.raw_value == radio.options[1]


def test_an_imported_outline_becomes_the_selection(workspace, db):
    at = _create(_courses_page(), "Course A")
    outline = json.dumps({"title": "Imported course", "modules": [{"title": "Intro", "lessons": []}]}).encode()
    at.file_uploader(key="courses_import_file").upload("outline.json", outline, "application/json").run()
    at.button(key="courses_import_button").click().run()
    assert not at.exception
    assert _edited(at) == "Imported course"
    with db.workspace(workspace) as t:
        assert _selected(at, t) == "Imported course"
    _add_module(at, "Week 2")
    assert _modules(db, workspace, "Imported course") == ["Intro", "Week 2"]
    assert _modules(db, workspace, "Course A") == []

    at.button(key="courses_import_button").click().run()  # the same outline again: a distinct entry
    assert _edited(at) == "Imported course (imported)"
    assert any(s.value == "Outline imported as the draft course 'Imported course (imported)'." for s in at.success)


def test_after_unpublish_the_list_still_selects_the_course_edited(workspace, db):
    with db.workspace(workspace) as t:
        video = videos.create_video(t, title="Decorators", source_type="youtube", source_id="dQw4w9WgXcQ",
                                    duration_seconds=300)
        first = courses.create_course(t, "First")
        second = courses.create_course(t, "Second")
        courses.add_lesson(t, courses.create_module(t, second, "Week 1"), video)
        courses.publish_course(t, second, accepted=courses.publish_checklist(t, second))  # its video is pending
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


def _course_with_three_lessons(db, workspace) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    with db.workspace(workspace) as t:
        course = courses.create_course(t, "Python basics")
        module = courses.create_module(t, course, "Week 1")
        lessons = [courses.add_lesson(t, module, videos.create_video(
            t, title=title, source_type="youtube", source_id=uuid.uuid4().hex[:11], duration_seconds=300))
            for title in ("Variables", "Loops", "Functions")]
    return course, module, lessons


def _order(db, workspace, module) -> list[uuid.UUID]:
    with db.workspace(workspace) as t:
        return [lesson.id for lesson in courses.list_lessons(t, module)]


def _by_key_prefix(widgets, prefix: str):
    return next(w for w in widgets if w.key and w.key.startswith(prefix))


def _refused(at: AppTest) -> bool:
    return any(f"{STALE} — here is the current version" in w.value for w in at.warning)


def test_a_move_from_a_stale_tab_is_refused_with_the_current_version(workspace, db):
    _, module, (variables, loops, functions) = _course_with_three_lessons(db, workspace)
    tab_a, tab_b = _courses_page(), _courses_page()

    tab_a.button(key=f"courses_down_{variables}").click().run()
    assert _order(db, workspace, module) == [loops, variables, functions]
    assert not _refused(tab_a)

    tab_b.button(key=f"courses_down_{variables}").click().run()  # tab B still shows Variables first
    assert not tab_b.exception
    assert _refused(tab_b)
    assert _order(db, workspace, module) == [loops, variables, functions]
    assert "**1.** Loops" in "\n".join(m.value for m in tab_b.markdown)  # the current version


def test_a_lesson_edit_from_a_stale_tab_does_not_overwrite_a_rename(workspace, db):
    _, module, (variables, _, _) = _course_with_three_lessons(db, workspace)
    tab_a, tab_b = _courses_page(), _courses_page()

    _by_key_prefix(tab_a.text_input, f"courses_lesson_title_{variables}").input("Names and values")
    _by_key_prefix(tab_a.button, f"FormSubmitter:courses_lesson_form_{variables}").click().run()
    assert any("Lesson saved" in s.value for s in tab_a.success)

    _by_key_prefix(tab_b.number_input, f"courses_lesson_minutes_{variables}").set_value(12)
    _by_key_prefix(tab_b.button, f"FormSubmitter:courses_lesson_form_{variables}").click().run()
    assert not tab_b.exception
    assert _refused(tab_b) and not any("Lesson saved" in s.value for s in tab_b.success)
    with db.workspace(workspace) as t:
        saved = courses.list_lessons(t, module)[0]
    assert (saved.title, saved.estimated_duration_minutes) == ("Names and values", 5)
    # The form shows the current version, not the old title tab B had.
    assert _by_key_prefix(tab_b.text_input, f"courses_lesson_title_{variables}").value == "Names and values"


def test_a_drag_from_a_stale_tab_is_refused_not_dropped_in_silence(workspace, db):
    course, module, (variables, loops, functions) = _course_with_three_lessons(db, workspace)
    tab_a, tab_b = _courses_page(), _courses_page()
    tab_a.button(key=f"courses_down_{variables}").click().run()

    drawn = tab_b.session_state[f"courses_drag_{course}"]
    items = drawn.containers()[0]["items"]
    tab_b.session_state[drawn.key] = [{"header": "Week 1", "items": [items[2], items[0], items[1]]}]  # a drop
    tab_b.run()
    assert not tab_b.exception
    assert _refused(tab_b)
    assert _order(db, workspace, module) == [loops, variables, functions]

    drawn = tab_b.session_state[f"courses_drag_{course}"]  # remounted with the stored order
    items = drawn.containers()[0]["items"]
    tab_b.session_state[drawn.key] = [{"header": "Week 1", "items": [items[2], items[0], items[1]]}]
    tab_b.run()
    assert not _refused(tab_b) and any("New order saved" in s.value for s in tab_b.success)
    assert _order(db, workspace, module) == [functions, loops, variables]


def _published(db, workspace, course) -> bool:
    with db.workspace(workspace) as t:
        return courses.get_course(t, course).is_published


def test_publishing_a_course_with_problems_shows_the_checklist_and_asks_first(workspace, db):
    with db.workspace(workspace) as t:
        course = courses.create_course(t, "Python basics")
        module = courses.create_module(t, course, "Week 1")
        courses.create_module(t, course, "Week 2")
        fine = videos.create_video(t, title="Variables", source_type="youtube", source_id="aaaaaaaaaaa",
                                   duration_seconds=300)
        broken = videos.create_video(t, title="Loops", source_type="youtube", source_id="bbbbbbbbbbb",
                                     duration_seconds=300)
        videos.set_status(t, fine, "completed")
        videos.set_status(t, broken, "failed", "captions are disabled")
        courses.add_lessons(t, module, [fine, broken])
    at = _courses_page()
    warnings = "\n".join(w.value for w in at.warning)
    assert "Lesson 'Loops' (Module 1): video failed to import" in warnings
    assert "Module 2 ('Week 2') has no lessons yet." in warnings
    # Each video problem links to the Videos page opened on that video.
    links = [element.proto for element in at.get("page_link")]
    assert any(link.query_string == f"video={broken}" and link.label == "See why, retry" for link in links)

    at.button(key="courses_publish").click().run()
    assert not at.exception and not _published(db, workspace, course)
    assert any("2 problems" in w.value and "Publish anyway?" in w.value for w in at.warning)
    at.button(key="courses_publish_anyway").click().run()
    assert not at.exception and _published(db, workspace, course)
    assert any("Published" in s.value for s in at.success)


def test_a_checklist_fix_removes_the_broken_lesson(workspace, db):
    with db.workspace(workspace) as t:
        course = courses.create_course(t, "Python basics")
        module = courses.create_module(t, course, "Week 1")
        gone = videos.create_video(t, title="Gone", source_type="youtube", source_id="ccccccccccc",
                                   duration_seconds=300)
        kept = videos.create_video(t, title="Kept", source_type="youtube", source_id="ddddddddddd",
                                   duration_seconds=300)
        videos.set_status(t, kept, "completed")
        lessons = courses.add_lessons(t, module, [gone, kept])
        videos.soft_delete_video(t, gone)
    at = _courses_page()
    _by_key_prefix(at.button, "courses_fix_remove_").click().run()
    assert not at.exception
    assert _order(db, workspace, module) == [lessons[1]]
    at.button(key="courses_publish").click().run()  # nothing left to ask about
    assert _published(db, workspace, course)


def test_publish_from_a_stale_tab_is_refused(workspace, db):
    with db.workspace(workspace) as t:
        course = courses.create_course(t, "Python basics")
        video = videos.create_video(t, title="Variables", source_type="youtube", source_id="eeeeeeeeeee",
                                    duration_seconds=300)
        videos.set_status(t, video, "completed")
        courses.add_lesson(t, courses.create_module(t, course, "Week 1"), video)
    tab_a, tab_b = _courses_page(), _courses_page()
    tab_a.button(key="courses_publish").click().run()
    tab_a.button(key="courses_unpublish").click().run()
    assert not _published(db, workspace, course)

    tab_b.button(key="courses_publish").click().run()  # tab B drew the course before both changes
    assert not tab_b.exception and _refused(tab_b)
    assert not _published(db, workspace, course)


def test_a_course_move_from_a_stale_tab_is_refused(workspace, db):
    with db.workspace(workspace) as t:
        a, b, c = (courses.create_course(t, name) for name in ("Course A", "Course B", "Course C"))
    tab_a, tab_b = _courses_page(), _courses_page()
    for tab in (tab_a, tab_b):
        tab.radio(key="courses_list").set_value(b).run()
    tab_a.button(key="courses_move_up").click().run()  # B, A, C

    tab_b.button(key="courses_move_down").click().run()  # tab B still shows A, B, C
    assert not tab_b.exception
    assert any("course list was changed in another tab — here is the current version" in w.value
               for w in tab_b.warning)
    with db.workspace(workspace) as t:
        assert [x.id for x in courses.list_courses(t)] == [b, a, c]


def test_lesson_buttons_are_named_for_screen_readers(workspace, db):
    """A button's accessible name is its label (Streamlit sets no aria-label; ``help`` is a tooltip):
    the labels say what the button does to which lesson, and the page shows only their icons."""
    _, _, (variables, loops, _) = _course_with_three_lessons(db, workspace)
    at = _courses_page()
    up, down, remove = (at.button(key=f"courses_{what}_{loops}") for what in ("up", "down", "remove"))
    assert (up.label, down.label, remove.label) == ("Move lesson 2 up", "Move lesson 2 down", "Remove lesson 2")
    assert up.icon == ":material/arrow_upward:" and remove.icon == ":material/close:"
    assert at.button(key=f"courses_down_{variables}").label == "Move lesson 1 down"
    popovers = {block.proto.popover.label for block in at.get("popover")}
    assert {"Edit lesson 2", "Move lesson 2 to another module"} <= popovers
    assert any('[class*="st-key-courses_up_"]' in h.proto.body for h in at.get("html"))


def test_a_refused_new_course_keeps_what_was_typed_and_a_created_one_clears_the_form(workspace, db):
    at = _courses_page()
    long_title = "Marketing " * 60  # over the 500 characters a title may have
    at.text_input(key="courses_new_title").input(long_title)
    at.text_area(key="courses_new_description").input("Ads, funnels and email.")
    _button(at, "Create course").click().run()
    assert not at.exception
    assert any("characters long" in e.value for e in at.error)
    assert at.text_input(key="courses_new_title").value == long_title
    assert at.text_area(key="courses_new_description").value == "Ads, funnels and email."

    at.text_input(key="courses_new_title").input("Marketing 101")
    _button(at, "Create course").click().run()
    assert _edited(at) == "Marketing 101"
    assert at.text_input(key="courses_new_title").value == ""
    assert at.text_area(key="courses_new_description").value == ""
    with db.workspace(workspace) as t:
        [course] = courses.list_courses(t)
    assert course.description == "Ads, funnels and email."


def test_the_course_builder_reads_what_it_draws_in_one_transaction(workspace, db):
    _course_with_three_lessons(db, workspace)
    at = _courses_page()
    assert at.subheader and not at.exception  # the course is drawn, with its lessons and picker
    assert len(page_transactions(at, "pages/courses.py")) == 1


def test_an_analyst_sees_the_trash_without_a_restore_button(workspace, db, monkeypatch):
    from components import state

    monkeypatch.setattr(state, "can_edit", lambda: False)  # pages then run as the read-only role
    with db.workspace(workspace) as t:
        courses.create_course(t, "Kept")
        courses.delete_course(t, courses.create_course(t, "Gone"))
    at = _courses_page()
    at.toggle(key="courses_show_trash").set_value(True).run()
    assert not at.exception and any("Gone" in m.value for m in at.markdown)
    assert not [b for b in at.button if b.label == "Restore"]


def test_a_course_created_while_the_trash_is_shown_is_the_one_shown(workspace, db):
    at = _courses_page()
    at.toggle(key="courses_show_trash").set_value(True).run()
    at = _create(at, "Made from the trash view")
    assert not at.toggle(key="courses_show_trash").value
    assert _edited(at) == "Made from the trash view"
