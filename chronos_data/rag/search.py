"""Hybrid passage search: nearest vectors and full-text matches fused by reciprocal rank.

One SQL statement (pgvector-python's ``examples/hybrid_search/rrf.py``): a semantic CTE ranks the
workspace's chunks by cosine distance to the question's vector, a keyword CTE ranks them by
``ts_rank_cd`` against ``websearch_to_tsquery``, and each chunk scores ``1 / (k + rank)`` summed
over the lists it appears in. Vectors find paraphrases; keywords find rare exact terms (an error
code, a function name) that embeddings blur. Ranks, not raw scores, are fused because cosine
similarity and ``ts_rank_cd`` are on unrelated scales.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from pgvector import Vector

from .._rows import to_record
from ..db import Workspace
from ..errors import ValidationError

__all__ = ["SEARCH_MODES", "Passage", "hybrid_search"]

log = logging.getLogger(__name__)

#: "vector" and "keyword" use one list each; they exist to measure what fusion adds.
SEARCH_MODES = ("hybrid", "vector", "keyword")
RRF_K = 60  # the constant of Cormack et al. (2009): damps the weight of the very first ranks
# The model name is inlined into the SQL (the planner only uses a partial index whose WHERE it can
# prove from literals), so besides being registered it must be made of harmless characters.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._:/-]+$")


@dataclass(frozen=True)
class Passage:
    """A chunk found for a question, with how each list ranked it (None: not in that list)."""

    chunk_id: uuid.UUID
    video_id: uuid.UUID
    chunk_index: int
    text: str
    start_seconds: int | None
    end_seconds: int | None
    #: Reciprocal-rank-fusion score: higher is better; comparable only within one search.
    score: float
    cosine_similarity: float | None
    keyword_rank: int | None
    semantic_rank: int | None
    #: Chunk indexes a merged passage spans (empty: this chunk alone); see retrieve.merge_neighbours.
    merged_indexes: tuple[int, ...] = ()


_SQL = """
WITH semantic AS (
  SELECT nearest.id, 1 - nearest.cosine_distance AS cosine_similarity,
         row_number() OVER (ORDER BY nearest.cosine_distance, nearest.id) AS rank
  FROM (
    SELECT c.id, c.embedding::vector({dims}) <=> CAST(:query_embedding AS vector({dims})) AS cosine_distance
    FROM video_chunks c
    JOIN videos v ON v.id = c.video_id AND v.creator_id = c.creator_id
    WHERE c.embedding_model = '{model}'
      AND c.creator_id = :creator_id
      AND v.status = 'completed' AND NOT v.is_deleted
      AND (CAST(:video_ids AS uuid[]) IS NULL OR c.video_id = ANY (CAST(:video_ids AS uuid[])))
    ORDER BY c.embedding::vector({dims}) <=> CAST(:query_embedding AS vector({dims}))
    LIMIT :semantic_candidates
  ) nearest
),
keyword AS (
  SELECT c.id,
         -- Any query word may match (below), so a long chunk collects matches of common words
         -- by size alone; normalization 2 divides by the chunk's length. Measured on the
         -- evaluation set (bench retrieval): hybrid MRR 0.826 with it, 0.805 with 1 (log length).
         -- word_count, chunk_index and the text break the remaining ties repeatably (ids are
         -- random: a restored copy would order its ties differently).
         row_number() OVER (ORDER BY ts_rank_cd(c.search_text, q.query, 2) DESC, c.word_count,
                                     c.chunk_index, c.chunk_text, c.id) AS rank
  FROM video_chunks c
  JOIN videos v ON v.id = c.video_id AND v.creator_id = c.creator_id,
       -- websearch_to_tsquery ANDs the words, so a typed question ("what is the difference
       -- between Strict and Lax") matches no chunk that lacks "differ". Any word may match
       -- instead, and ts_rank_cd rewards chunks with more of them, closer together. Quoted
       -- phrases and OR stay as typed; with a -negation the query is kept as AND, since
       -- "a | !b" would match nearly everything.
       LATERAL (SELECT websearch_to_tsquery('english', :query) AS typed) w,
       LATERAL (SELECT CASE WHEN strpos(w.typed::text, '!') > 0 THEN w.typed
                            ELSE replace(w.typed::text, ' & ', ' | ')::tsquery END) AS q(query)
  WHERE c.search_text @@ q.query
    AND c.creator_id = :creator_id
    AND v.status = 'completed' AND NOT v.is_deleted
    AND (CAST(:video_ids AS uuid[]) IS NULL OR c.video_id = ANY (CAST(:video_ids AS uuid[])))
  ORDER BY rank
  LIMIT :keyword_candidates
),
fused AS (
  SELECT coalesce(s.id, k.id) AS id,
         coalesce(1.0 / (:rrf_k + s.rank), 0.0) + coalesce(1.0 / (:rrf_k + k.rank), 0.0) AS score,
         s.cosine_similarity, s.rank AS semantic_rank, k.rank AS keyword_rank
  FROM semantic s FULL OUTER JOIN keyword k ON k.id = s.id
)
SELECT c.id AS chunk_id, c.video_id, c.chunk_index, c.chunk_text AS text,
       c.start_time_seconds AS start_seconds, c.end_time_seconds AS end_seconds,
       f.score::float8 AS score, f.cosine_similarity::float8 AS cosine_similarity,
       f.semantic_rank::int AS semantic_rank, f.keyword_rank::int AS keyword_rank
FROM fused f
JOIN video_chunks c ON c.id = f.id
ORDER BY f.score DESC, least(f.semantic_rank, f.keyword_rank), f.cosine_similarity DESC NULLS LAST, c.chunk_index,
         c.chunk_text, c.id
LIMIT :limit
"""


def hybrid_search(
    t: Workspace,
    query: str,
    query_embedding: Sequence[float],
    *,
    embedding_model: str,
    dimensions: int,
    limit: int = 8,
    candidates: int = 40,
    video_ids: Sequence[uuid.UUID] | None = None,
    mode: str = "hybrid",
) -> list[Passage]:
    """The workspace's passages that best answer ``query``, best first.

    Only chunks of the workspace's completed, non-deleted videos are searched (filtered here and
    again by row-level security), and only vectors made by ``embedding_model``.

    Args:
        query: the question as typed; any text is safe (``websearch_to_tsquery`` never fails).
        query_embedding: the question's vector from ``embedding_model``.
        dimensions: the model's dimensions, checked against its registration.
        limit: passages to return.
        candidates: how many passages each list contributes to the fusion.
        video_ids: search only these videos (None: all of them).
        mode: "hybrid", or "vector" / "keyword" to use one list alone (for evaluation).

    Returns:
        Up to ``limit`` passages ordered by fused score.
    """
    if mode not in SEARCH_MODES:
        raise ValidationError(f"Unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}.")
    if limit < 1 or candidates < 1:
        raise ValidationError("A search needs a limit and a candidate count of at least 1.")
    dims = _checked_dimensions(t, embedding_model, dimensions)
    vector = np.asarray(query_embedding, dtype=np.float32)
    if vector.shape != (dims,):
        raise ValidationError(
            f"The question's vector has {vector.size} dimensions but {embedding_model} makes {dims}.")
    # Iterative index scans (pgvector 0.8): keep walking the HNSW graph until the creator and
    # status filters have let `candidates` rows through, instead of stopping at ef_search.
    # Custom plans: psycopg prepares a statement on its 5th run, and PostgreSQL's generic plan then
    # treats the typed question as unknown and rebuilds its tsquery for every chunk (bench
    # retrieval, 100k chunks: p50 197 ms generic vs 38 ms custom). Both settings end with the
    # transaction. ef_search 100 instead of pgvector's 40: a filtered walk among 100 k chunks
    # otherwise returned half of the true 10 nearest for out-of-cluster questions (bench retrieval,
    # "HNSW forced" recall 0.49), for a few milliseconds more.
    t.conn.execute(sa.text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                           "set_config('hnsw.ef_search', '100', true), "
                           "set_config('plan_cache_mode', 'force_custom_plan', true)"))
    # text() reads ":word" as a bind parameter even inside a literal; a name like "a:b" is escaped.
    sql = _SQL.format(dims=int(dims), model=embedding_model.replace(":", "\\:"))
    rows = t.conn.execute(
        sa.text(sql),
        {
            "query": query,
            "query_embedding": Vector(vector),
            "creator_id": t.creator_id,
            "video_ids": list(video_ids) if video_ids is not None else None,
            "semantic_candidates": candidates if mode in ("hybrid", "vector") else 0,
            "keyword_candidates": candidates if mode in ("hybrid", "keyword") else 0,
            "rrf_k": RRF_K,
            "limit": limit,
        },
    )
    return [to_record(Passage, row) for row in rows]


def _checked_dimensions(t: Workspace, embedding_model: str, dimensions: int) -> int:
    """The registered dimensions of ``embedding_model``; raises unless it is safe to inline."""
    if not isinstance(embedding_model, str) or not _MODEL_NAME.fullmatch(embedding_model):
        raise ValidationError(f"{embedding_model!r} is not a valid embedding model name.")
    registered = t.conn.execute(
        sa.text("SELECT dimensions FROM embedding_models WHERE name = :name"), {"name": embedding_model}
    ).scalar_one_or_none()
    if registered is None:
        raise ValidationError(f"The embedding model {embedding_model} is not registered.")
    if int(dimensions) != registered:
        raise ValidationError(
            f"The embedding model {embedding_model} makes {registered} dimensions, not {dimensions}.")
    return int(registered)
