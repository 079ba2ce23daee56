"""Chat: what the assistant spends on a question, offline (the whole answer) and before a model.

The ten lectures of tests/rag_eval_set.py (a 10-video workspace) are imported with the local model.

Offline answers (no language model): each question through ``Assistant.ask`` end to end, cold (a
new ``Assistant`` per question: nothing in the process's memory, as for the first question on a
lesson) and warm (one ``Assistant``, as the app keeps); then once more after deleting the stored
moment vectors, as for videos imported before sql/026, whose first questions fill them.

With a language model: each question through the real ``Assistant`` with the real OpenAI client,
pointed at the tests' fake OpenAI server on 127.0.0.1 (tests/fakes/openai_server.py), which answers
at once. Per question, from ``Assistant.start`` to the moment the assembled messages are handed to
the model client: storing the question (one transaction: daily cap, conversation, message, usage),
embedding it with the local model, and the hybrid search with its passages plus prompt assembly
(one transaction, then ``answer_messages``). Storing the answer afterwards is shown for reference;
the model's own time (the HTTP exchange with the fake) is left out. Measured among the workspace's
own chunks, then again with a synthetic corpus of ``SCALE`` chunks loaded around it (bench/vectors.py:
50 workspaces, the app's HNSW index built), next to a plain vector query (top 10 by cosine
distance) timed in the same run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence

import numpy as np
import sqlalchemy as sa
from pgvector import Vector

from chronos_data import creators
from chronos_data.config import Settings
from chronos_data.db import Database, open_database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from chronos_data.rag.answer import Assistant
from chronos_data.rag.llm import OpenAIChat, StreamUsage
from tests.fakes.openai_server import FakeOpenAI
from tests.rag_eval_set import LECTURES, QUESTIONS, to_srt

from . import vectors
from .machine import describe

__all__ = ["run"]

TARGET_MS = 50  # everything before the model, among SCALE chunks
OFFLINE_TARGET_MS = 300  # an offline answer, whole, p50 (issue 15)
SCALE = 100_000  # chunks in the database for the overhead at scale (--chunks N; --quick: vectors.QUICK_SCALE)
QUICK_QUESTIONS = 20
_WARM_UP = 3  # questions asked first and not timed: the model's session, prepared statements


class _TimedEmbedder:
    """The local model, noting when each call starts and ends."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner, self.model, self.dimensions = inner, inner.model, inner.dimensions
        self.calls: list[tuple[float, float]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.inner.embed(texts)
        self.calls.append((started, time.perf_counter()))
        return vectors


class _TimedModel:
    """The real OpenAI client, noting when the assistant hands it the messages and when it is done."""

    def __init__(self, inner: OpenAIChat) -> None:
        self.inner, self.model = inner, inner.model
        self.called: float | None = None
        self.done: float | None = None

    def stream(self, messages: Sequence[dict[str, str]], usage: StreamUsage) -> Iterator[str]:
        self.called = time.perf_counter()
        yield from self.inner.stream(messages, usage)
        self.done = time.perf_counter()

    def complete(self, messages: Sequence[dict[str, str]], *, max_tokens: int = 100) -> str:
        return self.inner.complete(messages, max_tokens=max_tokens)


def run(repeat: int = 3, *, quick: bool = False, chunks: int | None = None) -> str:
    questions = QUESTIONS[:QUICK_QUESTIONS] if quick else QUESTIONS
    scale = chunks or (vectors.QUICK_SCALE if quick else SCALE)
    embedder = _TimedEmbedder(LocalEmbedder())
    with tempfile.TemporaryDirectory(prefix="chronos-bench-") as folder, FakeOpenAI() as fake:
        db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": folder}))
        try:
            creator = _workspace(db, embedder.inner)
            offline = _offline(db, creator, embedder.inner, questions, repeat)
            model = _TimedModel(OpenAIChat(Settings.from_env({"OPENAI_API_KEY": "sk-bench",
                                                              "OPENAI_BASE_URL": fake.base_url}), max_retries=0))
            assistant = Assistant(db, embedder, model)
            small, found, not_found = _before_model(assistant, creator, embedder, model, questions, repeat)
            vectors.progress(f"chat overhead among {scale:,} chunks")
            corpus = vectors.load_corpus(db, vectors.Config(scale, embedder.dimensions), evaluation_creator=creator,
                                         queries=1)
            vectors.build_indexes(db, corpus, halfvec=False)
            large, _, _ = _before_model(assistant, creator, embedder, model, questions, repeat)
            plain = _plain_vector_query(db, creator, embedder.inner.embed([q.text for q in questions]), repeat)
        finally:
            db.dispose()

    overhead = {label: _overhead(steps) for label, steps in (("small", small), ("large", large))}
    ratio = statistics.median(overhead["large"]["before the model"]) / statistics.median(plain)
    lines = [
        "## Chat: the assistant's time per question",
        "",
        f"Machine: {describe()}. The {len(LECTURES)} lectures of the evaluation set (a 10-video workspace) imported "
        f"with the local model; {len(questions)} of its questions asked {repeat} times each.",
        "",
        "### Offline answers (no language model): the whole answer",
        "",
        "From `Assistant.ask` to the stored answer: store the question, embed it, search, score the moments "
        "of the passages (their vectors read from `moment_vectors`, stored at import), store the answer. "
        "*Cold*: a new `Assistant` for every question, so nothing is in the process's memory (every question "
        "is the first on its lesson); *warm*: one `Assistant` for all, as the app keeps one per process.",
        "",
        "| offline answer | p50 | p95 | max |",
        "|---|---:|---:|---:|",
        *[_row3(label, values) for label, values in offline.items()],
        "",
        f"Offline answer, cold: **{statistics.median(offline[COLD]):.0f} ms** at p50 (target < {OFFLINE_TARGET_MS} ms; "
        "before the vectors were stored at import, the first question on a lesson took 0.5–2.4 s).",
        "",
        "### With a language model: the time before the model is called",
        "",
        f"Through `Assistant` with the real OpenAI client against the fake server, which answers at once; its "
        f"time is left out ({found} of the {len(questions)} questions answered from the videos; {not_found} without "
        "passages and so without the model, not timed). Among the workspace's own chunks, then with "
        f"{corpus.chunks:,} chunks in the database ({vectors.CREATORS} workspaces; this one owns "
        f"{corpus.evaluation_chunks:,} synthetic chunks besides its own), the app's HNSW index built.",
        "",
        "| step | 10 videos p50 | p95 | " + f"{corpus.chunks // 1000} k chunks p50 | p95 |",
        "|---|---:|---:|---:|---:|",
        *[_row2(step, overhead["small"][step], overhead["large"][step]) for step in overhead["small"]],
        f"| baseline: a plain vector query (top 10 of the workspace's chunks by cosine distance, the app's "
        f"index settings, one transaction) | | | {statistics.median(plain):.1f} ms | {_p95(plain):.1f} ms |",
        "",
        f"Everything before the model among {corpus.chunks // 1000} k chunks: "
        f"**{statistics.median(overhead['large']['before the model']):.1f} ms** at p50 (target < {TARGET_MS} ms), "
        f"{ratio:.1f} times the plain vector query measured in the same run.",
    ]
    return "\n".join(lines)


COLD = "cold: a new assistant for each question"
WARM = "warm: one assistant for all questions"
LAZY = "videos imported before sql/026 (no stored vectors; the questions fill them), cold"


def _offline(db: Database, creator: uuid.UUID, embedder: LocalEmbedder, questions: Sequence, repeat: int
             ) -> dict[str, list[float]]:
    """Offline answers timed end to end: cold, warm, and for videos whose vectors were never stored."""
    timings: dict[str, list[float]] = {COLD: [], WARM: [], LAZY: []}
    warm = Assistant(db, embedder)
    for question in questions[:_WARM_UP]:  # the model's session, prepared statements
        warm.ask(creator, question.text)
    for _ in range(repeat):
        for question in questions:
            timings[COLD].append(_timed(Assistant(db, embedder), creator, question.text))
    for _ in range(repeat):
        for question in questions:
            timings[WARM].append(_timed(warm, creator, question.text))
    with db.workspace(creator) as t:  # as after the migration, before any question
        kept = t.conn.execute(sa.text("SELECT count(*) FROM moment_vectors")).scalar_one()
        t.conn.execute(sa.text("DELETE FROM moment_vectors"))
    for question in questions:  # once: the first round fills the table
        timings[LAZY].append(_timed(Assistant(db, embedder), creator, question.text))
    with db.workspace(creator) as t:
        filled = t.conn.execute(sa.text("SELECT count(*) FROM moment_vectors")).scalar_one()
    vectors.progress(f"moment vectors: {kept} stored at import, {filled} filled by {len(questions)} questions")
    return timings


def _timed(assistant: Assistant, creator: uuid.UUID, question: str) -> float:
    started = time.perf_counter()
    assistant.ask(creator, question)
    return (time.perf_counter() - started) * 1000


def _before_model(assistant: Assistant, creator: uuid.UUID, embedder: _TimedEmbedder, model: _TimedModel,
                  questions: Sequence, repeat: int) -> tuple[dict[str, list[float]], int, int]:
    for question in questions[:_WARM_UP]:
        assistant.ask(creator, question.text)
    steps: dict[str, list[float]] = {"store": [], "embed": [], "search": [], "after": []}
    found = not_found = 0
    for _ in range(repeat):
        for question in questions:
            embedder.calls.clear()
            model.called = model.done = None
            started = time.perf_counter()
            run_ = assistant.start(creator, question.text)
            for _piece in run_:
                pass
            ended = time.perf_counter()
            assert run_.answer is not None
            if model.called is None or model.done is None:  # no passage: the model is not asked
                not_found += 1
                continue
            found += run_.answer.found
            (embed_start, embed_end), = embedder.calls  # one call: the question
            steps["store"].append(embed_start - started)
            steps["embed"].append(embed_end - embed_start)
            steps["search"].append(model.called - embed_end)
            steps["after"].append(ended - model.done)
    return steps, found // repeat, not_found // repeat


def _overhead(steps: dict[str, list[float]]) -> dict[str, list[float]]:
    ms = {name: [s * 1000 for s in values] for name, values in steps.items()}
    retrieval = [e + s for e, s in zip(ms["embed"], ms["search"], strict=True)]
    return {
        "store the question (one transaction: daily cap, conversation, message, usage)": ms["store"],
        "embed the question (local model)": ms["embed"],
        "hybrid search, passages and prompt assembly (one transaction, `answer_messages`)": ms["search"],
        "embedding + search + assembly": retrieval,
        "before the model": [a + r for a, r in zip(ms["store"], retrieval, strict=True)],
        "after the model: store the answer, count usage and citations (for reference)": ms["after"],
    }


def _plain_vector_query(db: Database, creator: uuid.UUID, question_vectors: np.ndarray, repeat: int) -> list[float]:
    """The baseline: each question's top 10 chunks by cosine distance, with the settings hybrid_search uses."""
    sql = sa.text(_PLAIN_TOP_10)
    timings = []
    for round_ in range(repeat + 1):
        for vector in question_vectors:
            started = time.perf_counter()
            with db.workspace(creator) as t:
                t.conn.execute(sa.text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                                       "set_config('hnsw.ef_search', '100', true)"))
                t.conn.execute(sql, {"q": Vector(vector), "creator": creator}).all()
            if round_:  # the first round warms up
                timings.append((time.perf_counter() - started) * 1000)
    return timings


