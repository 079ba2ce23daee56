"""What the timeline insights read from the database: each video's summed histograms, the
questions placed at the seconds their answers cite, the timed transcripts and each video's place
in the course order. Every read is scoped to the workspace's creator."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from ..chat import answers_question
from ..db import Workspace
from .curves import Curve, Question, histogram
from .passages import Transcript

__all__ = ["Place", "cited_questions", "course_places", "load_curves", "load_transcripts"]


def load_curves(t: Workspace, start: date | None, end: date | None, course_id: uuid.UUID | None = None
                 ) -> dict[uuid.UUID, Curve]:
    """Every live video of known length with its histograms summed over the period (the sums are
    taken here: unpacking the jsonb arrays in SQL costs more, see dashboards.typical_retention);
    with ``course_id``, only the viewing done in that course (as the Analytics page's course filter
    counts it, ``viewing_days``)."""
    curves = {row.id: Curve(row.id, row.title, int(row.duration_seconds)) for row in t.conn.execute(
        sa.text("SELECT id, title, duration_seconds FROM videos "
                "WHERE creator_id = :creator AND NOT is_deleted AND duration_seconds > 0"),
        {"creator": t.creator_id})}
    period = """AND (CAST(:start AS date) IS NULL OR a.date >= CAST(:start AS date))
                AND (CAST(:end AS date) IS NULL OR a.date <= CAST(:end AS date))"""
    query = (f"""SELECT a.video_id, a.shape -> 'reached' AS reached, a.shape -> 'rewound' AS rewound
                 FROM viewing_days a WHERE a.creator_id = :creator AND a.course_id = :course
                   AND a.shape ? 'reached' {period}""" if course_id is not None else
             f"""SELECT a.video_id, a.metadata -> 'reached' AS reached, a.metadata -> 'rewound' AS rewound
                 FROM video_analytics a WHERE a.creator_id = :creator AND a.metadata ? 'reached' {period}""")
    rows = t.conn.execute(sa.text(query), {"creator": t.creator_id, "start": start, "end": end, "course": course_id})
    for row in rows:
        curve = curves.get(row.video_id)
        if curve is not None:
            curve.reached += histogram(row.reached)
            curve.rewound += histogram(row.rewound)
    return curves


def cited_questions(t: Workspace, video_ids: Sequence[uuid.UUID], start: date | None, end: date | None
               ) -> list[Question]:
    """Each question (students' and the creator's) at each second its answer cited in these videos.

    The answer is the assistant message that cites; its question the one it answers
    (``chat.answers_question``: the one it names, else the one just before it). Conversations in
    the trash are left out. In the order they were answered, so "the most asked, then as first
    asked" examples are the same on every run.
    """
    if not video_ids:
        return []
    rows = t.conn.execute(sa.text(rf"""
        SELECT q.id, q.content, s.student_id IS NOT NULL AS by_student, (r ->> 'video_id')::uuid AS video_id,
               (r ->> 'start_seconds')::float8 AS second, r ->> 'snippet' AS snippet
        FROM chat_messages a
        JOIN chat_sessions s ON s.id = a.session_id AND s.creator_id = a.creator_id AND s.deleted_at IS NULL
        CROSS JOIN LATERAL jsonb_array_elements(
          CASE WHEN jsonb_typeof(a.video_references) = 'array' THEN a.video_references ELSE '[]' END)
          WITH ORDINALITY AS refs(r, n)
        JOIN LATERAL (
          SELECT m.id, m.content FROM chat_messages m
          WHERE m.creator_id = a.creator_id AND m.session_id = a.session_id AND {answers_question("a", "m")}
          ORDER BY m.created_at DESC, m.id DESC LIMIT 1
        ) q ON true
        WHERE a.creator_id = :creator AND a.role = 'assistant'
          AND jsonb_typeof(r) = 'object' AND r ->> 'video_id' = ANY (CAST(:videos AS text[]))
          AND r ->> 'start_seconds' ~ '^\d{{1,9}}(\.\d+)?$'
          AND (CAST(:start AS date) IS NULL OR a.created_at >= CAST(:start AS timestamp) AT TIME ZONE 'UTC')
          AND (CAST(:end AS date) IS NULL
               OR a.created_at < (CAST(:end AS timestamp) + interval '1 day') AT TIME ZONE 'UTC')
        ORDER BY a.created_at, a.id, refs.n
    """), {"creator": t.creator_id, "videos": [str(v) for v in video_ids], "start": start, "end": end})
    return [Question(row.id, row.content, row.by_student, row.video_id, float(row.second), row.snippet)
            for row in rows]


def load_transcripts(t: Workspace, video_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Transcript]:
    """Each of these videos' timed captions, else its search chunks; only videos of this workspace."""
    if not video_ids:
        return {}
    ids = list(set(video_ids))
    segments: dict[uuid.UUID, list[tuple[float, float, str]]] = {}
    for row in t.conn.execute(sa.text("SELECT id, transcript_segments FROM videos WHERE creator_id = :creator "
                                      "AND id = ANY (CAST(:ids AS uuid[]))"), {"creator": t.creator_id, "ids": ids}):
        parsed = []
        for item in row.transcript_segments if isinstance(row.transcript_segments, list) else []:
            if isinstance(item, list) and len(item) >= 3:
                try:
                    parsed.append((float(item[0]), float(item[1]), str(item[2])))
                except (TypeError, ValueError):
                    continue
        segments[row.id] = sorted(parsed)
    chunks: dict[uuid.UUID, list[tuple[int, int, str]]] = {}
    missing = [v for v in ids if not segments.get(v)]
    if missing:
        for row in t.conn.execute(sa.text(
                "SELECT video_id, coalesce(start_time_seconds, 0) AS s, coalesce(end_time_seconds, start_time_seconds, 0)"
                " AS e, chunk_text FROM video_chunks WHERE creator_id = :creator AND video_id = ANY (CAST(:ids AS uuid[]))"
                " ORDER BY video_id, chunk_index"), {"creator": t.creator_id, "ids": missing}):
            chunks.setdefault(row.video_id, []).append((int(row.s), int(row.e), row.chunk_text))
    return {v: Transcript(segments.get(v, []), chunks.get(v, [])) for v in ids if v in segments or v in chunks}


