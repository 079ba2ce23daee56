"""The assistant's answers against plain baselines, on the development set (tests/rag_devset.py).

The ten lessons (five punctuated, five in YouTube auto-caption style) are imported through the
import pipeline with the local model, and each of the 139 questions is asked through the app's
own path: ``Assistant.ask`` offline (no language model), each in a new conversation; for where
its misses come from, the passages ``retrieve`` hands it are scored too (each at its start). A hit is a
citation in the right lesson whose start second lies within 15 s of the labelled moment; hit@1 is
the first citation, hit@5 any of the first five, MRR the reciprocal rank of the first hit. A
refused question ("not in your videos") counts as a miss.

Baselines, computed in the same run on the same lessons, rank the caption units of every lesson
and cite each unit's start second (MRR over their top 10):
- cosine over single caption cues, with the same local model;
- cosine over windows of ``WINDOW_CUES`` cues (a new window every ``WINDOW_STRIDE`` cues);
- BM25 over the same windows (bm25s, Lucene's variant, with its English stop words; install it
  with bench/requirements.txt, without it the row says it was not measured).
The baselines never refuse; for them the refusal column shows what a threshold on their top
score would refuse of the unanswerable questions while refusing at most 3 % of the answerable ones.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from chronos_data import creators
from chronos_data.config import Settings
from chronos_data.db import Database, open_database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest.worker import run_until_done
from chronos_data.rag import Assistant, retrieve
from tests import rag_eval_set as eval_set
from tests.rag_devset import (
    HIT_SECONDS,
    LESSONS,
    QUESTIONS,
    Outcome,
    Question,
    Scores,
    ask_each,
    import_lessons,
    score,
)

from .machine import describe

__all__ = ["run"]

WINDOW_CUES = 4
WINDOW_STRIDE = 2  # windows overlap by half, so an answer across a window's edge is whole in the next
ASKED = "`ask` (the app: Assistant offline)"
PASSAGES = "`retrieve`: the passages `ask` quotes from, a hit when one reaches the moment"
RANKED = 10  # units a baseline ranks per question
MAX_ANSWERABLE_REFUSED = 0.03  # the bar for a refusal rule: at most 3 % of answerable questions
COLD_EVERY = 7  # every 7th question is also asked by a new assistant, whose sentence cache is empty
FOUR = ("Python lists in depth", "Python tuples and immutability", "HTTP caching headers", "HTTP cookies and sessions")


@dataclass(frozen=True)
class _Unit:
    title: str
    start: float
    text: str


@dataclass(frozen=True)
class _Ranked:
    """A baseline's answer to one question: its top units and the best unit's score."""

    outcome: Outcome
    top_score: float


def run(repeat: int = 3) -> str:
    """``repeat`` is accepted for ``python -m bench`` and unused: the local model is deterministic."""
    del repeat
    embedder = LocalEmbedder()
    with tempfile.TemporaryDirectory(prefix="chronos-bench-") as folder:
        db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": folder}))
        try:
            creator = _workspace(db)
            started = time.perf_counter()
            title_by_video = import_lessons(db, creator, embedder)
            import_seconds = time.perf_counter() - started
            cold = [_timed_ask(Assistant(db, embedder), creator, title_by_video, q)[1] for q in QUESTIONS[::COLD_EVERY]]
            assistant = Assistant(db, embedder)
            timings, asked = [], []
            for question in QUESTIONS:
                outcome, milliseconds = _timed_ask(assistant, creator, title_by_video, question)
                asked.append(outcome)
                timings.append(milliseconds)
            passages, passage_seconds = _passages(db, creator, embedder, title_by_video)
            held_out = _held_out(db, embedder)
        finally:
            db.dispose()

    cues = [_Unit(lesson.title, cue.start, cue.text) for lesson in LESSONS for cue in lesson.cues]
    windows = _windows()
    methods: dict[str, list[Outcome] | list[_Ranked]] = {
        ASKED: asked,
        PASSAGES: passages,
        "cosine, single cues": _cosine(embedder, cues),
        f"cosine, windows of {WINDOW_CUES} cues": _cosine(embedder, windows),
    }
    notes = []
    bm25 = _bm25(windows)
    if bm25 is None:
        notes.append("BM25 not measured: bm25s is not installed (pip install -r bench/requirements.txt).")
    else:
        methods[f"BM25, windows of {WINDOW_CUES} cues"] = bm25
    notes.append(f"`retrieve` is not a citation rule (its passages last {statistics.median(passage_seconds):.0f} s "
                 "at the median): it shows whether the quoted answer's misses start in the search or in the "
                 "quoting.")
    return _report(methods, notes, import_seconds=import_seconds, timings=timings, cold=cold, cues=len(cues),
                   windows=len(windows), held_out=held_out)


def _timed_ask(assistant: Assistant, creator: uuid.UUID, title_by_video: dict[uuid.UUID, str],
               question: Question) -> tuple[Outcome, float]:
    started = time.perf_counter()
    [outcome] = ask_each(assistant, creator, title_by_video, [question])
    return outcome, (time.perf_counter() - started) * 1000


def _import_lecture(db: Database, creator: uuid.UUID, lecture: eval_set.Lecture) -> uuid.UUID:
    from chronos_data.ingest import pipeline

    with db.workspace(creator) as t:
        return pipeline.add_subtitled_video(
            t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
            subtitle_bytes=eval_set.to_srt(lecture), subtitle_filename="lecture.srt", title=lecture.title)


def _held_out(db: Database, embedder: LocalEmbedder) -> list[str]:
    """The refusal rule on the workspaces it was also calibrated on: the older 51-question set's ten
    lectures, and four of them alone (fewer lectures: more of a question's words unsaid)."""
    lines = []
    for label, lectures in (("the older set's 10 lectures", eval_set.LECTURES),
                            ("4 of them alone", [lecture for lecture in eval_set.LECTURES if lecture.title in FOUR])):
        creator = _workspace(db)
        video_by_title = {lecture.title: _import_lecture(db, creator, lecture) for lecture in lectures}
        run_until_done(db, creator, embedder, list(video_by_title.values()), timeout=600)
        assistant = Assistant(db, embedder)
        answerable = [q for q in eval_set.QUESTIONS if q.title in video_by_title]
        answers = [assistant.ask(creator, q.text) for q in answerable]
        refused = sum(not a.found for a in answers)
        hits = sum(any(c.video_id == video_by_title[q.title] and q.window[0] - HIT_SECONDS <= c.start_seconds
                       <= q.window[1] + HIT_SECONDS for c in a.citations[:5]) for q, a in zip(answerable, answers, strict=True))
        line = (f"- {label}: {refused} of {len(answerable)} answerable questions refused, hit@5 "
                f"{hits / len(answerable):.2f}")
        if label.startswith("the older"):
            unanswerable = [*eval_set.NEAR_TOPIC, *eval_set.OFF_TOPIC]
            line += (f"; {sum(not assistant.ask(creator, q).found for q in unanswerable)} of {len(unanswerable)} "
                     "unanswerable refused")
        lines.append(line)
    return lines


def _workspace(db: Database) -> uuid.UUID:
    """A creator on the enterprise plan: no daily cap on questions."""
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, f"bench-rag-{uuid.uuid4().hex[:6]}@example.com")
    with db.owner() as conn:
        conn.execute(sa.text("UPDATE chronos.creators SET subscription_tier = 'enterprise' WHERE id = :id"),
                     {"id": creator})
    return creator


