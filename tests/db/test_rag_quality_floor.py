"""The assistant's answer quality on the development set must not fall below what it reaches.

The ten lessons of tests/rag_devset.py are imported once for the module through the import
pipeline with the local model, and every question is asked through ``Assistant.ask`` offline, as
``python -m bench rag`` does (bench/RESULTS.md has the figures and the plain baselines). The local
model is deterministic, so the measured figures are stable; each floor is the measurement less
two or three questions, to absorb onnxruntime's float differences between CPUs.

The questions are asked with the local model behind embeddings.CachedEmbedder (each distinct text embedded once):
the moments' sentences are read from moment_vectors (stored at import), and the single words the
refusal compares come back for question after question. The answers are the same as without it
(checked against the benchmark's run).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from chronos_data.db import Database
from chronos_data.embeddings import CachedEmbedder, LocalEmbedder
from chronos_data.rag import Assistant
from chronos_data.rag.retrieve import document_frequencies
from tests.conftest import new_creator
from tests.rag_devset import LESSONS, QUESTIONS, Outcome, ask_each, import_lessons, score

# Measured with the local model (bench/RESULTS.md, "RAG"): hit@1 / hit@5 / MRR. Before the offline
# answer quoted moments best first (issue 15): punctuated 0.55 / 0.86 / 0.69, auto 0.25 / 0.91 / 0.52,
# unanswerable refused 0.57. A refused answerable question counts as a miss.
FLOORS = {
    "punctuated": (0.87, 0.94, 0.91),  # measured 0.91 / 0.98 / 0.94 (56 questions; 1 refused)
    "auto": (0.92, 0.96, 0.94),  # measured 0.94 / 1.00 / 0.97 (53 questions)
}
UNANSWERABLE_REFUSED_FLOOR = 0.80  # measured 0.80 (24 of 30: 15 of 15 off-topic, 9 of 15 near-topic): the issue's bar
ANSWERABLE_REFUSED_CEILING = 0.03  # measured 0.01 (1 of 109); the issue's bar is 3 %


@pytest.fixture(scope="module")
def outcomes(db: Database, embedder: LocalEmbedder) -> list[Outcome]:
    creator = new_creator(db, "devset")
    with db.owner() as conn:  # no daily cap on questions
        conn.execute(sa.text("UPDATE chronos.creators SET subscription_tier = 'enterprise' WHERE id = :id"),
                     {"id": creator})
    title_by_video = import_lessons(db, creator, embedder, timeout=300)
    return ask_each(Assistant(db, CachedEmbedder(embedder)), creator, title_by_video)


def test_the_development_set_is_as_the_issue_asks():
    assert len(LESSONS) >= 10 and sum(lesson.style == "auto" for lesson in LESSONS) * 2 >= len(LESSONS)
    unanswerable = [q for q in QUESTIONS if q.title is None]
    assert len(unanswerable) >= 0.2 * len(QUESTIONS)
    assert sum(q.kind == "near-topic" for q in unanswerable) * 2 >= len(unanswerable)
    spans = [q for q in QUESTIONS if q.title is not None and q.cues[0] < q.cues[1]]
    assert spans  # every anchor is found once in its lesson (cues raises otherwise), some across two cues
    for lesson in (lesson for lesson in LESSONS if lesson.style == "auto"):
        assert all(2 <= cue.end - cue.start <= 4 for cue in lesson.cues)
        assert lesson.text == lesson.text.lower() and not set(".,?!") & set(lesson.text)


@pytest.mark.parametrize("style", sorted(FLOORS))
def test_answers_cite_the_labelled_moment_at_least_as_often_as_today(outcomes, style):
    answerable = [o for o in outcomes if o.question.title is not None and o.question.lesson.style == style]
    scores = score(answerable)
    hit_at_1, hit_at_5, mrr = FLOORS[style]
    assert scores.hit_at_1 >= hit_at_1, scores
    assert scores.hit_at_5 >= hit_at_5, scores
    assert scores.mrr >= mrr, scores


def test_unanswerable_questions_are_refused_at_least_as_often_as_today(outcomes):
    assert score([o for o in outcomes if o.question.title is None]).refused >= UNANSWERABLE_REFUSED_FLOOR


def test_answerable_questions_are_rarely_refused(outcomes):
    assert score([o for o in outcomes if o.question.title is not None]).refused <= ANSWERABLE_REFUSED_CEILING


def test_words_the_search_drops_as_stop_words_get_no_keyword_weight(t):
    """"up", "each", "only" match no passage in PostgreSQL's English search; counted as found in
    none, they weighed as the rarest words and pushed answerable questions towards a refusal."""
    counts, _passages = document_frequencies(t, ["up", "each", "only", "webhook"], LocalEmbedder.model)
    assert counts == {"webhook": 0}
