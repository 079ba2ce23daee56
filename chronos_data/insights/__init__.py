"""Insights: where in a course students get confused, and why they leave.

Each kind lives in its own module; :func:`all_insights` runs them for a workspace (or one course)
and adds to each finding the link that opens its moment outside Chronos.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from ..db import Tenant
from ..ingest.links import moment_url
from .model import KINDS, Insight, Kind

__all__ = ["KINDS", "Insight", "Kind", "all_insights"]


def all_insights(t: Tenant, embedder: Any, *, course_id: uuid.UUID | None = None, chat_model: Any = None,
                 kinds: Iterable[Kind] = KINDS, include_decided: bool = False) -> list[Insight]:
    """Every insight of the workspace (or of one course), grouped by kind, most urgent first.

    ``embedder`` groups unanswered questions (content gaps); ``chat_model``, when configured,
    writes one-line labels instead of the offline key phrases; ``include_decided`` keeps content
    gaps marked done or dismissed.
    """
    from . import concepts, gaps, splits, timeline

    wanted = set(kinds)
    found: list[Insight] = []
    if "confusion" in wanted:
        found += timeline.confusion_insights(t, course_id)
    if "dropoff" in wanted:
        found += timeline.dropoff_insights(t, course_id, chat_model=chat_model)
    if "content_gap" in wanted:
        found += gaps.content_gaps(t, embedder, course_id, include_decided=include_decided, chat_model=chat_model)
    if "concept_order" in wanted:
        for course in [course_id] if course_id else _live_courses(t):
            found += concepts.concept_order(t, course)
    if "course_split" in wanted:
        found += [i for i in splits.course_splits(t) if course_id is None or _in_course(i, course_id)]
    order = {kind: n for n, kind in enumerate(KINDS)}
    found.sort(key=lambda i: (order[i.kind], -i.score))
    return _with_links(t, found)


def _live_courses(t: Tenant) -> list[uuid.UUID]:
    return list(t.conn.execute(sa.text("SELECT id FROM courses WHERE creator_id = :c AND NOT is_deleted "
                                       "ORDER BY display_order"), {"c": t.creator_id}).scalars())


def _in_course(insight: Insight, course_id: uuid.UUID) -> bool:
    courses = insight.evidence.get("courses") or []
    return insight.course_id == course_id or any(str(c.get("course_id")) == str(course_id) for c in courses
                                                  if isinstance(c, dict))


def _with_links(t: Tenant, found: list[Insight]) -> list[Insight]:
    video_ids = {i.video_id for i in found if i.video_id is not None and i.second is not None}
    if not video_ids:
        return found
    rows = t.conn.execute(sa.text(
        "SELECT id, source_type, coalesce(youtube_video_id, embed_id, mux_playback_id) AS source_key "
        "FROM videos WHERE creator_id = :c AND id = ANY(:ids)"), {"c": t.creator_id, "ids": list(video_ids)})
    sources = {row.id: (row.source_type, row.source_key) for row in rows}
    return [replace(i, url=moment_url(*sources[i.video_id], i.second))
            if i.video_id in sources and i.second is not None and i.url is None else i for i in found]
