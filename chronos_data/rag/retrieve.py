"""From a question to the passages that answer it: scope, search, relevance, merging.

``hybrid_search`` ranks chunks; this module decides which of them are worth showing: it keeps
only passages above the embedding model's calibrated relevance floor, joins neighbouring chunks
of one video into one passage (their overlapping words once), drops near-duplicates, and adds
what a citation needs (title, source, the moment's link).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa

from ..db import Workspace
from ..embeddings import Embedder
from ..errors import NotFound, ValidationError
from .search import Passage, hybrid_search

__all__ = [
    "MAX_PASSAGES",
    "SEARCH_LIMIT",
    "Scope",
    "Source",
    "document_frequencies",
    "merge_neighbours",
    "relevance_floor",
    "retrieve",
    "scope_video_ids",
]

log = logging.getLogger(__name__)

#: Passages given to the answer: enough to cover a question that spans two moments, few enough
#: that a model reads them all and a student can check every citation.
MAX_PASSAGES = 5
SEARCH_LIMIT = 12  # chunks ranked before merging: neighbours and duplicates fold into fewer passages
_DUPLICATE_OVERLAP = 0.8  # share of words two passages may have in common before one is dropped
_MAX_OVERLAP_WORDS = 80  # the chunker repeats at most ~30 words; the search for the seam stops here


@dataclass(frozen=True)
class Scope:
    """What the assistant may search: every video (the default), one course, or chosen videos."""

    course_id: uuid.UUID | None = None
    video_ids: tuple[uuid.UUID, ...] | None = None


@dataclass(frozen=True)
class Source:
    """A passage ready to cite: which video, which seconds, what was said, and where to watch it."""

    video_id: uuid.UUID
    title: str
    source_type: str
    youtube_video_id: str | None
    start_seconds: int
    end_seconds: int
    text: str
    cosine_similarity: float | None
    score: float
    chunk_indexes: tuple[int, ...]
    #: The source's own id (YouTube id, Loom id, Mux playback id): what a citation's link needs.
    source_key: str | None = None


def scope_video_ids(t: Workspace, scope: Scope) -> list[uuid.UUID] | None:
    """The videos a scope allows (None: all the workspace's videos)."""
    if scope.course_id is None:
        return list(scope.video_ids) if scope.video_ids is not None else None
    found = t.conn.execute(
        sa.text("SELECT true FROM courses WHERE creator_id = :creator AND id = :course AND NOT is_deleted"),
        {"creator": t.creator_id, "course": scope.course_id},
    ).scalar_one_or_none()
    if not found:
        raise NotFound("That course is not in this workspace (or it is in the trash).")
    in_course = [row[0] for row in t.conn.execute(
        sa.text("SELECT DISTINCT l.video_id FROM module_lessons l "
                "JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id "
                "WHERE l.creator_id = :creator AND m.course_id = :course"),
        {"creator": t.creator_id, "course": scope.course_id},
    )]
    if scope.video_ids is not None:
        return [v for v in in_course if v in set(scope.video_ids)]
    return in_course


def relevance_floor(t: Workspace, embedding_model: str) -> float | None:
    """The cosine similarity under which ``embedding_model``'s passages do not answer a question."""
    return t.conn.execute(sa.text("SELECT relevance_floor FROM embedding_models WHERE name = :name"),
                          {"name": embedding_model}).scalar_one_or_none()


def retrieve(
    t: Workspace,
    query: str,
    embedder: Embedder,
    *,
    scope: Scope | None = None,
    max_passages: int = MAX_PASSAGES,
    query_vector: Sequence[float] | None = None,
    use_floor: bool = True,
) -> tuple[list[Source], list[Source]]:
    """The passages that answer ``query`` within ``scope``, best first.

    ``query_vector`` is the query's embedding when the caller already has it (else it is embedded).
    ``use_floor``: refuse when the best passage's cosine is under the model's relevance floor;
    False when the caller decides from the moments inside the passages (the offline answer).

    Returns:
        (relevant, nearest): the passages above the model's relevance floor, and, when none is,
        the closest ones below it (for suggesting what the videos do cover).
    """
    if max_passages < 1:
        raise ValidationError("Ask for at least one passage.")
    video_ids = scope_video_ids(t, scope or Scope())
    if video_ids is not None and not video_ids:
        return [], []
    vector = query_vector if query_vector is not None else embedder.embed([query])[0]
    passages = hybrid_search(t, query, vector, embedding_model=embedder.model, dimensions=embedder.dimensions,
                             limit=SEARCH_LIMIT, video_ids=video_ids)
    floor = relevance_floor(t, embedder.model)
    best = max((p.cosine_similarity for p in passages if p.cosine_similarity is not None), default=None)
    if use_floor and floor is not None and (best is None or best < floor):
        return [], _sources(t, merge_neighbours(passages))[:3]
    # Once the best passage clears the floor, every ranked passage is kept: a passage's cosine is
    # that of a minute of speech, low even where one sentence answers (bench rag: dropping passages
    # under the floor lost the answer of 6 of 109 questions). The quoting scores each moment.
    merged = _without_duplicates(merge_neighbours(passages))
    return _sources(t, merged)[:max_passages], []


def document_frequencies(t: Workspace, words: Sequence[str], embedding_model: str) -> tuple[dict[str, int], int]:
    """How many of the workspace's passages (``embedding_model``'s chunks of its completed videos)
    hold each word, and how many passages there are: the IDF of a keyword score over the creator's
    own videos. Each word is stemmed by PostgreSQL's English configuration, as the search is; a word
    that configuration drops as a stop word ("up", "each", "only") is left out: no passage can match
    it, and counted it would weigh as the rarest word of all."""
    counts = {row.word: int(row.df) for row in t.conn.execute(sa.text(
        "SELECT w.word, (SELECT count(*) FROM video_chunks c JOIN videos v ON v.id = c.video_id "
        "AND v.creator_id = c.creator_id WHERE c.creator_id = :creator AND c.embedding_model = :model "
        "AND v.status = 'completed' AND NOT v.is_deleted "
        "AND c.search_text @@ plainto_tsquery('english', w.word)) AS df "
        "FROM unnest(CAST(:words AS text[])) AS w(word) "
        "WHERE numnode(plainto_tsquery('english', w.word)) > 0"),
        {"creator": t.creator_id, "model": embedding_model, "words": list(words)})}
    total = t.conn.execute(sa.text(
        "SELECT count(*) FROM video_chunks c JOIN videos v ON v.id = c.video_id AND v.creator_id = c.creator_id "
        "WHERE c.creator_id = :creator AND c.embedding_model = :model AND v.status = 'completed' "
        "AND NOT v.is_deleted"), {"creator": t.creator_id, "model": embedding_model}).scalar_one()
    return counts, int(total)


def merge_neighbours(passages: Sequence[Passage]) -> list[Passage]:
    """Join chunks of one video that touch (adjacent indexes) into one passage, keeping rank order.

    The merged passage takes the best score of its parts and the span of their seconds; the words
    the chunker repeated at each seam appear once.
    """
    groups: list[list[Passage]] = []
    for passage in passages:
        for group in groups:
            if group[0].video_id == passage.video_id and any(
                    abs(p.chunk_index - passage.chunk_index) <= 1 for p in group):
                group.append(passage)
                break
        else:
            groups.append([passage])
    # A chunk may bridge two groups found earlier (3 joins 2 and 4): merge until stable.
    changed = True
    while changed:
        changed = False
        for i, first in enumerate(groups):
            for second in groups[i + 1:]:
                if first[0].video_id == second[0].video_id and any(
                        abs(a.chunk_index - b.chunk_index) <= 1 for a in first for b in second):
                    first.extend(second)
                    groups.remove(second)
                    changed = True
                    break
            if changed:
                break
    return [_join(group) for group in groups]


def _join(group: list[Passage]) -> Passage:
    if len(group) == 1:
        return group[0]
    ordered = sorted(group, key=lambda p: p.chunk_index)
    words = ordered[0].text.split()
    for nxt in ordered[1:]:
        words += nxt.text.split()[_seam(words, nxt.text.split()):]
    best = max(group, key=lambda p: p.score)
    similarities = [p.cosine_similarity for p in group if p.cosine_similarity is not None]
    return replace(
        best,
        text=" ".join(words),
        chunk_index=ordered[0].chunk_index,
        start_seconds=min(p.start_seconds or 0 for p in group),
        end_seconds=max(p.end_seconds or 0 for p in group),
        cosine_similarity=max(similarities) if similarities else None,
        merged_indexes=tuple(p.chunk_index for p in ordered),
    )


def _seam(before: list[str], after: list[str]) -> int:
    """How many leading words of ``after`` repeat the end of ``before``."""
    for size in range(min(len(before), len(after), _MAX_OVERLAP_WORDS), 0, -1):
        if before[-size:] == after[:size]:
            return size
    return 0


def _without_duplicates(passages: list[Passage]) -> list[Passage]:
    """Drop a passage whose words are mostly another, better-ranked passage's (a video imported
    twice, a lesson repeated in a recap)."""
    kept: list[Passage] = []
    for passage in passages:
        words = set(passage.text.lower().split())
        if not any(len(words & set(k.text.lower().split())) >= _DUPLICATE_OVERLAP * max(len(words), 1)
                   for k in kept):
            kept.append(passage)
    return kept


def _sources(t: Workspace, passages: list[Passage]) -> list[Source]:
    if not passages:
        return []
    videos = {row.id: row for row in t.conn.execute(
        sa.text("SELECT id, title, source_type, youtube_video_id, coalesce(youtube_video_id, embed_id, "
                "mux_playback_id) AS source_key FROM videos WHERE creator_id = :creator AND id = ANY(:ids)"),
        {"creator": t.creator_id, "ids": list({p.video_id for p in passages})},
    )}
    return [
        Source(video_id=p.video_id, title=videos[p.video_id].title, source_type=videos[p.video_id].source_type,
               youtube_video_id=videos[p.video_id].youtube_video_id, start_seconds=int(p.start_seconds or 0),
               end_seconds=int(p.end_seconds or p.start_seconds or 0), text=p.text,
               cosine_similarity=p.cosine_similarity, score=p.score,
               chunk_indexes=p.merged_indexes or (p.chunk_index,), source_key=videos[p.video_id].source_key)
        for p in passages if p.video_id in videos
    ]
