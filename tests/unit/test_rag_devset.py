"""The development set's labels and scoring (tests/rag_devset.py), without a database."""

from __future__ import annotations

import pytest

from chronos_data.ingest.subtitles import parse_subtitles
from tests.rag_devset import HIT_SECONDS, LESSONS, QUESTIONS, Outcome, Question, first_hit, score, to_srt

DICTS = "Python dictionaries and sets"


def test_a_hit_starts_within_fifteen_seconds_of_the_labelled_moment_in_the_right_lesson():
    question = Question("Why does {} not give me an empty set?", DICTS,
                        "empty curly braces give you an empty dictionary", "call set() with no arguments")
    start, end = question.moment
    assert start < end  # the answer runs over two cues: the moment is from the first one's start to the last's
    assert first_hit(question, [(DICTS, start - HIT_SECONDS)]) == 1
    assert first_hit(question, [(DICTS, end + HIT_SECONDS)]) == 1
    assert first_hit(question, [(DICTS, start - HIT_SECONDS - 0.5)]) is None
    assert first_hit(question, [(DICTS, end + HIT_SECONDS + 0.5)]) is None
    assert first_hit(question, [("CSS flexbox and grid", start)]) is None
    assert first_hit(question, [(DICTS, 0.0), ("CSS flexbox and grid", start), (DICTS, start + 3)]) == 3


def test_scores_count_a_refusal_as_a_miss_and_average_reciprocal_ranks():
    question = next(q for q in QUESTIONS if q.title == DICTS)
    at = (DICTS, question.moment[0])
    outcomes = [Outcome(question, (at,)), Outcome(question, ((DICTS, 9999.0), at)),
                Outcome(question, (at,), refused=True), Outcome(question, ())]
    scores = score(outcomes)
    assert (scores.hit_at_1, scores.hit_at_5, scores.refused) == (0.25, 0.5, 0.25)
    assert scores.mrr == pytest.approx((1 + 1 / 2) / 4)


def test_an_anchor_must_name_one_place_in_its_lesson():
    lesson = LESSONS[0]
    assert lesson.title == DICTS
    with pytest.raises(ValueError, match="exactly once"):
        lesson.cue_range("dictionary")
    with pytest.raises(ValueError, match="exactly once"):
        lesson.cue_range("words nobody said")
    with pytest.raises(ValueError, match="does not follow"):
        lesson.cue_range("use frozenset", "Welcome back")


def test_every_answerable_question_is_labelled_with_cues_of_its_lesson():
    for question in (q for q in QUESTIONS if q.title is not None):
        first, last = question.cues
        assert 0 <= first <= last < len(question.lesson.cues), question.text
        assert last - first <= 5, question.text  # a moment, not a whole lesson


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.title)
def test_the_import_reads_each_cue_at_its_own_seconds(lesson):
    segments = parse_subtitles(to_srt(lesson), "lesson.srt")
    assert [(s.start, s.end, s.text) for s in segments] == [
        (pytest.approx(c.start), pytest.approx(c.end), c.text) for c in lesson.cues]
