"""The timeline insights' maths on made-up curves, without a database: buckets, expected leaving,
dips, rewatch spikes, confusion scores, which second a finding names, and the passage said there."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from chronos_data.insights import curves, moments, passages
from chronos_data.insights.curves import Curve, Question

SESSIONS = 1000


def _curve(leave: dict[int, int] | None = None, rewind: dict[int, int] | None = None, *, duration: int = 600,
           per_percent: int = 8) -> Curve:
    """1,000 sessions leaving steadily up to the completion mark (the rest finish), plus extra
    leaving or rewinding at some percents."""
    reached = np.zeros(curves.HISTOGRAM)
    reached[:90] = per_percent
    for percent, n in (leave or {}).items():
        reached[percent] += n
    reached[100] = max(SESSIONS - reached[:100].sum(), 0)
    rewound = np.full(curves.HISTOGRAM, 3.0)
    for percent, n in (rewind or {}).items():
        rewound[percent] += n
    return Curve(uuid.uuid4(), "Lecture", duration, reached, rewound)


def _timeline(curve: Curve, questions: list[Question] = ()) -> curves.Timeline:
    return curves.build_timeline(curve, {curve.video_id: curve}, questions)


def _question(curve: Curve, second: float, text: str = "Why does this happen?") -> Question:
    return Question(uuid.uuid4(), text, True, curve.video_id, second, None)


@pytest.mark.parametrize(("duration", "width", "buckets"), [(600, 2, 50), (3600, 2, 50), (60, 17, 6), (200, 5, 20)])
def test_buckets_are_at_least_ten_seconds_and_at_most_fifty(duration, width, buckets):
    assert curves.bucket_width(duration) == width
    tl = _timeline(_curve(duration=duration))
    assert len(tl.starts) == buckets
    assert tl.ends[-1] == duration and (tl.ends - tl.starts)[:-1].min() >= curves.BUCKET_MIN_SECONDS


def test_a_second_past_the_end_falls_in_the_last_bucket():
    assert curves.bucket_of(0, 600) == 0
    assert curves.bucket_of(599.9, 600) == curves.bucket_of(10_000, 600) == 49
    assert curves.bucket_of(-5, 600) == 0


def test_hazard_is_the_share_of_those_still_watching_who_stop():
    reached = np.zeros(curves.HISTOGRAM)
    reached[[10, 20, 100]] = [50, 25, 25]
    hazard = curves.hazard(reached)
    assert hazard[10] == pytest.approx(0.5) and hazard[20] == pytest.approx(0.5) and hazard[100] == 1.0
    assert hazard[15] == 0.0


def test_the_usual_rate_leaves_out_the_buckets_around_the_one_measured():
    values = np.array([1.0, 1, 1, 1, 100, 1, 1, 1, 1, 1])
    usual = curves.mean_elsewhere(values, np.ones(len(values)))
    assert usual[4] == pytest.approx(1.0)  # a dip does not raise its own bar
    assert usual[0] > 1.0  # ... but it does count far from it


def test_a_clean_curve_has_no_dip_and_no_spike():
    tl = _timeline(_curve())
    assert tl.dips == [] and tl.spikes == []


def test_students_leaving_at_one_passage_make_one_dip_there():
    tl = _timeline(_curve({50: 40, 51: 40}))
    [dip] = tl.dips
    assert (dip.kind, dip.first, dip.last) == ("dip", 25, 25)  # percents 50-51 of 2 % buckets
    assert dip.amount == 8 * 2 + 80 and dip.excess == pytest.approx(dip.amount - dip.expected)
    assert tl.spikes == []


def test_leaving_in_the_intro_or_after_the_completion_mark_is_no_dip():
    assert _timeline(_curve({1: 80, 2: 80})).dips == []  # the first half-minute: sampling the video
    assert _timeline(_curve({95: 80})).dips == []  # after 90 %: finishing


def test_too_few_sessions_flag_nothing():
    small = _curve({50: 40}, {70: 40}, per_percent=0)
    small.reached[:] = 0
    small.reached[[50, 100]] = [4, curves.MIN_SESSIONS - 5]
    tl = _timeline(small)
    assert small.sessions < curves.MIN_SESSIONS and tl.dips == [] and tl.spikes == []


def test_rewinding_over_a_passage_is_a_spike_at_its_peak():
    tl = _timeline(_curve(rewind={70: 120, 71: 120}))
    [spike] = tl.spikes
    assert (spike.kind, spike.peak, spike.amount) == ("spike", 35, 123.0) and tl.dips == []


def test_a_small_excess_is_not_unlikely_enough():
    assert curves.unlikely(40, 10, tests=50)
    assert not curves.unlikely(14, 10, tests=50)
    assert curves.unlikely(14, 10, tests=1) is False and curves.unlikely(30, 10, tests=1)


def test_runs_are_consecutive_true_stretches():
    assert curves.runs(np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=bool)) == [(1, 2), (4, 4), (7, 7)]


def test_questions_at_a_dip_make_a_confusion_moment_named_at_their_cited_second():
    curve = _curve({50: 40, 51: 40})
    asked = [_question(curve, 305), _question(curve, 305.4, "what?"), _question(curve, 303)]
    tl = _timeline(curve, asked)
    scores, details = moments.confusion_scores(tl, moments.most_asked_moment({curve.video_id: curve}, asked))
    best = int(np.argmax(scores))
    assert abs(best - 25) <= 1 and details[best]["present"] == {"questions": True, "rewinds": False, "drop-off": True}
    assert 0 < scores[best] <= 1
    assert moments.moment_second(tl, tl.dips[0]) == 305  # where the answers cite most, not the bucket's start
    assert moments.leaving_second(tl, tl.dips[0]) == 300  # the finding's key: from the viewing alone


def test_without_questions_no_moment_is_confusing():
    tl = _timeline(_curve({50: 40, 51: 40}))
    scores, details = moments.confusion_scores(tl, 1)
    assert not any(d["present"]["questions"] for d in details)
    assert scores.max() <= (1 / 3) * (1 / 3)  # one signal of three present, at most


def _dip(excess: float) -> curves.Region:
    return curves.Region("dip", 25, 25, 25, excess + 10, 10.0, excess)


def test_a_dips_score_is_its_share_of_students_lost_weighed_by_how_many_watched():
    tl = _timeline(_curve())
    # The same 10 % lost: a curve of 1,000 sessions is surer than one of 50.
    assert moments.dropoff_score(tl, _dip(100), None, n=1000) == pytest.approx(0.1 * 1000 / 1020)
    assert moments.dropoff_score(tl, _dip(5), None, n=50) == pytest.approx(0.1 * 50 / 70)
    # A rewatch spike at the dip adds half its share; a spike alone counts half.
    spike = curves.Region("spike", 24, 24, 24, 50.0, 3.0, 40.0)
    assert moments.dropoff_score(tl, _dip(100), spike, n=1000) == pytest.approx(0.12 * 1000 / 1020)
    assert moments.dropoff_score(tl, spike, None, n=1000) == pytest.approx(0.02 * 1000 / 1020)


def test_the_most_cited_second_prefers_the_earliest_on_a_tie():
    curve = _curve()
    assert moments.most_cited([_question(curve, 40), _question(curve, 12), _question(curve, 40.2),
                               _question(curve, 12.4)]) == 12


def test_the_confusion_map_has_one_row_per_bucket():
    curve = _curve({50: 40, 51: 40})
    tl = _timeline(curve, [_question(curve, 305, "why?"), _question(curve, 306, " why?  ")])
    frame = moments.map_frame(tl, 2)
    assert list(frame.columns) == moments.MAP_COLUMNS and len(frame) == 50
    row = frame.iloc[25]
    assert (row["questions"], row["example_questions"], row["left"]) == (2, ["why?"], 96)
    assert np.isnan(frame.iloc[0]["expected_left"])  # the intro expects nothing


def test_the_passage_is_the_caption_spoken_then_and_the_next_few_seconds():
    segments = [(0.0, 5.0, "Welcome to the course."), (5.0, 10.0, "A closure keeps its scope."),
                (10.0, 14.0, "It remembers the variables."), (30.0, 35.0, "Now something else.")]
    passage = passages.passage_at(passages.Transcript(segments, []), 6)
    assert passage.text == "A closure keeps its scope. It remembers the variables."
    assert (passage.start, passage.end) == (5.0, 14.0)
    assert passage.around == "Welcome to the course. Now something else."


def test_without_captions_the_passage_is_cut_from_the_chunk_at_that_second():
    words = " ".join(f"w{i}" for i in range(100))
    passage = passages.passage_at(passages.Transcript([], [(0, 100, words), (100, 200, "later text")]), 50)
    assert passage.text.split()[0] == "w30" and len(passage.text.split()) == passages.PASSAGE_MAX_WORDS
    assert passage.others == ["later text"]
    assert passages.passage_at(None, 5) is None
    assert passages.passage_at(passages.Transcript([], []), 5) is None


def test_documents_are_about_forty_words_each():
    pieces = passages.documents(["one two three four five six seven eight nine ten"] * 9)
    assert [len(p.split()) for p in pieces] == [40, 40, 10]


def test_a_passage_is_labelled_by_its_key_phrases_without_a_model():
    passage = passages.Passage("A list comprehension builds a list from a loop in one line.", 0, 5,
                               ["Variables hold values.", "Functions take arguments."], "")
    label, source, phrases = passages.passage_label(passage, None)
    assert source == "key_phrases" and phrases and label == ", ".join(phrases[:2])
    assert passages.passage_label(None, None) == ("", "none", [])
