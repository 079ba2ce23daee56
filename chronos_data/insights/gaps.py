"""The content-gap inbox: what students keep asking that no lesson covers.

From the questions asked in the workspace (``chat_messages``, the creator's and students'):

1. **Which questions are gaps.** The stored answer's ``metadata.found`` says whether the assistant
   found passages at the time. Retrieval scores are not stored with the answer, so every question
   is re-scored against the workspace's transcripts now: the cosine similarity of its nearest
   chunk (``best``), and the share of its content words (PostgreSQL's 'english' lexemes, stop words
   dropped) that no transcript contains (``unknown``). A question is a gap when

   * the assistant did not find it (``found`` false), unless the videos now clearly cover it
     (``best >= LOW_RELEVANCE`` and fewer than half its words unknown: a lesson was added since); or
   * it was answered, but weakly: ``best`` under ``LOW_RELEVANCE`` with at least half its words
     unknown to every transcript (or, when the answer stored no verdict, under the model's floor).

   Cosine similarity alone cannot tell a weak answer from a paraphrase with the local model
   (the evaluation set's answerable questions score from 0.226, its uncovered near-topic ones up
   to 0.322, the demo's "How do I swap two variables?" 0.211, answered). The words settle it:
   a question about a subject the videos never name ("recursive CTE", "Kubernetes") has most of
   its words in no transcript, a reworded answerable one only one or two. See ``LOW_RELEVANCE``.

2. **Grouping.** The gap questions (their search query: a follow-up carries its subject) are
   embedded with the workspace's embedder; identical texts (normalised) are one unit, and units
   are joined by average-linkage agglomerative clustering on cosine similarity, in numpy, until no
   two groups are closer than ``CLUSTER_SIMILARITY``. Units come in the order they were first
   asked and ties go to the lowest index, so the same questions always give the same groups.
   A group becomes a suggestion when it holds ``MIN_QUESTIONS`` questions (two paraphrases, or one
   question asked twice).

3. **What it says.** A label (the key words the group's questions share, words no transcript
   contains first; a one-line summary when a chat model is given), example questions, counts
   (questions, distinct questions, students), and the nearest lessons: the chunks nearest the
   group's centroid, their videos, and those videos' lessons in course order, with the similarity.

**Keys.** A suggestion's ``key`` is ``gap-`` and 16 hex digits of the SHA-256 of its earliest
question's normalised search text (the question as typed; for a follow-up, its stand-alone
query). New questions are later, so they never change it; it holds no row id, so it survives a
backup restored with fresh ids. When a decision names any question of a group
(groups merge as questions arrive), the group keeps that decision's key and state.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from ..db import Tenant
from ..embeddings import Embedder
from ..errors import NotFound, ValidationError
from .labels import model_label
from .model import Insight

if TYPE_CHECKING:
    from ..rag.llm import ChatModel

__all__ = [
    "CLUSTER_SIMILARITY",
    "GAP_STATES",
    "LOW_RELEVANCE",
    "MIN_QUESTIONS",
    "GapTally",
    "content_gaps",
    "gap_key",
    "gap_tally",
    "mark_gap",
    "reopen_gap",
]


#: What a creator may decide about a suggestion; ``reopen_gap`` removes the decision.
GAP_STATES = ("done", "dismissed")
#: Average cosine similarity (all-MiniLM-L6-v2) at which two groups of gap questions are one subject.
#: Measured on the repository's questions (tests/rag_eval_set.py and the demo's): uncovered
#: questions on *different* subjects (off-topic, near-topic and the demo's gaps, 136 pairs) score
#: at most 0.364; rewordings of one question (each demo question and the evaluation question it
#: paraphrases) 0.682-0.900 (median 0.79); differently worded questions on one uncovered subject
#: (five about deploying to Kubernetes) 0.59-0.94. Among *answerable* questions, which rarely
#: become gap questions, the closest two different ones score 0.570. 0.55 joins a subject's
#: questions while staying under that.
CLUSTER_SIMILARITY = 0.55
#: Best-passage cosine similarity under which a question whose words the transcripts mostly lack
#: counts as answered weakly (all-MiniLM-L6-v2). On the evaluation set the answerable questions
#: with half or more of their words in no transcript all score >= 0.407, the uncovered near-topic
#: ones 0.220-0.300 (5 of 6 flagged; "decorators", 0.322 with 1 of 3 words unknown, is not).
LOW_RELEVANCE = 0.35
#: The floor LOW_RELEVANCE was measured above; other models get the same share of their scale
#: above their own floor (ada-002 rates unrelated text ~0.7, so a fixed 0.35 would flag nothing).
_MEASURED_FLOOR = 0.20
#: Share of a question's content words found in no transcript that marks its subject as absent.
UNKNOWN_SHARE = 0.5
#: Questions (asks) a group needs to be a suggestion: two paraphrases, or one question asked twice.
MIN_QUESTIONS = 2
#: The most recent questions considered (older ones rarely matter to what to fix next). Only the
#: distinct ones that may be gaps are embedded (local model: ~6 ms each on a 2-core laptop).
MAX_QUESTIONS = 2_000
_NEAREST_CHUNKS = 8  # chunks near a group's centroid: enough to reach three distinct videos
_NEAREST_VIDEOS = 3
_EXAMPLES = 5
_LABEL_WORDS = 3
_LABEL_SHARE = 0.75  # of the questions using the label's most shared word
_KEY = re.compile(r"^gap-[0-9a-f]{16}$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._:/-]+$")  # inlined into SQL (see rag/search.py): harmless characters only
# A word as learners type it: "reset --hard", "If-None-Match", "C#", "list.sort" stay whole.
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+#'._-]*")
# Words that say how a question is asked, not what about; a label made of them says nothing.
_GENERIC = frozenset({
    "work", "works", "working", "use", "using", "used", "make", "makes", "get", "gets", "way", "ways", "need",
    "want", "thing", "things", "difference", "mean", "means", "like", "best", "also", "one", "really", "good",
    "help", "explain", "know", "happen", "happens", "possible", "example", "right", "correct", "properly",
})
_LABEL_SYSTEM = ("You name what a group of students' questions asks about, for a course creator's list of "
                 "missing lessons. Reply with one noun phrase of at most eight words: no question, no quotes, "
                 "no full stop.")


@dataclass
class _Asked:
    """One question as asked, with what answered it."""

    id: uuid.UUID
    text: str  # as typed
    query: str  # as searched (a follow-up carries its subject)
    asked_at: datetime
    student_id: uuid.UUID | None
    found: bool | None
    scope_course: str | None


@dataclass
class _Unit:
    """One distinct question text (normalised), and every time it was asked."""

    norm: str
    query: str
    asked: list[_Asked] = field(default_factory=list)
    best: float | None = None  # cosine similarity of the nearest chunk now (None: nothing to compare)
    unknown: float = 0.0  # share of the content words that no transcript contains


@dataclass(frozen=True)
class _Chunk:
    video_id: uuid.UUID
    start_seconds: int
    text: str
    similarity: float


def gap_key(question: str) -> str:
    """The key of a suggestion whose earliest question is ``question``."""
    return "gap-" + hashlib.sha256(_normalise(question).encode()).hexdigest()[:16]


def _normalise(text: str) -> str:
    """Case, spacing and punctuation aside, the same question: "How do I X?" == "how do i x"."""
    words = " ".join(w.strip(".-'").lower() for w in _WORD.findall(text)).strip()
    return words or " ".join(text.lower().split())  # "???" stays itself


def content_gaps(
    t: Tenant,
    embedder: Embedder,
    course_id: uuid.UUID | None = None,
    *,
    include_decided: bool = False,
    chat_model: ChatModel | None = None,
) -> list[Insight]:
    """Suggestions of missing lessons: groups of questions the videos do not answer, most asked first.

    Args:
        embedder: the workspace's embedding model (the one its chunks were embedded with).
        course_id: only groups near this course's lessons (or asked within it), with its lessons.
        include_decided: also the suggestions marked done or dismissed (``evidence["state"]``).
        chat_model: when given, labels are a model's one-line summary instead of key words. The
            call happens inside the caller's transaction; a page that wants none may pass None.

    Raises:
        NotFound: ``course_id`` is not a live course of this workspace.
    """
    course = _course(t, course_id) if course_id is not None else None
    scored = _scored(t, embedder)
    if scored is None:
        return []
    units, vectors, model, dims, words = scored.units, scored.vectors, scored.model, scored.dims, scored.words
    groups = _suggested(scored)
    if not groups:
        return []
    centroids = np.vstack([_centroid(vectors, units, g) for g in groups])
    nearest = _nearest(t, centroids, model, dims, k=_NEAREST_CHUNKS)
    lessons = _lessons(t, {c.video_id for chunks in nearest for c in chunks})
    decisions = _decisions(t)
    found: list[Insight] = []
    for group, chunks in zip(groups, nearest, strict=True):
        insight = _insight([units[i] for i in group], chunks, lessons, words, decisions, course, chat_model)
        if insight is None:
            continue
        if not include_decided and insight.evidence["state"] != "open":
            continue
        found.append(insight)
    found.sort(key=lambda i: (-i.score, i.key))
    return found


@dataclass(frozen=True)
class GapTally:
    """How the workspace's questions fared, for saying why there is no suggestion (no course filter).

    ``asked`` questions considered; ``not_found`` the assistant found no passage for;
    ``unanswered`` of those still uncovered now (the rest a lesson added since covers);
    ``weak`` answered, but weakly (see the module's docstring); ``suggested`` the gap questions in a
    group of ``MIN_QUESTIONS`` or more, ``suggestions`` those groups and ``decided`` the groups
    marked done or dismissed.
    """

    asked: int = 0
    not_found: int = 0
    unanswered: int = 0
    weak: int = 0
    suggested: int = 0
    suggestions: int = 0
    decided: int = 0


def gap_tally(t: Tenant, embedder: Embedder) -> GapTally:
    """Counts of the workspace's unanswered and weakly answered questions, and of the suggestions
    they form (the same rules as :func:`content_gaps`)."""
    asked = _questions(t)
    not_found = sum(q.found is False for q in asked)
    scored = _scored(t, embedder, asked)
    if scored is None:
        return GapTally(asked=len(asked), not_found=not_found)
    units, groups, decisions = scored.units, _suggested(scored), _decisions(t)
    gap_asks = [q for i in scored.gaps for q in units[i].asked]
    return GapTally(
        asked=len(asked), not_found=not_found, unanswered=sum(q.found is False for q in gap_asks),
        weak=sum(q.found is not False for q in gap_asks),
        suggested=sum(len(units[i].asked) for g in groups for i in g), suggestions=len(groups),
        decided=sum(_group_key([units[i] for i in g], decisions) in decisions for g in groups))


@dataclass(frozen=True)
class _Scored:
    """The distinct questions that may be gaps, scored: their unit vectors, the embedding model and
    its dimensions, their content words, and the indexes of those that are gaps."""

    units: list[_Unit]
    vectors: np.ndarray
    model: str
    dims: int
    words: dict[str, list[tuple[str, str, bool]]]
    gaps: list[int]


def _scored(t: Tenant, embedder: Embedder, asked: list[_Asked] | None = None) -> _Scored | None:
    """The questions re-scored against the transcripts now; None when none of them is a gap."""
    units = _units(_questions(t) if asked is None else asked)
    if not units:
        return None
    model, dims = _checked_model(t, embedder)
    words = _content_words(t, [u.query for u in units])
    for unit in units:
        mine = words.get(unit.norm, [])
        unit.unknown = sum(not known for _, _, known in mine) / len(mine) if mine else 0.0
    # Embedding costs ~6 ms a question with the local model: an answered question whose words the
    # transcripts hold was answered well enough and is not embedded at all.
    units = [u for u in units if _needs_scoring(u)]
    if not units:
        return None
    vectors = _unit_vectors(embedder, [u.query for u in units])
    best = _nearest(t, vectors, model, dims, k=1)
    # No chunk made by this model (none imported yet, or embedded by another model before a
    # reembed): nothing to re-score against, so only the stored answers say what was not found.
    searchable = any(best)
    for unit, nearest in zip(units, best, strict=True):
        unit.best = nearest[0].similarity if nearest else (0.0 if searchable else None)
    low, floor = _thresholds(t, model)
    gaps = [i for i, u in enumerate(units) if _is_gap(u, low, floor)]
    return _Scored(units, vectors, model, dims, words, gaps) if gaps else None


def _suggested(scored: _Scored) -> list[list[int]]:
    """The gap questions (indexes into the units) grouped by subject: the groups asked often
    enough to be a suggestion."""
    groups = _average_linkage(scored.vectors[scored.gaps], CLUSTER_SIMILARITY)
    groups = [[scored.gaps[i] for i in group] for group in groups]
    return [g for g in groups if sum(len(scored.units[i].asked) for i in g) >= MIN_QUESTIONS]


def mark_gap(t: Tenant, key: str, state: str, *, title: str | None = None, example: str | None = None) -> None:
    """Record the creator's decision on a suggestion: "done" (a lesson now covers it) or "dismissed".

    ``title`` and ``example`` keep what the suggestion said, for listing the decision later.
    Deciding again replaces the decision.
    """
    key = _checked_key(key)
    if state not in GAP_STATES:
        raise ValidationError(f"'{state}' is not a decision on a suggestion; use done or dismissed.")
    t.conn.execute(
        sa.text("INSERT INTO content_gap_states (creator_id, key, state, title, example_question) "
                "VALUES (:creator, :key, :state, :title, :example) "
                "ON CONFLICT (creator_id, key) DO UPDATE SET state = EXCLUDED.state, decided_at = now(), "
                "title = coalesce(EXCLUDED.title, content_gap_states.title), "
                "example_question = coalesce(EXCLUDED.example_question, content_gap_states.example_question)"),
        {"creator": t.creator_id, "key": key, "state": state, "title": _clip(title, 500),
         "example": _clip(example, 2_000)},
    )


def reopen_gap(t: Tenant, key: str) -> None:
    """Undo a decision: the suggestion shows in the inbox again (if its questions still form one)."""
    key = _checked_key(key)
    removed = t.conn.execute(
        sa.text("DELETE FROM content_gap_states WHERE creator_id = :creator AND key = :key"),
        {"creator": t.creator_id, "key": key},
    )
    if removed.rowcount == 0:
        raise NotFound("That suggestion has no decision to undo in this workspace.")


# --- the questions -------------------------------------------------------------------------------

def _questions(t: Tenant) -> list[_Asked]:
    """The workspace's most recent questions in live conversations, oldest first, each with the
    message that followed it (its answer, when that is the assistant's)."""
    rows = t.conn.execute(sa.text("""
        SELECT q.id, q.content, q.created_at AS asked_at, s.student_id,
               CASE WHEN a.role = 'assistant' AND jsonb_typeof(a.metadata -> 'found') = 'boolean'
                    THEN (a.metadata ->> 'found')::boolean END AS found,
               CASE WHEN a.role = 'assistant' THEN a.metadata ->> 'query' END AS query,
               q.metadata -> 'scope' ->> 'course_id' AS scope_course
        FROM chat_messages q
        JOIN chat_sessions s ON s.id = q.session_id AND s.creator_id = q.creator_id AND s.deleted_at IS NULL
        LEFT JOIN LATERAL (
          SELECT m.role, m.metadata FROM chat_messages m
          WHERE m.creator_id = q.creator_id AND m.session_id = q.session_id AND (m.created_at, m.id) > (q.created_at, q.id)
          ORDER BY m.created_at, m.id LIMIT 1
        ) a ON true
        WHERE q.creator_id = :creator AND q.role = 'user'
        ORDER BY q.created_at DESC, q.id
        LIMIT :limit
    """), {"creator": t.creator_id, "limit": MAX_QUESTIONS})
    asked = [_Asked(row.id, row.content, _query(row.query, row.content), row.asked_at, row.student_id, row.found,
                    row.scope_course) for row in rows]
    asked.reverse()
    return asked


def _query(stored: str | None, question: str) -> str:
    query = " ".join((stored or "").split())
    return query if 0 < len(query) <= 2_000 else question


def _units(asked: list[_Asked]) -> list[_Unit]:
    units: dict[str, _Unit] = {}
    for question in asked:  # oldest first: a unit's position is when it was first asked
        norm = _normalise(question.query)
        units.setdefault(norm, _Unit(norm, question.query)).asked.append(question)
    return list(units.values())


def _unit_vectors(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def _needs_scoring(unit: _Unit) -> bool:
    """Whether the question's nearest passage decides if it is a gap: not when every answer found
    passages (above the relevance floor, then) and most of its words are in the transcripts."""
    return any(q.found is not True for q in unit.asked) or unit.unknown >= UNKNOWN_SHARE


def _is_gap(unit: _Unit, low: float | None, floor: float | None) -> bool:
    mostly_unknown = unit.unknown >= UNKNOWN_SHARE
    found = {q.found for q in unit.asked}
    if unit.best is None:
        return False in found
    if False in found:
        # Not found then; still a gap unless the videos now clearly cover it (a lesson added since).
        return low is None or unit.best < low or mostly_unknown
    weak = low is not None and unit.best < low and mostly_unknown
    if None in found:  # no verdict stored with the answer: the floor decides, as the assistant would
        return weak or (floor is not None and unit.best < floor)
    return weak


# --- the transcripts -----------------------------------------------------------------------------

def _checked_model(t: Tenant, embedder: Embedder) -> tuple[str, int]:
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


def _thresholds(t: Tenant, model: str) -> tuple[float | None, float | None]:
    """(LOW_RELEVANCE for this model, its relevance floor); (None, None) for a model without a floor."""
    floor = t.conn.execute(sa.text("SELECT relevance_floor FROM embedding_models WHERE name = :name"),
                           {"name": model}).scalar_one_or_none()
    if floor is None:
        return None, None
    floor = float(floor)
    return floor + (LOW_RELEVANCE - _MEASURED_FLOOR) * (1 - floor) / (1 - _MEASURED_FLOOR), floor


def _nearest(t: Tenant, vectors: np.ndarray, model: str, dims: int, *, k: int) -> list[list[_Chunk]]:
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
    found: list[list[_Chunk]] = [[] for _ in texts]
    for row in t.conn.execute(sa.text(sql), {"vectors": texts, "creator": t.creator_id, "k": k}):
        found[row.n - 1].append(_Chunk(row.video_id, int(row.start_seconds), row.chunk_text, float(row.similarity)))
    return found


def _content_words(t: Tenant, texts: Sequence[str]) -> dict[str, list[tuple[str, str, bool]]]:
    """Per normalised text, its content words in order: (word as typed, its 'english' lexeme,
    whether any transcript of the workspace contains it). Stop words (no lexeme) are left out;
    "deploy", "deploying" and "deployments" are one word (lexeme "deploy")."""
    typed = {_normalise(text): [w.strip(".-'") for w in _WORD.findall(text)] for text in texts}
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


def _course(t: Tenant, course_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    title = t.conn.execute(sa.text("SELECT title FROM courses WHERE creator_id = :creator AND id = :course "
                                   "AND NOT is_deleted"), {"creator": t.creator_id, "course": course_id}
                           ).scalar_one_or_none()
    if title is None:
        raise NotFound("That course is not in this workspace (or it is in the trash).")
    return course_id, title


def _lessons(t: Tenant, video_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
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


def _decisions(t: Tenant) -> dict[str, tuple[str, datetime]]:
    """Each decided suggestion's key: its state and when it was decided."""
    rows = t.conn.execute(sa.text("SELECT key, state, decided_at FROM content_gap_states WHERE creator_id = :creator"),
                          {"creator": t.creator_id})
    return {row.key: (row.state, row.decided_at) for row in rows}


# --- grouping ------------------------------------------------------------------------------------

def _average_linkage(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Groups of row indexes: repeatedly join the two groups with the highest average pairwise
    cosine similarity while it is at least ``threshold`` (Lance-Williams update, ties to the lowest
    index). Groups come in the order of their first member."""
    n = len(vectors)
    if n == 0:
        return []
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    sizes = np.ones(n)
    members: list[list[int]] = [[i] for i in range(n)]
    while n > 1:
        i, j = divmod(int(np.argmax(similarity)), n)
        if similarity[i, j] < threshold:
            break
        i, j = min(i, j), max(i, j)
        joined = (sizes[i] * similarity[i] + sizes[j] * similarity[j]) / (sizes[i] + sizes[j])
        similarity[i, :] = joined
        similarity[:, i] = joined
        similarity[i, i] = -np.inf
        similarity[j, :] = -np.inf
        similarity[:, j] = -np.inf
        sizes[i] += sizes[j]
        members[i] += members[j]
        members[j] = []
    return sorted((sorted(m) for m in members if m), key=lambda m: m[0])


def _centroid(vectors: np.ndarray, units: list[_Unit], group: list[int]) -> np.ndarray:
    """The group's direction, each distinct question weighted by how often it was asked."""
    weights = np.array([len(units[i].asked) for i in group], dtype=np.float64)
    mean = (vectors[group] * weights[:, None]).sum(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


# --- the suggestion ------------------------------------------------------------------------------

def _group_key(group: list[_Unit], decisions: dict[str, tuple[str, datetime]]) -> str:
    """The group's key: the earliest of its questions that a decision names, else its earliest."""
    by_first = sorted(group, key=lambda u: (u.asked[0].asked_at, str(u.asked[0].id)))
    decided = next((gap_key(u.norm) for u in by_first if gap_key(u.norm) in decisions), None)
    return decided or gap_key(by_first[0].norm)


def _insight(group: list[_Unit], chunks: list[_Chunk], lessons: dict[uuid.UUID, list[dict[str, Any]]],
             words: dict[str, list[tuple[str, str, bool]]], decisions: dict[str, tuple[str, datetime]],
             course: tuple[uuid.UUID, str] | None, chat_model: ChatModel | None) -> Insight | None:
    asked = sorted((q for unit in group for q in unit.asked), key=lambda q: (q.asked_at, str(q.id)))
    key = _group_key(group, decisions)
    videos = _nearest_videos(chunks)
    # A course's gap: asked within the course, or nearest to one of its lessons (the course whose
    # material comes closest is where a lesson on it would go).
    if course is not None and not (any(str(q.scope_course) == str(course[0]) for q in asked) or any(
            lesson["course_id"] == course[0] for video in videos[:1] for lesson in lessons.get(video.video_id, []))):
        return None
    nearest = _nearest_lessons(videos, lessons, course)
    students = {q.student_id for q in asked if q.student_id is not None}
    examples = [u.asked[-1].text for u in sorted(group, key=lambda u: (-len(u.asked), u.asked[0].asked_at))]
    label = _label(group, words, chat_model, examples)
    if len(students) >= 2:
        title = f"Students keep asking about {label}; no lesson covers it"
    elif students:
        title = f"A student keeps asking about {label}; no lesson covers it"
    else:
        title = f"{len(asked)} questions about {label}; no lesson covers it"
    top = chunks[0] if chunks else None
    context = next((n for n in nearest if n["course_id"] is not None), None)
    missing: dict[str, Counter[str]] = defaultdict(Counter)  # lexeme -> the forms it was typed in
    for unit in group:
        for typed, lexeme, known in words.get(unit.norm, []):
            if not known:
                missing[lexeme][typed] += len(unit.asked)
    unknown = sorted((forms.most_common(1)[0][0] for forms in missing.values()), key=str.lower)
    evidence = {
        "label": label,
        "questions": len(asked),
        "distinct_questions": len(group),
        "students": len(students),
        "not_found": sum(q.found is False for q in asked),
        "best_similarity": round(max(u.best or 0.0 for u in group), 3),
        "examples": examples[:_EXAMPLES],
        "words_not_in_transcripts": unknown,
        "nearest_lessons": nearest,
        "first_asked": asked[0].asked_at.isoformat(),
        "last_asked": asked[-1].asked_at.isoformat(),
        "state": decisions[key][0] if key in decisions else "open",
        "decided_at": decisions[key][1].isoformat() if key in decisions else None,
    }
    return Insight(
        kind="content_gap",
        title=title,
        # Distinct askers first (five students outweigh one student asking five times), asks next.
        score=float(len(students) + (1 if any(q.student_id is None for q in asked) else 0)) + len(asked) / 10,
        video_id=top.video_id if top else None,
        video_title=lessons.get(top.video_id, [{}])[0].get("video_title") if top else None,
        second=float(top.start_seconds) if top else None,
        passage=top.text if top else None,
        course_id=course[0] if course else (uuid.UUID(str(context["course_id"])) if context else None),
        course_title=course[1] if course else (context["course_title"] if context else None),
        lesson=context["lesson"] if context else None,
        evidence=evidence,
        key=key,
    )


def _nearest_videos(chunks: list[_Chunk]) -> list[_Chunk]:
    """The best chunk of each of the nearest distinct videos."""
    videos: dict[uuid.UUID, _Chunk] = {}
    for chunk in chunks:
        if chunk.video_id not in videos:
            videos[chunk.video_id] = chunk
    return list(videos.values())[:_NEAREST_VIDEOS]


def _nearest_lessons(videos: list[_Chunk], lessons: dict[uuid.UUID, list[dict[str, Any]]],
                     course: tuple[uuid.UUID, str] | None) -> list[dict[str, Any]]:
    """The nearest videos' lessons (in ``course`` only, when given), in course order, each with
    its video's similarity; a video in no course is listed as itself."""
    found = []
    for chunk in videos:
        for lesson in lessons.get(chunk.video_id, []):
            if course is not None and lesson["course_id"] != course[0]:
                continue
            found.append({
                "course_id": str(lesson["course_id"]) if lesson["course_id"] else None,
                "course_title": lesson["course_title"],
                "module_title": lesson["module_title"],
                "lesson_number": lesson["number"],
                "lesson": lesson["lesson_title"],
                "video_id": str(chunk.video_id),
                "video_title": lesson["video_title"],
                "second": chunk.start_seconds,
                "similarity": round(chunk.similarity, 3),
            })
    order = {}
    for entry in found:  # courses in the order first met, then lessons by number within each
        order.setdefault(entry["course_id"], len(order))
    return sorted(found, key=lambda e: (order[e["course_id"]], e["lesson_number"] or 0, -e["similarity"]))


def _label(group: list[_Unit], words: dict[str, list[tuple[str, str, bool]]], chat_model: ChatModel | None,
           examples: list[str]) -> str:
    if chat_model is not None:
        summary = _summary(chat_model, examples)
        if summary:
            return summary
    return _key_words(group, words)


def _key_words(group: list[_Unit], words: dict[str, list[tuple[str, str, bool]]]) -> str:
    """The content words the group's questions share (one question: its own words), only those no
    transcript contains when there are such (they name what is missing), in the order the most
    asked question uses them ("recursive CTE")."""
    share: Counter[str] = Counter()
    unknown: set[str] = set()
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for unit in group:
        for typed, lexeme, known in words.get(unit.norm, []):
            share[lexeme] += 1
            forms[lexeme][typed] += len(unit.asked)
            if not known:
                unknown.add(lexeme)
    if not share:
        return f"“{group[0].asked[0].text}”"
    # Shared: by both of two questions, by at least half of more.
    common = 1 if len(group) == 1 else max(2, math.ceil(len(group) / 2))
    generic = {lexeme for lexeme in share if any(form.lower() in _GENERIC for form in forms[lexeme])}
    ranked = sorted(share, key=lambda w: (w in generic, w not in unknown, -share[w], -sum(forms[w].values()), w))
    shared = [w for w in ranked if share[w] >= common and w not in generic]
    shared = [w for w in shared if w in unknown] or shared
    # Only words nearly as common as the most common: "Kubernetes" (5 of 5), not "deploy" (3 of 5).
    chosen = [w for w in shared if share[w] >= _LABEL_SHARE * share[shared[0]]][:_LABEL_WORDS] if shared else ranked[:1]
    main = max(group, key=lambda u: (len(u.asked), -u.asked[0].asked_at.timestamp()))
    position = {lexeme: i for i, (_, lexeme, _) in enumerate(words.get(main.norm, []))}
    chosen.sort(key=lambda w: (position.get(w, len(position)), ranked.index(w)))
    return " ".join(forms[w].most_common(1)[0][0] for w in chosen)


def _summary(chat_model: ChatModel, examples: list[str]) -> str | None:
    """A model's one-line name for the questions' topic; None when it fails (key words then)."""
    return model_label(chat_model, _LABEL_SYSTEM, "Questions:\n" + "\n".join(f"- {q}" for q in examples[:_EXAMPLES]))


def _checked_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValidationError("That is not a content-gap suggestion's key (gap- and 16 hex digits).")
    return key


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text[:limit] or None
