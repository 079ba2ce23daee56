"""Commands about the database and a workspace as a whole: migrate, status, schema, demo."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from .. import creators, migrations, workspace
from ..config import Settings
from ..db import open_database
from .common import TextResult, command, ensure_workspace


def add_migrate(commands: Any, common: argparse.ArgumentParser) -> None:
    command(commands, common, "migrate", _migrate, "apply pending migrations; print applied and pending files")


def add_status(commands: Any, common: argparse.ArgumentParser) -> None:
    command(commands, common, "status", _status, "database in use, schema version, and row counts for the workspace")


def add_demo(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "demo", _demo,
                  "create (or re-create) the demo workspace: lectures, courses, students, activity")
    sub.add_argument("--seed", type=int, default=7, help="same seed, same workspace (default: 7)")
    sub.add_argument("--students", type=int, default=300, help="students to simulate (default: 300)")
    sub.add_argument("--days", type=int, default=90, help="days of activity up to today (default: 90)")
    sub.add_argument("--events", type=int, help="about this many events (more students), for benchmarks")


def add_schema(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "schema", _schema,
                  "the current schema (tables, checks, indexes, policies, grants, functions) as Markdown, "
                  "read from the database after migrating")
    sub.add_argument("--out", metavar="FILE", help="write it to this file (e.g. docs/schema.md) instead")


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

    from ..schema_doc import schema_markdown

    db = open_database(settings)
    try:
        with db.owner_engine.connect() as conn:
            text = schema_markdown(conn)
    finally:
        db.dispose()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        return {"written": args.out, "lines": text.count("\n")}
    return TextResult({"markdown": text}, text.rstrip("\n"))


def _status(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    db = open_database(settings)
    try:
        creator_id = ensure_workspace(db, args, settings)
        with db.workspace(creator_id) as t:
            counts = workspace.row_counts(t)
            email = creators.get_creator(t).email
        status = dataclasses.asdict(workspace.database_status(db))
        return {"database": status, "workspace": {"id": str(creator_id), "email": email, "rows": counts}}
    finally:
        db.dispose()


def _demo(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from ..demo import load_demo
    from ..embeddings import embedder_for

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
    return TextResult(data, text)
