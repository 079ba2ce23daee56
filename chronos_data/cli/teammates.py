"""Read-only analyst teammates from the command line: list, add, remove, restore."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Settings
from .common import TextResult, in_workspace


def add_teammates(commands: Any, common: argparse.ArgumentParser) -> None:
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


def _teammates(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .. import access
    from ..errors import NotFound

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

    mates = in_workspace(args, settings, act)
    rows = [{"email": m.email, "role": m.role, "added_at": m.added_at, "last_seen_at": m.last_seen_at,
             "removed": m.removed_at is not None} for m in mates]

    def line(row: dict[str, Any]) -> str:
        seen = f"last seen {row['last_seen_at']:%Y-%m-%d %H:%M}" if row["last_seen_at"] else "never signed in"
        return f"{row['email']}  {row['role']}{'  (removed)' if row['removed'] else ''}  {seen}"

    return TextResult({"teammates": rows}, "\n".join(map(line, rows)) or "No teammates.")
