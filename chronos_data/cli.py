"""``python -m chronos_data COMMAND``: the data module's functions for scripts and cron jobs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from . import creators, migrations, workspace
from .config import Settings
from .db import Database, open_database
from .errors import ChronosError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, Settings], dict[str, Any]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; print its result (JSON with --json); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    try:
        result = args.handler(args, settings)
    except ChronosError as exc:
        if args.json:
            print(json.dumps({"error": str(exc), **({"videos": exc.results} if hasattr(exc, "results") else {})},
                             default=str))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, default=str, indent=2))
    else:
        print(result.text if isinstance(result, _TextResult) else _as_text(result))
    return 0


class _TextResult(dict):
    """A command result whose text form is written by the command itself (an outline, a table)."""

    def __init__(self, data: dict[str, Any], text: str) -> None:
        super().__init__(data)
        self.text = text


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    common.add_argument(
        "--creator", metavar="EMAIL", help="workspace to act on (default: the local workspace, created if missing)"
    )
    parser = argparse.ArgumentParser(prog="python -m chronos_data", description="Chronos data commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, handler, help_text in (
        ("migrate", _migrate, "apply pending migrations; print applied and pending files"),
        ("status", _status, "database in use, schema version, and row counts for the workspace"),
        ("import", _import, "import videos from links, subtitle or media files, or a CSV of links; "
                            "waits until each is processed"),
        ("reembed", _reembed, "re-embed every video of the workspace with the active embedding provider"),
        ("ask", _ask, "answer a question from the workspace's transcripts, with cited moments"),
        ("demo", _demo, "create (or re-create) the demo workspace: lectures, courses, learners, activity"),
        ("rollup", _rollup, "roll up days not rolled up yet (and today) into the daily metrics; safe to re-run"),
        ("worker", _worker, "process every workspace's import queue in this process until stopped (Ctrl-C or "
                            "SIGTERM: the video in hand is released for the next worker at once); "
                            "run the app with CHRONOS_IMPORT_WORKER=off to leave imports to it"),
        ("export", _export, "write every row of the workspace (transcripts and embeddings included; media files "
                            "with --with-media) to a backup file"),
        ("restore", _restore, "restore a backup file into an empty workspace with fresh ids; all or nothing"),
        ("schema", _schema, "the current schema (tables, checks, indexes, policies, grants, functions) as Markdown, "
                            "read from the database after migrating"),
        ("insights", _insights, "where students get confused and why they leave: confusion, dropoff, content_gap, "
                                "concept_order and course_split findings with the moment and the evidence"),
    ):
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        if name == "import":
            sub.add_argument("sources", nargs="+", metavar="SOURCE",
                             help="a YouTube/Loom/Mux link or id, a subtitle or media file, or a .csv of links")
            sub.add_argument("--source", choices=["youtube", "loom", "mux", "upload"],
                             help="what kind of source the arguments are (default: guessed)")
            sub.add_argument("--title", help="title for the video (default: from the source)")
            sub.add_argument("--language", default="en",
                             help="preferred transcript languages, comma-separated (default: en)")
            sub.add_argument("--subtitles", metavar="FILE",
                             help="subtitle file for a Loom, Mux or media source, or for a YouTube video whose "
                                  "captions YouTube refuses (it keeps its YouTube links; a failed copy in the "
                                  "library is completed)")
        if name == "demo":
            sub.add_argument("--seed", type=int, default=7, help="same seed, same workspace (default: 7)")
            sub.add_argument("--students", type=int, default=300, help="learners to simulate (default: 300)")
            sub.add_argument("--days", type=int, default=90, help="days of activity up to today (default: 90)")
            sub.add_argument("--events", type=int, help="about this many events (more learners), for benchmarks")
        if name == "worker":
            sub.add_argument("--until-idle", action="store_true", help="stop once the queue is empty (for cron)")
            sub.add_argument("--idle", type=float, default=5.0, help="seconds between looks at an empty queue")
        if name == "rollup":
            sub.add_argument("--since", metavar="DATE", help="only days from this date (YYYY-MM-DD)")
        if name == "export":
            sub.add_argument("--out", metavar="FILE", required=True, help="the backup file to write (.jsonl.gz)")
            sub.add_argument("--with-media", action="store_true",
                             help="write the uploaded videos' media files into the backup too (a restore plays them)")
        if name == "restore":
            sub.add_argument("file", metavar="FILE", help="a backup file made by export")
            sub.add_argument("--as-creator", metavar="EMAIL",
                             help="restore into this workspace, created if missing (default: --creator's)")
        if name == "schema":
            sub.add_argument("--out", metavar="FILE", help="write it to this file (e.g. docs/schema.md) instead")
        if name == "insights":
            sub.add_argument("--course", metavar="ID", help="only this course's findings (see `course list`)")
        if name == "ask":
            sub.add_argument("question", metavar="QUESTION", help="the question, in quotes")
            sub.add_argument("--course", metavar="ID", help="search only this course's videos")
            sub.add_argument("--video", metavar="ID", action="append", help="search only this video (repeatable)")
            sub.add_argument("--session", metavar="ID",
                             help="continue this conversation (follow-up questions; it searches where it did "
                                  "unless --course or --video is given)")
    events = commands.add_parser("events", help="import viewing events and sessions from another platform",
                                 description="Viewing history in and out of the workspace.")
    event_actions = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = event_actions.add_parser("import", parents=[common], help="import a CSV or JSON Lines file of events "
                                   "and sessions; prints rows kept and rejected with line numbers")
    sub.set_defaults(handler=_events_import)
    sub.add_argument("file", metavar="FILE", help="a .csv or .jsonl file (see the README for its columns)")
    course = commands.add_parser("course", help="list courses, export a course outline, import an outline",
                                 description="Courses of the workspace: list, export (JSON or Markdown), import.")
    actions = course.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, handler, help_text in (
        ("list", _course_list, "the workspace's courses: id, title, published, lessons, minutes"),
        ("export", _course_export, "print a course's outline as JSON (to import elsewhere) or Markdown"),
        ("import", _course_import, "create a draft course from a JSON outline; print its id and unmatched lessons"),
        ("publish", _course_publish, "make a course visible to students; refused while its checklist has problems "
                                     "(a failed or processing video, an empty module) unless --anyway"),
        ("unpublish", _course_publish, "make a published course a draft again"),
    ):
        sub = actions.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        if name in {"export", "publish", "unpublish"}:
            sub.add_argument("course_id", metavar="COURSE_ID", help="the course's id (see `course list`)")
        if name == "publish":
            sub.add_argument("--anyway", action="store_true",
                             help="publish although the checklist lists problems (never a course without lessons)")
        if name == "export":
            sub.add_argument("--format", choices=["json", "md"], default="json", help="outline format (default: json)")
        if name == "import":
            sub.add_argument("file", metavar="FILE", help="a chronos.course/1 JSON outline")
    whop_cmd = commands.add_parser("whop", help="connect the workspace to a Whop company, sync its members, "
                                   "courses and completions, show the connection, disconnect",
                                   description="The workspace's Whop company (members, courses, lesson completions).")
    whop_actions = whop_cmd.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("connect", "check a company API key with Whop and store it encrypted (the key is read from WHOP_API_KEY, "
                    "--api-key-file, or a prompt; never from the command line)"),
        ("status", "the connected company, the last sync and its summary"),
        ("sync", "bring members, courses and completions in; resumes where an interrupted sync stopped"),
        ("disconnect", "forget the company and its key (students and their history stay)"),
        ("webhook-secret", "store the signing secret of the company's webhook to Chronos (ws_…), encrypted; read "
                           "from WHOP_WEBHOOK_SECRET, --secret-file, or a prompt"),
    ):
        sub = whop_actions.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=_whop)
        if name == "connect":
            sub.add_argument("company_id", metavar="COMPANY_ID", help="the Whop company id (biz_…)")
            sub.add_argument("--api-key-file", metavar="FILE", help="read the API key from this file")
        if name == "webhook-secret":
            sub.add_argument("--secret-file", metavar="FILE", help="read the webhook secret from this file")
    team = commands.add_parser("teammates", help="list, add, remove or restore read-only analyst teammates",
                               description="People who may open the workspace read-only after signing in.")
    team_actions = team.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("list", "the workspace's teammates (removed ones too, marked)"),
        ("add", "give an e-mail address read-only analyst access"),
        ("remove", "take a teammate's access away (undo with restore)"),
        ("restore", "give a removed teammate their access back"),
    ):
        sub = team_actions.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=_teammates)
        if name != "list":
            sub.add_argument("email", metavar="EMAIL", help="the teammate's e-mail address")
    keys = commands.add_parser("keys", help="write keys for the event collector: create, list, revoke",
                               description="Keys a site, player or server sends viewing events with "
                                           "(POST /v1/events of `serve`).")
    key_actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("create", "make a write key; prints it once (only its hash is kept)"),
        ("list", "the workspace's keys: name, start of the key, origins, last use (revoked ones too, marked)"),
        ("revoke", "revoke a key by name: the collector refuses it within seconds"),
    ):
        sub = key_actions.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=_keys)
        if name == "create":
            sub.add_argument("--name", required=True, help="what the key is for, e.g. 'School site'")
            sub.add_argument("--origin", action="append", default=[], metavar="URL",
                             help="a web page origin (https://host[:port]) whose browsers may send events with the "
                                  "key (repeatable; none for a server)")
        if name == "revoke":
            sub.add_argument("name", metavar="NAME", help="the key's name (see `keys list`)")
    serve = commands.add_parser("serve", help="run the event collector (POST /v1/events) until stopped",
                                description="The event collector: players and sites send viewing events with a "
                                            "write key (see `keys create`). Ctrl-C or SIGTERM stores what was "
                                            "accepted, then stops.")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8502, help="port to listen on (default: 8502)")
    serve.set_defaults(handler=_serve, json=False)
    return parser


def _keys(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .collector import keys
    from .errors import NotFound

    if args.action == "create":
        created = _in_workspace(args, settings, lambda t: keys.create_key(t, args.name, args.origin))
        origins = ", ".join(created.write_key.origins) or "none (for a server)"
        return _TextResult({"key": created.key, "name": created.write_key.name, "origins": created.write_key.origins},
                           f"{created.key}\n\nname: {created.write_key.name}\norigins: {origins}\n"
                           "Copy the key now: it is not shown again.")
    if args.action == "revoke":
        if not _in_workspace(args, settings, lambda t: keys.revoke_key(t, args.name)):
            raise NotFound(f"This workspace has no live key named '{args.name}'; see `keys list`.")
        return _TextResult({"revoked": args.name}, f"revoked: {args.name}")
    listed = _in_workspace(args, settings, lambda t: keys.list_keys(t, include_revoked=True))
    rows = [{"name": k.name, "key_prefix": k.key_prefix, "origins": k.origins, "created_at": k.created_at,
             "last_used_at": k.last_used_at, "revoked": k.revoked_at is not None} for k in listed]

    def line(row: dict[str, Any]) -> str:
        used = f"last used {row['last_used_at']:%Y-%m-%d %H:%M}" if row["last_used_at"] else "never used"
        return (f"{row['name']}  {row['key_prefix']}…  {', '.join(row['origins']) or 'no origins'}  {used}"
                + ("  (revoked)" if row["revoked"] else ""))

    return _TextResult({"keys": rows}, "\n".join(map(line, rows)) or "No write keys.")


def _serve(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .collector import service

    service.serve(settings, host=args.host, port=args.port)
    return _TextResult({}, "collector stopped")


def _migrate(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    db = open_database(settings, migrate=False)
    try:
        applied_now = migrations.migrate(db.owner_engine)
        with db.owner_engine.connect() as conn:
            state = migrations.migration_status(conn)
        return {"applied_now": applied_now, "applied": state.applied, "pending": state.pending,
                "schema_version": state.version}
    finally:
        db.dispose()


def _schema(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from pathlib import Path

    from .schema_doc import schema_markdown

    db = open_database(settings)
    try:
        with db.owner_engine.connect() as conn:
            text = schema_markdown(conn)
    finally:
        db.dispose()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        return {"written": args.out, "lines": text.count("\n")}
    return _TextResult({"markdown": text}, text.rstrip("\n"))


def _status(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    db = open_database(settings)
    try:
        creator_id = _workspace(db, args, settings)
        with db.tenant(creator_id) as t:
            counts = workspace.row_counts(t)
            email = creators.get_creator(t).email
        status = dataclasses.asdict(workspace.database_status(db))
        return {"database": status, "workspace": {"id": str(creator_id), "email": email, "rows": counts}}
    finally:
        db.dispose()


def _import(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from . import videos
    from .embeddings import embedder_for
    from .ingest.imports import ImportRequest, queue_imports
    from .ingest.pipeline import Sources
    from .ingest.worker import run_until_done

    db = open_database(settings)
    try:
        creator_id = _workspace(db, args, settings)
        requests = [ImportRequest(source=s, kind=args.source, title=args.title, languages=args.language,
                                  subtitles=args.subtitles) for s in args.sources]
        with db.tenant(creator_id) as t:
            queued = queue_imports(t, settings, requests)
        waiting = [item.video_id for item in queued if item.video_id]
        if waiting:
            run_until_done(db, creator_id, embedder_for(settings), waiting, sources=Sources(settings=settings),
                           on_progress=_progress_printer(db, creator_id, waiting, args.json))
        results = []
        with db.tenant(creator_id) as t:
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
        return _TextResult({"videos": results}, "\n".join(lines + [f"{_plural(len(results), 'video')} imported."]))
    finally:
        db.dispose()


def _worker(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .embeddings import embedder_for
    from .ingest.pipeline import Sources
    from .ingest.worker import drain

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
    from .embeddings import embedder_for
    from .ingest.pipeline import Sources, requeue_for_embedding
    from .ingest.worker import run_until_done

    db = open_database(settings)
    try:
        creator_id = _workspace(db, args, settings)
        embedder = embedder_for(settings)
        with db.tenant(creator_id) as t:
            video_ids = requeue_for_embedding(t)
        run_until_done(db, creator_id, embedder, video_ids, sources=Sources(settings=settings),
                       on_progress=_progress_printer(db, creator_id, video_ids, args.json))
        return {"model": embedder.model, "videos": len(video_ids)}
    finally:
        db.dispose()


def _ask(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .embeddings import embedder_for
    from .rag import Assistant, Scope, chat_model_for, model_label
    from .timecode import format_seconds

    # No --course or --video: a new conversation searches every video, a follow-up its conversation's.
    scope: Scope | None = Scope(course_id=_uuid(args.course, "course") if args.course else None,
                                video_ids=tuple(_uuid(v, "video") for v in args.video) if args.video else None)
    if scope == Scope():
        scope = None
    session_id = _uuid(args.session, "conversation") if args.session else None
    db = open_database(settings)
    try:
        creator_id = _workspace(db, args, settings)
        assistant = Assistant(db, embedder_for(settings), chat_model_for(settings))
        answer = assistant.ask(creator_id, args.question, session_id=session_id, scope=scope)
    finally:
        db.dispose()
    lines = [answer.text, ""]
    if answer.notice:
        lines.append(f"note: {answer.notice}")
    for c in answer.citations:
        lines.append(f"[{c.number}] {c.title} at {format_seconds(c.start_seconds)}" + (f"  {c.url}" if c.url else ""))
    lines.append(f"model: {model_label(answer.model)} · conversation: {answer.session_id}")
    return _TextResult(answer.to_json(), "\n".join(lines).strip())


def _insights(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .embeddings import embedder_for
    from .insights import all_insights
    from .rag import chat_model_for
    from .timecode import format_seconds

    course_id = _course_id(args.course) if args.course else None
    embedder, chat_model = embedder_for(settings), chat_model_for(settings)
    found = _in_workspace(args, settings, lambda t: all_insights(t, embedder, course_id=course_id,
                                                                 chat_model=chat_model))
    lines = []
    for insight in found:
        where = (f"{insight.video_title or insight.video_id} at {format_seconds(insight.second)}"
                 if insight.second is not None else insight.course_title or "")
        lines.append(f"[{insight.kind}] {insight.title}")
        if where:
            lines.append(f"    {where}" + (f"  {insight.url}" if insight.url else ""))
        if insight.passage:
            lines.append(f"    \"{insight.passage[:200]}\"")
        counts = {k: v for k, v in insight.evidence.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        if counts:
            lines.append("    " + ", ".join(f"{k.replace('_', ' ')}: {v:g}" for k, v in counts.items()))
    return _TextResult({"insights": [i.to_json() for i in found]}, "\n".join(lines) or "No insights yet: "
                       "they need viewing, questions to the assistant, or a course with several lessons.")


def _demo(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .demo import load_demo
    from .embeddings import embedder_for

    db = open_database(settings)
    try:
        result = load_demo(db, embedder_for(settings), seed=args.seed, students=args.students, days=args.days,
                           events=args.events)
    finally:
        db.dispose()
    data = dataclasses.asdict(result)
    text = (f"demo workspace: {result.email} ({result.creator_id})\n{result.videos} videos, {result.courses} "
            f"courses, {result.students:,} students, {result.sessions:,} sessions, {result.events:,} events, "
            f"{result.questions} questions in {result.seconds:.1f} s\n"
            f"open it in the app with Load demo workspace, or use --creator {result.email}")
    return _TextResult(data, text)


def _rollup(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from datetime import date

    from . import rollups
    from .errors import ValidationError

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError as exc:
        raise ValidationError(f"'{args.since}' is not a date; write it as YYYY-MM-DD.") from exc
    result = _in_workspace(args, settings, lambda t: rollups.rollup(t, since=since))
    days = [d.isoformat() for d in result.days]
    text = (f"days rolled up: {len(days)}" + (f" ({days[0]} to {days[-1]})" if days else "")
            + f"\nvideo rows written: {result.video_rows}\nusage rows written: {result.usage_rows}")
    return _TextResult({"days": days, "video_rows": result.video_rows, "usage_rows": result.usage_rows}, text)


def _export(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from pathlib import Path

    from . import backup

    media = settings if args.with_media else None
    summary = _in_workspace(args, settings, lambda t: backup.export_workspace(t, Path(args.out), media=media))
    data = {"file": args.out, "bytes": summary.bytes_written, "workspace": summary.email,
            "creator_id": str(summary.creator_id), "schema_version": summary.schema_version, "rows": summary.rows,
            "seconds": round(summary.seconds, 2), "recomputed_on_restore": summary.recomputed,
            "uploaded_media_not_included": summary.uploaded_media, "media_files": summary.media_files,
            "media_bytes": summary.media_bytes}
    lines = [f"exported {summary.total_rows:,} rows of {summary.email} to {args.out} "
             f"({summary.bytes_written / 1024**2:.1f} MB) in {summary.seconds:.1f} s"]
    lines += _table_rows(summary.rows)
    lines.append(f"recomputed on restore, not stored: {', '.join(summary.recomputed)}")
    if summary.media_files:
        lines.append(f"included: the media files of {summary.media_files} uploaded videos "
                     f"({summary.media_bytes / 1024**2:.1f} MB)")
    if summary.uploaded_media:
        lines.append(f"not included: the media files of {summary.uploaded_media} uploaded videos (a restore brings "
                     "their transcripts; upload the files again there to play them"
                     + (")" if args.with_media else ", or export --with-media)"))
    return _TextResult(data, "\n".join(lines))


def _restore(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from pathlib import Path

    from . import backup
    from .errors import ValidationError

    if not Path(args.file).is_file():
        raise ValidationError(f"There is no file {args.file}; check the name.")
    db = open_database(settings)
    try:
        with db.engine.begin() as conn:
            creator_id = creators.ensure_creator(conn, args.as_creator or args.creator or settings.local_creator_email)
        summary = backup.restore_backup(db, creator_id, Path(args.file), settings=settings)
    finally:
        db.dispose()
    email = summary.workspace_email
    data = {"file": args.file, "workspace": email, "creator_id": str(creator_id), "source": summary.source_email,
            "exported_at": summary.exported_at, "schema_version": summary.schema_version, "rows": summary.rows,
            "rolled_up_days": summary.rolled_up_days, "seconds": round(summary.seconds, 2),
            "uploaded_media": summary.uploaded_media, "media_restored": summary.media_restored,
            "media_not_in_backup": summary.media_not_in_backup}
    lines = [f"restored {summary.total_rows:,} rows into {email} ({creator_id}) from the backup of "
             f"{summary.source_email} made {summary.exported_at}, in {summary.seconds:.1f} s"]
    lines += _table_rows(summary.rows)
    lines.append(f"recomputed: {', '.join(summary.recomputed)} ({summary.rolled_up_days} days rolled up)")
    if summary.media_restored:
        lines.append(f"media files restored from the backup: {summary.media_restored}")
    if summary.media_not_in_backup:
        lines.append(f"media not in the backup: re-upload the files of {len(summary.media_not_in_backup)} uploaded "
                     "videos to play them (transcripts, search and the assistant work without them): "
                     + ", ".join("".join(c for c in title if c.isprintable()) for title in summary.media_not_in_backup))
    return _TextResult(data, "\n".join(lines))


def _table_rows(rows: dict[str, int]) -> list[str]:
    return [f"  {table.replace('_', ' ')}: {count:,}" for table, count in rows.items()]


def _events_import(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from pathlib import Path

    from .event_import import import_events

    data = _read_input(args.file)
    report = _in_workspace(args, settings, lambda t: import_events(t, data, Path(args.file).name))
    data_out = {"kept": report.kept, "duplicates": report.duplicates, "rejected": report.rejected_count,
                "students_added": report.students_added,
                "errors": [{"line": line, "error": message} for line, message in report.rejected]}
    lines = [f"kept: {report.kept}", f"already imported: {report.duplicates}", f"rejected: {report.rejected_count}"]
    lines += [f"  line {line}: {message}" for line, message in report.rejected]
    if report.rejected_count > len(report.rejected):
        lines.append(f"  … and {report.rejected_count - len(report.rejected)} more")
    return _TextResult(data_out, "\n".join(lines))


def _read_input(path: str) -> bytes:
    from pathlib import Path

    from .errors import ValidationError

    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError(f"Cannot read {path} ({exc.strerror}); check the file name.") from exc


def _in_workspace(args: argparse.Namespace, settings: Settings, action: Callable[[Any], Any]) -> Any:
    """Open the database, run ``action`` in one transaction of the chosen workspace, close it."""
    db = open_database(settings)
    try:
        with db.tenant(_workspace(db, args, settings)) as t:
            return action(t)
    finally:
        db.dispose()


def _uuid(text: str, what: str) -> uuid.UUID:
    from .errors import ValidationError

    try:
        return uuid.UUID(text.strip())
    except ValueError as exc:
        raise ValidationError(f"'{text}' is not a {what} id.") from exc


def _course_list(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from . import courses

    db = open_database(settings)
    try:
        creator_id = _workspace(db, args, settings)
        with db.tenant(creator_id) as t:
            rows = [{"id": str(c.id), "title": c.title, "published": c.is_published, "lessons": c.lesson_count,
                     "minutes": c.total_minutes} for c in courses.list_courses(t)]
    finally:
        db.dispose()
    if not rows:
        text = "No courses yet."
    else:
        text = "\n".join(f"{r['id']}  {'published' if r['published'] else 'draft    '}  "
                         f"{_plural(r['lessons'], 'lesson'):>12}  {r['minutes']:>5} min  {r['title']}" for r in rows)
    return _TextResult({"courses": rows}, text)


def _course_export(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from . import outlines

    course_id = _course_id(args.course_id)
    db = open_database(settings)
    try:
        creator_id = _workspace(db, args, settings)
        with db.tenant(creator_id) as t:
            if args.format == "md":
                outline: Any = outlines.outline_markdown(t, course_id)
                text = outline.rstrip("\n")
            else:
                outline = outlines.export_outline(t, course_id)
                text = json.dumps(outline, indent=2, ensure_ascii=False)
    finally:
        db.dispose()
    return _TextResult({"course_id": str(course_id), "format": args.format, "outline": outline}, text)


def _course_import(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from . import outlines

    data = _read_input(args.file)
    result = _in_workspace(args, settings, lambda t: outlines.import_outline(t, data))
    report = {"course_id": str(result.course_id), "matched": result.matched, "unmatched": result.unmatched}
    lines = [f"course id: {result.course_id}", f"title: {result.title}", f"matched: {_plural(result.matched, 'lesson')}"]
    if result.unmatched:
        lines.append(f"unmatched ({len(result.unmatched)}, left out: no video of this workspace matches): "
                     + "; ".join(result.unmatched))
    else:
        lines.append("unmatched: none")
    return _TextResult(report, "\n".join(lines))


def _course_publish(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from . import courses
    from .errors import ValidationError

    course_id = _course_id(args.course_id)

    def act(t):
        if args.action == "unpublish":
            courses.unpublish_course(t, course_id)
            return []
        problems = courses.publish_checklist(t, course_id)
        if problems and not (args.anyway and not any(p.blocks for p in problems)):
            advice = ("Add a lesson first." if any(p.blocks for p in problems)
                      else "Fix them on the Courses page, or run again with --anyway.")
            raise ValidationError("Before you publish: " + " ".join(f"{p.message}." for p in problems) + " " + advice)
        courses.publish_course(t, course_id, accepted=problems)
        return problems

    accepted = _in_workspace(args, settings, act)
    published = args.action == "publish"
    text = f"{'Published' if published else 'Unpublished'} course {course_id}"
    if accepted:
        text += f" (anyway, with {_plural(len(accepted), 'problem')}: " + "; ".join(p.message for p in accepted) + ")"
    return _TextResult({"course_id": str(course_id), "published": published,
                        "problems_accepted": [{"kind": p.kind, "message": p.message} for p in accepted]}, text)


def _course_id(text: str) -> uuid.UUID:
    from .errors import ValidationError

    try:
        return uuid.UUID(text.strip())
    except ValueError as exc:
        raise ValidationError(f"'{text}' is not a course id; copy one from `course list`.") from exc


def _whop(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from . import whop

    if args.action == "connect":
        key = _whop_key(args)
        found = _in_workspace(args, settings, lambda t: whop.connect(t, key, args.company_id, settings=settings))
        return _TextResult({"connected": True, "company_id": found.company_id},
                           f"Connected to Whop company {found.company_id}. Run `whop sync` to bring its members in.")
    if args.action == "webhook-secret":
        from .whop import webhooks

        secret = _secret(args.secret_file, "WHOP_WEBHOOK_SECRET", "Whop webhook secret: ")
        _in_workspace(args, settings, lambda t: webhooks.set_webhook_secret(t, secret, settings=settings))
        return _TextResult({"webhook_secret": "stored"}, "Webhook secret stored (encrypted).")
    if args.action == "disconnect":
        gone = _in_workspace(args, settings, whop.disconnect)
        return _TextResult({"disconnected": gone},
                           "Disconnected; the key is forgotten." if gone else "The workspace was not connected to Whop.")
    if args.action == "sync":
        def show(p: whop.SyncProgress) -> None:
            if not args.json:
                print(f"[{p.step_number}/{len(whop.sync_steps())}] {p.text}", file=sys.stderr)

        summary = _in_workspace(args, settings, lambda t: whop.sync(t, show, settings=settings))
        if not summary.complete:
            raise _SyncStopped(summary)
        return _TextResult(summary.to_json(), summary.text)
    found = _in_workspace(args, settings, whop.status)
    if found is None:
        return _TextResult({"connected": False}, "Not connected to Whop; run `whop connect COMPANY_ID`.")
    data = {"connected": True, **dataclasses.asdict(found)}
    lines = [f"company: {found.company_id}" + (f" ({found.company_title})" if found.company_title else ""),
             f"connected: {found.connected_at:%Y-%m-%d %H:%M}",
             f"last sync: {found.last_synced_at:%Y-%m-%d %H:%M}" if found.last_synced_at else "last sync: never"]
    if found.last_summary:
        lines.append(f"summary: {found.last_summary.get('text')}")
    if found.last_error:
        lines.append(f"stopped: {found.last_error} (the next sync resumes there)")
    return _TextResult(data, "\n".join(lines))


def _whop_key(args: argparse.Namespace) -> str:
    return _secret(args.api_key_file, "WHOP_API_KEY", "Whop company API key: ")


def _secret(path: str | None, variable: str, prompt: str) -> str:
    """A secret from a file, an environment variable or a hidden prompt: one typed as an argument
    would stay in the shell's history and in the process list."""
    import getpass
    import os

    if path:
        return _read_input(path).decode().strip()
    if os.environ.get(variable, "").strip():
        return os.environ[variable].strip()
    return getpass.getpass(prompt)


