"""Insights: where in a course students get confused, and why they leave.

Each kind lives in its own module; :func:`all_insights` runs them for a workspace (or one course)
and adds to each finding the link that opens its moment outside Chronos.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from .. import courses, videos
from ..db import Workspace
from ..ingest.sources import key_of, moment_url
from .model import KINDS, Insight, Kind
from .version import data_version

__all__ = ["KINDS", "Insight", "Kind", "all_insights", "data_version"]


def all_insights(t: Workspace, embedder: Any, *, course_id: uuid.UUID | None = None, chat_model: Any = None,
                 kinds: Iterable[Kind] = KINDS, include_decided: bool = False, start: date | None = None,
                 end: date | None = None) -> list[Insight]:
    """Every insight of the workspace (or of one course), grouped by kind, most urgent first.

    ``embedder`` groups unanswered questions (content gaps); ``chat_model``, when configured,
    writes one-line labels instead of the offline key phrases; ``include_decided`` keeps content
    gaps marked done or dismissed; ``start`` and ``end`` limit the confusion and drop-off findings
    to the viewing and questions of those days (the other kinds always read all time).
    """
    from . import concepts, gaps, splits, timeline

    wanted = set(kinds)
    found: list[Insight] = []
    if "confusion" in wanted:
        found += timeline.confusion_insights(t, course_id, start=start, end=end)
    if "dropoff" in wanted:
        found += timeline.dropoff_insights(t, course_id, chat_model=chat_model, start=start, end=end)
    if "content_gap" in wanted:
        found += gaps.content_gaps(t, embedder, course_id, include_decided=include_decided, chat_model=chat_model)
    if "concept_order" in wanted:
        for course in [course_id] if course_id else [c.id for c in courses.list_courses(t)]:
            found += concepts.concept_order(t, course)
    if "course_split" in wanted:
        found += [i for i in splits.course_splits(t) if course_id is None or _in_course(i, course_id)]
    order = {kind: n for n, kind in enumerate(KINDS)}
    found.sort(key=lambda i: (order[i.kind], -i.score))
    return _with_links(t, found)


def _in_course(insight: Insight, course_id: uuid.UUID) -> bool:
    courses = insight.evidence.get("courses") or []
    return insight.course_id == course_id or any(str(c.get("course_id")) == str(course_id) for c in courses
                                                  if isinstance(c, dict))


def _with_links(t: Workspace, found: list[Insight]) -> list[Insight]:
    """Each moment's link outside Chronos (YouTube or Loom at the second), where its video has one."""
    if not any(i.video_id is not None and i.second is not None for i in found):
        return found
    library = {v.id: v for v in videos.list_videos(t, include_deleted=True)}

    def link(i: Insight) -> str | None:
        video = library.get(i.video_id)
        if video is None or i.second is None:
            return None
        return moment_url(video.source_type, key_of(video), i.second)

    return [i if i.url is not None else replace(i, url=link(i)) for i in found]
