"""The Analytics page's filters, and the SQL every one of its queries starts from: the videos in
scope, their rollup rows in the period, the assistant's answers about them, the student bitmaps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from ...db import Workspace
from ...errors import ValidationError


@dataclass(frozen=True)
class Filters:
    """A date range (inclusive, UTC days) and optionally one course and/or some videos."""

    start: date
    end: date
    course_id: uuid.UUID | None = None
    video_ids: tuple[uuid.UUID, ...] | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError("The end date is before the start date; pick a range that runs forwards.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def params(self, t: Workspace) -> dict:
        return {"creator": t.creator_id, "start": self.start, "end": self.end,
                "after": self.end + timedelta(days=1), "course": self.course_id,
                "videos": list(self.video_ids) if self.video_ids is not None else None}


# Videos in scope: all, one course's lessons, and/or chosen ones. Used as a CTE by every query.
_SCOPE = """
scope AS (
  SELECT v.id, v.title, v.duration_seconds FROM videos v
  WHERE v.creator_id = :creator
    AND (CAST(:videos AS uuid[]) IS NULL OR v.id = ANY (CAST(:videos AS uuid[])))
    AND (CAST(:course AS uuid) IS NULL OR v.id IN (
          SELECT l.video_id FROM module_lessons l JOIN course_modules m ON m.id = l.module_id
          WHERE l.creator_id = :creator AND m.course_id = CAST(:course AS uuid)))
)"""
# The rollup rows of the filters: the scope's viewing in the period, in the course when one is chosen.
_VIEWING = f"""{_SCOPE},
viewing AS (
  SELECT d.* FROM viewing_days d JOIN scope ON scope.id = d.video_id
  WHERE d.creator_id = :creator AND d.date BETWEEN :start AND :end
    AND (CAST(:course AS uuid) IS NULL OR d.course_id = CAST(:course AS uuid))
)"""
# The assistant's answers of the period about the scope's videos (they know no course).
_ASKED = """
asked AS (
  SELECT d.video_id, d.questions, d.cited_answers FROM viewing_days d JOIN scope ON scope.id = d.video_id
  WHERE d.creator_id = :creator AND d.date BETWEEN :start AND :end AND d.course_id IS NULL
)"""
# The student bitmaps of the filters (alias ``s``): the scope's videos, in the course when one is chosen.
_IN_FILTERS = """s.creator_id = :creator AND s.video_id IN (SELECT id FROM scope)
  AND (CAST(:course AS uuid) IS NULL OR s.course_id = CAST(:course AS uuid))"""
# Completions ÷ views × 100, at most 100 (metrics "completion_rate"), over aggregated rows.
# (least() of a number and NULL is the number: the cap goes inside the division.)
_COMPLETION_RATE = "100.0 * least(sum({p}completions), sum({p}views)) / nullif(sum({p}views), 0)"
# Timestamps of a UTC-day range: comparisons on the raw column keep its index usable.
_IN_RANGE = """{col} >= CAST(:start AS timestamp) AT TIME ZONE 'UTC' AND {col} < CAST(:after AS timestamp) AT TIME ZONE 'UTC'"""


def _frame(t: Workspace, sql: str, params: dict) -> pd.DataFrame:
    result = t.conn.execute(sa.text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