class _SyncStopped(ChronosError):
    def __init__(self, summary: Any) -> None:
        super().__init__(summary.text)


def _teammates(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from . import access
    from .errors import NotFound

    def act(t):
        if args.action == "add":
            access.add_teammate(t, args.email)
        elif args.action in {"remove", "restore"}:
            wanted = args.email.strip().lower()
            match = next((m for m in access.list_teammates(t, include_removed=True) if m.email.lower() == wanted), None)
            if match is None:
                raise NotFound(f"{args.email} is not a teammate of this workspace; see `teammates list`.")
            (access.remove_teammate if args.action == "remove" else access.restore_teammate)(t, match.id)
        return access.list_teammates(t, include_removed=True)

    mates = _in_workspace(args, settings, act)
    rows = [{"email": m.email, "role": m.role, "added_at": m.added_at, "last_seen_at": m.last_seen_at,
             "removed": m.removed_at is not None} for m in mates]

    def line(row: dict[str, Any]) -> str:
        seen = f"last seen {row['last_seen_at']:%Y-%m-%d %H:%M}" if row["last_seen_at"] else "never signed in"
        return f"{row['email']}  {row['role']}{'  (removed)' if row['removed'] else ''}  {seen}"

    return _TextResult({"teammates": rows}, "\n".join(map(line, rows)) or "No teammates.")


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
        with db.tenant(creator_id) as t:
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


def _plural(count: int, noun: str) -> str:
    """``1 lesson``, ``2 lessons``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _workspace(db: Database, args: argparse.Namespace, settings: Settings) -> uuid.UUID:
    with db.engine.begin() as conn:
        return creators.ensure_creator(conn, args.creator or settings.local_creator_email)


def _as_text(result: dict[str, Any], indent: int = 0) -> str:
    lines: list[str] = []
    pad = "  " * indent
    for key, value in result.items():
        label = key.replace("_", " ")
        if isinstance(value, dict):
            lines.append(f"{pad}{label}:")
            lines.append(_as_text(value, indent + 1))
        elif isinstance(value, list):
            lines.append(f"{pad}{label}: {', '.join(map(str, value)) if value else 'none'}")
        else:
            lines.append(f"{pad}{label}: {value if value is not None else '-'}")
    return "\n".join(lines)
