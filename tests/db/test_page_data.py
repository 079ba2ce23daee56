"""What each page reads on load (``page_data``), against the real database: one call, everything
the page draws before its filters, the same for the page, the CLI and the load benchmark."""

from __future__ import annotations

from datetime import date

from chronos_data import courses, page_data
from chronos_data.viewing import dashboards

TODAY = date(2026, 3, 1)


def test_an_empty_workspace_loads_empty_pages(t):
    analytics = page_data.analytics_page(t, today=TODAY)
    assert (analytics.viewing, analytics.courses, analytics.videos, analytics.as_of) == (False, [], [], None)
    assert analytics.first_day == TODAY  # "All time" is today alone

    overview = page_data.overview_page(t, today=TODAY)
    assert (overview.videos, overview.courses, overview.students, overview.conversations) == (0, 0, 0, 0)
    assert not overview.viewing and overview.as_of is None
    # The default period: the last 30 days, today included.
    assert (overview.last_30_days.start, overview.last_30_days.end) == (date(2026, 1, 31), TODAY)

    insights = page_data.insights_page(t)
    assert insights.courses == [] and not insights.has_signal and insights.version

    assistant = page_data.assistant_page(t)
    assert not assistant.has_transcripts and assistant.sessions == assistant.student_sessions == []

    log = page_data.question_log(t)
    assert log.questions == 0 and log.table.empty


def test_a_course_shows_on_every_page_that_lists_courses(t):
    course = courses.create_course(t, "Git from scratch")
    assert [c.id for c in page_data.analytics_page(t).courses] == [course]
    assert [c.id for c in page_data.insights_page(t).courses] == [course]
    assert [c.id for c in page_data.assistant_page(t).courses] == [course]
    assert page_data.overview_page(t).courses == 1


def test_each_kpi_says_whether_it_is_a_percentage(t):
    table = page_data.kpis(t, dashboards.Filters(date(2026, 2, 1), TODAY))
    units = dict(zip(table["metric"], table["unit"], strict=True))
    assert units == {"Views": "number", "Unique viewers": "number", "Watch time (hours)": "number",
                     "Completion rate (%)": "percent", "Active students (daily)": "number", "AI questions": "number"}
    assert list(table.columns[:4]) == list(dashboards.kpis(t, dashboards.Filters(date(2026, 2, 1), TODAY)).columns[:4])


def test_the_overview_counts_what_is_out_of_the_trash(t):
    from chronos_data import chat, videos

    courses.create_course(t, "Kept")
    courses.delete_course(t, courses.create_course(t, "Trashed"))
    videos.create_video(t, title="Live", source_type="youtube", source_id="dQw4w9WgXcQ")
    videos.soft_delete_video(t, videos.create_video(t, title="Gone", source_type="youtube", source_id="9bZkp7q19f0"))
    chat.create_session(t, "Kept")
    chat.delete_session(t, chat.create_session(t, "Trashed"))
    overview = page_data.overview_page(t)
    assert (overview.videos, overview.courses, overview.conversations) == (1, 1, 1)


def test_the_overview_counts_what_the_other_pages_list(t):
    # A number shown in two places agrees: the Overview cards and the Videos, Courses and Assistant lists.
    from chronos_data import chat, students, videos

    made = [videos.create_video(t, title=f"Video {n}", source_type="youtube", source_id=f"{n:011d}") for n in range(4)]
    videos.set_status(t, made[1], "failed", "No captions.")
    videos.set_status(t, made[2], "transcribing")
    videos.set_status(t, made[3], "completed")
    videos.soft_delete_video(t, videos.create_video(t, title="Gone", source_type="youtube", source_id="9bZkp7q19f0"))
    courses.create_course(t, "Kept")
    courses.delete_course(t, courses.create_course(t, "Trashed"))
    student = students.create_student(t, "student@example.com")
    chat.create_session(t, "Mine")
    chat.create_session(t, "A student's", student_id=student)
    chat.delete_session(t, chat.create_session(t, "Trashed"))
    overview = page_data.overview_page(t)
    library = videos.list_videos(t)  # the Videos page's list, no filter: "ready · in progress · failed"
    assistant = page_data.assistant_page(t)
    assert overview.videos == len(library) == 4
    assert overview.courses == len(page_data.courses_page(t, None).courses) == 1
    assert overview.conversations == len(assistant.sessions) + len(assistant.student_sessions) == 2
    assert overview.students == 1
