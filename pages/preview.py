"""Student preview: watch a lesson as a student would; the viewing is recorded like a student's."""

import uuid
from functools import partial

import streamlit as st

from chronos_data import courses, students
from chronos_data.errors import ChronosError, ValidationError
from chronos_data.ingest import sources
from chronos_data.viewing import watching
from components import layout, state
from components.analytics_data import viewing_recorded
from components.moment_player import media_url, render_lesson_player
from components.player import render_tracking_player
from components.video_library import format_timestamp

state.require_router()

_VIEWING = "preview_viewing"  # (lesson key, watching.PlayerViewing) of the latest viewing
_PROBLEM = "preview_problem"  # why the player's last event was refused


def _record(event: dict, *, lesson_key: str, lesson, course_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    """Record one player event; False when it should come again (the database was out of reach)."""
    latest = st.session_state.get(_VIEWING)
    try:
        with state.workspace() as t:
            viewing = watching.record_player_event(
                t, event, latest[1] if latest else None, video_id=lesson.video_id, student_id=student_id,
                course_id=course_id, module_id=lesson.module_id, device_type="desktop", referrer_type="course_page")
    except ChronosError as exc:
        st.session_state[_PROBLEM] = str(exc)
        return isinstance(exc, ValidationError)  # a malformed event would be refused again
    st.session_state[_VIEWING] = (lesson_key, viewing)
    viewing_recorded()
    return True


st.title("Student preview")
st.caption("Watch a lesson as your students do. What you watch is recorded as the preview student "
           f"(`{students.PREVIEW_STUDENT_EMAIL}`) and appears in Analytics like any student's viewing.")

if not state.can_edit():
    layout.render_read_only_note("previewing lessons as a student (the preview records viewing)")
    st.stop()

with state.workspace() as t:
    course_list = courses.list_courses(t)

if not course_list:
    layout.render_empty_state("No courses yet", "Build a course with lessons, then preview it here as a student.",
                              next_page="pages/courses.py", next_label="Build a course", icon=":material/school:")
    st.stop()

titles = {c.id: c.title for c in course_list}
left, right = st.columns(2)
course_id = left.selectbox("Course", list(titles), format_func=titles.get, key="preview_course")
with state.workspace() as t:
    outline = courses.course_outline(t, course_id)
    student_id = students.ensure_student(t, students.PREVIEW_STUDENT_EMAIL, "Preview student")
lessons = [(f"{n}.{lesson.lesson_order} {lesson.title}", lesson)
           for n, module in enumerate(outline.modules, start=1) for lesson in module.lessons]
if not lessons:
    st.info("This course has no lessons yet; add some on the Courses page.", icon=":material/playlist_add:")
    st.stop()
label = right.selectbox("Lesson", [name for name, _ in lessons], key="preview_lesson")
lesson = dict(lessons)[label]
lesson_key = f"{course_id}:{lesson.id}"

tracking = sources.source_for(lesson.source_type).tracking  # what the tracking player can drive, if anything
src = media_url(lesson.storage_path) if tracking == "file" else None
youtube_id = sources.key_of(lesson) if tracking == "youtube" else None
if youtube_id or src:
    render_tracking_player(key=f"preview_player_{lesson.id}", token=lesson_key, youtube_id=youtube_id, src=src,
                           on_event=partial(_record, lesson_key=lesson_key, lesson=lesson, course_id=course_id,
                                            student_id=student_id))
    if problem := st.session_state.pop(_PROBLEM, None):
        st.error(problem, icon=":material/error:")
else:
    # Loom and Mux players play as on the Assistant page (one player for every page); they do not
    # say what was watched, so nothing is recorded.
    render_lesson_player(lesson)
    if not lesson.video_is_deleted and tracking is None:
        st.caption("This player does not report what is watched, so this viewing is not recorded; "
                   "YouTube lessons and uploaded files are.")

latest = st.session_state.get(_VIEWING)
if latest and latest[0] == lesson_key:
    with state.workspace() as t:
        progress = watching.session_summary(t, latest[1].session_id)
    st.markdown(f"**This viewing:** {progress['percent_complete']}% reached · "
                f"{format_timestamp(progress['watch_time_seconds'])} watched · milestones "
                f"{', '.join(f'{m}%' for m in progress['milestones']) or 'none yet'}"
                + (" · **completed**" if progress["completed"] else ""))