_PLAIN_TOP_10 = (
    "SELECT c.id FROM video_chunks c WHERE c.creator_id = :creator AND c.embedding_model = 'all-MiniLM-L6-v2' "
    "ORDER BY c.embedding::vector(384) <=> CAST(:q AS vector(384)) LIMIT 10")


def _row2(label: str, small: list[float], large: list[float]) -> str:
    bold = label in ("embedding + search + assembly", "before the model")
    name = f"**{label}**" if bold else label
    return (f"| {name} | {statistics.median(small):.1f} ms | {_p95(small):.1f} ms | {statistics.median(large):.1f} ms "
            f"| {_p95(large):.1f} ms |")


def _row3(label: str, values: list[float]) -> str:
    return f"| {label} | {statistics.median(values):.0f} ms | {_p95(values):.0f} ms | {max(values):.0f} ms |"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _workspace(db: Database, embedder: LocalEmbedder) -> uuid.UUID:
    """A creator on the enterprise plan (no daily cap) with the evaluation lectures searchable."""
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, f"bench-chat-{uuid.uuid4().hex[:6]}@example.com")
    with db.owner() as conn:
        conn.execute(sa.text("UPDATE chronos.creators SET subscription_tier = 'enterprise' WHERE id = :id"),
                     {"id": creator})
    video_ids = []
    for lecture in LECTURES:
        with db.workspace(creator) as t:
            video_ids.append(pipeline.add_subtitled_video(
                t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
                subtitle_bytes=to_srt(lecture), subtitle_filename="lecture.srt", title=lecture.title))
    run_until_done(db, creator, embedder, video_ids, timeout=600)
    with db.workspace(creator) as t:
        states = set(t.conn.execute(sa.text("SELECT status FROM videos")).scalars())
    assert states == {"completed"}, states
    return creator