def _passages(db: Database, creator: uuid.UUID, embedder: LocalEmbedder,
              title_by_video: dict[uuid.UUID, str]) -> tuple[list[Outcome], list[float]]:
    """What ``ask`` quotes from: its passages, best first (none: refused), and their lengths in seconds.

    A passage spans tens of seconds, so it is not scored by its start: each is cited at its second
    nearest the labelled moment, which makes a hit a passage that reaches within 15 s of the moment.
    """
    outcomes, seconds = [], []
    for question in QUESTIONS:
        with db.workspace(creator) as t:
            sources, _nearest = retrieve(t, question.text, embedder)
        moment = question.moment[0] if question.title is not None else 0.0
        outcomes.append(Outcome(question, tuple(
            (title_by_video[s.video_id], min(max(moment, s.start_seconds), s.end_seconds)) for s in sources),
            refused=not sources))
        seconds.extend(s.end_seconds - s.start_seconds for s in sources)
    return outcomes, seconds


def _windows() -> list[_Unit]:
    units = []
    for lesson in LESSONS:
        last = max(len(lesson.cues) - WINDOW_CUES, 0)
        for first in [*range(0, last, WINDOW_STRIDE), last]:
            cues = lesson.cues[first:first + WINDOW_CUES]
            units.append(_Unit(lesson.title, cues[0].start, " ".join(c.text for c in cues)))
    return units


