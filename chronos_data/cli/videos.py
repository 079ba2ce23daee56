"""Commands that bring videos in and process them: import, reembed, worker."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import uuid
from typing import Any

from ..config import Settings
from ..db import Database, open_database
from ..errors import ChronosError
from ..videos import SOURCE_TYPES
from .common import TextResult, command, ensure_workspace, plural


def add_import(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "import", _import,
                  "import videos from links, subtitle or media files, or a CSV of links; waits until each is processed")
    sub.add_argument("sources", nargs="+", metavar="SOURCE",
                     help="a YouTube/Loom/Mux link or id, a subtitle or media file, or a .csv of links")
    sub.add_argument("--source", choices=SOURCE_TYPES,
                     help="what kind of source the arguments are (default: guessed)")
    sub.add_argument("--title", help="title for the video (default: from the source)")
    sub.add_argument("--language", default="en",
                     help="preferred transcript languages, comma-separated (default: en)")
    sub.add_argument("--subtitles", metavar="FILE",
                     help="subtitle file for a Loom, Mux or media source, or for a YouTube video whose "
                          "captions YouTube refuses (it keeps its YouTube links; a failed copy in the "
                          "library is completed)")


def add_reembed(commands: Any, common: argparse.ArgumentParser) -> None:
    command(commands, common, "reembed", _reembed,
            "re-embed every video of the workspace with the active embedding provider")


def add_worker(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "worker", _worker,
                  "process every workspace's import queue in this process until stopped (Ctrl-C or SIGTERM: the "
                  "video in hand is released for the next worker at once); run the app with "
                  "CHRONOS_IMPORT_WORKER=off to leave imports to it")
    sub.add_argument("--until-idle", action="store_true", help="stop once the queue is empty (for cron)")
    sub.add_argument("--idle", type=float, default=5.0, help="seconds between looks at an empty queue")


def _import(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .. import videos
    from ..embeddings import embedder_for
    from ..ingest.imports import ImportRequest, queue_imports
    from ..ingest.pipeline import Sources
    from ..ingest.worker import run_until_done

    db = open_database(settings)
    try:
        creator_id = ensure_workspace(db, args, settings)
        requests = [ImportRequest(source=s, kind=args.source, title=args.title, languages=args.language,
                                  subtitles=args.subtitles) for s in args.sources]
        with db.workspace(creator_id) as t:
            queued = queue_imports(t, settings, requests)
        waiting = [item.video_id for item in queued if item.video_id]
        if waiting:
            run_until_done(db, creator_id, embedder_for(settings), waiting, sources=Sources(settings=settings),
                           on_progress=_progress_printer(db, creator_id, waiting, args.json))
        results = []
        with db.workspace(creator_id) as t:
            for item in queued:
                if item.video_id is None:
                    results.append({"source": item.source, "id": None, "status": "refused", "error": item.error})
                    continue
                video = videos.get_video(t, item.video_id)
                results.append({"source": item.source, "id": str(video.id), "title": video.title,
                                "status": video.status, "error": video.error_message})
        if any(r["status"] != "completed" for r in results):
            raise _PartialFailure(results)
        lines = [f"Ready: {r['title']}  (id {r['id']})" for r in results]
        return TextResult({"videos": results}, "\n".join(lines + [f"{plural(len(results), 'video')} imported."]))
    finally:
        db.dispose()


def _worker(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from ..embeddings import embedder_for
    from ..ingest.pipeline import Sources
    from ..ingest.worker import drain

    db = open_database(settings)
    processed = 0
    # Ctrl-C and SIGTERM stop the worker after the step in hand, and the video it was processing
    # is released at once for the next worker (only a killed worker's video waits for the lease).
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)
                } if threading.current_thread() is threading.main_thread() else {}
    try:
        embedder, sources = embedder_for(settings), Sources(settings=settings)
        while not stop.is_set():
            processed += drain(db, embedder, sources, stop=stop)
            if args.until_idle:
                break
            stop.wait(args.idle)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        db.dispose()
    return {"processed": processed}


def _reembed(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from ..embeddings import embedder_for
    from ..ingest.pipeline import Sources, requeue_for_embedding
    from ..ingest.worker import run_until_done

    db = open_database(settings)
    try:
        creator_id = ensure_workspace(db, args, settings)
        embedder = embedder_for(settings)
        with db.workspace(creator_id) as t:
            video_ids = requeue_for_embedding(t)
        run_until_done(db, creator_id, embedder, video_ids, sources=Sources(settings=settings),
                       on_progress=_progress_printer(db, creator_id, video_ids, args.json))
        return {"model": embedder.model, "videos": len(video_ids)}
    finally:
        db.dispose()


class _PartialFailure(ChronosError):
    def __init__(self, results: list[dict[str, Any]]) -> None:
        failed = [r for r in results if r["status"] != "completed"]
        super().__init__(f"{len(failed)} of {len(results)} imports did not complete: "
                         + "; ".join(f"{r['source']}: {r['error']}" for r in failed))
        self.results = results


def _progress_printer(db: Database, creator_id: uuid.UUID, video_ids: list[uuid.UUID], quiet: bool):
    import sqlalchemy as sa

    def show() -> None:
        if quiet or not video_ids:
            return
        with db.workspace(creator_id) as t:
            done = t.conn.execute(sa.text("SELECT count(*) FROM videos WHERE creator_id = :c AND id = ANY(:ids) "
                                          "AND status IN ('completed', 'failed')"),
                                  {"c": creator_id, "ids": video_ids}).scalar_one()
        width = 30
        filled = int(width * done / len(video_ids))
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{len(video_ids)} videos", end="",
              file=sys.stderr, flush=True)
        if done == len(video_ids):
            print(file=sys.stderr)

    return show
