"""Courses: shape courses from modules and ordered lessons, preview them, publish them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import streamlit as st
from streamlit_sortables import sort_items

from chronos_data import courses, outlines, page_data
from chronos_data.courses import moves as lesson_moves
from chronos_data.errors import ChronosError, StaleEdit
from chronos_data.insights import Insight
from chronos_data.videos import Video
from components import layout, state
from components.analytics_data import Queries
from components.course_builder import DrawnOrder, dragged_changes, format_minutes, render_preview
from components.insights_view import render_passages

state.require_router()

st.title("Courses")

# The drag-and-drop list in the app's colours: light cards, left-aligned text.
SORTABLE_STYLE = """
.sortable-component { border: none; background: transparent; }
.sortable-container { background-color: #f4f5fb; border-radius: 8px; }
.sortable-container-header { font-weight: 600; color: #1f2333; }
.sortable-item, .sortable-item:hover { background-color: #ffffff; color: #1f2333; border: 1px solid #d9dbe8;
  border-radius: 6px; justify-content: flex-start; font-size: 14px; }
"""


def _save(action, message: str | None = None, *, select: bool = False) -> bool:
    """A widget callback: run one change in a transaction and leave a note for the next run.

    Callbacks receive the values the widget was DRAWN with (ids, revisions), so a click in a tab
    that shows an old version carries that old revision and is refused, instead of being bound to
    whatever the database holds by the time the page reruns. ``select``: the action returns a
    course id, which becomes the course shown. Returns whether the change was saved.
    """
    try:
        with state.workspace() as t:
            result = action(t)
    except StaleEdit as exc:
        st.session_state["courses_flash"] = ("warning", str(exc))
        return False
    except ChronosError as exc:
        st.session_state["courses_flash"] = ("error", str(exc))
        return False
    else:
        if select:
            _select(result)
            st.session_state["courses_leave_trash"] = True  # show the course chosen, not the trash
        if message:
            st.session_state["courses_flash"] = ("success", message)
        return True


def _move(course_id: uuid.UUID, move: lesson_moves.LessonMove, message: str | None = None) -> None:
    """A widget callback: save a lesson move of the course shown; a term the new order uses before
    the lesson that explains it is named at once."""
    caused: list = []  # what the move caused, filled inside _save's transaction
    if _save(lambda t: caused.extend(lesson_moves.save_lesson_move(t, course_id, move)), message) and caused:
        title = caused[0].title
        st.session_state["courses_flash"] = (
            "warning", f"{message or 'Saved.'} In this order, {title[0].lower()}{title[1:]}: "
                       "move it back, or explain the term earlier.")


def _select(course_id: uuid.UUID) -> None:
    st.session_state["courses_selected"] = course_id


def _typed(key: str) -> Any:
    """What a form's widget held when it was submitted (read inside its submit callback)."""
    return st.session_state.get(key)


def _concept_warnings(found: list[Insight]) -> None:
    """Part of the pre-publish checklist: terms used before the lesson that explains them."""
    for insight in found:
        st.warning(insight.title, icon=":material/swap_vert:")
        with st.expander("The two passages", expanded=False):
            render_passages(insight)


def _flash() -> None:
    if flash := st.session_state.pop("courses_flash", None):
        kind, text = flash
        getattr(st, kind)(text)


def _new_course() -> None:
    with st.popover("New course", icon=":material/add:"):
        # Cleared only once the course exists: a refused title stays to be corrected.
        with st.form("courses_new_form"):
            st.text_input("Title", key="courses_new_title")
            st.text_area("Description", key="courses_new_description")
            st.form_submit_button("Create course", type="primary", on_click=_create_course)
    with st.popover("Import outline", icon=":material/upload_file:"):
        outline = st.file_uploader("Course outline (.json)", type=["json"], key="courses_import_file")
        if outline is not None:
            st.button("Import", key="courses_import_button", on_click=_save, args=(_import_outline,),
                      kwargs={"select": True})


def _create_course() -> None:
    title, description = _typed("courses_new_title") or "", _typed("courses_new_description") or None
    if _save(lambda t: courses.create_course(t, title, description), "Course created as a draft.", select=True):
        st.session_state["courses_new_title"] = st.session_state["courses_new_description"] = ""


def _import_outline(t) -> uuid.UUID:
    result = outlines.import_outline(t, st.session_state["courses_import_file"].getvalue())
    # Named: a title already in use was given " (imported)".
    st.session_state["courses_flash"] = ("success", f"Outline imported as the draft course '{result.title}'.")
    if result.unmatched:
        st.session_state["courses_unmatched"] = result.unmatched
    return result.course_id


def _pick_course() -> None:
    _select(st.session_state["courses_list"])


def _course_list(all_courses: list[courses.Course], selected: uuid.UUID) -> None:
    """The list of courses, showing as selected the course the page edits (``selected``)."""
    ids = [c.id for c in all_courses]
    _select(selected)
    # Set on every run: the radio remembers its choice by label, and a label changes when the
    # course is published or gains a lesson; a new, copied or imported course is chosen here too.
    st.session_state["courses_list"] = selected
    labels: dict[uuid.UUID, str] = {}
    for c in all_courses:
        status = "Published" if c.is_published else "Draft"
        label = f"{layout.inert(c.title)} · {status} · {layout.plural(c.lesson_count, 'lesson')}"
        # The radio tells its options apart by label: two copies of one course need two labels.
        repeats = sum(1 for shown in labels.values() if shown == label or shown.startswith(f"{label} ("))
        labels[c.id] = f"{label} ({repeats + 1})" if repeats else label
    st.radio("Your courses", ids, format_func=labels.get, key="courses_list", on_change=_pick_course)


def _publish(course: courses.Course, checklist: list[courses.PublishProblem]) -> None:
    """Publish at once when the checklist is clean (or blocked: the refusal says why); else ask first."""
    if checklist and not any(problem.blocks for problem in checklist):
        st.session_state["courses_confirm_publish"] = (course.id, course.revision)
        return
    _save(lambda t: courses.publish_course(t, course.id, expected_revision=course.revision, accepted=checklist),
          "Published.")


def _confirm_publish(course: courses.Course, checklist: list[courses.PublishProblem]) -> None:
    """The question asked when Publish is clicked on a course with problems (listed above it)."""
    if st.session_state.get("courses_confirm_publish") != (course.id, course.revision):
        return
    st.warning(f"Students would meet {layout.plural(len(checklist), 'problem')} of the checklist above. "
               "Publish anyway?", icon=":material/warning:")

    def anyway(t) -> None:
        st.session_state.pop("courses_confirm_publish", None)
        # The checklist drawn with the question: a problem that appeared since refuses the publish.
        courses.publish_course(t, course.id, expected_revision=course.revision, accepted=checklist)
    row = st.container(horizontal=True, gap="small")
    row.button("Publish anyway", key="courses_publish_anyway", type="primary", on_click=_save,
               args=(anyway, "Published with the problems listed."))
    row.button("Cancel", key="courses_publish_cancel",
               on_click=lambda: st.session_state.pop("courses_confirm_publish", None))


def _checklist(outline: courses.CourseOutline, checklist: list[courses.PublishProblem]) -> None:
    """The pre-publish checklist: each problem with the way to fix it."""
    if not checklist:
        return
    revisions = {entry.module.id: entry.module.revision for entry in outline.modules}
    with st.container(border=True):
        st.markdown(f"**Before you publish** · {layout.plural(len(checklist), 'problem')}")
        for number, problem in enumerate(checklist):
            text, fix = st.columns([3, 2], vertical_alignment="center")
            text.warning(problem.message, icon=_PROBLEM_ICONS.get(problem.kind, ":material/report:"))
            if not state.can_edit():
                continue
            row = fix.container(horizontal=True, gap="small")
            if problem.video_id is not None:
                row.page_link("pages/videos.py", label=_VIDEO_FIX[problem.kind], icon=":material/video_library:",
                              query_params={"video": str(problem.video_id)})
            if problem.lesson_id is not None:
                lesson_id, revision = problem.lesson_id, revisions[problem.module_id]
                row.button("Remove lesson", key=f"courses_fix_remove_{number}_{lesson_id}",
                           help="Take this lesson out of the course (the video stays in your library)",
                           on_click=_save, args=(
                               lambda t, lesson_id=lesson_id, revision=revision:
                               courses.remove_lesson(t, lesson_id, expected_revision=revision), "Lesson removed."))
            elif problem.kind == "empty_module":
                module_id, revision = problem.module_id, revisions[problem.module_id]
                row.button("Delete empty module", key=f"courses_fix_module_{module_id}", on_click=_save, args=(
                    lambda t, module_id=module_id, revision=revision:
                    courses.delete_module(t, module_id, expected_revision=revision), "Module deleted."))
                row.caption("or add videos to it under Build")
            elif problem.kind == "no_lessons":
                row.caption("Add a module and videos under Build")


_PROBLEM_ICONS = {"video_deleted": ":material/delete:", "video_failed": ":material/error:",
                  "video_processing": ":material/hourglass_top:", "empty_module": ":material/folder_off:",
                  "no_lessons": ":material/playlist_remove:"}
_VIDEO_FIX = {"video_deleted": "Restore the video", "video_failed": "See why, retry",
              "video_processing": "Watch its progress"}


def _outline_file(course_id: uuid.UUID, kind: str) -> Callable[[], str]:
    """A download's contents, made when the button is clicked (on a thread of its own, outside this
    session's run: the database and the workspace are bound now)."""
    db = state.get_database()
    creator_id, read_only = state.current_creator_id(db), not state.can_edit()

    def written() -> str:
        with db.workspace(creator_id, read_only=read_only) as t:
            if kind == "json":
                return json.dumps(outlines.export_outline(t, course_id), indent=2)
            return outlines.outline_markdown(t, course_id)
    return written


def _course_actions(outline: courses.CourseOutline, checklist: list[courses.PublishProblem],
                    drawn_order: list[uuid.UUID]) -> None:
    course = outline.course
    position, count = drawn_order.index(course.id) + 1, len(drawn_order)
    # A row that sizes each button to its label and wraps: six equal columns cut them to "Unp…".
    row = st.container(horizontal=True, gap="small")
    # Each write carries what the page was drawn from: the course's revision (publishing bumps it)
    # or the course list's order, so a click in a stale tab is refused instead of misapplied.
    if course.is_published:
        row.button("Unpublish", key="courses_unpublish", icon=":material/unpublished:", on_click=_save,
                   args=(lambda t: courses.unpublish_course(t, course.id, expected_revision=course.revision),
                         "The course is a draft again."))
    else:
        row.button("Publish", key="courses_publish", type="primary", icon=":material/publish:", on_click=_publish,
                   args=(course, checklist))
    row.button("Duplicate", key="courses_duplicate", icon=":material/content_copy:", on_click=_save,
                   args=(lambda t: courses.duplicate_course(t, course.id), "Copied as a draft."),
                   kwargs={"select": True})
    row.button("Earlier", key="courses_move_up", icon=":material/arrow_upward:", disabled=position == 1,
                   help="Move this course up in your course list", on_click=_save,
                   args=(lambda t: courses.move_course(t, course.id, position - 1, expected_order=drawn_order),))
    row.button("Later", key="courses_move_down", icon=":material/arrow_downward:",
                   disabled=position == count, help="Move this course down in your course list", on_click=_save,
                   args=(lambda t: courses.move_course(t, course.id, position + 1, expected_order=drawn_order),))
    with row.popover("Export", icon=":material/download:"):
        # Written when clicked, not on every run of the page; a download does not rerun the page.
        st.download_button("Outline as JSON", _outline_file(course.id, "json"), f"{course.title}.json",
                           "application/json", key="courses_export_json", on_click="ignore")
        st.download_button("Outline as Markdown", _outline_file(course.id, "markdown"), f"{course.title}.md",
                           "text/markdown", key="courses_export_md", on_click="ignore")
    if row.button("Delete", key="courses_delete", icon=":material/delete:"):
        st.session_state["courses_confirm_delete"] = course.id
    if not course.is_published:
        _confirm_publish(course, checklist)
    if st.session_state.get("courses_confirm_delete") == course.id:
        st.warning("Move this course to the trash? You can restore it with its modules and lessons.",
                   icon=":material/warning:")
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Move to trash", key="courses_delete_confirm", type="primary"):
            st.session_state.pop("courses_confirm_delete", None)
            _save(lambda t: courses.delete_course(t, course.id), "Course moved to the trash.")
            st.rerun()
        if no.button("Cancel", key="courses_delete_cancel"):
            st.session_state.pop("courses_confirm_delete", None)
            st.rerun()


def _details(course: courses.Course) -> None:
    # Keys carry the revision: after any saved change the form shows the stored details again.
    keys = {name: f"courses_edit_{name}_{course.id}_{course.revision}" for name in ("title", "description", "thumb")}
    with st.expander("Course details"), st.form(f"courses_details_{course.id}"):
        st.text_input("Title", value=course.title, key=keys["title"])
        st.text_area("Description", value=course.description or "", key=keys["description"])
        st.text_input("Thumbnail image URL", value=course.thumbnail_url or "", key=keys["thumb"])
        # Strings as typed: an emptied field clears the description or thumbnail.
        st.form_submit_button("Save details", on_click=_save, args=(
            lambda t: courses.update_course(t, course.id, title=_typed(keys["title"]),
                                            description=_typed(keys["description"]),
                                            thumbnail_url=_typed(keys["thumb"]), expected_revision=course.revision),
            "Saved."))


def _library_picker(module: courses.Module, in_module: set[uuid.UUID], videos: list[Video]) -> None:
    ready_only = st.toggle("Only videos ready to watch", key=f"courses_pick_ready_{module.id}")
    library = [v for v in videos if v.id not in in_module and (v.status == "completed" or not ready_only)]
    if not library:
        st.caption("Every video of your library is in this module already, or the library is empty.")
        return
    status = {v.id: ("" if v.status == "completed" else f" ({v.status})") for v in library}
    titles = {v.id: v.title + status[v.id] for v in library}
    key = f"courses_pick_{module.id}"

    def add(t):
        chosen = _typed(key) or []
        if chosen:
            courses.add_lessons(t, module.id, chosen)
            st.session_state["courses_flash"] = ("success", f"Added {layout.plural(len(chosen), 'lesson')}.")
    # A form: picking several videos does not rerun the page after each pick.
    with st.form(f"courses_pick_form_{module.id}", clear_on_submit=True, border=False):
        st.multiselect("Add videos as lessons", list(titles), format_func=titles.get, key=key,
                       placeholder="Search your library…")
        st.form_submit_button("Add selected videos", on_click=_save, args=(add,))


def _lesson_row(lesson: courses.Lesson, module: courses.Module, modules: list[courses.Module], last: int,
                stats: dict | None = None) -> None:
    """One lesson with its buttons; each write carries ``module.revision``, the order it was drawn from."""
    # The buttons are icons in a row sized to them (it wraps when narrow): equal shares of the
    # column cut "Edit" and "Move to…" to "E…" and "M…" at 1280 px.
    text, controls = st.columns([1, 1], vertical_alignment="center")
    row = controls.container(horizontal=True, gap=None, horizontal_alignment="right")
    flag = f" :red-badge[{lesson.health}]" if lesson.health else ""
    optional = "" if lesson.is_required else " :gray-badge[optional]"
    text.markdown(f"**{lesson.lesson_order}.** {layout.inert(lesson.title)} · "
                  f"{format_minutes(lesson.estimated_duration_minutes)}{optional}{flag}")
    if stats and stats["students"]:
        facts = [layout.plural(stats["students"], "student"), f"{stats['completion_rate'] or 0:.0f}% completed"]
        if stats["drop_off"] is not None:
            facts.append(f"{stats['drop_off']:.0f}% stop before the next lesson")
        text.caption(" · ".join(facts))
    revision = module.revision
    # Labels a screen reader reads ("Move lesson 2 up"), shown as the icon only (ICON_ONLY_BUTTONS):
    # a glyph label was read as "upwards arrow", and ``help`` is a tooltip, not the button's name.
    number = lesson.lesson_order
    row.button(f"Move lesson {number} up", key=f"courses_up_{lesson.id}", icon=":material/arrow_upward:",
              help="Move up", disabled=number == 1, on_click=_move,
              args=(module.course_id, lesson_moves.LessonStep(lesson.id, -1, revision)))
    row.button(f"Move lesson {number} down", key=f"courses_down_{lesson.id}", icon=":material/arrow_downward:",
                help="Move down", disabled=number == last, on_click=_move,
                args=(module.course_id, lesson_moves.LessonStep(lesson.id, 1, revision)))
    keys = {name: f"courses_lesson_{name}_{lesson.id}_{revision}"
            for name in ("title", "description", "required", "minutes")}
    with row.popover(f"Edit lesson {number}", key=f"courses_edit_{lesson.id}", icon=":material/edit:",
                     help="Title, objectives, required, duration"), \
            st.form(f"courses_lesson_form_{lesson.id}", border=False):
        st.text_input("Lesson title", value=lesson.title, key=keys["title"],
                      help=f"The video is called '{lesson.video_title}'; the lesson may say it differently.")
        st.text_area("Description or learning objectives", value=lesson.description or "", key=keys["description"])
        st.checkbox("Required to complete the course", value=lesson.is_required, key=keys["required"])
        st.number_input("Estimated minutes", min_value=1, step=1, value=lesson.estimated_duration_minutes or 1,
                        key=keys["minutes"])
        st.form_submit_button("Save lesson", on_click=_save, args=(
            lambda t: courses.update_lesson(
                t, lesson.id, title=_typed(keys["title"]), description=_typed(keys["description"]),
                is_required=_typed(keys["required"]), estimated_duration_minutes=int(_typed(keys["minutes"])),
                expected_revision=revision),
            "Lesson saved."))
    others = [m for m in modules if m.id != module.id]
    with row.popover(f"Move lesson {number} to another module", key=f"courses_moveto_{lesson.id}",
                     icon=":material/drive_file_move:", help="Move to another module", disabled=not others):
        target_key = f"courses_target_{lesson.id}"
        st.selectbox("Module", [m.id for m in others], key=target_key,
                     format_func=lambda mid: next(m.title for m in others if m.id == mid))
        st.button("Move", key=f"courses_move_{lesson.id}", on_click=lambda: _move(
            module.course_id, lesson_moves.LessonToModule(lesson.id, _typed(target_key), revision), "Lesson moved."))
    row.button(f"Remove lesson {number}", key=f"courses_remove_{lesson.id}", icon=":material/close:",
                  help="Remove this lesson (the video stays)",
                  on_click=_save, args=(lambda t: courses.remove_lesson(t, lesson.id, expected_revision=revision),
                                        "Lesson removed."))


def _build(outline: courses.CourseOutline, library: list[Video], as_of: datetime | None) -> None:
    modules = [m.module for m in outline.modules]
    course_id = outline.course.id
    def add_module() -> None:
        # The course id is bound when the form is drawn: the module goes into the course on screen.
        if _save(lambda t: courses.create_module(t, course_id, _typed("courses_new_module_title") or ""),
                 "Module added."):
            st.session_state["courses_new_module_title"] = ""  # a refused title stays to be corrected
    with st.form(f"courses_new_module_{course_id}"):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        left.text_input("New module", key="courses_new_module_title", placeholder="e.g. Week 1: Basics")
        right.form_submit_button("Add module", on_click=add_module)
    if not modules:
        st.info("Add a first module, then put videos from your library in it as lessons.")
        return
    lessons = {m.module.id: m.lessons for m in outline.modules}
    stats = Queries(state.current_creator_id(state.get_database()), as_of).lesson_stats(outline.course.id)
    if any(lessons.values()):
        st.caption("Drag lessons to reorder them or to move them between modules.")
        _drag_list(outline)
    for number, entry in enumerate(outline.modules, start=1):
        module = entry.module
        with st.expander(f"Module {number}: {layout.inert(module.title)} · {layout.plural(len(entry.lessons), 'lesson')}",
                         expanded=True):
            for lesson in entry.lessons:
                _lesson_row(lesson, module, modules, len(entry.lessons), stats.get((module.id, lesson.video_id)))
            _library_picker(module, {lesson.video_id for lesson in entry.lessons}, library)
            _module_settings(module, number, len(modules), outline.course.revision)


def _drag_list(outline: courses.CourseOutline) -> None:
    """The drag-and-drop list, and saving what was dragged in it.

    The component draws the order it was mounted with and keeps it until its key changes, so the
    order it shows is remembered here (``DrawnOrder``) and a drop is compared with THAT order and
    its revisions: a drop in a tab showing an old order is refused, not applied to the new one nor
    dropped in silence. A fresh key (mounting the stored order) follows every save and every
    change made elsewhere while nothing was being dragged.
    """
    name = f"courses_drag_{outline.course.id}"
    drawn: DrawnOrder | None = st.session_state.get(name)
    current = DrawnOrder.of(outline, generation=0)
    if drawn is None or drawn.stale or (drawn.layout() != current.layout() and not _dropped(drawn)):
        drawn = DrawnOrder.of(outline, generation=drawn.generation + 1 if drawn else 0)
        st.session_state[name] = drawn
    result = sort_items(drawn.containers(), multi_containers=True, direction="vertical", key=drawn.key,
                        custom_style=SORTABLE_STYLE)
    changes = dragged_changes(drawn.lessons, result, drawn.module_ids)
    if changes:
        _move(outline.course.id, lesson_moves.DraggedLayout(changes, drawn.revisions), "New order saved.")
        st.session_state[name] = drawn.mark_stale()
        st.rerun()


def _dropped(drawn: DrawnOrder) -> bool:
    """Whether the mounted list reports an order other than the one it was mounted with."""
    value = st.session_state.get(drawn.key)
    return value is not None and value != drawn.containers()


def _module_settings(module: courses.Module, number: int, count: int, course_revision: int) -> None:
    revision = module.revision
    with st.popover("Module settings", icon=":material/tune:"):
        keys = {name: f"courses_module_{name}_{module.id}_{revision}" for name in ("title", "description")}
        with st.form(f"courses_module_{module.id}"):
            st.text_input("Title", value=module.title, key=keys["title"])
            st.text_area("Description", value=module.description or "", key=keys["description"])
            st.form_submit_button("Save", on_click=_save, args=(
                lambda t: courses.update_module(t, module.id, title=_typed(keys["title"]),
                                                description=_typed(keys["description"]), expected_revision=revision),
                "Module saved."))
        up, down = st.columns(2)
        up.button("Move module up", key=f"courses_module_up_{module.id}", disabled=number == 1, on_click=_save,
                  args=(lambda t: courses.move_module(t, module.id, number - 1, expected_revision=course_revision),))
        down.button("Move module down", key=f"courses_module_down_{module.id}", disabled=number == count,
                    on_click=_save,
                    args=(lambda t: courses.move_module(t, module.id, number + 1, expected_revision=course_revision),))
        if st.checkbox("I want to delete this module and its lessons (the videos stay)",
                       key=f"courses_module_confirm_{module.id}"):
            st.button("Delete module", key=f"courses_module_delete_{module.id}", type="primary", on_click=_save,
                      args=(lambda t: courses.delete_module(t, module.id, expected_revision=revision),
                            "Module deleted."))


def _trash(deleted: list[courses.Course]) -> None:
    if not deleted:
        st.caption("The trash is empty.")
    for course in deleted:
        left, right = st.columns([5, 1])
        left.markdown(f"**{layout.inert(course.title)}** · {layout.plural(course.lesson_count, 'lesson')}")

        def restore(t, course_id=course.id):
            courses.restore_course(t, course_id)
            return course_id
        if state.can_edit():
            right.button("Restore", key=f"courses_restore_{course.id}", icon=":material/restore_from_trash:",
                         on_click=_save, args=(restore, "Course restored."), kwargs={"select": True})


_flash()
layout.render_icon_only_buttons(("courses_up_", "courses_down_", "courses_edit_", "courses_moveto_",
                                 "courses_remove_"))
if unmatched := st.session_state.pop("courses_unmatched", None):
    st.warning("These lessons were left out because their videos are not in your library: "
               + ", ".join(f"'{title}'" for title in unmatched), icon=":material/link_off:")
if st.session_state.pop("courses_leave_trash", False):
    st.session_state["courses_show_trash"] = False  # set before the toggle is drawn
with state.workspace() as t:
    page = page_data.courses_page(t, st.session_state.get("courses_selected"),
                                  show_trash=st.session_state.get("courses_show_trash", False))
all_courses = page.courses
if not state.can_edit():
    layout.render_read_only_note("building and publishing courses")
with st.container(horizontal=True, vertical_alignment="center"):
    if state.can_edit():
        _new_course()
    show_trash = st.toggle("Show trash", key="courses_show_trash")

if show_trash:
    _trash(page.trash)
elif page.outline is None:
    if page.library:
        layout.render_empty_state("No courses yet", "Create a course with **New course**, add modules, then "
                                  "put videos from your library in them as lessons.")
    else:
        layout.render_empty_state(
            "No courses yet",
            "A course is a list of modules, each an ordered list of lessons made from your videos. "
            "One video can be a lesson in many courses. Add videos to your library first.",
            next_page="pages/videos.py", next_label="Go to the video library", icon=":material/video_library:")
else:
    side, main = st.columns([1, 3])
    with side:
        _course_list(all_courses, page.outline.course.id)
    outline = page.outline
    with main:
        course = outline.course
        status = ":green-badge[Published]" if course.is_published else ":gray-badge[Draft]"
        st.subheader(layout.inert(course.title))
        st.markdown(f"{status} · {layout.plural(len(outline.modules), 'module')} · "
                    f"{layout.plural(course.lesson_count, 'lesson')} · {format_minutes(outline.total_minutes)}")
        checklist = outline.checklist
        _checklist(outline, checklist)
        _concept_warnings(page.concept_problems)
        if state.can_edit():
            _course_actions(outline, checklist, [c.id for c in all_courses])
            _details(course)
            build, preview = st.tabs(["Build", "Preview"])
            with build:
                _build(outline, page.library, page.as_of)
            with preview:
                render_preview(outline)
        else:
            render_preview(outline)
