"""Concept order: a term used in a lesson before the lesson that explains it, on the real database.

Three lessons, the first stored as overlapping chunks (no captions), the others as captions:

* "Loops" uses 'list comprehension' at 00:48 (its chunks overlap on that sentence) and mentions
  generators only as a promise ("We'll see generators in a later lesson"); it explains 'dictionary'.
* "Functions" explains 'functions' and uses 'dictionary'; generators again only as a promise.
* "Comprehensions" explains 'list comprehension' at 00:10 and 'generators' at 00:30.

In the order Loops, Functions, Comprehensions exactly 'list comprehension' is flagged; with
Comprehensions first nothing is.
"""

from __future__ import annotations

import uuid

import pytest

from chronos_data import chunks, courses, videos
from chronos_data.db import Database, Workspace
from chronos_data.errors import NotFound, ValidationError
from chronos_data.ingest import pipeline
from chronos_data.insights import concepts
from chronos_data.insights.concepts import LessonTranscript, Sentence
from tests.conftest import new_creator

USE = "Here we build the squares with a list comprehension instead of a loop."
EXPLANATION = "A list comprehension is a compact way to build a new list from another iterable."
LOOPS = [
    "Welcome to the lesson on loops in Python.",  # 8 words
    "A dictionary is a collection that maps each key to a value, like a phone book.",  # 16 words
    USE,  # 13 words: chunk 0 holds 37 words over 74 s, so USE starts at word 24, 48 s
    "We'll see generators in a later lesson, so don't worry about them yet.",
    "A while loop keeps going until its condition becomes false.",
    "That is all for loops.",
]
FUNCTIONS = [  # ten-second captions
    "Functions let you name a piece of work and reuse it.",
    "A function can return a dictionary as its result.",
    "Generators are mentioned here only in passing; we will cover them later.",
    "That wraps up functions.",
]
COMPREHENSIONS = [
    "Now we look at a compact way to build lists.",
    EXPLANATION,  # 00:10
    "It reads like a loop written inside square brackets.",
    "Generators are iterators that produce their values lazily, one at a time.",
    "Use them when the whole list would not fit in memory.",
]


