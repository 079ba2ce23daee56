"""What each page reads when it loads: one call per page, run in the page's one transaction.

A page script calls one of these and draws what it returns; the CLI and ``bench/load.py`` call the
same functions, so what a page shows, what a command prints and what a benchmark measures agree.
Charts and tables that a filter changes are read by their own (cached) ``dashboards`` calls.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pandas as pd

from . import chat, courses, metrics, periods, spreadsheet, videos, workspace
from .db import Workspace
from .errors import NotFound
from .insights import Insight, concepts
from .insights.version import data_version
from .rag.answer import model_label
from .viewing import dashboards

__all__ = ["AnalyticsPage", "AssistantPage", "CoursesPage", "InsightsPage", "OverviewPage", "QuestionLog",
           "VideosPage", "analytics_page", "assistant_page", "courses_page", "insights_page", "kpis",
           "overview_page", "question_log", "question_table", "videos_page"]


def _today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class AnalyticsPage:
    """The Analytics page's frame: whether anyone has watched, the filters' choices, and the data's age."""

    viewing: bool
    courses: list[courses.Course]
    videos: list[videos.Video]
    as_of: datetime | None  # when the rollups last changed (None: never rolled up)
    first_day: date  # where "All time" starts: the first day with activity, today when none


def analytics_page(t: Workspace, *, today: date | None = None) -> AnalyticsPage:
    """Everything the Analytics page needs before its filters: one transaction, not one per question."""
    today = today or _today()
    viewing = workspace.has_viewing(t)
    first = dashboards.first_activity_day(t) if viewing else None
    return AnalyticsPage(viewing, courses.list_courses(t), videos.list_videos(t), dashboards.data_as_of(t),
                         min(first or today, today))


def kpis(t: Workspace, f: dashboards.Filters) -> pd.DataFrame:
    """``dashboards.kpis`` with each row's ``unit`` ("percent" or "number"), so a card formats its
    value by what the metric is, not by how its label reads."""
    table = dashboards.kpis(t, f)
    units = [metrics.METRICS[key].unit if (key := metrics.KPI_METRICS.get(name)) else "number"
             for name in table["metric"]]
    return table.assign(unit=pd.Series(units, index=table.index, dtype=object))


@dataclass(frozen=True)
class OverviewPage:
    """The Overview page: the workspace's size, and the last 30 days when anyone has watched."""

    videos: int
    courses: int
    students: int
    conversations: int
    viewing: bool
    as_of: datetime | None
    last_30_days: dashboards.Filters


def overview_page(t: Workspace, *, today: date | None = None) -> OverviewPage:
    """The workspace at a glance (small tables counted; the event tables only probed)."""
    today = today or _today()
    counts = workspace.row_counts(t, ("videos", "courses", "students", "chat_sessions"), live=True)
    viewing = workspace.has_viewing(t)
    return OverviewPage(counts["videos"], counts["courses"], counts["students"], counts["chat_sessions"], viewing,
                        dashboards.data_as_of(t) if viewing else None,
                        dashboards.Filters(*periods.period_range(periods.DEFAULT_PERIOD, today)))


@dataclass(frozen=True)
class InsightsPage:
    """The Insights page's frame: the course filter's choices, whether there is anything to learn
    from yet, and the data version its cached findings are keyed by."""

    courses: list[courses.Course]
    has_signal: bool  # viewing or questions
    version: str


def insights_page(t: Workspace) -> InsightsPage:
    return InsightsPage(courses.list_courses(t), workspace.has_viewing(t) or workspace.has_questions(t),
                        data_version(t))


@dataclass(frozen=True)
class AssistantPage:
    """The Assistant page: the caller's conversations, students' ones, and the scope's choices."""

    has_transcripts: bool
    sessions: list[chat.ChatSession]
    student_sessions: list[chat.ChatSession]
    courses: list[courses.Course]
    videos: list[videos.Video]  # the searchable ones (imported)
    #: Courses in the trash: a scope chosen before one was trashed is named, not replaced.
    trashed_courses: list[courses.Course] = field(default_factory=list)
    trashed_videos: list[videos.Video] = field(default_factory=list)  # the same for chosen videos


def assistant_page(t: Workspace) -> AssistantPage:
    return AssistantPage(workspace.has_transcripts(t), chat.list_sessions(t, whose="mine"),
                         chat.list_sessions(t, whose="students"), courses.list_courses(t),
                         videos.list_videos(t, statuses=["completed"]),
                         courses.list_courses(t, only_deleted=True), videos.list_videos(t, only_deleted=True))


