"""The concept-order check's text analysis without a database: sentences from captions, the terms
lessons explain, and a term used before the lesson that explains it."""

from __future__ import annotations

import uuid

import pytest

from chronos_data.insights import sentences, terms
from chronos_data.insights.sentences import LessonTranscript, Sentence


def _lesson(*texts: str, title: str = "Lesson") -> LessonTranscript:
    return LessonTranscript(uuid.uuid4(), uuid.uuid4(), title, "Module",
                            tuple(Sentence(float(10 * n), text) for n, text in enumerate(texts)))


def test_punctuated_captions_are_cut_into_sentences_timed_by_their_first_word():
    found = sentences.sentences_from_segments([(0, 4, "So a closure is a function"), (4, 8, "that keeps its scope. It"),
                                               (8, 10, "remembers variables.")])
    assert [s.text for s in found] == ["So a closure is a function that keeps its scope.", "It remembers variables."]
    assert found[0].second == 0.0 and found[1].second == pytest.approx(7.2)


def test_captions_without_punctuation_are_sentences_of_their_own():
    found = sentences.sentences_from_segments([(0, 3, "so a closure is a function"), (3, 6, "that keeps its scope")])
    assert [s.text for s in found] == ["so a closure is a function", "that keeps its scope"]


def test_overlapping_chunks_lose_their_repeated_words():
    pieces = sentences.chunks_as_segments([("one two three four", 0, 4), ("three four five six", 2, 6)])
    assert [text for _, _, text in pieces] == ["one two three four", "five six"]
    assert pieces[1][0] == pytest.approx(4.0)  # the new words start halfway through the second chunk


@pytest.mark.parametrize(("sentence", "term"), [
    ("A list comprehension is a compact way to build a list.", "list comprehension"),
    ("Generators are functions that yield values lazily.", "generators"),
    ("Memoization means caching the results of calls.", "memoization"),
    ("This trick is called memoization in most books.", "memoization"),
    ("We use an index-only scan, which is a scan reading only the index.", "index-only scan"),
])
def test_the_forms_lecturers_define_terms_in(sentence, term):
    [found] = terms.find_explanations([_lesson(sentence, "It is used with memoization and index-only scan often.")])
    assert found.term.lower() == term


@pytest.mark.parametrize("sentence", ["The idea is a simple one for sure.", "It is a bit slow on big tables.",
                                      "Python is not a compiled language at all."])
def test_filler_verdicts_and_negations_explain_nothing(sentence):
    assert terms.find_explanations([_lesson(sentence)]) == []


def test_a_question_and_its_answer_explain_a_term():
    [found] = terms.find_explanations([_lesson("What is a closure?", "It is a function that keeps its scope.")])
    assert found.term == "closure" and found.passage == "What is a closure? It is a function that keeps its scope."


def test_a_term_used_before_the_lesson_that_explains_it_is_a_problem():
    lessons = [_lesson("Here we add memoization to the slow function.", title="One"),
               _lesson("Nothing to see.", title="Two"),
               _lesson("Memoization means caching the results of calls.", title="Three")]
    [problem] = terms.find_order_problems(lessons)
    assert (problem.term, problem.used, problem.explained) == ("memoization", terms.Place(0, 0), terms.Place(2, 0))


def test_a_forward_reference_or_the_right_order_is_no_problem():
    explained = _lesson("Memoization means caching the results of calls.")
    promised = _lesson("We'll see memoization in a later lesson.")
    used = _lesson("Here we add memoization to the slow function.")
    assert terms.find_order_problems([promised, explained]) == []
    assert terms.find_order_problems([explained, used]) == []
