"""What the Analytics page shows, as DataFrames: KPIs, trends, retention, funnels, breakdowns.

Every number is one of ``metrics.METRICS`` (the help text, ``FORMULAS``, is theirs). Nothing here
reads raw events or sessions of more than one student: everything that can be summed reads the
daily rollup ``viewing_days`` (per video, course context and day: counts, and the day's hour,
reach, rewind, device and referrer histograms in ``shape``); distinct students (unique viewers,
active students, the funnel) are unions of the rollups' student bitmaps (``students``), and the
at-risk list reads each student's course standing. So the page's queries take milliseconds at
millions of events.

Filters: a period of UTC days, and optionally a course and/or some videos. A course filter means
viewing *in that course* (the course an event or session records) of the course's lessons, for
every card, chart and table; the assistant's questions, which know no course, are filtered by
the course's videos.
"""

from __future__ import annotations

from ... import metrics
from .costs import cost_lines, costs
from .filters import Filters
from .learning import AT_RISK_LIMIT, at_risk_students, find_student, lesson_stats, student_progress
from .viewing import (
    GRANULARITIES,
    breakdown,
    course_funnel,
    data_as_of,
    engagement_heatmap,
    first_activity_day,
    kpis,
    retention_curve,
    slice_videos,
    top_videos,
    typical_retention,
    views_over_time,
)

__all__ = [
    "AT_RISK_LIMIT",
    "FORMULAS",
    "GRANULARITIES",
    "Filters",
    "at_risk_students",
    "breakdown",
    "cost_lines",
    "costs",
    "course_funnel",
    "data_as_of",
    "engagement_heatmap",
    "find_student",
    "first_activity_day",
    "lesson_stats",
    "kpis",
    "retention_curve",
    "slice_videos",
    "student_progress",
    "top_videos",
    "typical_retention",
    "views_over_time",
]

#: Each metric's formula and what it counts, by the label the page shows (see ``metrics``).
FORMULAS = metrics.help_text()
