"""What every command shares: the workspace it acts on, its input file, and how a result is printed."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import creators
from ..config import Settings
from ..db import Database, open_database
from ..errors import ValidationError

Handler = Callable[[argparse.Namespace, Settings], dict[str, Any]]


def command(commands: Any, common: argparse.ArgumentParser, name: str, handler: Handler,
            help_text: str) -> argparse.ArgumentParser:
    """A (sub)command with the common options (--json, --creator), its help as its description."""
    sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
    sub.set_defaults(handler=handler)
    return sub


class TextResult(dict):
    """A command result whose text form is written by the command itself (an outline, a table)."""

    def __init__(self, data: dict[str, Any], text: str) -> None:
        super().__init__(data)
        self.text = text


def in_workspace(args: argparse.Namespace, settings: Settings, action: Callable[[Any], Any]) -> Any:
    """Open the database, run ``action`` in one transaction of the chosen workspace, close it."""
    db = open_database(settings)
    try:
        with db.workspace(ensure_workspace(db, args, settings)) as t:
            return action(t)
    finally:
        db.dispose()


def ensure_workspace(db: Database, args: argparse.Namespace, settings: Settings) -> uuid.UUID:
    """The workspace of --creator (or the local one), created if missing."""
    with db.engine.begin() as conn:
        return creators.ensure_creator(conn, args.creator or settings.local_creator_email)


def read_input(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError(f"Cannot read {path} ({exc.strerror}); check the file name.") from exc


def parse_id(text: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError as exc:
        raise ValidationError(f"'{text}' is not a {what} id.") from exc


def parse_course_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError as exc:
        raise ValidationError(f"'{text}' is not a course id; copy one from `course list`.") from exc


def plural(count: int, noun: str) -> str:
    """``1 lesson``, ``2 lessons``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def table_rows(rows: dict[str, int]) -> list[str]:
    return [f"  {table.replace('_', ' ')}: {count:,}" for table, count in rows.items()]


def as_text(result: dict[str, Any], indent: int = 0) -> str:
    lines: list[str] = []
    pad = "  " * indent
    for key, value in result.items():
        label = key.replace("_", " ")
        if isinstance(value, dict):
            lines.append(f"{pad}{label}:")
            lines.append(as_text(value, indent + 1))
        elif isinstance(value, list):
            lines.append(f"{pad}{label}: {', '.join(map(str, value)) if value else 'none'}")
        else:
            lines.append(f"{pad}{label}: {value if value is not None else '-'}")
    return "\n".join(lines)