def _ranked(question: Question, units: Sequence[_Unit], scores: np.ndarray) -> _Ranked:
    order = np.argsort(-scores, kind="stable")[:RANKED]
    citations = tuple((units[i].title, units[i].start) for i in order)
    return _Ranked(Outcome(question, citations), float(scores[order[0]]))


def _cosine(embedder: LocalEmbedder, units: Sequence[_Unit]) -> list[_Ranked]:
    matrix = _normalised(embedder.embed([u.text for u in units]))
    queries = _normalised(embedder.embed([q.text for q in QUESTIONS]))
    return [_ranked(q, units, matrix @ v) for q, v in zip(QUESTIONS, queries, strict=True)]


def _bm25(units: Sequence[_Unit]) -> list[_Ranked] | None:
    """bm25s' BM25 (Lucene's variant) with its English stop words; None when it is not installed."""
    try:
        import bm25s
    except ImportError:
        return None
    index = bm25s.BM25()
    index.index(bm25s.tokenize([u.text for u in units], stopwords="en", show_progress=False), show_progress=False)
    queries = bm25s.tokenize([q.text for q in QUESTIONS], stopwords="en", return_ids=False, show_progress=False)
    return [_ranked(q, units, index.get_scores(tokens)) for q, tokens in zip(QUESTIONS, queries, strict=True)]


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# --- the report -------------------------------------------------------------------------------

def _answerable(outcomes: Sequence[Outcome], style: str | None = None) -> list[Outcome]:
    return [o for o in outcomes if o.question.title is not None and (style is None or o.question.lesson.style == style)]


def _hit_cells(scores: Scores) -> str:
    return f"{scores.hit_at_1:.2f} | {scores.hit_at_5:.2f} | {scores.mrr:.2f}"


def _threshold_refusals(ranked: Sequence[_Ranked]) -> tuple[float, dict[str, float]]:
    """The highest top-score threshold that refuses at most 3 % of answerable questions, and the
    share of each kind of question it refuses."""
    answerable = sorted(r.top_score for r in ranked if r.outcome.question.title is not None)
    threshold = answerable[math.floor(MAX_ANSWERABLE_REFUSED * len(answerable))]
    kinds = ("answerable", "near-topic", "off-topic")
    shares = {kind: statistics.fmean(r.top_score < threshold for r in ranked if r.outcome.question.kind == kind)
              for kind in kinds}
    return threshold, shares


