"""Pieces of the course builder: lesson labels for drag and drop, durations, the student preview."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import streamlit as st

from chronos_data.courses import CourseOutline, Lesson
from components.layout import inert, plural
from components.moment_player import render_lesson_player

__all__ = ["DrawnOrder", "dragged_changes", "format_minutes", "lesson_labels", "render_preview"]


def format_minutes(minutes: int | None) -> str:
    if not minutes:
        return "–"
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def lesson_labels(lessons: dict[uuid.UUID, list[Lesson]]) -> dict[uuid.UUID, str]:
    """Each lesson's label in the drag-and-drop list: its title and length, and "(2)", "(3)" … on
    a repeat (the list tells items apart by their text; an id fragment such as "#324bfd" meant
    nothing to a creator)."""
    labels: dict[uuid.UUID, str] = {}
    seen: Counter[str] = Counter()
    for module_lessons in lessons.values():
        for lesson in module_lessons:
            label = f"{lesson.title} · {format_minutes(lesson.estimated_duration_minutes)}"
            seen[label] += 1
            labels[lesson.id] = label if seen[label] == 1 else f"{label} ({seen[label]})"
    return labels


@dataclass(frozen=True)
class DrawnOrder:
    """The lesson order a drag-and-drop list was mounted with, and the module revisions it showed.

    The component keeps the order it was mounted with until its key changes, whatever the page
    passes later; a drop is therefore read against this order, and saved only if these revisions
    are still the stored ones.
    """

    course_id: uuid.UUID
    generation: int  # a new one mounts a fresh list (after a save, or a change made elsewhere)
    module_ids: tuple[uuid.UUID, ...]
    headers: tuple[str, ...]
    lessons: dict[uuid.UUID, list[Lesson]]
    revisions: dict[uuid.UUID, int]
    stale: bool = False  # a drop from this list was handled: mount the stored order next

    @classmethod
    def of(cls, outline: CourseOutline, *, generation: int) -> DrawnOrder:
        return cls(outline.course.id, generation, tuple(m.module.id for m in outline.modules),
                   tuple(m.module.title for m in outline.modules),
                   {m.module.id: list(m.lessons) for m in outline.modules},
                   {m.module.id: m.module.revision for m in outline.modules})

    @property
    def key(self) -> str:
        return f"courses_sortable_{self.course_id}_{self.generation}"

    def containers(self) -> list[dict]:
        """The streamlit-sortables input: one {"header", "items"} per module."""
        labels = lesson_labels(self.lessons)
        return [{"header": header, "items": [labels[lesson.id] for lesson in self.lessons[module_id]]}
                for module_id, header in zip(self.module_ids, self.headers, strict=True)]

    def layout(self) -> tuple:
        """What the list shows: modules, their titles and their lessons, in order."""
        return tuple((module_id, header, tuple(lesson.id for lesson in self.lessons[module_id]))
                     for module_id, header in zip(self.module_ids, self.headers, strict=True))

    def mark_stale(self) -> DrawnOrder:
        return replace(self, stale=True)


def dragged_changes(
    before: dict[uuid.UUID, list[Lesson]], after: Sequence[dict], module_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The new lesson order of every module whose order changed in the drag-and-drop result.

    ``after`` is what streamlit-sortables returned: one {"header", "items"} per module, in
    ``module_ids`` order, items being lesson labels.
    """
    by_label = {label: lesson_id for lesson_id, label in lesson_labels(before).items()}
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
