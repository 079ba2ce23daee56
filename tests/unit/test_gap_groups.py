"""The content-gap inbox's rules without a database: which questions are gaps, how they group,
the suggestion's key and its label."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from chronos_data.insights import gap_groups as g
from chronos_data.insights.gap_groups import Asked, Chunk, Unit

_T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _asked(text: str, *, found: bool | None = False, minutes: int = 0, student: uuid.UUID | None = None) -> Asked:
    return Asked(uuid.uuid4(), text, text, _T0 + timedelta(minutes=minutes), student, found, None)


def _unit(*asked: Asked, best: float | None = 0.1, unknown: float = 0.0) -> Unit:
    unit = Unit(g.normalise(asked[0].query), asked[0].query, list(asked))
    unit.best, unit.unknown = best, unknown
    return unit


def test_questions_differing_in_case_spacing_and_punctuation_are_one():
    assert g.normalise("How do I  X?") == g.normalise("how do i x") == "how do i x"
    assert g.normalise("git reset --hard, C# and list.sort!") == "git reset hard c# and list.sort"
    assert g.normalise("???") == "???"
    assert g.gap_key("How do I deploy?") == g.gap_key("how do i deploy") != g.gap_key("How do I test?")
    assert g.gap_key("x").startswith("gap-") and len(g.gap_key("x")) == 20


def test_identical_questions_become_one_unit_in_the_order_first_asked():
    units = g.units_of([_asked("Kubernetes?", minutes=0), _asked("What is CTE", minutes=1),
                        _asked("kubernetes", minutes=2)])
    assert [(u.norm, len(u.asked)) for u in units] == [("kubernetes", 2), ("what is cte", 1)]


def test_a_follow_up_is_searched_as_its_stand_alone_query():
    assert g.search_text("how do I undo a pushed commit", "and that?") == "how do I undo a pushed commit"
    assert g.search_text(None, "and that?") == g.search_text("   ", "and that?") == "and that?"


@pytest.mark.parametrize(("found", "best", "unknown", "gap"), [
    (False, 0.10, 0.0, True),  # not found then, nothing close now
    (False, 0.60, 0.0, False),  # not found then, but a lesson added since covers it
    (False, 0.60, 0.8, True),  # ... close in vectors, yet most of its words are in no transcript
    (True, 0.30, 0.8, True),  # answered weakly: low and mostly unknown words
    (True, 0.30, 0.2, False),  # a paraphrase: low, but its words are known
    (True, 0.50, 0.9, False),  # answered and close enough
    (None, 0.15, 0.0, True),  # no stored verdict: under the model's floor
    (None, 0.25, 0.0, False),
])
def test_which_questions_are_gaps(found, best, unknown, gap):
    unit = _unit(_asked("q", found=found), best=best, unknown=unknown)
    assert g.is_gap(unit, g.LOW_RELEVANCE, 0.20) is gap


def test_with_nothing_to_compare_against_only_the_stored_answers_decide():
    assert g.is_gap(_unit(_asked("q", found=False), best=None), g.LOW_RELEVANCE, 0.2)
    assert not g.is_gap(_unit(_asked("q", found=True), best=None), g.LOW_RELEVANCE, 0.2)


def test_a_well_answered_question_with_known_words_is_not_even_embedded():
    assert not g.needs_scoring(_unit(_asked("q", found=True), unknown=0.2))
    assert g.needs_scoring(_unit(_asked("q", found=True), unknown=0.6))
    assert g.needs_scoring(_unit(_asked("q", found=True), _asked("q", found=None)))


def test_the_weak_answer_bar_keeps_its_place_on_another_models_scale():
    assert g.low_relevance(0.20) == pytest.approx(g.LOW_RELEVANCE)
    assert g.low_relevance(0.70) == pytest.approx(0.70 + 0.15 * 0.30 / 0.80)
    assert 0.70 < g.low_relevance(0.70) < 1


def _directions(*angles: float) -> np.ndarray:
    return np.array([[np.cos(a), np.sin(a)] for a in angles])


def test_average_linkage_joins_close_questions_and_keeps_far_ones_apart():
    vectors = _directions(0.0, 0.1, 0.2, 1.5, 1.55, 3.0)
    assert g.average_linkage(vectors, 0.9) == [[0, 1, 2], [3, 4], [5]]
    assert g.average_linkage(vectors, 1.01) == [[0], [1], [2], [3], [4], [5]]
    assert g.average_linkage(np.zeros((0, 2)), 0.5) == []


def test_average_linkage_uses_the_average_not_the_closest_pair():
    # 0 and 1 are close; 2 is close to 1 only: on average it is too far from the pair.
    vectors = _directions(0.0, 0.45, 0.9)
    threshold = float(np.cos(0.5))
    assert g.average_linkage(vectors, threshold) == [[0, 1], [2]]


def test_the_centroid_weighs_each_question_by_how_often_it_was_asked():
    units = [_unit(_asked("a"), _asked("a"), _asked("a")), _unit(_asked("b"))]
    centre = g.centroid(_directions(0.0, np.pi / 2), units, [0, 1])
    assert np.linalg.norm(centre) == pytest.approx(1.0) and centre[0] == pytest.approx(3 * centre[1])


def test_a_group_keeps_the_key_of_its_decided_question_else_its_earliest():
    early, late = _unit(_asked("first one", minutes=0)), _unit(_asked("second one", minutes=5))
    assert g.group_key([late, early], {}) == g.gap_key("first one")
    decided = {g.gap_key("second one"): ("dismissed", _T0)}
    assert g.group_key([late, early], decided) == g.gap_key("second one")


def _words(*triples: tuple[str, str, bool]) -> list[tuple[str, str, bool]]:
    return list(triples)


def test_the_label_is_the_words_no_transcript_holds_in_the_order_asked():
    a, b = _unit(_asked("Deploying to Kubernetes"), _asked("Deploying to Kubernetes")), _unit(_asked("Kubernetes deploy"))
    words = {a.norm: _words(("Deploying", "deploy", True), ("Kubernetes", "kubernet", False)),
             b.norm: _words(("Kubernetes", "kubernet", False), ("deploy", "deploy", True))}
    assert g.key_words([a, b], words) == "Kubernetes"


def test_the_label_of_one_question_is_its_own_words_and_generic_words_say_nothing():
    unit = _unit(_asked("how does a recursive CTE work"))
    words = {unit.norm: _words(("recursive", "recurs", False), ("CTE", "cte", False), ("work", "work", True))}
    assert g.key_words([unit], words) == "recursive CTE"
    assert g.key_words([unit], {}) == "“how does a recursive CTE work”"


def _chunk(video: uuid.UUID, similarity: float, second: int = 0) -> Chunk:
    return Chunk(video, second, "text", similarity)


def test_the_nearest_videos_are_distinct_and_at_most_three():
    v = [uuid.uuid4() for _ in range(4)]
    chunks = [_chunk(v[0], 0.9), _chunk(v[0], 0.8), _chunk(v[1], 0.7), _chunk(v[2], 0.6), _chunk(v[3], 0.5)]
    assert [c.video_id for c in g.nearest_videos(chunks)] == v[:3]


def test_the_nearest_lessons_come_course_by_course_in_lesson_order():
    video_a, video_b, loose = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    course = uuid.uuid4()

    def lesson(number: int, title: str) -> dict:
        return {"video_title": title, "course_id": course, "course_title": "Git", "module_title": "M",
                "lesson_title": title, "number": number}

    lessons = {video_a: [lesson(4, "Rebase")], video_b: [lesson(2, "Commits")],
               loose: [{"video_title": "Loose", "course_id": None, "course_title": None, "module_title": None,
                        "lesson_title": None, "number": None}]}
    found = g.nearest_lessons([_chunk(video_a, 0.8), _chunk(loose, 0.7), _chunk(video_b, 0.6)], lessons, None)
    assert [(e["lesson"] or e["video_title"], e["lesson_number"]) for e in found] == [
        ("Commits", 2), ("Rebase", 4), ("Loose", None)]
    only = g.nearest_lessons([_chunk(video_a, 0.8), _chunk(loose, 0.7)], lessons, (course, "Git"))
    assert [e["lesson"] for e in only] == ["Rebase"]
