"""What each analytics number means: one definition per metric, for every card, chart, table and CSV.

Each metric names its formula and the rows it counts. The rollup (``rollups``, ``students``) counts
those rows per day, video and course context into ``viewing_days`` and ``student_sets``; the
dashboards (``dashboards``) only add those rollups up, and their help text (``dashboards.FORMULAS``)
is the ``help`` of these definitions. The SQL pieces below are the definitions themselves, shared by
the rollup of counts and the rollup of student bitmaps so the two cannot drift apart.

Course context: a view, completion or session belongs to the course it happened in, which the
event records (``course_id``) and the watch session keeps in its metadata (``course_id``). With a
course filter, every number counts only viewing in that course (of its current lessons); a video
that is a lesson of two courses is counted in each course for the viewing done there. Viewing
outside any course (a direct link, an imported row) counts only without a course filter. The
assistant does not know which course a student is in: its questions are filtered by video only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COMPLETION_PERCENT", "KPI_METRICS", "METRICS", "Metric", "SESSION_CONTEXT", "VIEWINGS", "help_text"]

#: Seeds: a view completes once 90 % of the video has been watched.
COMPLETION_PERCENT = 90


@dataclass(frozen=True)
class Metric:
    """A number shown on the dashboards: its label, how it is computed, and what it counts."""

    label: str
    formula: str
    counts: str
    #: "percent" for a share out of 100 (shown with a % sign), else "number"
    unit: str = "number"

    @property
    def help(self) -> str:
        return f"{self.formula} Counts {self.counts}"


METRICS: dict[str, Metric] = {
    "views": Metric(
        "Views", "Times a video was started.",
        "`video_started` events, and watch sessions that have no `video_started` event (imported `session` "
        "rows); on the day of the event or of the session's start."),
    "students": Metric(
        "Unique viewers", "Distinct students with at least one view in the period.",
        "the students of the views above."),
    "active_students": Metric(
        "Active students (daily)", "Average, over the period's days, of the distinct students with a view or a "
        "completion that day.", "the students of views and completions."),
    "completions": Metric(
        "Completions", f"Views that reached {COMPLETION_PERCENT} % or more of the video, on the day they did.",
        "`video_completed` events, and completed watch sessions that have no `video_started` event (on their "
        "start day)."),
    "completion_rate": Metric(
        "Completion rate", "Completions ÷ views × 100 over the same period and filters (at most 100).",
        "the completions and views above.", unit="percent"),
    "sessions": Metric(
        "Sessions", "Watch sessions started in the period.",
        "watch session rows (recorded by the player or imported), on their start day; a session is one view."),
    "watch_time": Metric(
        "Watch time", "Sum of the watch time of every session started in the period.",
        "`watch_time_seconds` of watch session rows, on their start day."),
    "session_completion": Metric(
        "Sessions completed", f"Sessions that reached {COMPLETION_PERCENT} % ÷ sessions × 100 (devices, referrers).",
        "watch session rows and their `completed` flag.", unit="percent"),
    "rewatch_rate": Metric(
        "Rewatch %", "Sessions in which the student went back and watched part of the video again ÷ sessions × 100. "
        "The retention chart's \"watched again\" bars are the same sessions, point by point, so no bar is higher "
        "than the video's rewatch %.", "watch sessions with at least one rewind (`report_rewind`).", unit="percent"),
    "repeat_views": Metric(
        "Repeat views %", "Views by a student who had already completed the video ÷ views × 100.",
        "`video_rewatched` events.", unit="percent"),
    "retention": Metric(
        "Retention", "Share of the video's sessions that reached each point of it.",
        "watch sessions by how far they got (`percent_complete`)."),
    "drop_off": Metric(
        "Drop-off", "On the retention chart, a stretch of the video where more sessions end than the video's own "
        "rate and similar videos predict, beyond chance (the Insights page's test), marked with the share of "
        "sessions that end there; in a course, the share of a lesson's students who did not start the next lesson.",
        "watch sessions by how far they got; for lessons, students as above."),
    "questions": Metric(
        "AI questions", "Questions to the assistant (yours and your students'). With a course or video filter: "
        "the questions whose answer's first source is a video in scope.",
        "user messages of assistant conversations; with a filter, assistant answers by their first cited video."),
    "cited_answers": Metric(
        "AI answers citing it", "Assistant answers that cite the video.", "assistant messages' video references."),
    "engagement": Metric(
        "Engagement score", "Average watch time per session ÷ duration × 40 + completion rate × 40 + rewatch rate "
        "× 20 (0 to 100).", "the metrics above."),
}


#: The KPI cards (``dashboards.kpis`` rows, by name) and the metric each one shows.
KPI_METRICS = {"Views": "views", "Unique viewers": "students", "Watch time (hours)": "watch_time",
               "Completion rate (%)": "completion_rate", "Active students (daily)": "active_students",
               "AI questions": "questions"}


def help_text() -> dict[str, str]:
    """Label -> formula and what it counts, for the page's help."""
    return {m.label: m.help for m in METRICS.values()}




