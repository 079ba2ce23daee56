"""Chat overhead: what the assistant spends on a question before the language model starts.

The ten lectures of tests/rag_eval_set.py are imported with the local model; each of its questions
is asked through the real ``Assistant`` with the real OpenAI client, pointed at the tests' fake
OpenAI server on 127.0.0.1 (tests/fakes/openai_server.py), which answers at once. Per question,
from ``Assistant.start`` to the moment the assembled messages are handed to the model client:
storing the question (one transaction: daily cap, conversation, message, usage), embedding it
with the local model, and the hybrid search with its passages plus prompt assembly (one
transaction, then ``answer_messages``). Storing the answer afterwards is shown for reference; the
model's own time (the HTTP exchange with the fake) is left out.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence

import numpy as np
import sqlalchemy as sa

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

from .machine import describe

__all__ = ["run"]

TARGET_MS = 50  # embedding + search + assembly per question
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


def run(repeat: int = 3, *, quick: bool = False) -> str:
    questions = QUESTIONS[:QUICK_QUESTIONS] if quick else QUESTIONS
    embedder = _TimedEmbedder(LocalEmbedder())
    with tempfile.TemporaryDirectory(prefix="chronos-bench-") as folder, FakeOpenAI() as fake:
        db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": folder}))
        try:
            creator = _workspace(db, embedder.inner)
            model = _TimedModel(OpenAIChat(Settings.from_env({"OPENAI_API_KEY": "sk-bench",
                                                              "OPENAI_BASE_URL": fake.base_url}), max_retries=0))
            assistant = Assistant(db, embedder, model)
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
        finally:
            db.dispose()

    ms = {name: [s * 1000 for s in values] for name, values in steps.items()}
    retrieval = [e + s for e, s in zip(ms["embed"], ms["search"], strict=True)]
    before_model = [a + r for a, r in zip(ms["store"], retrieval, strict=True)]
    asked = len(questions) * repeat
    lines = [
        "## Chat: the assistant's time per question before the language model",
        "",
        f"Machine: {describe()}. The {len(LECTURES)} lectures of the evaluation set imported with the local model; "
        f"{len(questions)} of its questions asked {repeat} times each ({asked} questions; {found} answered from "
        f"the videos, {not_found} without passages and so without the model, not timed) through `Assistant` "
        "with the real OpenAI client against the fake server, which answers at once; its time is left out.",
        "",
        "| step | p50 | p95 |",
        "|---|---:|---:|",
        _row("store the question (one transaction: daily cap, conversation, message, usage)", ms["store"]),
        _row("embed the question (local model)", ms["embed"]),
        _row("hybrid search, passages and prompt assembly (one transaction, `answer_messages`)", ms["search"]),
        _row("**embedding + search + assembly**", retrieval),
        _row("everything before the model is called", before_model),
        _row("after the model: store the answer, count usage and citations (for reference)", ms["after"]),
        "",
        f"Embedding + search + assembly: **{statistics.median(retrieval):.1f} ms** at p50 "
        f"(target < {TARGET_MS} ms).",
    ]
    return "\n".join(lines)


def _row(label: str, values: list[float]) -> str:
    return f"| {label} | {statistics.median(values):.1f} ms | {_p95(values):.1f} ms |"


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
        with db.tenant(creator) as t:
            video_ids.append(pipeline.add_subtitled_video(
                t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
                subtitle_bytes=to_srt(lecture), subtitle_filename="lecture.srt", title=lecture.title))
    run_until_done(db, creator, embedder, video_ids, timeout=600)
    with db.tenant(creator) as t:
        states = set(t.conn.execute(sa.text("SELECT status FROM videos")).scalars())
    assert states == {"completed"}, states
    return creator