@dataclass(frozen=True)
class Place:
    """Where a video sits in a course: its lesson number in course order."""

    course_id: uuid.UUID
    course_title: str
    number: int
    lesson_title: str

    def to_json(self) -> dict[str, Any]:
        return {"course_id": str(self.course_id), "course_title": self.course_title, "lesson_number": self.number,
                "lesson": self.lesson_title}


def course_places(t: Workspace, course_id: uuid.UUID | None) -> dict[uuid.UUID, list[Place]]:
    """Each video's lessons: in ``course_id``, or in every live course (first course first).

    Lessons are numbered through the whole course, modules in order, as the course outline lists them.
    """
    rows = t.conn.execute(sa.text("""
        SELECT c.id AS course_id, c.title AS course_title, l.video_id, coalesce(l.title, v.title) AS lesson_title,
               row_number() OVER (PARTITION BY c.id ORDER BY m.display_order, m.created_at, m.id,
                                                             l.lesson_order, l.created_at, l.id) AS number
        FROM module_lessons l
        JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id
        JOIN courses c ON c.id = m.course_id AND c.creator_id = l.creator_id
        JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id
        WHERE l.creator_id = :creator
          AND (CASE WHEN CAST(:course AS uuid) IS NULL THEN NOT c.is_deleted ELSE c.id = CAST(:course AS uuid) END)
        ORDER BY c.display_order, c.created_at, c.id, number
    """), {"creator": t.creator_id, "course": course_id})
    places: dict[uuid.UUID, list[Place]] = {}
    for row in rows:
        here = places.setdefault(row.video_id, [])
        if not any(p.course_id == row.course_id for p in here):  # a video twice in a course: its first lesson
            here.append(Place(row.course_id, row.course_title, int(row.number), row.lesson_title))
    return places
