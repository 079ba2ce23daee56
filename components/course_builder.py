"""Pieces of the course builder: lesson labels for drag and drop, durations, the student preview."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence

import streamlit as st

from chronos_data.courses import CourseOutline, Lesson
from components.layout import inert, plural
from components.moment_player import render_lesson_player

__all__ = ["dragged_changes", "format_minutes", "lesson_label", "render_preview", "sortable_key"]


def format_minutes(minutes: int | None) -> str:
    if not minutes:
        return "–"
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def lesson_label(lesson: Lesson) -> str:
    """A unique, readable label for the drag-and-drop list (the short id keeps equal titles apart)."""
    return f"{lesson.title} · {format_minutes(lesson.estimated_duration_minutes)} · #{str(lesson.id)[:6]}"


def sortable_key(outline: CourseOutline) -> str:
    """A widget key that changes whenever the saved order changes.

    The drag-and-drop component remembers the last order it reported; a fresh key after every
    saved change (a button, another tab) makes it start from the database's order instead of
    replaying an old drag over newer edits.
    """
    layout = [[str(lesson.id) for lesson in m.lessons] for m in outline.modules]
    digest = hashlib.sha1(json.dumps(layout).encode()).hexdigest()[:12]
    return f"courses_sortable_{outline.course.id}_{digest}"


def dragged_changes(
    before: dict[uuid.UUID, list[Lesson]], after: Sequence[dict], module_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The new lesson order of every module whose order changed in the drag-and-drop result.

    ``after`` is what streamlit-sortables returned: one {"header", "items"} per module, in
    ``module_ids`` order, items being lesson labels.
    """
    by_label = {lesson_label(lesson): lesson.id for lessons in before.values() for lesson in lessons}
    changed: dict[uuid.UUID, list[uuid.UUID]] = {}
    for module_id, container in zip(module_ids, after, strict=True):
        new_order = [by_label[label] for label in container["items"] if label in by_label]
        if new_order != [lesson.id for lesson in before.get(module_id, [])]:
            changed[module_id] = new_order
    return changed


def render_preview(outline: CourseOutline) -> None:
    """The course as a student sees it: modules, lessons, durations, required marks, a player."""
    course = outline.course
    st.markdown(f"### {inert(course.title)}")
    if course.description:
        st.markdown(inert(course.description))
    lessons_total = sum(len(m.lessons) for m in outline.modules)
    st.caption(f"{plural(len(outline.modules), 'module')} · {plural(lessons_total, 'lesson')} · "
               f"{format_minutes(outline.total_minutes)}")
    choices: list[tuple[str, Lesson]] = []
    for number, module in enumerate(outline.modules, start=1):
        st.markdown(f"**Module {number}: {inert(module.module.title)}**")
        lines = []
        for lesson in module.lessons:
            required = "" if lesson.is_required else " *(optional)*"
            problem = f" :red[{lesson.health}]" if lesson.health else ""
            lines.append(f"{lesson.lesson_order}. {inert(lesson.title)} · "
                         f"{format_minutes(lesson.estimated_duration_minutes)}{required}{problem}")
            choices.append((f"{number}.{lesson.lesson_order} {lesson.title}", lesson))
        st.markdown("\n".join(lines) if lines else "_No lessons yet._")
    if not choices:
        return
    label = st.selectbox("Watch a lesson", [c[0] for c in choices], key=f"courses_preview_{course.id}")
    lesson = dict(choices)[label]
    render_lesson_player(lesson, start_seconds=int(st.session_state.get("courses_preview_start", 0)))
