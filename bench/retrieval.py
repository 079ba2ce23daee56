"""Retrieval: answer quality on the evaluation set, and search latency alone and at scale.

Quality: the ten lectures of tests/rag_eval_set.py imported with the local model, the 51
questions asked in each mode; a hit is a passage of the right lecture overlapping the labelled
window (as in tests/db/test_retrieval_quality.py). Baseline: vector search alone.

Latency: ``hybrid_search`` per question, first on the evaluation workspace alone, then with a
synthetic corpus bulk-loaded around it (clustered vectors and random words, never embedded with
the model; see bench/vectors.py): many other creators, plus some chunks of the measured creator's
own, so the creator filter matters. Baseline: the same searches with index scans turned off (exact
nearest neighbours), in the same run; recall@10 of the vector list is measured against them. Rows
with the HNSW index forced, with custom plans forced, and with each list alone show where the time
goes; each row names the plan its statement ran with (EXPLAIN ANALYZE of the first question).

Vectors at scale (bench/vectors.py): at 100 k and 1 M chunks of 384 dimensions and 100 k of 1536
(``--quick``: 20 k and 2 k; ``--chunks N``: N), the creator-filtered top 10 of the app's HNSW index
(vector and halfvec) against exact search, the full hybrid_search at each 384-d scale, and the
same vectors through langchain-postgres' PGVector.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import psycopg
import sqlalchemy as sa

from chronos_data import creators
from chronos_data.config import Settings
from chronos_data.db import Database, Workspace, open_database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from chronos_data.rag import SEARCH_MODES, Passage, hybrid_search
from chronos_data.rag.retrieve import SEARCH_LIMIT
from tests.rag_eval_set import LECTURES, QUESTIONS, Question, to_srt

from . import vectors
from .machine import describe

__all__ = ["run"]

LIMIT, CANDIDATES = SEARCH_LIMIT, 40  # what the assistant's retrieve() asks hybrid_search for
RANKED = 10  # passages retrieved per question for quality; MRR counts the first hit within them


# Planner settings for a search, SET LOCAL in its transaction. psycopg prepares a statement the
# 5th time a connection runs it, and Postgres may then switch it to a generic plan, which ignores
# later planner settings: forcing custom plans makes each search planned with its own settings.
AS_THE_APP_RUNS: tuple[str, ...] = ()
CUSTOM = ("plan_cache_mode = force_custom_plan",)
EXACT = (*CUSTOM, "enable_indexscan = off")  # no index scan: every distance of the creator's chunks, sorted
HNSW = (*CUSTOM, "enable_sort = off")  # only the HNSW graph returns chunks by distance without a sort


@dataclass(frozen=True)
class Latency:
    label: str
    timings: list[float]  # ms
    plan: str  # how the first question's statement ran


def run(repeat: int = 3, *, quick: bool = False, chunks: int | None = None) -> str:
    runs = vectors.configs(quick=quick, chunks=chunks)
    queries = vectors.QUICK_QUERIES if quick else vectors.QUERIES
    api_rows = vectors.QUICK_PEER_API_ROWS if quick else vectors.PEER_API_ROWS
    embedder = LocalEmbedder()
    question_vectors = embedder.embed([q.text for q in QUESTIONS])

    with tempfile.TemporaryDirectory(prefix="chronos-bench-") as folder:
        db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": folder}))
        try:
            with db.owner() as conn:
                server = conn.execute(sa.text(
                    "SELECT split_part(current_setting('server_version'), ' ', 1) || ', pgvector ' || extversion "
                    "|| ', shared_buffers ' || current_setting('shared_buffers') "
                    "FROM pg_extension WHERE extname = 'vector'")).scalar_one()
            with db.engine.begin() as conn:
                measured = creators.ensure_creator(conn, f"bench-measured-{uuid.uuid4().hex[:6]}@example.com")
            vectors.progress("evaluation set: import, quality, hybrid_search alone")
            started = time.perf_counter()
            video_by_title = _import_lectures(db, measured, embedder)
            import_seconds = time.perf_counter() - started
            with db.workspace(measured) as t:
                eval_chunks = t.conn.execute(sa.text("SELECT count(*) FROM video_chunks")).scalar_one()
            searcher = _Searcher(db, measured, embedder, question_vectors)

            quality = _quality(searcher, video_by_title)
            calibration = _calibration(db, measured, embedder)
            alone = searcher.latency("as the app runs", repeat)

            load: dict[str, float] = {}
            at_scale: list[Latency] = []
            recall: dict[str, float] = {}
            quality_at_scale: dict = {}
            results: list[vectors.Result] = []
            hybrid: dict[int, dict[str, list[float]]] = {}
            for config in runs:
                local = config.dims == embedder.dimensions
                corpus = vectors.load_corpus(db, config, evaluation_creator=measured if local else None,
                                             queries=queries)
                lean = config.chunks >= vectors.LEAN_FROM
                builds = vectors.build_indexes(db, corpus, halfvec=not lean)
                if local:
                    vectors.progress(f"hybrid_search among {corpus.chunks:,} chunks")
                if local and not at_scale:  # the hybrid search in detail, at the first scale
                    load = {"chunks": corpus.chunks, "measured_chunks": corpus.evaluation_chunks,
                            "creators": vectors.CREATORS, "load_seconds": corpus.load_seconds,
                            "index_seconds": builds[0].seconds}
                    at_scale = [
                        searcher.latency("baseline: exact search (custom plans, index scans off)", repeat,
                                         settings=EXACT),
                        searcher.latency("HNSW forced (custom plans, sorts off)", repeat, settings=HNSW),
                        searcher.latency("the planner's choice (custom plans)", repeat, settings=CUSTOM),
                        searcher.latency("as the app runs", repeat),
                        searcher.latency("as the app runs, vector list only (mode vector)", repeat, mode="vector"),
                        searcher.latency("as the app runs, keyword list only (mode keyword)", repeat,
                                         mode="keyword"),
                    ]
                    recall = {"HNSW forced": _recall_at_10(searcher, HNSW),
                              "as the app runs": _recall_at_10(searcher, AS_THE_APP_RUNS)}
                    quality_at_scale = _quality(searcher, video_by_title, modes=("hybrid", "vector"))
                    hybrid[config.chunks] = {"hybrid": at_scale[3].timings,
                                             "vector list only (mode vector)": at_scale[4].timings,
                                             "keyword list only (mode keyword)": at_scale[5].timings}
                elif local:
                    hybrid[config.chunks] = {
                        "hybrid": searcher.latency("hybrid", repeat).timings,
                        "vector list only (mode vector)": searcher.latency("vector", repeat, mode="vector").timings,
                        "keyword list only (mode keyword)": searcher.latency("keyword", repeat,
                                                                             mode="keyword").timings,
                    }
                if lean:
                    result = vectors.measure(db, corpus, builds, queries=min(queries, vectors.LEAN_QUERIES),
                                             kinds=("vector",))
                else:
                    result = vectors.measure(db, corpus, builds, queries=queries)
                    result.peer = vectors.measure_peer(db, result, queries=queries, api_rows=api_rows)
                results.append(result)
        finally:
            db.dispose()

    lines = _report(repeat=repeat, server=server, eval_chunks=eval_chunks, import_seconds=import_seconds,
                    quality=quality, calibration=calibration, alone=alone, load=load, at_scale=at_scale,
                    recall=recall, quality_at_scale=quality_at_scale)
    return "\n".join([lines, "", *vectors.report(results, hybrid, repeat=repeat)])


# --- the evaluation workspace ---------------------------------------------------------------

def _import_lectures(db: Database, creator: uuid.UUID, embedder: LocalEmbedder) -> dict[str, uuid.UUID]:
    video_by_title = {}
    for lecture in LECTURES:
        with db.workspace(creator) as t:
            video_by_title[lecture.title] = pipeline.add_subtitled_video(
                t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
                subtitle_bytes=to_srt(lecture), subtitle_filename="lecture.srt", title=lecture.title)
    run_until_done(db, creator, embedder, video_by_title.values(), timeout=300)
    with db.workspace(creator) as t:
        states = set(t.conn.execute(sa.text("SELECT status FROM videos")).scalars())
    assert states == {"completed"}, states
    return video_by_title


@dataclass
class _Searcher:
    """The measured creator's searches, one transaction each, with the question's vector at hand."""

    db: Database
    creator: uuid.UUID
    embedder: LocalEmbedder
    vectors: np.ndarray

    @contextmanager
    def workspace(self, settings: Sequence[str]) -> Iterator[Workspace]:
        with self.db.workspace(self.creator) as t:
            for setting in settings:
                t.conn.execute(sa.text(f"SET LOCAL {setting}"))
            yield t

    def search(self, t: Workspace, i: int, **kwargs) -> list[Passage]:
        return hybrid_search(t, QUESTIONS[i].text, self.vectors[i], embedding_model=self.embedder.model,
                             dimensions=self.embedder.dimensions, **kwargs)

    def passages(self, i: int, settings: Sequence[str] = AS_THE_APP_RUNS, **kwargs) -> list[Passage]:
        with self.workspace(settings) as t:
            return self.search(t, i, **kwargs)

    def latency(self, label: str, repeat: int, *, settings: Sequence[str] = AS_THE_APP_RUNS,
                mode: str = "hybrid") -> Latency:
        """Milliseconds of each hybrid_search call, after a warm-up round, and the plan of the first."""
        timings = []
        for round_ in range(repeat + 1):
            for i in range(len(QUESTIONS)):
                with self.workspace(settings) as t:
                    started = time.perf_counter()
                    self.search(t, i, limit=LIMIT, candidates=CANDIDATES, mode=mode)
                    elapsed = time.perf_counter() - started
                if round_:  # round 0 warms the caches
                    timings.append(elapsed * 1000)
        return Latency(label, timings, self.plan(settings, mode))

    def plan(self, settings: Sequence[str], mode: str) -> str:
        """EXPLAIN ANALYZE of the first question's search, planned as the timed calls were.

        Once psycopg has prepared the statement on this connection, its prepared statement is
        explained, so the plan is the one Postgres's plan cache picks for it (custom or generic).
        """
        seen: list[tuple[str, dict]] = []

        def capture(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
            seen.append((statement, parameters))

        with self.workspace(settings) as t:
            sa.event.listen(self.db.engine, "before_cursor_execute", capture)
            try:
                self.search(t, 0, limit=LIMIT, candidates=CANDIDATES, mode=mode)
            finally:
                sa.event.remove(self.db.engine, "before_cursor_execute", capture)
            statement, parameters = seen[-1]
            prepared = sa.text("SELECT name, generic_plans FROM pg_prepared_statements "
                               "WHERE statement LIKE '%WITH semantic AS (%' AND statement NOT LIKE '%pg_prepared%'")
            before = t.conn.execute(prepared).first()
            if before is None:
                kind = "custom plan"
                plan = t.conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
            else:
                names = dict.fromkeys(re.findall(r"%\((\w+)\)s", statement))  # psycopg's $1, $2, ... order
                values = psycopg.ClientCursor(t.conn.connection.driver_connection).mogrify(
                    ", ".join(f"%({name})s" for name in names), parameters)
                plan = t.conn.exec_driver_sql(
                    f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {before.name}({values})".replace("%", "%%")).scalar_one()
                generic = t.conn.execute(prepared).one().generic_plans > before.generic_plans
                kind = "generic plan" if generic else "custom plan"
        return f"{kind}; " + _summary(plan[0] if isinstance(plan, list) else json.loads(plan)[0])


def _summary(plan: dict) -> str:
    nodes = [node for node in _nodes(plan["Plan"]) if node.get("Actual Loops")]
    parts = []
    hnsw = next((n for n in nodes if n.get("Index Name", "").startswith("idx_video_chunks_embedding")), None)
    exact = next((n for n in nodes if n["Node Type"] == "Sort" and "<=>" in n["Sort Key"][0]), None)
    if hnsw:
        kept = hnsw["Actual Rows"]
        read = kept + hnsw.get("Rows Removed by Filter", 0)
        parts.append(f"vectors: HNSW index scan read {read:.0f} chunks to keep {kept:.0f} of the creator's "
                     f"({hnsw['Actual Total Time']:.1f} ms)")
    elif exact:
        parts.append(f"vectors: exact, {exact['Plans'][0]['Actual Rows']:.0f} distances sorted "
                     f"({exact['Actual Total Time']:.1f} ms)")
    keyword = next((n for n in nodes if n["Node Type"] == "Sort" and "ts_rank_cd" in n["Sort Key"][0]), None)
    if keyword:
        parts.append(f"keywords: {keyword['Plans'][0]['Actual Rows']:.0f} matching chunks ranked "
                     f"({keyword['Actual Total Time']:.1f} ms)")
    return "; ".join([*parts, f"statement {plan['Execution Time']:.1f} ms"])


def _nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def _is_hit(passage: Passage, question: Question, video_by_title: dict[str, uuid.UUID]) -> bool:
    start, end = question.window
    return (passage.video_id == video_by_title[question.title]
            and passage.start_seconds < end and passage.end_seconds > start)


def _quality(searcher: _Searcher, video_by_title: dict[str, uuid.UUID],
             modes: Sequence[str] = SEARCH_MODES) -> dict[str, dict[str, float]]:
    metrics = {}
    for mode in modes:
        first_hit = []
        for i, question in enumerate(QUESTIONS):
            passages = searcher.passages(i, limit=RANKED, mode=mode)
            ranks = [rank for rank, p in enumerate(passages, 1) if _is_hit(p, question, video_by_title)]
            first_hit.append(ranks[0] if ranks else None)
        n = len(first_hit)
        metrics[mode] = {
            "hit@1": sum(r == 1 for r in first_hit) / n,
            "hit@5": sum(r is not None and r <= 5 for r in first_hit) / n,
            "mrr": sum(1 / r for r in first_hit if r is not None) / n,
        }
    return metrics


def _calibration(db: Database, creator: uuid.UUID, embedder: LocalEmbedder) -> list[str]:
    """Markdown rows: the best passage's cosine similarity for labelled, off-topic and near-topic
    questions, and how many of each the model's relevance floor lets through."""
    from chronos_data.rag.retrieve import relevance_floor
    from tests.rag_eval_set import NEAR_TOPIC, OFF_TOPIC

    groups = {"labelled (answerable)": [q.text for q in QUESTIONS], "off-topic": list(OFF_TOPIC),
              "near-topic, not covered": list(NEAR_TOPIC)}
    with db.workspace(creator) as t:
        floor = relevance_floor(t, embedder.model)
        rows = [f"Relevance floor of {embedder.model}: **{floor}** (cosine similarity of the best passage).", "",
                "| questions | n | best cosine: min | median | max | let through |", "|---|---:|---:|---:|---:|---:|"]
        for label, texts in groups.items():
            best = []
            for text, vector in zip(texts, embedder.embed(texts), strict=True):
                passages = hybrid_search(t, text, vector, embedding_model=embedder.model,
                                         dimensions=embedder.dimensions, limit=1, mode="vector")
                best.append(passages[0].cosine_similarity if passages else 0.0)
            through = sum(b >= floor for b in best)
            rows.append(f"| {label} | {len(best)} | {min(best):.3f} | {statistics.median(best):.3f} | "
                        f"{max(best):.3f} | {through} |")
    return rows


