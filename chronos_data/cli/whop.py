"""The workspace's Whop company from the command line: connect, status, sync, disconnect, webhook-secret."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from ..config import Settings
from ..errors import ChronosError
from .common import TextResult, in_workspace, read_input


def add_whop(commands: Any, common: argparse.ArgumentParser) -> None:
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


def _whop(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .. import whop

    if args.action == "connect":
        key = _whop_key(args)
        found = in_workspace(args, settings, lambda t: whop.connect(t, key, args.company_id, settings=settings))
        return TextResult({"connected": True, "company_id": found.company_id},
                           f"Connected to Whop company {found.company_id}. Run `whop sync` to bring its members in.")
    if args.action == "webhook-secret":
        from ..whop import webhooks

        secret = _secret(args.secret_file, "WHOP_WEBHOOK_SECRET", "Whop webhook secret: ")
        in_workspace(args, settings, lambda t: webhooks.set_webhook_secret(t, secret, settings=settings))
        return TextResult({"webhook_secret": "stored"}, "Webhook secret stored (encrypted).")
    if args.action == "disconnect":
        gone = in_workspace(args, settings, whop.disconnect)
        return TextResult({"disconnected": gone},
                           "Disconnected; the key is forgotten." if gone else "The workspace was not connected to Whop.")
    if args.action == "sync":
        def show(p: whop.SyncProgress) -> None:
            if not args.json:
                print(f"[{p.step_number}/{len(whop.sync_steps())}] {p.text}", file=sys.stderr)

        summary = in_workspace(args, settings, lambda t: whop.sync(t, show, settings=settings))
        if not summary.complete:
            raise _SyncStopped(summary)
        return TextResult(summary.to_json(), summary.text)
    found = in_workspace(args, settings, whop.status)
    if found is None:
        return TextResult({"connected": False}, "Not connected to Whop; run `whop connect COMPANY_ID`.")
    data = {"connected": True, **dataclasses.asdict(found)}
    lines = [f"company: {found.company_id}" + (f" ({found.company_title})" if found.company_title else ""),
             f"connected: {found.connected_at:%Y-%m-%d %H:%M}",
             f"last sync: {found.last_synced_at:%Y-%m-%d %H:%M}" if found.last_synced_at else "last sync: never"]
    if found.last_summary:
        lines.append(f"summary: {found.last_summary.get('text')}")
    if found.last_error:
        lines.append(f"stopped: {found.last_error} (the next sync resumes there)")
    return TextResult(data, "\n".join(lines))


def _whop_key(args: argparse.Namespace) -> str:
    return _secret(args.api_key_file, "WHOP_API_KEY", "Whop company API key: ")


def _secret(path: str | None, variable: str, prompt: str) -> str:
    """A secret from a file, an environment variable or a hidden prompt: one typed as an argument
    would stay in the shell's history and in the process list."""
    import getpass
    import os

    if path:
        return read_input(path).decode().strip()
    if os.environ.get(variable, "").strip():
        return os.environ[variable].strip()
    return getpass.getpass(prompt)


class _SyncStopped(ChronosError):
    def __init__(self, summary: Any) -> None:
        super().__init__(summary.text)
