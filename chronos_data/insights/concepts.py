"""Concept order: terms a lesson relies on that the course only explains in a later lesson.

Offline and deterministic: the transcripts are cut into sentences with the second each is spoken
at, and two things are looked for in them.

* **Explanations**: sentences that define a term, in the forms lecturers use: "A list comprehension
  is a …", "Generators are functions that …", "X means / refers to / stands for / lets you …",
  "… is called X", "we call this X", "X, which is …", and "What is X?" followed by its answer. The
  first such sentence in course order is where the course explains the term.
* **Uses**: any other sentence that says the term (plurals and "fast-forward" / "fast forward"
  count as the same term), except a forward reference ("we'll see X in a later lesson"), which is
  what a good course does.

A term used in lesson *i* and first explained in lesson *j > i* is a finding, with both passages.
Only terms the course explains somewhere can be found, so pronouns, filler ("the idea is a …") and
common words that are not terms are kept out by word lists rather than by guessing what is technical.

:func:`concept_order` checks a course as it is ordered; :func:`check_order` checks an order the
course builder is about to save (a drag, a move to another module) before it is saved.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from .. import courses
from ..db import Workspace
from ..errors import ValidationError
from ..timecode import format_seconds
from .model import Insight
from .sentences import LessonTranscript, Sentence, chunks_as_segments, sentences_from_segments
from .terms import Explanation, OrderProblem, Place, find_explanations, find_order_problems

# The text analysis lives in ``sentences`` and ``terms`` (pure); this module reads a course and
# turns what they find into insights.
__all__ = [
    "Explanation",
    "LessonTranscript",
    "OrderProblem",
    "Place",
    "Sentence",
    "check_order",
    "concept_order",
    "find_explanations",
    "find_order_problems",
    "sentences_from_segments",
]

#: Sentences each side of a passage shown as its context.
CONTEXT_SENTENCES = 1


def _context(lesson: LessonTranscript, sentence: int) -> str:
    low, high = max(0, sentence - CONTEXT_SENTENCES), min(len(lesson.sentences), sentence + CONTEXT_SENTENCES + 1)
    return " ".join(s.text for s in lesson.sentences[low:high])


def _side(lessons: Sequence[LessonTranscript], place: Place, text: str | None = None) -> dict[str, Any]:
    lesson = lessons[place.lesson]
    sentence = lesson.sentences[place.sentence]
    return {"lesson_number": place.lesson + 1, "lesson": lesson.title, "module": lesson.module_title,
            "lesson_id": str(lesson.lesson_id), "video_id": str(lesson.video_id), "second": sentence.second,
            "timestamp": format_seconds(sentence.second), "text": text or sentence.text,
            "context": _context(lesson, place.sentence)}


def _insight(course: courses.Course, lessons: Sequence[LessonTranscript], problem: OrderProblem,
             video_titles: dict[uuid.UUID, str], *, new: bool | None = None) -> Insight:
    used, explained = problem.used, problem.explained
    use_lesson = lessons[used.lesson]
    use_second = use_lesson.sentences[used.sentence].second
    explained_second = lessons[explained.lesson].sentences[explained.sentence].second
    title = (f"Lesson {used.lesson + 1} uses '{problem.term}' at {format_seconds(use_second)}; it is only "
             f"explained in lesson {explained.lesson + 1} ({format_seconds(explained_second)})")
    using_lessons = sorted({p.lesson + 1 for p in problem.uses})
    evidence: dict[str, Any] = {
        "term": problem.term,
        "used": _side(lessons, used),
        "explained": _side(lessons, explained, problem.explanation),
        "uses_before_explanation": len(problem.uses),
        "lessons_using_it_before": using_lessons,
        "lessons_apart": explained.lesson - used.lesson,
    }
    if new is not None:
        evidence["new"] = new  # check_order: the proposed order causes it
    return Insight(
        kind="concept_order",
        title=title,
        score=float(explained.lesson - used.lesson) + 0.25 * len(problem.uses),
        video_id=use_lesson.video_id,
        video_title=video_titles.get(use_lesson.video_id),
        second=use_second,
        passage=use_lesson.sentences[used.sentence].text,
        course_id=course.id,
        course_title=course.title,
        lesson=use_lesson.title,
        evidence=evidence,
        key=f"concept_order:{course.id}:{' '.join(problem.key)}",
    )


# --------------------------------------------------------------------------------------------
# Reading a course
# --------------------------------------------------------------------------------------------


def _outline_sentences(t: Workspace, outline: courses.CourseOutline) -> dict[uuid.UUID, tuple[Sentence, ...]]:
    return _video_sentences(t, list({lesson.video_id for entry in outline.modules for lesson in entry.lessons
                                     if not lesson.video_is_deleted}))


def _in_order(outline: courses.CourseOutline, sentences: dict[uuid.UUID, tuple[Sentence, ...]],
              order: Sequence[uuid.UUID] | None = None) -> list[LessonTranscript]:
    """The outline's lessons (or ``order`` of its lesson ids) with their videos' sentences; lessons
    whose video is in the trash, or has no transcript yet, are left out."""
    by_id = {lesson.id: (lesson, entry.module.title) for entry in outline.modules for lesson in entry.lessons}
    result = []
    for lesson_id in order if order is not None else by_id:
        lesson, module_title = by_id[lesson_id]
        if lesson.video_is_deleted or not sentences.get(lesson.video_id):
            continue
        result.append(LessonTranscript(lesson.id, lesson.video_id, lesson.title, module_title,
                                       sentences[lesson.video_id]))
    return result


def _video_sentences(t: Workspace, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Sentence, ...]]:
    """Sentences from each video's timed captions (exact seconds), else from its stored chunks."""
    if not video_ids:
        return {}
    found: dict[uuid.UUID, tuple[Sentence, ...]] = {}
    rows = t.conn.execute(
        sa.text("SELECT id, transcript_segments FROM videos WHERE creator_id = :creator AND id = ANY(:ids) "
                "AND NOT is_deleted"),
        {"creator": t.creator_id, "ids": video_ids},
    )
    for row in rows:
        if row.transcript_segments:
            found[row.id] = sentences_from_segments((a, b, c) for a, b, c in row.transcript_segments)
    missing = [v for v in video_ids if v not in found]
    if missing:
        chunks: dict[uuid.UUID, list[tuple[str, int | None, int | None]]] = defaultdict(list)
        for row in t.conn.execute(
            sa.text("SELECT c.video_id, c.chunk_text, c.start_time_seconds, c.end_time_seconds FROM video_chunks c "
                    "JOIN videos v ON v.id = c.video_id AND v.creator_id = c.creator_id "
                    "WHERE c.creator_id = :creator AND c.video_id = ANY(:ids) AND NOT v.is_deleted "
                    "ORDER BY c.video_id, c.chunk_index"),
            {"creator": t.creator_id, "ids": missing},
        ):
            chunks[row.video_id].append((row.chunk_text, row.start_time_seconds, row.end_time_seconds))
        for video_id, rows_of_video in chunks.items():
            found[video_id] = sentences_from_segments(chunks_as_segments(rows_of_video))
    return found


