"""Confusion map and drop-offs explained by the transcript, on a workspace with planted patterns.

Two 300-second lessons of one course, 40 students each, all on one day (buckets are 12 s: 4 %):

* lesson 2, "Defaults and scope": at 02:30 the passage on mutable default arguments. 12 students
  leave at 157..166 s, 10 rewind from 165 s to 145 s, and five questions (four students', one the
  creator's) are answered citing 150 s. A lone question cites 60 s. The rest is an ordinary curve.
* lesson 1, "Clean lesson": the intro bounce, a steady leak, 22 finish, two ordinary rewinds,
  and two questions citing 100 s: nothing to flag.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from chronos_data import chat, courses, students, videos
from chronos_data.db import Workspace
from chronos_data.insights import timeline
from chronos_data.insights.keyphrases import key_phrases, topic_label
from chronos_data.rag.citations import Citation
from chronos_data.rag.llm import AnswerError
from chronos_data.viewing import dashboards, rollups, watching
from tests.conftest import new_creator

DAY = date(2026, 4, 6)
DURATION = 300
BUCKET = 12  # seconds: 4 % of 300 s
PLANTED = 150
PLANTED_SENTENCE = "A mutable default argument is evaluated only once, when the function is defined."
CONFUSED_TEXTS = ("Why do all my calls share the same default list?", "Why does my default argument keep old items?",
                  "Is the default list created again on each call?", "Why do all my calls share the same default list?")
CREATOR_TEXT = "How should I explain mutable default arguments?"

LESSON = [  # ten-second captions
    "Hello and welcome to this lesson on functions in Python.",
    "A function is defined with the def keyword and a name.",
    "Parameters are the names listed between the parentheses.",
    "Arguments are the values you pass when you call the function.",
    "Keyword arguments let you pass values by parameter name.",
    "Positional arguments are matched by their order instead.",
    "The return statement sends a value back to the caller.",
    "Without a return statement a function gives back None.",
    "Local variables live only while the function runs.",
    "Global variables are visible in the whole module.",
    "The global statement lets a function rebind a module name.",
    "Closures remember variables from the enclosing function.",
    "The nonlocal statement rebinds a variable of the enclosing function.",
    "Scope lookup follows the LEGB rule: local, enclosing, global, built-in.",
    "Default parameter values make arguments optional.",
    PLANTED_SENTENCE,  # 150 s
    "So a list used as a default argument is shared by every call that omits it.",
    "Appending to that shared default list changes it for all later calls.",
    "The fix is a None default and creating a fresh list inside the body.",
    "Type hints document what each parameter expects.",
    "Docstrings describe what the function does for readers.",
    "Lambda expressions create small anonymous functions.",
    "Functions are objects, so you can pass them to other functions.",
    "Decorators wrap a function to add behaviour around it.",
    "Recursion means a function calls itself on a smaller problem.",
    "Every recursive function needs a base case to stop.",
    "Generators yield values one at a time with the yield keyword.",
    "Keep functions short and give each a single job.",
    "Next time we will look at classes and objects.",
    "Thanks for watching, see you in the next lesson.",
]


def _at(minute: int) -> datetime:
    return datetime(2026, 4, 6, 9, tzinfo=UTC) + timedelta(minutes=minute)


def _video(t: Workspace, title: str, segments: list[str] | None) -> uuid.UUID:
    video = videos.create_video(t, title=title, source_type="loom", source_id=uuid.uuid4().hex,
                                duration_seconds=DURATION)
    videos.set_status(t, video, "completed")
    if segments is not None:
        timed = [[i * 10, i * 10 + 9.5, text] for i, text in enumerate(segments)]
        t.conn.execute(sa.text("UPDATE videos SET transcript_segments = CAST(:s AS jsonb) "
                               "WHERE creator_id = :c AND id = :v"),
                       {"s": json.dumps(timed), "c": t.creator_id, "v": video})
    return video


def _ask(t: Workspace, question: str, video: uuid.UUID, seconds: list[int], student: uuid.UUID | None) -> None:
    session = chat.create_session(t, question[:40], student_id=student)
    chat.add_message(t, session, "user", question)
    cites = [Citation(number=i, video_id=video, title="lesson", source_type="loom", youtube_video_id=None,
                      source_key="abc", start_seconds=s, end_seconds=s + 10, snippet=LESSON[s // 10]).to_json()
             for i, s in enumerate(seconds, start=1)]
    chat.add_message(t, session, "assistant", "“…” [1]", video_references=cites, metadata={"found": True})


@pytest.fixture
def workspace(t: Workspace):
    planted = _video(t, "Defaults and scope", LESSON)
    clean = _video(t, "Clean lesson", [f"Clean caption number {i} about loops and lists." for i in range(30)])
    course = courses.create_course(t, "Python functions")
    module = courses.create_module(t, course, "Basics")
    courses.add_lessons(t, module, [clean, planted])  # the planted video is lesson 2
    enrolled = [students.create_student(t, f"student{i}@example.com") for i in range(40)]

    def watch(video, student, stop, minute, rewind=None):
        session = watching.start_viewing(t, video, student, course_id=course, module_id=module, at=_at(minute))
        watching.report_progress(t, session, position_seconds=stop, watched_seconds=stop, at=_at(minute))
        if rewind:
            watching.report_rewind(t, session, from_seconds=rewind[0], to_seconds=rewind[1])

    # Planted: 4 bounce, 12 leave at the dip, 6 leak, 18 finish; 10 rewind 165 -> 145 s.
    stops = [10, 15, 20, 25] + list(range(157, 167)) + [166, 166] + [50, 80, 110, 200, 230, 260] + \
        [290 + i % 11 for i in range(18)]
    rewinders = {14, 15} | set(range(22, 30))  # two who leave at 166 s, eight who finish
    for i, (student, stop) in enumerate(zip(enrolled, stops, strict=True)):
        watch(planted, student, stop, i, rewind=(165, 145) if i in rewinders else None)
    # Clean: 4 bounce, a steady leak of 14, 22 finish; two ordinary rewinds.
    stops = [5, 12, 18, 26] + [40, 55, 70, 85, 100, 115, 130, 145, 175, 190, 205, 220, 235, 250] + \
        [290 + i % 11 for i in range(22)]
    for i, (student, stop) in enumerate(zip(enrolled, stops, strict=True)):
        rewind = (100, 80) if i == 30 else (200, 185) if i == 31 else None
        watch(clean, student, stop, 60 + i, rewind=rewind)

    for student, text in zip(enrolled[:4], CONFUSED_TEXTS, strict=True):
        # One answer cites the moment twice (150 s and 152 s): still one question there.
        _ask(t, text, planted, [PLANTED, 152] if text == CONFUSED_TEXTS[0] else [PLANTED], student)
    _ask(t, CREATOR_TEXT, planted, [PLANTED], None)
    _ask(t, "What does the def keyword do?", planted, [60], enrolled[5])
    _ask(t, "How does a for loop over a list work?", clean, [100], enrolled[6])
    _ask(t, "Can I loop over a list backwards?", clean, [100], enrolled[7])
    # Asked on the day they watched (created_at keeps each answer after its question).
    t.conn.execute(sa.text("UPDATE chat_messages SET created_at = created_at - (now() - CAST(:day AS timestamptz)) "
                           "WHERE creator_id = :c"), {"day": _at(600), "c": t.creator_id})
    rollups.rollup(t, days=[DAY])
    return {"planted": planted, "clean": clean, "course": course, "students": enrolled}


def test_the_map_places_questions_rewinds_and_drop_off_on_the_planted_moment(t, workspace):
    frame = timeline.confusion_map(t, workspace["planted"], dashboards.Filters(DAY, DAY))
    assert list(frame.columns) == timeline.MAP_COLUMNS and len(frame) == 25  # 25 buckets of 12 s
    row = frame.set_index("bucket")
    asked = row.loc[PLANTED // BUCKET]  # 144..156 s
    assert asked["questions"] == 5  # the answer citing 150 s and 152 s counts once
    assert asked["example_questions"][0] == CONFUSED_TEXTS[0]  # asked twice: first
    assert row.loc[5, "questions"] == 1 and frame["questions"].sum() == 6  # the lone question at 60 s
    dip = row.loc[13]  # 156..168 s
    assert dip["left"] == 12 and dip["expected_left"] < 1
    assert dip["rewatch"] == 10 and asked["rewatch"] == 10 and row.loc[11, "rewatch"] == 0
    # At 156 s: the 12 who leave at the dip, 3 who leave later, 18 who finish.
    assert row.loc[0, "watching"] == 1.0 and dip["watching"] == pytest.approx(33 / 40)
    assert row.loc[0, "expected_left"] != row.loc[0, "expected_left"]  # NaN: the intro is never a dip
    assert frame["confusion_score"].idxmax() in (12, 13)
    # The same numbers over another day: nothing watched, nothing asked then.
    empty = timeline.confusion_map(t, workspace["planted"], dashboards.Filters(DAY - timedelta(days=9),
                                                                               DAY - timedelta(days=2)))
    assert empty["left"].sum() == 0 and empty["questions"].sum() == 0 and empty["confusion_score"].sum() == 0


def test_the_confusing_moment_is_found_with_its_passage_questions_and_counts(t, workspace):
    found = timeline.confusion_insights(t)
    assert [i.video_id for i in found] == [workspace["planted"]]  # the clean lesson's questions alone do not
    insight = found[0]
    assert insight.kind == "confusion" and abs(insight.second - PLANTED) <= BUCKET and insight.second == PLANTED
    assert PLANTED_SENTENCE in insight.passage
    assert insight.course_id == workspace["course"] and insight.lesson == "Defaults and scope"
    assert insight.title.startswith("Students are confused in lesson 2 at 02:30")
    evidence = insight.evidence
    assert (evidence["questions"], evidence["student_questions"], evidence["creator_questions"]) == (5, 4, 1)
    assert evidence["video_questions"] == 6
    # Asked twice first, then the others as first asked (the creator's question came last).
    assert evidence["example_questions"] == list(CONFUSED_TEXTS[:3])
    assert evidence["rewatch_sessions"] == 10 and evidence["left_sessions"] == 12 and evidence["sessions"] == 40
    assert evidence["signals"] == ["questions", "rewinds", "drop-off"]
    assert 0 < insight.score <= 1 and insight.key == timeline.confusion_insights(t)[0].key
    json.dumps(insight.to_json())  # the CLI prints it
    assert timeline.confusion_insights(t, workspace["course"])[0].key == insight.key


def test_the_dip_is_labelled_with_the_transcript_in_course_context(t, workspace):
    found = timeline.dropoff_insights(t, workspace["course"])
    assert [i.video_id for i in found] == [workspace["planted"]]  # the clean lesson: normal decay only
    dip = found[0]
    # Named at the second the students' questions cite, as the confusion finding names it (not 02:36,
    # the centre of the leaving): one moment, one second, on every card.
    assert dip.kind == "dropoff" and dip.second == PLANTED
    assert dip.title.startswith("30 % of viewings of lesson 2 end at 02:30, while explaining ")
    assert dip.title.endswith("(25 % rewind over it first)")
    assert "default argument" in dip.evidence["label"].lower() and dip.evidence["label_source"] == "key_phrases"
    assert "shared by every call" in dip.passage
    evidence = dip.evidence
    assert evidence["signal"] == "dip" and evidence["left_sessions"] == 12 and evidence["rewatch_sessions"] == 10
    assert evidence["expected_left"] < 1 and evidence["courses"][0]["lesson_number"] == 2
    assert 0 < dip.score <= 1 and dip.key == f"dropoff:{workspace['planted']}:dip:156"


class _FakeModel:
    model = "fake"

    def __init__(self, reply: str | None) -> None:
        self.reply, self.calls = reply, []

    def complete(self, messages, *, max_tokens=100):
        self.calls.append(messages)
        if self.reply is None:
            raise AnswerError("The language model at fake did not answer in time, even after retries; ask again.")
        return self.reply

    def stream(self, messages, usage):  # pragma: no cover - not used by labels
        raise NotImplementedError


def test_a_configured_model_writes_the_label_and_a_failing_one_falls_back(t, workspace):
    model = _FakeModel("“why one default list is shared by every call.”\nextra line")
    dip = timeline.dropoff_insights(t, chat_model=model)[0]
    assert dip.title.endswith("while explaining why one default list is shared by every call "
                              "(25 % rewind over it first)")
    assert dip.evidence["label_source"] == "model" and len(model.calls) == 1
    assert PLANTED_SENTENCE.split(",")[0] in model.calls[0][1]["content"]  # the passage, not the whole video
    offline = timeline.dropoff_insights(t, chat_model=_FakeModel(None))[0]
    assert offline.evidence["label_source"] == "key_phrases" and "default argument" in offline.evidence["label"]
    # Without a course, a video in exactly one course is still named by its lesson.
    assert dip.title.startswith("30 % of viewings of lesson 2 end")


def test_another_workspace_sees_nothing(db, t, workspace):
    # The same connection: row-level security would still show this workspace's rows, so only the
    # functions' own creator filter hides them.
    other = Workspace(t.conn, new_creator(db, "other"))
    assert timeline.confusion_insights(other) == [] and timeline.dropoff_insights(other) == []
    assert timeline.confusion_map(other, workspace["planted"]).empty
    assert timeline.confusion_insights(other, workspace["course"]) == []
    assert timeline.dropoff_insights(t, uuid.uuid4()) == []  # a course that does not exist


def test_the_clean_lesson_is_never_flagged_even_with_many_students(t, workspace):
    # Scale the clean lesson's day tenfold (the rollup row is what the insights read): chance
    # clumps grow with it, a real dip would too, but an ordinary curve stays ordinary.
    t.conn.execute(sa.text("""
        UPDATE video_analytics SET metadata = jsonb_set(jsonb_set(metadata, '{reached}',
               (SELECT jsonb_agg((x::int) * 10 ORDER BY o) FROM jsonb_array_elements_text(metadata -> 'reached')
                WITH ORDINALITY r(x, o))), '{rewound}',
               (SELECT jsonb_agg((x::int) * 10 ORDER BY o) FROM jsonb_array_elements_text(metadata -> 'rewound')
                WITH ORDINALITY r(x, o)))
        WHERE creator_id = :c AND video_id = :v"""), {"c": t.creator_id, "v": workspace["clean"]})
    assert all(i.video_id != workspace["clean"] for i in timeline.dropoff_insights(t))
    frame = timeline.confusion_map(t, workspace["clean"])
    assert frame["left"].sum() == 400 and frame.loc[:2, "left"].sum() == 40  # the intro bounce, not a dip


def test_key_phrases_name_the_moment_not_the_whole_video():
    others = [" ".join(LESSON[i:i + 4]) for i in range(0, 14, 4)] + [" ".join(LESSON[19:])]
    passage = " ".join(LESSON[15:18])
    phrases = key_phrases(passage, others)
    # The video's topic words (function, argument) weigh less than what is said only here.
    assert phrases[:2] == ["shared default list", "mutable default argument"]
    assert key_phrases(passage, others) == phrases  # deterministic
    assert topic_label("So, well, it is what it is.") == "" and key_phrases("") == []
    named = " | ".join(key_phrases("The server sends an ETag header; the browser sends If-None-Match back.", top=5))
    assert "ETag header" in named and "If-None-Match" in named  # as written: case and hyphens kept


def test_a_video_without_stored_captions_is_labelled_from_its_chunks(t, workspace):
    from chronos_data.chunks import NewChunk, insert_chunks

    t.conn.execute(sa.text("UPDATE videos SET transcript_segments = NULL WHERE creator_id = :c AND id = :v"),
                   {"c": t.creator_id, "v": workspace["planted"]})
    insert_chunks(t, workspace["planted"], [
        NewChunk(0, " ".join(LESSON[:15]), 0, 150), NewChunk(1, " ".join(LESSON[13:]), 130, 300)],
        embedding_model=None)
    dip = timeline.dropoff_insights(t)[0]
    assert "shared" in dip.passage and "default" in dip.evidence["label"].lower()
    assert isinstance(timeline.confusion_map(t, workspace["planted"]), pd.DataFrame)


def test_two_questions_asked_at_once_in_one_conversation_are_each_placed_where_their_own_answer_cites(
        t, workspace):
    # Two tabs on one student's conversation: both questions are stored before either answer, and
    # each answer names its question (as the assistant stores it). The answer citing 02:30 is the
    # default-list question's, though the message just before it is the other question.
    session = chat.create_session(t, "Two tabs", student_id=workspace["students"][8])
    confused = chat.add_message(t, session, "user", CONFUSED_TEXTS[2])
    other = chat.add_message(t, session, "user", "What does the def keyword do?")
    for question, second in ((confused, PLANTED), (other, 60)):
        cite = Citation(number=1, video_id=workspace["planted"], title="lesson", source_type="loom",
                        youtube_video_id=None, source_key="abc", start_seconds=second, end_seconds=second + 10,
                        snippet=LESSON[second // 10]).to_json()
        chat.add_message(t, session, "assistant", "“…” [1]", video_references=[cite],
                         metadata={"question_id": str(question), "found": True})
    evidence = timeline.confusion_insights(t)[0].evidence
    assert evidence["questions"] == 6 and evidence["video_questions"] == 8  # each question at one moment
    # The default-list question, asked twice now, is the second example; the def question is not there.
    assert evidence["example_questions"] == [CONFUSED_TEXTS[0], CONFUSED_TEXTS[2], CONFUSED_TEXTS[1]]
    row = timeline.confusion_map(t, workspace["planted"]).set_index("bucket")
    assert row.loc[5, "questions"] == 2 and row.loc[5, "example_questions"] == ["What does the def keyword do?"]
    assert row.loc[PLANTED // BUCKET, "example_questions"] == evidence["example_questions"]