@dataclass(frozen=True)
class CoursesPage:
    """The course builder: the course list, the course it edits, and what editing it needs."""

    courses: list[courses.Course]
    outline: courses.CourseOutline | None  # the course asked for, else the first; None: no course, or the trash
    concept_problems: list[Insight]  # terms the course uses before the lesson that explains them
    library: list[videos.Video]  # the live videos a lesson can be made from
    trash: list[courses.Course]  # the deleted courses, read only when the trash is shown
    as_of: datetime | None  # when the viewing rollups last changed (the lesson numbers' cache key)


def courses_page(t: Workspace, selected: uuid.UUID | None, *, show_trash: bool = False) -> CoursesPage:
    """Kept by id: a course deleted in another tab falls back to the first, never to a row position."""
    listed = courses.list_courses(t)
    library = videos.list_videos(t)
    if show_trash:
        return CoursesPage(listed, None, [], library, courses.list_courses(t, only_deleted=True), None)
    if not listed:
        return CoursesPage(listed, None, [], library, [], None)
    chosen = selected if selected in {c.id for c in listed} else listed[0].id
    return CoursesPage(listed, courses.course_outline(t, chosen), concepts.concept_order(t, chosen), library, [],
                       dashboards.data_as_of(t))


@dataclass(frozen=True)
class VideosPage:
    """The video library's frame (its list refreshes on its own while imports run)."""

    has_videos: bool  # any video, the trash included
    details: videos.VideoDetails | None  # the video shown in detail; None when none is, or it is gone
    linked: videos.Video | None = None  # the video a ?video= link named, when it is this workspace's


def videos_page(t: Workspace, selected: uuid.UUID | None, linked: str | None = None) -> VideosPage:
    """``linked`` is the raw id of a link to one video (from the Courses page); a valid one is shown
    instead of ``selected``. A mistyped id or another workspace's video is ignored."""
    found = None
    if linked:
        try:
            found = videos.get_video(t, uuid.UUID(linked))
        except (ValueError, NotFound):
            found = None
    shown = found.id if found else selected
    details = None
    if shown:
        try:
            details = videos.video_details(t, shown)
        except NotFound:
            details = None
    return VideosPage(workspace.has_rows(t, "videos"), details, found)


@dataclass(frozen=True)
class QuestionLog:
    """Every question asked in the workspace as the log shows and downloads it, with its totals."""

    table: pd.DataFrame
    questions: int  # in the table
    not_found: int
    tokens: int
    total: int | None = None  # asked in all, when the table shows only the latest ones

    @property
    def csv(self) -> bytes:
        """The table as the download: CSV whose cells never run as a spreadsheet formula."""
        return spreadsheet.csv_bytes(self.table)


_LOG_LIMIT = 1_000  # questions the log lists (the newest): a table a browser draws at once
_LOG_COLUMNS = ["Asked", "Who", "Question", "Answered", "Sources", "Feedback", "Model", "Tokens", "Seconds"]


def question_table(log: list[chat.LoggedQuestion]) -> QuestionLog:
    """The log's table: who asked ("You" for the workspace's own), whether the videos answered
    ("yes", "no", or "pending" while no answer was stored), feedback as a thumb, seconds taken."""
    table = pd.DataFrame({
        "Asked": [q.asked_at for q in log],
        "Who": [q.student_email or "You" for q in log],
        "Question": [q.question for q in log],
        "Answered": ["yes" if q.found else ("no" if q.found is False else "pending") for q in log],
        "Sources": [", ".join(q.sources) for q in log],
        "Feedback": [{1: "👍", -1: "👎"}.get(q.feedback, "") for q in log],
        "Model": [model_label(q.model) for q in log],
        "Tokens": [q.token_count or 0 for q in log],
        "Seconds": [round((q.latency_ms or 0) / 1000, 2) for q in log],
    }, columns=_LOG_COLUMNS)
    return QuestionLog(table, len(log), sum(q.found is False for q in log), sum(q.token_count or 0 for q in log))


def question_log(t: Workspace) -> QuestionLog:
    """The Assistant page's question log (``chat.question_log``, newest first) as it is shown."""
    log = question_table(chat.question_log(t, limit=_LOG_LIMIT))
    return replace(log, total=chat.count_questions(t)) if log.questions >= _LOG_LIMIT else log
