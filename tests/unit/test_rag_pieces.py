"""The assistant's pure pieces: merging passages, finding a sentence's second, prompts, links."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from chronos_data.rag import Citation, Passage, Source
from chronos_data.rag.answer import is_elliptical, model_label, standalone_query
from chronos_data.rag.citations import cited_numbers
from chronos_data.rag.extractive import (
    extract_answer,
    moments,
    sentence_seconds,
    should_refuse,
    split_sentences,
    unanswered_share,
    word_weights,
)
from chronos_data.rag.language import language_note, question_language
from chronos_data.rag.prompting import answer_messages, rewrite_messages
from chronos_data.rag.retrieve import _without_duplicates, merge_neighbours
from chronos_data.timecode import format_seconds
from components.assistant_view import linked_answer

VIDEO, OTHER = uuid.uuid4(), uuid.uuid4()


def _passage(index: int, text: str, *, video: uuid.UUID = VIDEO, score: float = 0.01, start: int | None = None
             ) -> Passage:
    start = index * 50 if start is None else start
    return Passage(uuid.uuid4(), video, index, text, start, start + 60, score, 0.5, None, 1)


def test_adjacent_chunks_merge_into_one_passage_with_the_seam_once():
    first = _passage(3, "one two three four five six seven", score=0.02)
    second = _passage(4, "five six seven eight nine", score=0.03)
    elsewhere = _passage(9, "far away words")
    other_video = _passage(4, "eight nine ten", video=OTHER)
    merged = merge_neighbours([second, elsewhere, first, other_video])
    assert [m.text for m in merged] == ["one two three four five six seven eight nine", "far away words",
                                        "eight nine ten"]
    joined = merged[0]
    assert joined.merged_indexes == (3, 4) and joined.chunk_index == 3
    assert (joined.start_seconds, joined.end_seconds) == (150, 260) and joined.score == 0.03


def test_a_chunk_that_bridges_two_groups_joins_them():
    merged = merge_neighbours([_passage(2, "a b"), _passage(4, "e f"), _passage(3, "c d")])
    assert [m.merged_indexes for m in merged] == [(2, 3, 4)] and merged[0].text == "a b c d e f"


def test_near_duplicate_passages_keep_only_the_better_ranked():
    original = _passage(0, "tuples are immutable so they can be dictionary keys")
    copy = _passage(0, "Tuples are immutable, so they can be dictionary keys", video=OTHER)
    different = _passage(5, "lists are mutable and grow with append")
    assert _without_duplicates([original, copy, different]) == [original, different]


def test_sentences_find_the_caption_they_start_in():
    captions = [(0.0, 4.0, "Welcome back."), (5.0, 9.0, "A list is ordered. You can"),
                (10.0, 14.0, "change it after creating it.")]
    assert split_sentences("Welcome back. A list is ordered. You can change it after creating it.") == [
        "Welcome back.", "A list is ordered.", "You can change it after creating it."]
    assert sentence_seconds("You can change it after creating it.", captions, default=0) == 5
    assert sentence_seconds("Change it after creating it.", captions, default=0) == 10
    assert sentence_seconds("Never said.", captions, default=7) == 7
    assert len(split_sentences(" ".join(["word"] * 100))) == 3  # unpunctuated captions: pieces of 40 words


def test_the_answer_prompt_numbers_passages_and_keeps_braces_as_text():
    source = Source(VIDEO, "Dicts {and} sets", "youtube", "abc", 75, 3725, "Use {key: value} pairs.", 0.5, 0.1, (0,))
    system, user = answer_messages("What is {this}?", [source])
    assert system["role"] == "system" and "only" in system["content"]
    assert "[1] Dicts {and} sets (01:15–1:02:05)\nUse {key: value} pairs." in user["content"]
    assert user["content"].endswith("Question: What is {this}?")
    history = [("user", "How do lists work?"), ("assistant", "They are ordered. " * 100)]
    rewrite = rewrite_messages(history, "and tuples?")[1]["content"]
    assert "user: How do lists work?" in rewrite and rewrite.endswith("Follow-up question: and tuples?")
    assert len(rewrite) < 900  # a long earlier answer is shortened
    assert format_seconds(0) == "00:00" and format_seconds(59.9) == "00:59"


def test_offline_follow_ups_carry_the_previous_question():
    history = [("user", "What is a tuple?"), ("assistant", "…")]
    assert standalone_query([], "and lists?") == "and lists?"
    assert standalone_query(history, "Can it be a key?") == "What is a tuple? Can it be a key?"
    assert standalone_query(history, "and can it be a key?") == "What is a tuple? and can it be a key?"
    assert standalone_query(history, "How does git rebase rewrite commit history?") == \
        "How does git rebase rewrite commit history?"


def test_what_about_another_subject_asks_the_same_question_of_it():
    joins = [("user", "What is a left join?"), ("assistant", "…")]
    assert standalone_query(joins, "what about tuples?") == "What is a tuples?"
    assert standalone_query(joins, "and a right join?") == "What is a a right join?"
    cookies = [("user", "What does the HttpOnly flag do for a cookie?"), ("assistant", "…")]
    assert standalone_query(cookies, "and what about SameSite?") == "What does the do for a SameSite?"
    # Not a subject: a question of its own, or a pronoun standing for the earlier one.
    git = [("user", "How do I undo my last commit?"), ("assistant", "…")]
    assert standalone_query(git, "and if I already pushed it?") == "How do I undo my last commit? and if I already pushed it?"
    assert standalone_query(git, "and what if it was pushed?") == "How do I undo my last commit? and what if it was pushed?"


def test_a_chain_of_elliptical_follow_ups_keeps_the_subject_named_last():
    history = [("user", "What is a left join?"), ("assistant", "…"), ("user", "What is a list?"), ("assistant", "…"),
               ("user", "what about tuples?"), ("assistant", "…")]
    assert standalone_query(history, "is it hashable?") == "What is a tuples? is it hashable?"
    longer = [*history, ("user", "and can it change?"), ("assistant", "…"), ("user", "but why?"), ("assistant", "…")]
    assert standalone_query(longer, "is it fast?") == "What is a tuples? but why? is it fast?"


@pytest.mark.parametrize("question", [
    "and if I already pushed it?", "is it hashable?", "What about tuples?", "but why?", "Can it be used as a key?",
    "Does that work with lists?", "How do I undo it if I already pushed?", "Is it safe to push it?", "why is that?",
])
def test_elliptical_follow_ups_lean_on_the_question_before(question):
    assert is_elliptical(question)


@pytest.mark.parametrize("question", [
    "Is a tuple hashable?", "What is a left join?", "Is there a way to sort a dict?", "Why?", "git rebase",
    "Why is inserting at the front of a long list slow?", "What is this error about ImportError in my project setup",
    "Is it true that tuples are hashable?", "Is it possible to sort a dict?", "Which method is it that sorts lists?",
])
def test_a_question_naming_its_own_subject_is_searched_as_typed(question):
    assert not is_elliptical(question)
    assert standalone_query([("user", "What is a left join?"), ("assistant", "…")], question) == question


@pytest.mark.parametrize("question, language", [
    ("Is a tuple hashable?", "en"), ("Explain list comprehensions", "en"), ("stripe webhook setup guide", None),
    ("docker compose volumes", None), ("git rebase", None), ("🙂", None),
    ("¿Puede una tupla ser una clave de diccionario?", "es"), ("Comment annuler mon dernier commit ?", "fr"),
    ("Was ist ein Tupel?", "de"), ("元组可以作为字典的键吗？", "zh-cn"), ("Можно ли использовать кортеж как ключ?", "ru"),
])
def test_the_language_of_a_question_is_told_only_when_sure(question, language):
    assert question_language(question) == language


def test_the_language_note_names_the_videos_language():
    assert language_note("Was ist ein Tupel?", "en") == "Your videos are in English; try asking in English."
    assert language_note("Was ist ein Tupel?", "de-DE") is None
    assert language_note("What is a tuple?", "es") == "Your videos are in Spanish; try asking in Spanish."
    assert language_note("What is a tuple?", "xx") == ("Your question seems to be in another language than your "
                                                       "videos; try asking in theirs.")
    assert language_note("git rebase", "de") is None


def test_the_offline_model_is_shown_by_its_human_name():
    assert model_label("extractive") == "Quoted from your videos"
    assert model_label("gpt-4o-mini") == "gpt-4o-mini" and model_label(None) == ""


def test_citation_markers_become_links_to_the_moment():
    youtube = Citation(1, VIDEO, "Intro", "youtube", "dQw4w9WgXcQ", "dQw4w9WgXcQ", 75, 80, "Hi")
    upload = Citation(2, OTHER, "Upload", "upload", None, None, 3, 9, "Hey")
    text = linked_answer("Lists grow [1]. Uploads too [2]. Unknown [7].", [youtube, upload], quoted=False)
    assert '[\\[1 · 01:15\\]](https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=75s "Intro at 01&#58;15")' in text
    assert "**\\[2 · 00:03\\]**" in text and "Unknown [7]." in text
    quoted = linked_answer("“Use *stars* [1]”", [youtube], quoted=True)
    assert "&#42;stars&#42;" in quoted and "*" not in quoted.split("](")[0] and "t=75s" in quoted
    assert cited_numbers("a [2] b [1][2] c [10]") == [2, 1, 10]


def test_punctuated_captions_become_sentences_at_their_own_seconds():
    captions = [(0.0, 4.0, "Welcome back to the course."), (5.0, 9.0, "A list is ordered. You can change"),
                (10.0, 14.0, "it after creating it, unlike a tuple.")]
    found = moments(0, VIDEO, captions)
    assert [(m.text, m.start_seconds, m.end_seconds) for m in found] == [
        ("Welcome back to the course.", 0.0, 4.0),
        ("A list is ordered.", 5.0, 9.0),
        ("You can change it after creating it, unlike a tuple.", 5.0, 14.0)]


def test_a_sentence_pointing_to_another_lesson_is_not_a_moment_to_quote():
    captions = [(0.0, 4.0, "Charge 99 dollars for a first course."),
                (5.0, 9.0, "Next time: writing a sales page that converts."),
                (10.0, 14.0, "That's it for layout; see you in the next video.")]
    assert [m.text for m in moments(0, VIDEO, captions)] == ["Charge 99 dollars for a first course."]


def test_captions_without_punctuation_become_windows_of_three_cues():
    captions = [(float(i * 3), float(i * 3 + 3), f"words of cue {i}") for i in range(5)]
    found = moments(2, VIDEO, captions)
    assert len(found) == 5 and found[0].text == "words of cue 0 words of cue 1 words of cue 2"
    assert (found[1].start_seconds, found[1].end_seconds) == (3.0, 12.0)
    assert (found[4].start_seconds, found[4].end_seconds, found[4].source) == (12.0, 15.0, 2)


class _WordEmbedder:
    """A toy model: one dimension per word it knows, so the best sentence is known in advance."""

    model, dimensions = "toy", 3
    _words = ("reset", "pushed", "commit")

    def embed(self, texts):
        rows = np.array([[float(w in t.lower()) for w in self._words] for t in texts], dtype=np.float32)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def test_the_best_moment_is_quoted_first_and_cited_from_its_start_to_its_end():
    captions = [(0.0, 3.0, "Today we fix a commit you made."), (3.5, 7.0, "If you already pushed it, revert instead."),
                (8.0, 11.0, "Not pushed yet? Run git reset soft to undo the commit."), (12.0, 14.0, "See you next time.")]
    source = Source(VIDEO, "git", "loom", None, 0, 14, " ".join(c[2] for c in captions), 0.5, 0.1, (0,))
    embedder = _WordEmbedder()
    answer = extract_answer("How do I reset a commit?", embedder.embed(["reset commit"])[0], [source], embedder,
                            {VIDEO: captions})
    first = answer.citations[0]
    assert first.snippet == "Run git reset soft to undo the commit." and (first.start_seconds, first.end_seconds) == (8, 11)
    assert answer.text.startswith("“Run git reset soft to undo the commit.” [1]")
    assert len({c.snippet for c in answer.citations}) == len(answer.citations)


def test_rare_words_weigh_more_and_words_no_video_says_are_counted():
    weights = word_weights({"webhook": 0, "stripe": 3, "set": 40}, passages=40)
    assert weights.idf["webhook"] > weights.idf["stripe"] > weights.idf["set"]
    assert 0.5 < weights.absent_share < 1 and weights.absent == ("webhook",)
    assert should_refuse(0.30, 0.0, "all-MiniLM-L6-v2") and not should_refuse(0.40, 0.0, "all-MiniLM-L6-v2")
    # A question most of whose weight is on unanswered words is refused at a higher score.
    assert should_refuse(0.45, 0.6, "all-MiniLM-L6-v2") and not should_refuse(0.45, 0.4, "all-MiniLM-L6-v2")
    assert not should_refuse(0.70, 1.0, "all-MiniLM-L6-v2")
    assert not should_refuse(0.0, 1.0, "a model without a calibration")


class _AxesEmbedder:
    """Single words as 3-d vectors given by hand; any other word points along the second axis."""

    model, dimensions = "toy", 3

    def __init__(self, axes: dict[str, tuple[float, float, float]]) -> None:
        self._axes = axes

    def embed(self, texts):
        rows = np.array([self._axes.get(t, (0, 1, 0)) for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# "tally" and "counter" are close, "webhook" is near nothing.
_SYNONYMS = _AxesEmbedder({"tally": (1, 0.2, 0), "counter": (0.9, 0.3, 0), "webhook": (0, 0, 1)})


def test_an_unsaid_word_counts_as_unanswered_only_when_nothing_near_the_answer_means_it():
    weights = word_weights({"tally": 0, "webhook": 0, "words": 5}, passages=40)
    moment = ["Use a Counter to count the words of a text."]
    share = unanswered_share(weights, moment, _SYNONYMS)
    assert share == pytest.approx(weights.idf["webhook"] / sum(weights.idf.values()))
    assert unanswered_share(word_weights({"words": 5}, passages=40), moment, _SYNONYMS) == 0.0


# "pg" is close to "postgres" and to nothing else.
_PREFIX = _AxesEmbedder({"pg": (1, 0.1, 0), "postgres": (0.95, 0.2, 0), "dump": (0, 0, 1)})


def test_a_word_of_the_question_does_not_stand_for_another_of_its_unsaid_words():
    """"pg_dump" next to a moment about Postgres: "postgres" is the question's own word, so it
    answers "postgres", not the unsaid "pg" (bench rag: the near-topic pg_dump question was quoted)."""
    weights = word_weights({"pg": 0, "postgres": 4, "database": 9}, passages=40)
    moment = ["Postgres keeps every database in its own folder."]
    share = unanswered_share(weights, moment, _PREFIX)
    assert share == pytest.approx(weights.idf["pg"] / sum(weights.idf.values()))
