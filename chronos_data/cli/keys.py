"""The event collector from the command line: its write keys (create, list, revoke) and serve."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Settings
from .common import TextResult, in_workspace


def add_keys(commands: Any, common: argparse.ArgumentParser) -> None:
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


def add_serve(commands: Any, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser("serve", help="run the event collector (POST /v1/events) until stopped",
                                description="The event collector: players and sites send viewing events with a "
                                            "write key (see `keys create`). Ctrl-C or SIGTERM stores what was "
                                            "accepted, then stops.")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8502, help="port to listen on (default: 8502)")
    serve.set_defaults(handler=_serve, json=False)


def _keys(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from ..collector import keys
    from ..errors import NotFound

    if args.action == "create":
        created = in_workspace(args, settings, lambda t: keys.create_key(t, args.name, args.origin))
        origins = ", ".join(created.write_key.origins) or "none (for a server)"
        return TextResult({"key": created.key, "name": created.write_key.name, "origins": created.write_key.origins},
                           f"{created.key}\n\nname: {created.write_key.name}\norigins: {origins}\n"
                           "Copy the key now: it is not shown again.")
    if args.action == "revoke":
        if not in_workspace(args, settings, lambda t: keys.revoke_key(t, args.name)):
            raise NotFound(f"This workspace has no live key named '{args.name}'; see `keys list`.")
        return TextResult({"revoked": args.name}, f"revoked: {args.name}")
    listed = in_workspace(args, settings, lambda t: keys.list_keys(t, include_revoked=True))
    rows = [{"name": k.name, "key_prefix": k.key_prefix, "origins": k.origins, "created_at": k.created_at,
             "last_used_at": k.last_used_at, "revoked": k.revoked_at is not None} for k in listed]

    def line(row: dict[str, Any]) -> str:
        used = f"last used {row['last_used_at']:%Y-%m-%d %H:%M}" if row["last_used_at"] else "never used"
        return (f"{row['name']}  {row['key_prefix']}…  {', '.join(row['origins']) or 'no origins'}  {used}"
                + ("  (revoked)" if row["revoked"] else ""))

    return TextResult({"keys": rows}, "\n".join(map(line, rows)) or "No write keys.")


def _serve(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from ..collector import service

    service.serve(settings, host=args.host, port=args.port)
    return TextResult({}, "collector stopped")
