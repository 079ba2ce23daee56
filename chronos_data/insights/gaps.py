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

import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from ..db import Workspace
from ..embeddings import Embedder
from ..errors import NotFound, ValidationError
from ..rag.retrieve import relevance_floor
from .gap_data import asked_questions, checked_model, content_words, gap_decisions, live_course, nearest_chunks, video_lessons
from .gap_groups import (
    CLUSTER_SIMILARITY,
    LOW_RELEVANCE,
    MIN_QUESTIONS,
    Asked,
    Chunk,
    Unit,
    average_linkage,
    centroid,
    gap_key,
    group_key,
    is_gap,
    key_words,
    low_relevance,
    nearest_lessons,
    nearest_videos,
    needs_scoring,
    unit_vectors,
    units_of,
)
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
_NEAREST_CHUNKS = 8  # chunks near a group's centroid: enough to reach three distinct videos
_EXAMPLES = 5
_KEY = re.compile(r"^gap-[0-9a-f]{16}$")
_LABEL_SYSTEM = ("You name what a group of students' questions asks about, for a course creator's list of "
                 "missing lessons. Reply with one noun phrase of at most eight words: no question, no quotes, "
                 "no full stop.")


def content_gaps(
    t: Workspace,
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
    course = live_course(t, course_id) if course_id is not None else None
    scored = _scored(t, embedder)
    if scored is None:
        return []
    units, vectors, model, dims, words = scored.units, scored.vectors, scored.model, scored.dims, scored.words
    groups = _suggested(scored)
    if not groups:
        return []
    centroids = np.vstack([centroid(vectors, units, g) for g in groups])
    nearest = nearest_chunks(t, centroids, model, dims, k=_NEAREST_CHUNKS)
    lessons = video_lessons(t, {c.video_id for chunks in nearest for c in chunks})
    decisions = gap_decisions(t)
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


def gap_tally(t: Workspace, embedder: Embedder) -> GapTally:
    """Counts of the workspace's unanswered and weakly answered questions, and of the suggestions
    they form (the same rules as :func:`content_gaps`)."""
    asked = asked_questions(t)
    not_found = sum(q.found is False for q in asked)
    scored = _scored(t, embedder, asked)
    if scored is None:
        return GapTally(asked=len(asked), not_found=not_found)
    units, groups, decisions = scored.units, _suggested(scored), gap_decisions(t)
    gap_asks = [q for i in scored.gaps for q in units[i].asked]
    return GapTally(
        asked=len(asked), not_found=not_found, unanswered=sum(q.found is False for q in gap_asks),
        weak=sum(q.found is not False for q in gap_asks),
        suggested=sum(len(units[i].asked) for g in groups for i in g), suggestions=len(groups),
        decided=sum(group_key([units[i] for i in g], decisions) in decisions for g in groups))


@dataclass(frozen=True)
class _Scored:
    """The distinct questions that may be gaps, scored: their unit vectors, the embedding model and
    its dimensions, their content words, and the indexes of those that are gaps."""

    units: list[Unit]
    vectors: np.ndarray
    model: str
    dims: int
    words: dict[str, list[tuple[str, str, bool]]]
    gaps: list[int]


def _scored(t: Workspace, embedder: Embedder, asked: list[Asked] | None = None) -> _Scored | None:
    """The questions re-scored against the transcripts now; None when none of them is a gap."""
    units = units_of(asked_questions(t) if asked is None else asked)
    if not units:
        return None
    model, dims = checked_model(t, embedder)
    words = content_words(t, [u.query for u in units])
    for unit in units:
        mine = words.get(unit.norm, [])
        unit.unknown = sum(not known for _, _, known in mine) / len(mine) if mine else 0.0
    # Embedding costs ~6 ms a question with the local model: an answered question whose words the
    # transcripts hold was answered well enough and is not embedded at all.
    units = [u for u in units if needs_scoring(u)]
    if not units:
        return None
    vectors = unit_vectors(embedder, [u.query for u in units])
    best = nearest_chunks(t, vectors, model, dims, k=1)
    # No chunk made by this model (none imported yet, or embedded by another model before a
    # reembed): nothing to re-score against, so only the stored answers say what was not found.
    searchable = any(best)
    for unit, nearest in zip(units, best, strict=True):
        unit.best = nearest[0].similarity if nearest else (0.0 if searchable else None)
    low, floor = _thresholds(t, model)
    gaps = [i for i, u in enumerate(units) if is_gap(u, low, floor)]
    return _Scored(units, vectors, model, dims, words, gaps) if gaps else None


def _suggested(scored: _Scored) -> list[list[int]]:
    """The gap questions (indexes into the units) grouped by subject: the groups asked often
    enough to be a suggestion."""
    groups = average_linkage(scored.vectors[scored.gaps], CLUSTER_SIMILARITY)
    groups = [[scored.gaps[i] for i in group] for group in groups]
    return [g for g in groups if sum(len(scored.units[i].asked) for i in g) >= MIN_QUESTIONS]


def mark_gap(t: Workspace, key: str, state: str, *, title: str | None = None, example: str | None = None) -> None:
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


def reopen_gap(t: Workspace, key: str) -> None:
    """Undo a decision: the suggestion shows in the inbox again (if its questions still form one)."""
    key = _checked_key(key)
    removed = t.conn.execute(
        sa.text("DELETE FROM content_gap_states WHERE creator_id = :creator AND key = :key"),
        {"creator": t.creator_id, "key": key},
    )
    if removed.rowcount == 0:
        raise NotFound("That suggestion has no decision to undo in this workspace.")


# --- the questions -------------------------------------------------------------------------------

def _thresholds(t: Workspace, model: str) -> tuple[float | None, float | None]:
    """(LOW_RELEVANCE for this model, its relevance floor); (None, None) for a model without a floor."""
    floor = relevance_floor(t, model)
    return (None, None) if floor is None else (low_relevance(float(floor)), float(floor))


# --- the suggestion ------------------------------------------------------------------------------

def _insight(group: list[Unit], chunks: list[Chunk], lessons: dict[uuid.UUID, list[dict[str, Any]]],
             words: dict[str, list[tuple[str, str, bool]]], decisions: dict[str, tuple[str, datetime]],
             course: tuple[uuid.UUID, str] | None, chat_model: ChatModel | None) -> Insight | None:
    asked = sorted((q for unit in group for q in unit.asked), key=lambda q: (q.asked_at, str(q.id)))
    key = group_key(group, decisions)
    videos = nearest_videos(chunks)
    # A course's gap: asked within the course, or nearest to one of its lessons (the course whose
    # material comes closest is where a lesson on it would go).
    if course is not None and not (any(str(q.scope_course) == str(course[0]) for q in asked) or any(
            lesson["course_id"] == course[0] for video in videos[:1] for lesson in lessons.get(video.video_id, []))):
        return None
    nearest = nearest_lessons(videos, lessons, course)
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


def _label(group: list[Unit], words: dict[str, list[tuple[str, str, bool]]], chat_model: ChatModel | None,
           examples: list[str]) -> str:
    if chat_model is not None:
        summary = _summary(chat_model, examples)
        if summary:
            return summary
    return key_words(group, words)


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
