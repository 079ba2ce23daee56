"""What the content-gap inbox reads from the database: the questions and what followed them, the
chunks nearest some vectors, which words the transcripts hold, the lessons of videos and the
creator's decisions. Every read is scoped to the workspace's creator."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..chat import answers_question
from ..db import Workspace
from ..embeddings import Embedder
from ..errors import NotFound, ValidationError
from .gap_groups import WORD, Asked, Chunk, normalise, search_text

__all__ = ["MAX_QUESTIONS", "asked_questions", "checked_model", "content_words", "gap_decisions", "live_course",
           "nearest_chunks", "video_lessons"]

#: The most recent questions considered (older ones rarely matter to what to fix next). Only the
#: distinct ones that may be gaps are embedded (local model: ~6 ms each on a 2-core laptop).
MAX_QUESTIONS = 2_000
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._:/-]+$")  # inlined into SQL (see rag/search.py): harmless characters only


def asked_questions(t: Workspace) -> list[Asked]:
    """The workspace's most recent questions in live conversations, oldest first, each with what
    its answer (``chat.answers_question``) said: found or not, and the query it searched."""
    rows = t.conn.execute(sa.text(f"""
        SELECT q.id, q.content, q.created_at AS asked_at, s.student_id,
               CASE WHEN jsonb_typeof(a.metadata -> 'found') = 'boolean'
                    THEN (a.metadata ->> 'found')::boolean END AS found,
               a.metadata ->> 'query' AS query,
               q.metadata -> 'scope' ->> 'course_id' AS scope_course
        FROM chat_messages q
        JOIN chat_sessions s ON s.id = q.session_id AND s.creator_id = q.creator_id AND s.deleted_at IS NULL
        LEFT JOIN LATERAL (
          SELECT m.metadata FROM chat_messages m
          WHERE m.creator_id = q.creator_id AND m.session_id = q.session_id AND {answers_question("m", "q")}
          ORDER BY m.created_at, m.id LIMIT 1
        ) a ON true
        WHERE q.creator_id = :creator AND q.role = 'user'
        ORDER BY q.created_at DESC, q.id
        LIMIT :limit
    """), {"creator": t.creator_id, "limit": MAX_QUESTIONS})
    asked = [Asked(row.id, row.content, search_text(row.query, row.content), row.asked_at, row.student_id, row.found,
                    row.scope_course) for row in rows]
    asked.reverse()
    return asked


def checked_model(t: Workspace, embedder: Embedder) -> tuple[str, int]:
    """The embedder's model name and dimensions, checked against its registration (both are
    inlined into SQL so the planner can use the model's partial HNSW index)."""
    name = embedder.model
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise ValidationError(f"{name!r} is not a valid embedding model name.")
    registered = t.conn.execute(sa.text("SELECT dimensions FROM embedding_models WHERE name = :name"),
                                {"name": name}).scalar_one_or_none()
    if registered is None or int(registered) != int(embedder.dimensions):
        raise ValidationError(f"The embedding model {name} is not registered with {embedder.dimensions} dimensions.")
    return name, int(registered)


def nearest_chunks(t: Workspace, vectors: np.ndarray, model: str, dims: int, *, k: int) -> list[list[Chunk]]:
    """For each vector, the ``k`` nearest chunks of the workspace's searchable videos, nearest first."""
    if len(vectors) == 0:
        return []
    # Same settings as rag/search.py: walk the HNSW graph past the creator filter; custom plans.
    t.conn.execute(sa.text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                           "set_config('hnsw.ef_search', '100', true)"))
    literal = model.replace(":", "\\:")  # text() reads ":word" as a parameter
    sql = f"""
        SELECT q.n, x.video_id, x.start_seconds, x.chunk_text, x.similarity
        FROM unnest(CAST(:vectors AS text[])) WITH ORDINALITY AS q(v, n)
        CROSS JOIN LATERAL (
          SELECT c.video_id, coalesce(c.start_time_seconds, 0) AS start_seconds, c.chunk_text,
                 1 - (c.embedding::vector({dims}) <=> CAST(q.v AS vector({dims}))) AS similarity
          FROM video_chunks c
          JOIN videos v ON v.id = c.video_id AND v.creator_id = c.creator_id
          WHERE c.embedding_model = '{literal}' AND c.creator_id = :creator
            AND v.status = 'completed' AND NOT v.is_deleted
          ORDER BY c.embedding::vector({dims}) <=> CAST(q.v AS vector({dims}))
          LIMIT :k
        ) x
        ORDER BY q.n, x.similarity DESC
    """
    texts = ["[" + ",".join(f"{x:.7g}" for x in row) + "]" for row in vectors]
    found: list[list[Chunk]] = [[] for _ in texts]
    for row in t.conn.execute(sa.text(sql), {"vectors": texts, "creator": t.creator_id, "k": k}):
        found[row.n - 1].append(Chunk(row.video_id, int(row.start_seconds), row.chunk_text, float(row.similarity)))
    return found


