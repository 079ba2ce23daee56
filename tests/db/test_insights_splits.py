"""One video, many courses: the same lesson video measured per course, on the real database.

Two courses share two 600-second videos, all viewing on one day through the player's functions:

* "Lists in depth" is lesson 2 of Python Basics and lesson 1 of Data Science Bootcamp. In Python
  Basics 16 of 20 students finish it (the others leave at 60 %); in the bootcamp 6 of 20 do, the
  others leave at 40 %: between 25 % and 50 % of the video (02:30) the bootcamp loses its students.
  One bootcamp student asks about it, and the creator asks once with Python Basics as the scope.
* "Loops" is in both courses and completed alike (11 of 15 and 10 of 15): nothing to flag.
* "Sets" is in both, 9 of 9 against 1 of 9: a large gap, but too few students to matter.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from chronos_data import chat, chunks, courses, students, videos
from chronos_data.db import Database, Workspace
from chronos_data.insights import splits
from chronos_data.viewing import dashboards, watching
from tests.conftest import new_creator

DAY = datetime(2026, 4, 6, 10, tzinfo=UTC)
DURATION = 600
DIVERGING = "Copying a list of lists needs a deep copy, or both names share the inner lists."


def _video(t: Workspace, title: str) -> uuid.UUID:
    video = videos.create_video(t, title=title, source_type="loom", source_id=uuid.uuid4().hex,
                                duration_seconds=DURATION)
    videos.set_status(t, video, "completed")
    chunks.insert_chunks(t, video, [chunks.NewChunk(0, "Lists hold items in order.", 0, 140),
                                    chunks.NewChunk(1, DIVERGING, 140, 300),
                                    chunks.NewChunk(2, "That is all about lists.", 300, DURATION)],
                         embedding_model=None)
    return video


def _watch(t: Workspace, video: uuid.UUID, course: uuid.UUID, module: uuid.UUID, enrolled: list[uuid.UUID],
           finishing: int, leave_at: float) -> None:
    """Each student watches once in ``course``: the first ``finishing`` to 95 %, the others to ``leave_at``."""
    for n, student in enumerate(enrolled):
        share = 0.95 if n < finishing else leave_at
        session = watching.start_viewing(t, video, student, course_id=course, module_id=module,
                                         at=DAY + timedelta(minutes=n))
        watching.report_progress(t, session, position_seconds=DURATION * share, watched_seconds=DURATION * share,
                                 at=DAY + timedelta(minutes=n, seconds=30))


@pytest.fixture
def workspace(t: Workspace) -> dict[str, uuid.UUID]:
    lists, loops, sets = _video(t, "Lists in depth"), _video(t, "Loops"), _video(t, "Sets")
    intro = _video(t, "Welcome")
    basics = courses.create_course(t, "Python Basics")
    basics_module = courses.create_module(t, basics, "Week 1")
    courses.add_lessons(t, basics_module, [intro, lists, loops, sets])
    bootcamp = courses.create_course(t, "Data Science Bootcamp")
    bootcamp_module = courses.create_module(t, bootcamp, "Python refresher")
    courses.add_lessons(t, bootcamp_module, [lists, loops, sets])
    courses.create_course(t, "Unrelated")  # a course without these videos is not a column of the split

    people = [students.create_student(t, f"student{n}@example.com") for n in range(40)]
    in_basics, in_bootcamp = people[:20], people[20:]
    _watch(t, lists, basics, basics_module, in_basics, 16, 0.6)
    _watch(t, lists, bootcamp, bootcamp_module, in_bootcamp, 6, 0.4)
    _watch(t, loops, basics, basics_module, in_basics[:15], 11, 0.5)
    _watch(t, loops, bootcamp, bootcamp_module, in_bootcamp[:15], 10, 0.5)
    _watch(t, sets, basics, basics_module, in_basics[:9], 9, 0.5)
    _watch(t, sets, bootcamp, bootcamp_module, in_bootcamp[:9], 1, 0.3)

    cited = [{"number": 1, "video_id": str(lists), "title": "Lists in depth", "start_seconds": 150}]
    asking = chat.create_session(t, "Deep copy?", student_id=in_bootcamp[10])
    chat.add_message(t, asking, "user", "Why do my copies share their inner lists?")
    chat.add_message(t, asking, "assistant", "Use a deep copy [1].", video_references=cited)
    own = chat.create_session(t, "Explaining copies")
    chat.add_message(t, own, "user", "How do I explain nested copies?",
                     metadata={"scope": {"course_id": str(basics), "video_ids": None}})
    chat.add_message(t, own, "assistant", "Show a list of lists [1].", video_references=cited)
    unrelated = chat.create_session(t, "Other")  # cites nothing: counted nowhere
    chat.add_message(t, unrelated, "user", "What is a set?")
    chat.add_message(t, unrelated, "assistant", "I could not find that.")
    return {"lists": lists, "loops": loops, "sets": sets, "intro": intro, "basics": basics, "bootcamp": bootcamp}


def test_one_video_is_measured_in_each_course_that_uses_it(t, workspace):
    frame = splits.video_by_course(t, workspace["lists"])

    assert list(frame["course_title"]) == ["Python Basics", "Data Science Bootcamp"]
    basics, bootcamp = frame.iloc[0], frame.iloc[1]
    assert (basics["course_id"], basics["lesson"], basics["position"], basics["lessons"]) == (
        workspace["basics"], "Lists in depth", 2, 4)
    assert (bootcamp["position"], bootcamp["lessons"]) == (1, 3)
    assert (basics["views"], basics["students"], basics["completed_students"], basics["completion_rate"]) == (
        20, 20, 16, 80.0)
    assert (bootcamp["views"], bootcamp["students"], bootcamp["completed_students"], bootcamp["completion_rate"]) == (
        20, 20, 6, 30.0)
    # Retention in coarse steps: everyone passes 25 %; at 50 % all of Python Basics, 6 of 20 of the bootcamp.
    assert (basics["reached_25"], basics["reached_50"], basics["reached_75"], basics["reached_90"]) == (
        1.0, 1.0, 0.8, 0.8)
    assert (bootcamp["reached_25"], bootcamp["reached_50"], bootcamp["reached_90"]) == (1.0, 0.3, 0.3)
    assert basics["avg_watch_share"] == pytest.approx((16 * 0.95 + 4 * 0.6) / 20)
    assert bootcamp["avg_watch_share"] == pytest.approx((6 * 0.95 + 14 * 0.4) / 20)
    # The student's question goes to the course they watched in; the creator's to its scope.
    assert (basics["questions"], bootcamp["questions"]) == (1, 1)
    assert bootcamp["questions_per_student"] == pytest.approx(0.05)


def test_a_date_range_limits_the_split(t, workspace):
    before = dashboards.Filters(date(2026, 3, 1), date(2026, 3, 31))
    assert splits.video_by_course(t, workspace["lists"], before)[["views", "students", "questions"]].sum().sum() == 0
    that_day = dashboards.Filters(DAY.date(), DAY.date())
    assert list(splits.video_by_course(t, workspace["lists"], that_day)["views"]) == [20, 20]


def test_a_video_completed_much_less_in_one_course_is_found(t, workspace):
    [finding] = splits.course_splits(t)

    assert finding.kind == "course_split"
    assert finding.title == "'Lists in depth' is completed by 80 % in Python Basics but 30 % in Data Science Bootcamp"
    assert (finding.video_id, finding.video_title) == (workspace["lists"], "Lists in depth")
    assert (finding.course_id, finding.course_title, finding.lesson) == (
        workspace["bootcamp"], "Data Science Bootcamp", "Lists in depth")
    # The bootcamp falls behind between 25 % and 50 % of the video: it opens at 25 % (02:30).
    assert finding.second == 150 and finding.passage == DIVERGING
    evidence = finding.evidence
    assert evidence["diverges_between_percent"] == [25, 50]
    assert evidence["difference_points"] == 50.0
    assert (evidence["students_better"], evidence["students_worse"], evidence["min_students"]) == (20, 20, 10)
    assert evidence["z"] == pytest.approx(3.18, abs=0.01) and evidence["p_value"] < splits.MAX_P_VALUE
    assert [c["course_title"] for c in evidence["courses"]] == ["Python Basics", "Data Science Bootcamp"]
    assert evidence["courses"][1]["course_id"] == str(workspace["bootcamp"])
    assert evidence["courses"][1]["completion_rate"] == 30.0
    assert finding.key == f"course_split:{workspace['lists']}:{workspace['bootcamp']}:{workspace['basics']}"

    assert splits.course_splits(t, workspace["lists"]) == [finding]


def test_alike_courses_and_too_few_students_are_not_flagged(t, workspace):
    # "Loops": 73 % against 67 %. "Sets": 100 % against 11 %, but nine students a course.
    assert splits.course_splits(t, workspace["loops"]) == []
    assert splits.course_splits(t, workspace["sets"]) == []
    assert list(splits.video_by_course(t, workspace["sets"])["completion_rate"]) == [100.0, pytest.approx(11.1)]
    # A video in one course only is not a split at all.
    assert splits.multi_course_videos(t, workspace["intro"]) == []
    assert splits.course_splits(t, workspace["intro"]) == []
    assert list(splits.video_by_course(t, workspace["intro"])["course_title"]) == ["Python Basics"]


def test_a_course_in_the_trash_is_left_out(t, workspace):
    courses.delete_course(t, workspace["bootcamp"])
    assert splits.course_splits(t) == []
    assert list(splits.video_by_course(t, workspace["lists"])["course_title"]) == ["Python Basics"]


def test_another_workspace_sees_nothing(db: Database, t, workspace):
    other = Workspace(t.conn, new_creator(db, "other"))
    assert splits.course_splits(other) == []
    assert splits.course_splits(other, workspace["lists"]) == []
    assert splits.video_by_course(other, workspace["lists"]).empty


def test_two_questions_asked_at_once_in_one_conversation_each_count_for_the_video_their_own_answer_cites(
        t, workspace):
    # Two tabs on the creator's conversation: both questions are stored before either answer, and each
    # answer names its question. The first answer (about sets) follows the second question (about lists).
    session = chat.create_session(t, "Two tabs")
    about_sets = chat.add_message(t, session, "user", "What is a set good for?",
                                  metadata={"scope": {"course_id": str(workspace["basics"]), "video_ids": None}})
    about_lists = chat.add_message(t, session, "user", "Why is a shallow copy not enough?",
                                   metadata={"scope": {"course_id": str(workspace["bootcamp"]), "video_ids": None}})
    for question, video, title in ((about_sets, workspace["sets"], "Sets"), (about_lists, workspace["lists"],
                                                                              "Lists in depth")):
        chat.add_message(t, session, "assistant", "See [1].", metadata={"question_id": str(question)},
                         video_references=[{"number": 1, "video_id": str(video), "title": title, "start_seconds": 60}])
    lists = splits.video_by_course(t, workspace["lists"]).set_index("course_title")["questions"]
    sets = splits.video_by_course(t, workspace["sets"]).set_index("course_title")["questions"]
    assert (lists["Python Basics"], lists["Data Science Bootcamp"]) == (1, 2)
    assert (sets["Python Basics"], sets["Data Science Bootcamp"]) == (1, 0)
    [finding] = splits.course_splits(t)
    assert [c["questions"] for c in finding.evidence["courses"]] == [1, 2]
