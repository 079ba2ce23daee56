"""Distinct students over any period, from bitmaps instead of events.

Counting distinct students cannot be summed from daily counts, and counting them from the events
takes seconds at millions of events. So the rollup numbers every student of a workspace (0, 1,
2, …) and keeps, per day, video and (course, module), the bitmap of who viewed it and who
completed it, by ``metrics``' definitions of views and completions (``student_sets``); weeks and
months get the union of their days. A period is then covered by
whole months, whole weeks and the days left over (``cover``), and its distinct students are the
``bit_or`` of a dozen bitmaps per lesson, counted with ``bit_count``.

The rollup also keeps each student's standing per course (``course_students``: last seen, last
lesson, lessons completed), which is what the at-risk list needs.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from .. import metrics
from ..db import Workspace

__all__ = ["Cover", "bitmap_bits", "cover", "roll_days"]


@dataclass(frozen=True)
class Cover:
    """Whole months, whole ISO weeks (by their Monday) and single days that exactly tile a range."""

    months: list[date]
    weeks: list[date]
    days: list[date]

    def params(self) -> dict[str, list[date]]:
        return {"cover_months": self.months, "cover_weeks": self.weeks, "cover_days": self.days}


#: The predicate selecting a cover's rows of ``student_sets`` (alias ``s``).
IN_COVER = """((s.grain = 'month' AND s.period = ANY (CAST(:cover_months AS date[])))
   OR (s.grain = 'week' AND s.period = ANY (CAST(:cover_weeks AS date[])))
   OR (s.grain = 'day' AND s.period = ANY (CAST(:cover_days AS date[]))))"""


def cover(start: date, end: date) -> Cover:
    """Tile ``start``..``end`` (inclusive) with as few periods as the rollup keeps."""
    months, weeks, days = [], [], []
    day = start
    while day <= end:
        month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        week_end = day + timedelta(days=6)
        if day.day == 1 and month_end <= end:
            months.append(day)
            day = month_end + timedelta(days=1)
        elif day.weekday() == 0 and week_end <= end and not _splits_a_whole_month(day, week_end, end):
            weeks.append(day)
            day = week_end + timedelta(days=1)
        else:
            days.append(day)
            day += timedelta(days=1)
    return Cover(months, weeks, days)


def _splits_a_whole_month(week_start: date, week_end: date, end: date) -> bool:
    """A week running into a month that the range holds whole would stop that month being used."""
    if week_start.month == week_end.month:
        return False
    first = week_end.replace(day=1)
    return first.replace(day=calendar.monthrange(first.year, first.month)[1]) <= end


def bitmap_bits(t: Workspace) -> int:
    """The length every bitmap of this workspace is padded to before a union (bit_or needs equal
    lengths; older bitmaps are shorter because the workspace had fewer students then)."""
    highest = t.conn.execute(sa.text("SELECT max(number) FROM student_numbers WHERE creator_id = :c"),
                             {"c": t.creator_id}).scalar_one()
    return _bytes_for(highest) * 8


def _bytes_for(highest_number: int | None) -> int:
    return 1 if highest_number is None else highest_number // 8 + 1


def roll_days(t: Workspace, days: list[date]) -> int:
    """Number the new students of ``days``, write their day, week and month bitmaps and update
    each student's course standing. Idempotent; returns the bitmap rows written."""
    params = {"creator": t.creator_id, "days": days, "first": days[0], "after": days[-1] + timedelta(days=1),
              # the weeks and months around the days, to bound the scan of day rows to union
              "span_start": min(days[0].replace(day=1), days[0] - timedelta(days=days[0].weekday())),
              "span_end": max(days[-1].replace(day=calendar.monthrange(days[-1].year, days[-1].month)[1]),
                              days[-1] + timedelta(days=6 - days[-1].weekday()))}
    t.conn.execute(sa.text(_NUMBER_NEW_STUDENTS), params)
    size = bitmap_bits(t) // 8
    groups = _day_bitmaps(t, params, size)
    keys = list(groups)
    # In batches: at a few hundred thousand students each bitmap is tens of kilobytes.
    for first in range(0, len(keys), _BATCH):
        batch = keys[first:first + _BATCH]
        t.conn.execute(sa.text(_UPSERT_DAYS), {
            "creator": t.creator_id, "day": [k[0] for k in batch], "video": [k[1] for k in batch],
            "course": [k[2] for k in batch], "module": [k[3] for k in batch],
            "started": ["x" + groups[k][0].hex() for k in batch],
            "completed": ["x" + groups[k][1].hex() for k in batch]})
    if keys:
        t.conn.execute(sa.text(_UNION_WEEKS_AND_MONTHS.format(bits=size * 8)), params)
    t.conn.execute(sa.text(_COURSE_STANDING), params)
    return len(keys)


_BATCH = 200


