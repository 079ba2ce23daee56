"""Courses: courses made of modules and ordered lessons."""

import streamlit as st

from chronos_data import courses
from components import layout, state

state.require_router()

st.title("Courses")

with state.tenant() as t:
    course_list = courses.list_courses(t)

if not course_list:
    layout.render_empty_state(
        "No courses yet",
        "A course is a list of modules, each an ordered list of lessons made from your videos. "
        "One video can be a lesson in many courses. Add videos to your library first.",
        next_page="pages/videos.py",
        next_label="Go to the video library",
        icon=":material/video_library:",
    )
else:
    st.dataframe(
        [{"Course": c.title, "Published": c.is_published, "Created": c.created_at} for c in course_list],
        hide_index=True,
        use_container_width=True,
    )