def _recall_at_10(searcher: _Searcher, settings: Sequence[str]) -> float:
    """Share of the exact 10 nearest of the creator's chunks that the vector search returns."""
    found = []
    for i in range(len(QUESTIONS)):
        kwargs = {"limit": 10, "candidates": CANDIDATES, "mode": "vector"}
        truth = {p.chunk_id for p in searcher.passages(i, EXACT, **kwargs)}
        returned = {p.chunk_id for p in searcher.passages(i, settings, **kwargs)}
        found.append(len(truth & returned) / len(truth))
    return statistics.fmean(found)


# --- the report -------------------------------------------------------------------------------

def _report(*, repeat: int, server: str, eval_chunks: int, import_seconds: float, quality: dict,
            calibration: list[str], alone: Latency, load: dict, at_scale: list[Latency], recall: dict[str, float],
            quality_at_scale: dict) -> str:
    n = len(QUESTIONS)
    base = quality["vector"]["mrr"]
    lines = [
        "## Retrieval: quality on the evaluation set, search latency alone and at scale",
        "",
        f"Machine: {describe()}; PostgreSQL {server}. Evaluation set: {len(LECTURES)} lectures -> "
        f"{eval_chunks} chunks (imported with the local model in {import_seconds:.1f} s), {n} questions.",
        "",
        f"### Quality (local model all-MiniLM-L6-v2, {RANKED} passages per question)",
        "",
        "| mode | hit@1 | hit@5 | MRR@10 | vs vector (MRR) |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode in ("vector", "keyword", "hybrid"):
        m = quality[mode]
        label = "baseline: vector" if mode == "vector" else mode
        lines.append(f"| {label} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr']:.3f} | {m['mrr'] / base:.2f}x |")
    share = load["measured_chunks"] / load["chunks"]
    exact = _percentile(at_scale[0].timings, 50)
    lines += ["", "### Relevance cut-off (when the assistant says the videos do not cover a question)", "",
              *calibration]
    lines += [
        "",
        f"### Latency of hybrid_search (limit {LIMIT}, candidates {CANDIDATES})",
        "",
        f"One transaction per question, its vector computed beforehand; {repeat} rounds of all {n} questions "
        f"after a warm-up round ({len(alone.timings)} calls per row). At scale: {load['chunks']:,} chunks in "
        f"{load['creators']} workspaces; the measured creator owns {load['measured_chunks']:,} of them "
        f"({share:.1%}: {eval_chunks} real, the rest clustered synthetic vectors and random words). Bulk load "
        f"{load['load_seconds']:.1f} s, HNSW index rebuild {load['index_seconds']:.1f} s.",
        "",
        "| corpus | search | p50 | p95 | vs baseline (p50) |",
        "|---|---|---:|---:|---:|",
        f"| evaluation workspace alone ({eval_chunks} chunks) | {alone.label} | {_ms(alone.timings, 50)} | "
        f"{_ms(alone.timings, 95)} | |",
    ]
    for row in at_scale:
        lines.append(f"| {load['chunks']:,} chunks | {row.label} | {_ms(row.timings, 50)} | {_ms(row.timings, 95)} | "
                     f"{exact / _percentile(row.timings, 50):.2f}x |")
    lines += [
        "",
        "Recall@10 of the vector list at scale against the exact 10 nearest of the measured creator's chunks: "
        + ", ".join(f"{label} **{value:.3f}**" for label, value in recall.items()) + ".",
        "",
        f"Quality at scale (the synthetic chunks in the same workspace): hybrid hit@5 "
        f"{quality_at_scale['hybrid']['hit@5']:.3f}, MRR {quality_at_scale['hybrid']['mrr']:.3f}; vector hit@5 "
        f"{quality_at_scale['vector']['hit@5']:.3f}, MRR {quality_at_scale['vector']['mrr']:.3f}.",
        "",
        "As the app runs: hybrid_search sets plan_cache_mode = force_custom_plan for its transaction. psycopg "
        "prepares a statement the 5th time a connection runs it, and PostgreSQL's generic plan (planned without "
        "the parameters' values) rebuilt the keyword query for every chunk: before that setting, this row "
        "measured 197 ms p50 at 100k chunks against 38 ms with custom plans. Custom plans: every search is "
        "planned for its own values (a cached generic plan would also ignore the enable_* settings).",
        "",
        "How each statement ran (EXPLAIN ANALYZE of the first question, as the timed calls were planned):",
        "",
        f"- alone, {alone.label}: {alone.plan}",
        *(f"- at scale, {row.label}: {row.plan}" for row in at_scale),
    ]
    return "\n".join(lines)


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _ms(values: list[float], q: int) -> str:
    return f"{_percentile(values, q):.1f} ms"
