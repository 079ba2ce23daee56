"""``python -m chronos_data COMMAND``: the data module's functions for scripts and cron jobs.

One module per group of commands adds its parsers (``add_*``) and holds their handlers; this one
builds the parser in the order ``--help`` lists the commands, runs one, and prints its result.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from ..config import Settings
from ..errors import ChronosError
from . import analytics, assistant, backup, courses, database, keys, teammates, videos, whop
from .common import TextResult, as_text

__all__ = ["main"]

#: Each adds its command (or group of commands) to the parser, in the order --help lists them.
_COMMANDS = (
    database.add_migrate, database.add_status, videos.add_import, videos.add_reembed, assistant.add_ask,
    database.add_demo, analytics.add_rollup, videos.add_worker, backup.add_export, backup.add_restore,
    database.add_schema, analytics.add_insights, analytics.add_events, courses.add_course, whop.add_whop,
    teammates.add_teammates, keys.add_keys, keys.add_serve,
)


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
        print(result.text if isinstance(result, TextResult) else as_text(result))
    return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    common.add_argument(
        "--creator", metavar="EMAIL", help="workspace to act on (default: the local workspace, created if missing)"
    )
    parser = argparse.ArgumentParser(prog="python -m chronos_data", description="Chronos data commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(commands, common)
    return parser