def _srt(captions: list[str], seconds: int = 10) -> bytes:
    def stamp(s: float) -> str:
        ms = int(s * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "\n".join(f"{i + 1}\n{stamp(i * seconds)} --> {stamp((i + 1) * seconds - 0.5)}\n{text}\n"
                     for i, text in enumerate(captions)).encode()


def _captioned(t: Workspace, title: str, captions: list[str]) -> uuid.UUID:
    return pipeline.add_subtitled_video(t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
                                        subtitle_bytes=_srt(captions), subtitle_filename="lesson.srt", title=title)


def _chunked(t: Workspace) -> uuid.UUID:
    """"Loops" as the import pipeline stores it: two chunks, the second repeating USE."""
    video = videos.create_video(t, title="Loops", source_type="loom", source_id=uuid.uuid4().hex,
                                duration_seconds=100)
    videos.set_status(t, video, "completed")
    chunks.insert_chunks(t, video, [
        chunks.NewChunk(0, " ".join(LOOPS[:3]), 0, 74),
        chunks.NewChunk(1, " ".join(LOOPS[2:]), 48, 100),
    ], embedding_model=None)
    return video


def _course(t: Workspace, title: str, modules: list[list[uuid.UUID]]) -> tuple[uuid.UUID, list[list[uuid.UUID]]]:
    course = courses.create_course(t, title)
    lessons = []
    for number, video_ids in enumerate(modules, start=1):
        module = courses.create_module(t, course, f"Week {number}")
        lessons.append(courses.add_lessons(t, module, video_ids))
    return course, lessons


@pytest.fixture
def lectures(t: Workspace) -> dict[str, uuid.UUID]:
    return {"loops": _chunked(t), "functions": _captioned(t, "Functions", FUNCTIONS),
            "comprehensions": _captioned(t, "Comprehensions", COMPREHENSIONS)}


def test_a_term_used_before_the_lesson_that_explains_it_is_found_with_both_passages(t, lectures):
    course, _ = _course(t, "Python basics", [[lectures["loops"], lectures["functions"]], [lectures["comprehensions"]]])

    [finding] = concepts.concept_order(t, course)

    assert finding.kind == "concept_order"
    assert finding.title == "Lesson 1 uses 'list comprehension' at 00:48; it is only explained in lesson 3 (00:10)"
    assert (finding.video_id, finding.second, finding.passage) == (lectures["loops"], 48.0, USE)
    assert (finding.course_id, finding.course_title, finding.lesson, finding.video_title) == (
        course, "Python basics", "Loops", "Loops")
    used, explained = finding.evidence["used"], finding.evidence["explained"]
    assert (used["lesson_number"], used["lesson"], used["module"], used["second"], used["text"]) == (
        1, "Loops", "Week 1", 48.0, USE)
    assert (explained["lesson_number"], explained["lesson"], explained["module"], explained["second"],
            explained["text"]) == (3, "Comprehensions", "Week 2", 10.0, EXPLANATION)
    assert explained["video_id"] == str(lectures["comprehensions"]) and explained["timestamp"] == "00:10"
    assert USE in used["context"] and LOOPS[1] in used["context"]
    # The chunks' overlap is read once: one use, not two.
    assert finding.evidence["uses_before_explanation"] == 1
    assert finding.evidence["lessons_using_it_before"] == [1]
    assert finding.key == f"concept_order:{course}:list comprehension"


def test_a_course_in_a_clean_order_and_forward_references_are_not_flagged(t, lectures):
    # Generators are promised in lessons 1 and 2 ("later") and explained in lesson 3: fine.
    course, _ = _course(t, "Python basics", [[lectures["loops"], lectures["functions"]], [lectures["comprehensions"]]])
    assert [f.evidence["term"] for f in concepts.concept_order(t, course)] == ["list comprehension"]

    clean, _ = _course(t, "Python basics, reordered",
                       [[lectures["comprehensions"], lectures["loops"]], [lectures["functions"]]])
    assert concepts.concept_order(t, clean) == []


def test_a_proposed_reorder_is_checked_before_it_is_saved(t, lectures):
    clean, [[comprehensions, loops], [functions]] = _course(
        t, "Python basics", [[lectures["comprehensions"], lectures["loops"]], [lectures["functions"]]])

    # A drag within week 1 passes that module's new order; the other lessons stay where they are.
    [warning] = concepts.check_order(t, clean, [loops, comprehensions])
    assert warning.title == "Lesson 1 uses 'list comprehension' at 00:48; it is only explained in lesson 2 (00:10)"
    assert warning.evidence["new"] is True
    assert warning.evidence["explained"]["lesson"] == "Comprehensions"
    # A whole new course order: "Functions" now speaks of dictionaries before "Loops" explains them.
    assert sorted(w.evidence["term"] for w in concepts.check_order(t, clean, [functions, loops, comprehensions])) == [
        "dictionary", "list comprehension"]
    # The current order itself: nothing to warn about.
    assert concepts.check_order(t, clean, [comprehensions, loops, functions]) == []
    # Nothing was saved.
    assert [lesson.id for entry in courses.course_outline(t, clean).modules for lesson in entry.lessons] == [
        comprehensions, loops, functions]
    assert concepts.concept_order(t, clean) == []

    with pytest.raises(ValidationError):
        concepts.check_order(t, clean, [loops, loops])
    with pytest.raises(ValidationError):
        concepts.check_order(t, clean, [loops, uuid.uuid4()])


def test_only_new_leaves_out_what_the_current_order_already_has(t, lectures):
    bad, [[loops, functions], [comprehensions]] = _course(
        t, "Python basics", [[lectures["loops"], lectures["functions"]], [lectures["comprehensions"]]])

    # Swapping week 1 keeps the old problem (now in lesson 2) and adds one: dictionaries.
    found = {w.evidence["term"]: w for w in concepts.check_order(t, bad, [functions, loops])}
    assert sorted(found) == ["dictionary", "list comprehension"]
    assert found["list comprehension"].evidence["new"] is False
    assert found["list comprehension"].evidence["used"]["lesson_number"] == 2
    assert found["dictionary"].evidence["new"] is True
    assert [w.evidence["term"] for w in concepts.check_order(t, bad, [functions, loops], only_new=True)] == [
        "dictionary"]
    assert concepts.check_order(t, bad, [loops, functions], only_new=True) == []


def test_a_lesson_whose_video_is_in_the_trash_is_left_out(t, lectures):
    course, _ = _course(t, "Python basics", [[lectures["loops"], lectures["functions"]], [lectures["comprehensions"]]])
    videos.soft_delete_video(t, lectures["comprehensions"])
    assert concepts.concept_order(t, course) == []


def test_another_workspace_sees_nothing(db: Database, t, lectures):
    course, [[loops, functions], _] = _course(
        t, "Python basics", [[lectures["loops"], lectures["functions"]], [lectures["comprehensions"]]])
    other = Workspace(t.conn, new_creator(db, "other"))
    with pytest.raises(NotFound):
        concepts.concept_order(other, course)
    with pytest.raises(NotFound):
        concepts.check_order(other, course, [functions, loops])
    assert concepts._video_sentences(other, list(lectures.values())) == {}


@pytest.mark.parametrize(("sentences", "term"), [
    (["A list comprehension is a compact way to build a list."], "list comprehension"),
    (["So, a closure is just a function that remembers the variables around it."], "closure"),
    (["Decorators are functions that wrap another function."], "decorators"),
    (["Idempotent means that doing it twice changes nothing more."], "idempotent"),
    (["That full read is called a sequential scan."], "sequential scan"),
    (["We call this a race condition, and it is hard to reproduce."], "race condition"),
    (["That gives you an index-only scan, which is the fastest read."], "index-only scan"),
    (["What is a memory leak?", "It is memory your program keeps but never uses again."], "memory leak"),
    (["HEAD is the pointer that tells git which branch you are on."], "HEAD"),
])
def test_the_forms_of_an_explanation(sentences, term):
    lesson = LessonTranscript(uuid.uuid4(), uuid.uuid4(), "L", "M",
                              tuple(Sentence(float(i), s) for i, s in enumerate(sentences)))
    assert [found.term for found in concepts.find_explanations([lesson])] == [term]


@pytest.mark.parametrize("sentence", [
    "The idea is a simple one that everyone knows.",  # a generic word, not a term
    "This is a good place to stop for today.",  # a pronoun
    "The server is a bit slow when it starts.",  # a verdict, not a definition
    "Tuples are written with parentheses, but the comma makes the tuple.",
    "Indexes are not free: every insert must maintain them.",
    "The big difference is that tuples are immutable.",
])
def test_sentences_that_explain_nothing(sentence):
    lesson = LessonTranscript(uuid.uuid4(), uuid.uuid4(), "L", "M", (Sentence(0.0, sentence),))
    assert concepts.find_explanations([lesson]) == []


def test_captions_without_punctuation_are_sentences_of_their_own():
    found = concepts.sentences_from_segments([(0, 4, "so a closure is a function"), (4, 9, "that keeps its scope"),
                                              (9, 12, "next we look at decorators")])
    assert found == (Sentence(0.0, "so a closure is a function"), Sentence(4.0, "that keeps its scope"),
                     Sentence(9.0, "next we look at decorators"))