#: Joins giving a watch session (alias ``s``) the course (``sc.id``) and module (``sm.id``) it
#: happened in, from its metadata; null outside a course, and once the course is deleted (as events
#: lose theirs: ON DELETE SET NULL). Joined as text, which also leaves any other value a system
#: may have written there outside a course; a subquery per session cost seconds per month of
#: sessions at a million events.
SESSION_CONTEXT = """
  LEFT JOIN courses sc ON sc.creator_id = s.creator_id AND sc.id::text = s.metadata ->> 'course_id'
  LEFT JOIN course_modules sm ON sm.creator_id = s.creator_id AND sm.id::text = s.metadata ->> 'module_id'"""

#: CTEs ending in ``viewings``: every view (``video_started``), completion (``video_completed``) and
#: repeat view (``video_rewatched``) of the days ``:days`` (between ``:first`` and ``:after``) of
#: ``:creator``, with its video, student, course, module, UTC day and time. Watch sessions without
#: a ``video_started`` event are views themselves (and completions when completed). A session's
#: event is written at its start (``watching.start_viewing``); it is looked for a day either side.
VIEWINGS = f"""
viewing_events AS MATERIALIZED (
  SELECT e.event_type AS kind, e.video_id, e.student_id, e.course_id, e.module_id,
         (e."timestamp" AT TIME ZONE 'UTC')::date AS day, e."timestamp" AS at, e.metadata ->> 'session_id' AS session_id
  FROM video_analytics_events e
  WHERE e.creator_id = :creator AND e.event_type IN ('video_started', 'video_completed', 'video_rewatched')
    AND e."timestamp" >= CAST(:first AS timestamp) AT TIME ZONE 'UTC' - interval '1 day'
    AND e."timestamp" < CAST(:after AS timestamp) AT TIME ZONE 'UTC' + interval '1 day'
),
evented AS MATERIALIZED (
  SELECT DISTINCT session_id FROM viewing_events WHERE kind = 'video_started' AND session_id IS NOT NULL
),
-- The few sessions without a started event, found before anything else is read of them.
lone_sessions AS MATERIALIZED (
  SELECT s.* FROM video_watch_sessions s
  WHERE s.creator_id = :creator
    AND s.session_start >= CAST(:first AS timestamp) AT TIME ZONE 'UTC'
    AND s.session_start < CAST(:after AS timestamp) AT TIME ZONE 'UTC'
    AND (s.session_start AT TIME ZONE 'UTC')::date = ANY (CAST(:days AS date[]))
    AND NOT EXISTS (SELECT 1 FROM evented x WHERE x.session_id = s.id::text)
),
viewings AS (
  SELECT kind, video_id, student_id, course_id, module_id, day, at FROM viewing_events
  WHERE day = ANY (CAST(:days AS date[]))
  UNION ALL
  SELECT k.kind, s.video_id, s.student_id, sc.id, sm.id, (s.session_start AT TIME ZONE 'UTC')::date, s.session_start
  FROM lone_sessions s {SESSION_CONTEXT}
  CROSS JOIN (VALUES ('video_started'), ('video_completed')) k(kind)
  WHERE k.kind = 'video_started' OR s.completed
)"""
