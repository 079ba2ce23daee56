"""Lesson moves of the course builder, each saved in one call with the concept-order problems it
causes (the lectures of test_insights_concepts: "Loops" uses 'list comprehension', which
"Comprehensions" explains; "Functions" uses 'dictionary', which "Loops" explains)."""

from __future__ import annotations

import uuid

import pytest

from chronos_data import courses
from chronos_data.courses.moves import DraggedLayout, LessonStep, LessonToModule, save_lesson_move
from chronos_data.errors import StaleEdit
from tests.db.test_insights_concepts import COMPREHENSIONS, FUNCTIONS, _captioned, _chunked, _course


@pytest.fixture
def lectures(t) -> dict[str, uuid.UUID]:
    return {"loops": _chunked(t), "functions": _captioned(t, "Functions", FUNCTIONS),
            "comprehensions": _captioned(t, "Comprehensions", COMPREHENSIONS)}


def _layout(t, course: uuid.UUID) -> list[list[uuid.UUID]]:
    return [[lesson.id for lesson in entry.lessons] for entry in courses.course_outline(t, course).modules]


def _revisions(t, course: uuid.UUID) -> dict[uuid.UUID, int]:
    return {entry.module.id: entry.module.revision for entry in courses.course_outline(t, course).modules}


def test_a_step_that_puts_a_use_before_its_explanation_is_saved_and_named(t, lectures):
    course, [[comprehensions, loops], [functions]] = _course(
        t, "Python basics", [[lectures["comprehensions"], lectures["loops"]], [lectures["functions"]]])
    module = courses.course_outline(t, course).modules[0].module

    [caused] = save_lesson_move(t, course, LessonStep(comprehensions, 1, module.revision))

    assert caused.title == "Lesson 1 uses 'list comprehension' at 00:48; it is only explained in lesson 2 (00:10)"
    assert _layout(t, course) == [[loops, comprehensions], [functions]]
    # Moving it back fixes it, and causes nothing.
    assert save_lesson_move(t, course, LessonStep(comprehensions, -1)) == []
    assert _layout(t, course) == [[comprehensions, loops], [functions]]


def test_a_problem_the_course_already_had_is_not_named_again(t, lectures):
    course, [[loops, functions], [comprehensions]] = _course(
        t, "Python basics", [[lectures["loops"], lectures["functions"]], [lectures["comprehensions"]]])

    # 'list comprehension' was used too early before and still is; 'dictionary' is new.
    caused = save_lesson_move(t, course, LessonStep(functions, -1))

    assert [insight.evidence["term"] for insight in caused] == ["dictionary"]
    assert _layout(t, course) == [[functions, loops], [comprehensions]]


def test_a_drag_across_modules_is_saved_with_what_it_causes(t, lectures):
    course, [[comprehensions, loops], [functions]] = _course(
        t, "Python basics", [[lectures["comprehensions"], lectures["loops"]], [lectures["functions"]]])
    week1, week2 = (entry.module.id for entry in courses.course_outline(t, course).modules)

    caused = save_lesson_move(t, course, DraggedLayout({week1: [loops], week2: [functions, comprehensions]},
                                                       _revisions(t, course)))

    assert _layout(t, course) == [[loops], [functions, comprehensions]]
    assert sorted(insight.evidence["term"] for insight in caused) == ["list comprehension"]
    assert caused[0].evidence["explained"]["lesson"] == "Comprehensions"


def test_a_drag_drawn_before_another_change_is_refused_and_saves_nothing(t, lectures):
    course, [[comprehensions, loops], [functions]] = _course(
        t, "Python basics", [[lectures["comprehensions"], lectures["loops"]], [lectures["functions"]]])
    week1, week2 = (entry.module.id for entry in courses.course_outline(t, course).modules)
    drawn = _revisions(t, course)
    courses.move_lesson(t, loops, -1)  # another tab: Loops first

    with pytest.raises(StaleEdit):
        save_lesson_move(t, course, DraggedLayout({week1: [loops], week2: [functions, comprehensions]}, drawn))
    with pytest.raises(StaleEdit):
        save_lesson_move(t, course, LessonStep(comprehensions, -1, drawn[week1]))
    with pytest.raises(StaleEdit):
        save_lesson_move(t, course, LessonToModule(comprehensions, week2, drawn[week1]))
    assert _layout(t, course) == [[loops, comprehensions], [functions]]


def test_a_lesson_sent_to_another_module_goes_last_there(t, lectures):
    course, [[comprehensions, loops], [functions]] = _course(
        t, "Python basics", [[lectures["comprehensions"], lectures["loops"]], [lectures["functions"]]])
    week1, week2 = (entry.module.id for entry in courses.course_outline(t, course).modules)

    caused = save_lesson_move(t, course, LessonToModule(comprehensions, week2, _revisions(t, course)[week1]))

    assert _layout(t, course) == [[loops], [functions, comprehensions]]
    assert [insight.evidence["term"] for insight in caused] == ["list comprehension"]
