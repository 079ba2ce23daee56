"""The content-gap inbox's pure parts: which questions are gaps, how they group, what a group is called.

No database: questions come in as ``Asked``, their nearest passages as ``Chunk``, their content
words as (typed, lexeme, known) triples. ``gaps``' module docstring explains the rules.
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
from typing import Any

import numpy as np

from ..embeddings import Embedder

__all__ = ["CLUSTER_SIMILARITY", "LOW_RELEVANCE", "MIN_QUESTIONS", "UNKNOWN_SHARE", "Asked", "Chunk", "Unit",
           "average_linkage", "centroid", "gap_key", "group_key", "is_gap", "key_words", "low_relevance",
           "nearest_lessons", "nearest_videos", "needs_scoring", "normalise", "search_text", "unit_vectors",
           "units_of"]

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
MEASURED_FLOOR = 0.20
#: Share of a question's content words found in no transcript that marks its subject as absent.
UNKNOWN_SHARE = 0.5
#: Questions (asks) a group needs to be a suggestion: two paraphrases, or one question asked twice.
MIN_QUESTIONS = 2
_NEAREST_VIDEOS = 3
_LABEL_WORDS = 3
_LABEL_SHARE = 0.75  # of the questions using the label's most shared word
# A word as students type it: "reset --hard", "If-None-Match", "C#", "list.sort" stay whole.
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+#'._-]*")
# Words that say how a question is asked, not what about; a label made of them says nothing.
_GENERIC = frozenset({
    "work", "works", "working", "use", "using", "used", "make", "makes", "get", "gets", "way", "ways", "need",
    "want", "thing", "things", "difference", "mean", "means", "like", "best", "also", "one", "really", "good",
    "help", "explain", "know", "happen", "happens", "possible", "example", "right", "correct", "properly",
})


@dataclass
class Asked:
    """One question as asked, with what answered it."""

    id: uuid.UUID
    text: str  # as typed
    query: str  # as searched (a follow-up carries its subject)
    asked_at: datetime
    student_id: uuid.UUID | None
    found: bool | None
    scope_course: str | None


@dataclass
class Unit:
    """One distinct question text (normalised), and every time it was asked."""

    norm: str
    query: str
    asked: list[Asked] = field(default_factory=list)
    best: float | None = None  # cosine similarity of the nearest chunk now (None: nothing to compare)
    unknown: float = 0.0  # share of the content words that no transcript contains


@dataclass(frozen=True)
class Chunk:
    video_id: uuid.UUID
    start_seconds: int
    text: str
    similarity: float


def gap_key(question: str) -> str:
    """The key of a suggestion whose earliest question is ``question``."""
    return "gap-" + hashlib.sha256(normalise(question).encode()).hexdigest()[:16]


def normalise(text: str) -> str:
    """Case, spacing and punctuation aside, the same question: "How do I X?" == "how do i x"."""
    words = " ".join(w.strip(".-'").lower() for w in WORD.findall(text)).strip()
    return words or " ".join(text.lower().split())  # "???" stays itself


def search_text(stored: str | None, question: str) -> str:
    query = " ".join((stored or "").split())
    return query if 0 < len(query) <= 2_000 else question


def units_of(asked: list[Asked]) -> list[Unit]:
    units: dict[str, Unit] = {}
    for question in asked:  # oldest first: a unit's position is when it was first asked
        norm = normalise(question.query)
        units.setdefault(norm, Unit(norm, question.query)).asked.append(question)
    return list(units.values())


def unit_vectors(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def needs_scoring(unit: Unit) -> bool:
    """Whether the question's nearest passage decides if it is a gap: not when every answer found
    passages (above the relevance floor, then) and most of its words are in the transcripts."""
    return any(q.found is not True for q in unit.asked) or unit.unknown >= UNKNOWN_SHARE


def is_gap(unit: Unit, low: float | None, floor: float | None) -> bool:
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



def low_relevance(floor: float) -> float:
    """LOW_RELEVANCE for a model whose relevance floor is ``floor``: the same share of its scale
    above its floor as LOW_RELEVANCE is above the floor it was measured at."""
    return floor + (LOW_RELEVANCE - MEASURED_FLOOR) * (1 - floor) / (1 - MEASURED_FLOOR)


def average_linkage(vectors: np.ndarray, threshold: float) -> list[list[int]]:
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


def centroid(vectors: np.ndarray, units: list[Unit], group: list[int]) -> np.ndarray:
    """The group's direction, each distinct question weighted by how often it was asked."""
    weights = np.array([len(units[i].asked) for i in group], dtype=np.float64)
    mean = (vectors[group] * weights[:, None]).sum(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


# --- the suggestion ------------------------------------------------------------------------------

def group_key(group: list[Unit], decisions: dict[str, tuple[str, datetime]]) -> str:
    """The group's key: the earliest of its questions that a decision names, else its earliest."""
    by_first = sorted(group, key=lambda u: (u.asked[0].asked_at, str(u.asked[0].id)))
    decided = next((gap_key(u.norm) for u in by_first if gap_key(u.norm) in decisions), None)
    return decided or gap_key(by_first[0].norm)



def nearest_videos(chunks: list[Chunk]) -> list[Chunk]:
    """The best chunk of each of the nearest distinct videos."""
    videos: dict[uuid.UUID, Chunk] = {}
    for chunk in chunks:
        if chunk.video_id not in videos:
            videos[chunk.video_id] = chunk
    return list(videos.values())[:_NEAREST_VIDEOS]


def nearest_lessons(videos: list[Chunk], lessons: dict[uuid.UUID, list[dict[str, Any]]],
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



def key_words(group: list[Unit], words: dict[str, list[tuple[str, str, bool]]]) -> str:
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
