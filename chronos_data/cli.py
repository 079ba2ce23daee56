"""``python -m chronos_data COMMAND``: the data module's functions for scripts and cron jobs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
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
            print(json.dumps({"error": str(exc)}))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, default=str, indent=2) if args.json else _as_text(result))
    return 0


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
    ):
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
    return parser


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