def _day_bitmaps(t: Workspace, params: dict, size: int) -> dict[tuple, tuple[bytearray, bytearray]]:
    """(day, video, course, module) -> the bitmaps of who started and who completed, ``size`` bytes each."""
    groups: dict[tuple, tuple[bytearray, bytearray]] = defaultdict(lambda: (bytearray(size), bytearray(size)))
    for day, video, course, module, completed, number in t.conn.execute(sa.text(_DAY_STUDENTS), params):
        bitmap = groups[(day, video, course, module)][1 if completed else 0]
        bitmap[number >> 3] |= 0x80 >> (number & 7)  # bit n of a PostgreSQL bit string, counted from the left
    return groups


# The views and completions of the rolled days (metrics.VIEWINGS: events, and watch sessions without
# events), of known students.
_VIEWS_OF_DAYS = f"""WITH {metrics.VIEWINGS},
student_views AS (SELECT * FROM viewings WHERE student_id IS NOT NULL AND kind IN ('video_started', 'video_completed'))
"""

# A student's number never changes; callers hold the workspace's rollup lock, so numbers are dense.
_NUMBER_NEW_STUDENTS = f"""{_VIEWS_OF_DAYS}
INSERT INTO student_numbers (creator_id, student_id, number)
SELECT :creator, n.student_id,
       (SELECT coalesce(max(number) + 1, 0) FROM student_numbers WHERE creator_id = :creator)
       + row_number() OVER (ORDER BY n.student_id) - 1
FROM (SELECT DISTINCT student_id FROM student_views) n
WHERE NOT EXISTS (SELECT 1 FROM student_numbers l WHERE l.creator_id = :creator AND l.student_id = n.student_id)
"""

_DAY_STUDENTS = f"""{_VIEWS_OF_DAYS}
SELECT DISTINCT e.day, e.video_id, e.course_id, e.module_id, e.kind = 'video_completed', n.number
FROM student_views e JOIN student_numbers n ON n.creator_id = :creator AND n.student_id = e.student_id
"""

_UPSERT_DAYS = """
INSERT INTO student_sets (creator_id, grain, period, video_id, course_id, module_id, started, completed)
SELECT :creator, 'day', r.day, r.video, r.course, r.module, CAST(r.started AS varbit), CAST(r.completed AS varbit)
FROM unnest(CAST(:day AS date[]), CAST(:video AS uuid[]), CAST(:course AS uuid[]), CAST(:module AS uuid[]),
            CAST(:started AS text[]), CAST(:completed AS text[])) r(day, video, course, module, started, completed)
ON CONFLICT ON CONSTRAINT student_sets_key DO UPDATE SET started = EXCLUDED.started, completed = EXCLUDED.completed
"""

# Weeks and months touched by the rolled days, recomputed from all their days.
_UNION_WEEKS_AND_MONTHS = """
INSERT INTO student_sets (creator_id, grain, period, video_id, course_id, module_id, started, completed)
SELECT :creator, g.grain, date_trunc(g.grain, CAST(s.period AS timestamp))::date, s.video_id, s.course_id,
       s.module_id, bit_or(CAST(s.started AS bit({bits}))), bit_or(CAST(s.completed AS bit({bits})))
FROM (VALUES ('week'), ('month')) g(grain)
JOIN student_sets s ON s.creator_id = :creator AND s.grain = 'day' AND s.period BETWEEN :span_start AND :span_end
 AND date_trunc(g.grain, CAST(s.period AS timestamp))
     IN (SELECT date_trunc(g.grain, CAST(d AS timestamp)) FROM unnest(CAST(:days AS date[])) d)
GROUP BY g.grain, date_trunc(g.grain, CAST(s.period AS timestamp)), s.video_id, s.course_id, s.module_id
ON CONFLICT ON CONSTRAINT student_sets_key DO UPDATE SET started = EXCLUDED.started, completed = EXCLUDED.completed
"""

# Merged, not replaced: the latest sighting wins and completed lessons accumulate, so rolling the
# days in any order, or again, gives the same standing.
_COURSE_STANDING = f"""{_VIEWS_OF_DAYS}
INSERT INTO course_students (creator_id, course_id, student_id, last_seen, last_video_id, completed_videos)
SELECT :creator, e.course_id, e.student_id, max(e.at),
       (array_agg(e.video_id ORDER BY e.at DESC, e.video_id))[1],
       coalesce(array_agg(DISTINCT e.video_id) FILTER (WHERE e.kind = 'video_completed'), '{{}}')
FROM student_views e
WHERE e.course_id IS NOT NULL
GROUP BY e.course_id, e.student_id
ON CONFLICT (creator_id, course_id, student_id) DO UPDATE SET
  last_seen = greatest(course_students.last_seen, EXCLUDED.last_seen),
  last_video_id = CASE WHEN EXCLUDED.last_seen >= course_students.last_seen
                       THEN EXCLUDED.last_video_id ELSE course_students.last_video_id END,
  completed_videos = ARRAY(SELECT DISTINCT v FROM unnest(course_students.completed_videos || EXCLUDED.completed_videos) v
                           ORDER BY v)
"""
