"""How an insight's numbers read on its card (sentences, never a dump of evidence keys), the
content-gap tab's empty state, and the CSV of findings: pure functions, no Streamlit run."""

from __future__ import annotations

import json
import uuid

from chronos_data.insights import Insight
from chronos_data.insights.gaps import GapTally
from components.insights_data import insights_table
from components.insights_view import decision_line, evidence_lines, gap_empty_text

VIDEO = uuid.uuid4()

CONFUSION = Insight(
    kind="confusion", score=0.4, video_id=VIDEO, video_title="SQL joins explained", second=305.0,
    title="Students are confused in lesson 3 at 05:05: 6 questions cite it, 15 % of viewings rewind over it",
    evidence={"questions": 6, "student_questions": 5, "creator_questions": 1, "video_questions": 9,
              "example_questions": ["Why does NOT IN return nothing?"], "rewatch_sessions": 18, "rewatch_share": 0.15,
              "left_sessions": 11, "left_share": 0.0917, "expected_left": 4.7, "sessions": 120,
              "signals": ["questions", "rewinds", "drop-off"], "shares": {"questions": 0.6, "rewinds": 0.1}},
    key="confusion:x:300")
DIP = Insight(
    kind="dropoff", score=0.2, video_id=VIDEO, second=300.0, title="9 % of viewings of lesson 3 end at 05:00",
    evidence={"signal": "dip", "sessions": 120, "left_sessions": 11, "left_share": 0.0917, "expected_left": 4.7,
              "excess_share": 0.05, "rewatch_sessions": 18, "rewatch_share": 0.15, "rewatch_excess_share": 0.1,
              "window_seconds": [290.0, 320.0], "watching": 0.62},
    key="dropoff:x:dip:300")
SPLIT = Insight(
    kind="course_split", score=30.0, video_id=VIDEO, second=150.0,
    title="'Git branches' is completed by 80 % in Basics but 30 % in Bootcamp",
    evidence={"courses": [{"course_id": "a", "course_title": "Basics", "students": 20, "completion_rate": 80.0},
                          {"course_id": "b", "course_title": "Bootcamp", "students": 20, "completion_rate": 30.0}],
              "better_course_id": "a", "worse_course_id": "b", "difference_points": 50.0, "z": 3.2,
              "p_value": 0.0014, "diverges_between_percent": [25, 50], "diverges_at": "02:30"},
    key="course_split:x:b:a")


def test_moment_cards_count_viewings_in_sentences_without_raw_keys():
    confusion = evidence_lines(CONFUSION)
    assert confusion == [
        "6 questions to the assistant cite this moment (5 from students, 1 yours), of 9 asked about this video.",
        "15 % of viewings (18 of 120) rewound over it.",
        "9 % of viewings (11 of 120) ended here; about 5 were expected to.",
    ]
    dip = evidence_lines(DIP)
    assert dip[0] == "9 % of viewings (11 of 120) ended between 04:50 and 05:20; about 5 were expected to."
    assert dip[1] == "15 % of viewings (18 of 120) rewound over it; about 6 would at an ordinary moment of this video."
    assert dip[2] == "62 % of viewings were still watching when it starts."
    text = " ".join(confusion + dip)
    assert "share" not in text and "expected left" not in text and "0.0" not in text


def test_a_course_split_says_its_test_in_words():
    assert evidence_lines(SPLIT) == [
        "In Basics, 80 % of 20 students completed it; in Bootcamp, 30 % of 20.",
        "A gap of 50 points this large would come from chance less than 1 in 100 times.",
        "Their students part ways around 02:30 (25–50 % into the video).",
    ]


def test_a_small_share_is_not_shown_as_zero():
    rare = Insight(kind="confusion", title="t", score=0.1,
                   evidence={"questions": 2, "rewatch_sessions": 1, "sessions": 400})
    assert "<1 % of viewings (1 of 400) rewound over it." in evidence_lines(rare)


def test_a_decided_suggestion_says_what_and_when():
    def gap(state, when):
        return Insight(kind="content_gap", title="t", score=1.0,
                       evidence={"state": state, "decided_at": when, "questions": 2})

    assert decision_line(gap("done", "2026-12-02T17:40:00+00:00")) == "Done on 2 Dec 2026"
    assert decision_line(gap("dismissed", "2026-11-30T08:00:00+00:00")) == "Dismissed on 30 Nov 2026"
    assert decision_line(gap("open", None)) is None


def test_the_empty_content_gap_tab_tells_the_truth():
    assert gap_empty_text(GapTally(asked=12), course_chosen=False, decided_shown=False) == (
        "All 12 questions so far were answered from a lesson.")
    lone = GapTally(asked=12, not_found=4, unanswered=4, weak=1)
    assert gap_empty_text(lone, course_chosen=False, decided_shown=False).startswith(
        "4 questions found no answer in any lesson and 1 question was answered only weakly, but no subject was "
        "asked about often enough")
    decided = GapTally(asked=12, not_found=4, unanswered=4, suggested=3, suggestions=1, decided=1)
    assert "the suggestion they form is marked done or dismissed" in gap_empty_text(
        decided, course_chosen=False, decided_shown=False)
    elsewhere = GapTally(asked=12, not_found=4, unanswered=4, suggested=3, suggestions=1)
    assert gap_empty_text(elsewhere, course_chosen=True, decided_shown=False).startswith(
        "No suggestion is near this course's lessons. In the whole workspace, 4 questions")
    covered = GapTally(asked=5, not_found=2)
    assert gap_empty_text(covered, course_chosen=False, decided_shown=False) == (
        "All 5 questions so far were answered from a lesson (2 questions found no passage when asked; the videos "
        "cover them now).")


def test_the_csv_has_one_row_per_finding_with_its_evidence_flattened():
    table = insights_table([CONFUSION, DIP, SPLIT])
    assert list(table["kind"]) == ["confusion", "dropoff", "course_split"]
    assert list(table["moment"]) == ["05:05", "05:00", "02:30"]
    assert table.loc[0, "evidence.expected_left"] == 4.7 and table.loc[0, "evidence.shares.rewinds"] == 0.1
    assert json.loads(table.loc[0, "evidence.example_questions"]) == ["Why does NOT IN return nothing?"]
    assert table.loc[2, "evidence.p_value"] == 0.0014
    assert insights_table([]).empty


def test_the_confusion_maps_right_axis_has_even_ticks():
    import pandas as pd

    from components.insight_figures import confusion_figure

    frame = pd.DataFrame({"start_second": [0.0, 10.0, 20.0], "end_second": [10.0, 20.0, 30.0], "watching": [1.0, 0.9, 0.8],
                          "rewatch_share": [0.0, 0.258, 0.1], "left_share": [0.02, 0.05, 0.12],
                          "questions": [0, 2, 0], "example_questions": [[], ["Why?"], []]})
    axis = confusion_figure(frame).layout.yaxis2
    assert (axis.tickmode, axis.tick0, axis.dtick) == ("linear", 0, 10) and tuple(axis.range) == (0, 30)
    assert confusion_figure(frame).layout.legend.y < 0  # under the plot, clear of the toolbar


def test_the_confusion_map_time_axis_ticks_at_round_minutes():
    from components.insight_figures import time_ticks

    assert time_ticks(575) == [0, 60, 120, 180, 240, 300, 360, 420, 480, 540]
    assert time_ticks(100) == [0, 15, 30, 45, 60, 75, 90]
    assert time_ticks(3 * 3600) == list(range(0, 3 * 3600 + 1, 1800))