def _video_titles(t: Workspace, outline: courses.CourseOutline) -> dict[uuid.UUID, str]:
    return {lesson.video_id: lesson.video_title for entry in outline.modules for lesson in entry.lessons}


def concept_order(t: Workspace, course_id: uuid.UUID) -> list[Insight]:
    """Terms a lesson of the course uses before the lesson that explains them, in course order.

    Returns one ``concept_order`` insight per term (its first use; ``evidence`` holds the use and
    the explanation side by side), most lessons apart first. Raises NotFound for a course of
    another workspace.
    """
    outline = courses.course_outline(t, course_id)
    lessons = _in_order(outline, _outline_sentences(t, outline))
    titles = _video_titles(t, outline)
    found = [_insight(outline.course, lessons, p, titles) for p in find_order_problems(lessons)]
    return sorted(found, key=lambda i: -i.score)


def check_order(t: Workspace, course_id: uuid.UUID, proposed_lesson_order: Sequence[uuid.UUID], *,
                only_new: bool = False) -> list[Insight]:
    """The concept-order findings of a proposed lesson order, before it is saved.

    ``proposed_lesson_order`` lists lesson ids of the course in their new order: all of them (a
    whole new course order), or only some (one module's new order after a drag), in which case
    the listed lessons take the places they hold now, in the new order, and the others stay put.
    A lesson moved to another module is listed with the whole course order.

    Each finding's ``evidence["new"]`` says whether the proposal causes it (the current order
    does not have it); ``only_new`` returns only those, which is what a reorder warning shows.

    Raises:
        ValidationError: a lesson is listed twice or is not a lesson of this course.
        NotFound: the course is not in this workspace.
    """
    outline = courses.course_outline(t, course_id)
    current = [lesson.id for entry in outline.modules for lesson in entry.lessons]
    proposed = list(proposed_lesson_order)
    if len(set(proposed)) != len(proposed) or not set(proposed) <= set(current):
        raise ValidationError("The proposed order lists a lesson twice or a lesson that is not in this course; "
                              "reload the page and arrange the lessons again.")
    moving = iter(proposed)
    listed = set(proposed)
    order = [next(moving) if lesson_id in listed else lesson_id for lesson_id in current]
    titles = _video_titles(t, outline)
    sentences = _outline_sentences(t, outline)
    lessons = _in_order(outline, sentences, order)
    before = {p.key for p in find_order_problems(_in_order(outline, sentences, current))}
    found = [_insight(outline.course, lessons, problem, titles, new=problem.key not in before)
             for problem in find_order_problems(lessons)]
    return sorted((i for i in found if i.evidence["new"] or not only_new),
                  key=lambda i: (not i.evidence["new"], -i.score))