def content_words(t: Workspace, texts: Sequence[str]) -> dict[str, list[tuple[str, str, bool]]]:
    """Per normalised text, its content words in order: (word as typed, its 'english' lexeme,
    whether any transcript of the workspace contains it). Stop words (no lexeme) are left out;
    "deploy", "deploying" and "deployments" are one word (lexeme "deploy")."""
    typed = {normalise(text): [w.strip(".-'") for w in WORD.findall(text)] for text in texts}
    distinct = sorted({w.lower() for words in typed.values() for w in words if w})
    if not distinct:
        return {}
    # One statement for every word: its lexemes (none for a stop word), and whether any searchable
    # chunk holds one of them (the GIN index on search_text answers each probe).
    rows = t.conn.execute(sa.text("""
        SELECT w.word, (array_agg(l.lexeme ORDER BY length(l.lexeme) DESC, l.lexeme))[1] AS lexeme,
               bool_or(EXISTS (
                 SELECT 1 FROM video_chunks c JOIN videos v ON v.id = c.video_id AND v.creator_id = c.creator_id
                 WHERE c.creator_id = :creator AND v.status = 'completed' AND NOT v.is_deleted
                   AND c.search_text @@ CAST(quote_literal(l.lexeme) AS tsquery))) AS known
        FROM unnest(CAST(:words AS text[])) AS w(word)
        CROSS JOIN LATERAL unnest(to_tsvector('english', w.word)) AS l
        GROUP BY w.word
    """), {"creator": t.creator_id, "words": distinct})
    lexemes = {row.word: (row.lexeme, bool(row.known)) for row in rows}
    result: dict[str, list[tuple[str, str, bool]]] = {}
    for norm, words in typed.items():
        seen: set[str] = set()
        result[norm] = []
        for word in words:
            if word.lower() in lexemes:
                lexeme, known = lexemes[word.lower()]
                if lexeme not in seen:
                    seen.add(lexeme)
                    result[norm].append((word, lexeme, known))
    return result


def live_course(t: Workspace, course_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    title = t.conn.execute(sa.text("SELECT title FROM courses WHERE creator_id = :creator AND id = :course "
                                   "AND NOT is_deleted"), {"creator": t.creator_id, "course": course_id}
                           ).scalar_one_or_none()
    if title is None:
        raise NotFound("That course is not in this workspace (or it is in the trash).")
    return course_id, title


def video_lessons(t: Workspace, video_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each video's title and its lessons in live courses, in course order (course, module, lesson),
    with the lesson's number in its course."""
    if not video_ids:
        return {}
    rows = t.conn.execute(sa.text("""
        SELECT v.id AS video_id, v.title AS video_title, x.course_id, x.course_title, x.module_title,
               x.lesson_title, x.number
        FROM videos v
        LEFT JOIN (
          SELECT l.video_id, c.id AS course_id, c.title AS course_title, m.title AS module_title, l.title AS lesson_title,
                 c.display_order AS course_order, c.created_at AS course_created,
                 row_number() OVER (PARTITION BY c.id ORDER BY m.display_order, m.created_at, m.id, l.lesson_order, l.id)
                   AS number
          FROM module_lessons l
          JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id
          JOIN courses c ON c.id = m.course_id AND c.creator_id = m.creator_id AND NOT c.is_deleted
          WHERE l.creator_id = :creator
        ) x ON x.video_id = v.id
        WHERE v.creator_id = :creator AND v.id = ANY(:videos)
        ORDER BY v.id, x.course_order, x.course_created, x.course_id, x.number
    """), {"creator": t.creator_id, "videos": sorted(video_ids)})
    lessons: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        lessons[row.video_id].append({
            "video_title": row.video_title, "course_id": row.course_id, "course_title": row.course_title,
            "module_title": row.module_title, "lesson_title": row.lesson_title, "number": row.number})
    return lessons


def gap_decisions(t: Workspace) -> dict[str, tuple[str, datetime]]:
    """Each decided suggestion's key: its state and when it was decided."""
    rows = t.conn.execute(sa.text("SELECT key, state, decided_at FROM content_gap_states WHERE creator_id = :creator"),
                          {"creator": t.creator_id})
    return {row.key: (row.state, row.decided_at) for row in rows}


# --- grouping ------------------------------------------------------------------------------------