def _report(methods: dict, notes: list[str], *, import_seconds: float, timings: list[float], cold: list[float],
            cues: int, windows: int, held_out: list[str]) -> str:
    answerable = sum(q.title is not None for q in QUESTIONS)
    near = sum(q.kind == "near-topic" for q in QUESTIONS)
    off = sum(q.kind == "off-topic" for q in QUESTIONS)
    punctuated = sum(q.title is not None and q.lesson.style == "punctuated" for q in QUESTIONS)
    hit_rows, refusal_rows = [], []
    for label, results in methods.items():
        outcomes = [r.outcome if isinstance(r, _Ranked) else r for r in results]
        cells = " | ".join(_hit_cells(score(_answerable(outcomes, style))) for style in ("punctuated", "auto", None))
        hit_rows.append(f"| {label} | {cells} |")
        if results and isinstance(results[0], _Ranked):
            threshold, shares = _threshold_refusals(results)
            refusal_rows.append(
                f"| {label} | top score < {threshold:.3f} | {shares['near-topic']:.2f} | "
                f"{shares['off-topic']:.2f} | {(shares['near-topic'] * near + shares['off-topic'] * off) / (near + off):.2f}"
                f" | {shares['answerable']:.2f} |")
        else:
            by_kind = {kind: score([o for o in outcomes if o.question.kind == kind]).refused
                       for kind in ("answerable", "near-topic", "off-topic")}
            unanswerable = score([o for o in outcomes if o.question.title is None]).refused
            refusal_rows.append(f"| {label} | its own | {by_kind['near-topic']:.2f} | {by_kind['off-topic']:.2f} | "
                                f"{unanswerable:.2f} | {by_kind['answerable']:.2f} |")
    asked = methods[ASKED]
    lines = [
        "## RAG: the assistant's answers against plain baselines (development set)",
        "",
        f"Machine: {describe()}. The development set (tests/rag_devset.py): {len(LESSONS)} lessons "
        f"({sum(lesson.style == 'punctuated' for lesson in LESSONS)} punctuated, "
        f"{sum(lesson.style == 'auto' for lesson in LESSONS)} in auto-caption style), {len(QUESTIONS)} questions: "
        f"{answerable} answerable ({punctuated} on punctuated lessons, {answerable - punctuated} on auto-caption "
        f"ones), {near} near-topic and {off} off-topic unanswerable. Imported and embedded with the local model in "
        f"{import_seconds:.0f} s. A hit: a citation in the right lesson starting within 15 s of the labelled moment; "
        "a refusal counts as a miss. `ask`: every citation of the offline answer, in order; baselines: their top "
        f"{RANKED} units ({cues} cues; {windows} windows of {WINDOW_CUES} cues, one every {WINDOW_STRIDE}).",
        "",
        "| method | punctuated hit@1 | hit@5 | MRR | auto-caption hit@1 | hit@5 | MRR | all hit@1 | hit@5 | MRR |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *hit_rows,
        *(["", *notes] if notes else []),
        "",
        "Refusals (\"not in your videos\"): `ask` by its own rule; a baseline by the highest threshold on its top "
        "score that refuses at most 3 % of the answerable questions.",
        "",
        "| method | rule | near-topic refused | off-topic refused | unanswerable refused | answerable refused |",
        "|---|---|---:|---:|---:|---:|",
        *refusal_rows,
        "",
        "The same rule on the workspaces of the older question set (tests/rag_eval_set.py):",
        "",
        *held_out,
        "",
        f"`ask` time per question (store, embed, search, quote, store the answer), one assistant for all "
        f"{len(timings)} questions as in the app: p50 {statistics.median(timings):.0f} ms, max {max(timings):.0f} ms; "
        f"a new assistant for each of {len(cold)} questions (nothing in its memory; the moments' vectors read "
        f"from `moment_vectors`): p50 "
        f"{statistics.median(cold):.0f} ms, max {max(cold):.0f} ms.",
        "",
        *_misses(asked),
    ]
    return "\n".join(lines)


def _misses(asked: Sequence[Outcome]) -> list[str]:
    """What `ask` got wrong, for whoever improves it next."""

    def first(o: Outcome) -> str:
        if not o.citations:
            return "no citation"
        title, second = o.citations[0]
        return f"first cites “{title}” at {second:.0f} s"

    answered = [o for o in asked if o.question.title is None and not o.refused]
    missed = [o for o in _answerable(asked) if o.rank is None or o.rank > 5]
    lines = ["<details><summary>`ask`: unanswerable questions answered, and answerable ones missed at 5</summary>", ""]
    lines += [f"- ({o.question.kind}) {o.question.text} — {first(o)}" for o in answered]
    lines += [f"- {o.question.text} — labelled “{o.question.title}” at {o.question.moment[0]:.0f} s; "
              + ("refused" if o.refused else first(o)) for o in missed]
    return [*lines, "", "</details>"]
