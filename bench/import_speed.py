"""Import speed: how long an hour of transcript takes to become searchable with the local model.

Baseline: the same chunks embedded one call per chunk (what a naive importer does), measured in
the same run, so the ratio holds on any machine.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from chronos_data import chunks, creators
from chronos_data.config import Settings
from chronos_data.db import open_database
from chronos_data.embeddings import LOCAL_BATCH, LocalEmbedder
from chronos_data.ingest import imports, pipeline
from chronos_data.ingest.chunking import chunk_segments
from chronos_data.ingest.imports import ImportRequest
from chronos_data.ingest.segments import Segment

from .machine import describe

WORDS_PER_MINUTE = 150
SECONDS_PER_CAPTION = 3.0
_VOCABULARY = ("list loop function variable python data index value string method class object error test "
               "file module import return result query table column row vector search model course lesson "
               "student video answer question chapter example simple because then when while after").split()


def hour_of_captions(seed: int = 7) -> list[Segment]:
    """60 minutes of speech at 150 words a minute, in 3-second captions with sentence ends."""
    rng = random.Random(seed)
    segments, words_per_caption = [], int(WORDS_PER_MINUTE * SECONDS_PER_CAPTION / 60)
    for i in range(int(3600 / SECONDS_PER_CAPTION)):
        words = [rng.choice(_VOCABULARY) for _ in range(words_per_caption)]
        if rng.random() < 0.35:
            words[-1] += "."
        segments.append(Segment(i * SECONDS_PER_CAPTION, (i + 1) * SECONDS_PER_CAPTION, " ".join(words)))
    return segments


def _srt(segments: list[Segment]) -> bytes:
    def stamp(seconds: float) -> str:
        ms = int(round(seconds * 1000))
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "\n".join(f"{i + 1}\n{stamp(s.start)} --> {stamp(s.end)}\n{s.text}\n"
                     for i, s in enumerate(segments)).encode()


def run(repeat: int = 3) -> str:
    segments = hour_of_captions()
    pieces = chunk_segments(segments)
    texts = [p.text for p in pieces]
    embedder = LocalEmbedder()
    embedder.embed(texts[:2])  # load the model once, outside the timings

    batched = [_timed(lambda: embedder.embed(texts)) for _ in range(repeat)]
    naive = [_timed(lambda: [embedder.embed([text]) for text in texts]) for _ in range(repeat)]

    with tempfile.TemporaryDirectory(prefix="chronos-bench-") as folder:
        settings = Settings.from_env({"CHRONOS_DATA_DIR": folder})
        db = open_database(settings)
        try:
            with db.engine.begin() as conn:
                creator = creators.ensure_creator(conn, f"bench-{uuid.uuid4().hex[:6]}@example.com")
            subtitles = Path(folder) / "hour.srt"
            subtitles.write_bytes(_srt(segments))
            end_to_end, moments, moment_count = [], [], 0
            for i in range(repeat):
                # The command line's path for a subtitle file: kept in the workspace's uploads, then queued.
                with db.workspace(creator) as t:
                    [queued] = imports.queue_imports(t, settings, [ImportRequest(str(subtitles), title=f"Hour {i}")])
                assert queued.error is None, queued.error
                video_id = queued.video_id
                started = time.perf_counter()
                status = pipeline.process_video(db, creator, video_id, embedder, moments=False)
                end_to_end.append(time.perf_counter() - started)
                assert status == "completed", status
                with db.workspace(creator) as t:
                    assert len(chunks.list_chunks(t, video_id)) == len(pieces)
                started = time.perf_counter()  # what process_video does next, once the video is searchable
                moment_count = pipeline.embed_moments(db, creator, video_id, embedder)
                moments.append(time.perf_counter() - started)
        finally:
            db.dispose()

    fast, slow, total = statistics.median(batched), statistics.median(naive), statistics.median(end_to_end)
    words = sum(len(s.text.split()) for s in segments)
    return "\n".join([
        "## Import: one hour of transcript, local model (all-MiniLM-L6-v2, int8 ONNX)",
        "",
        f"Machine: {describe()}. Transcript: {words:,} words in {len(segments):,} captions -> "
        f"{len(pieces)} chunks. Median of {repeat} runs.",
        "",
        "| measurement | median | chunks/s | vs baseline |",
        "|---|---:|---:|---:|",
        f"| baseline: embed one chunk per call | {slow:.2f} s | {len(texts) / slow:.0f} | 1.00x |",
        f"| embed in batches of {LOCAL_BATCH} (the importer's path) | {fast:.2f} s | {len(texts) / fast:.0f} | "
        f"{slow / fast:.2f}x |",
        f"| whole import: hour of subtitles -> searchable (parse, chunk, embed, store) | {total:.2f} s | "
        f"{len(texts) / total:.0f} | {slow / total:.2f}x |",
        f"| then, once searchable: the assistant's {moment_count:,} moments embedded and stored "
        f"(`embed_moments`, sql/026) | {statistics.median(moments):.2f} s | | |",
        "",
        f"Seconds per hour of transcript: **{total:.2f} s** (target < 5 s).",
    ])


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started
