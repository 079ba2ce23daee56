"""Commands about viewing and what it shows: rollup, insights, events import."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Settings
from .common import TextResult, command, in_workspace, parse_course_id, read_input


def add_rollup(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "rollup", _rollup,
                  "roll up days not rolled up yet (and today) into the daily metrics; safe to re-run")
    sub.add_argument("--since", metavar="DATE", help="only days from this date (YYYY-MM-DD)")


def add_insights(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "insights", _insights,
                  "where students get confused and why they leave: confusion, dropoff, content_gap, "
                  "concept_order and course_split findings with the moment and the evidence")
    sub.add_argument("--course", metavar="ID", help="only this course's findings (see `course list`)")


def add_events(commands: Any, common: argparse.ArgumentParser) -> None:
    events = commands.add_parser("events", help="import viewing events and sessions from another platform",
                                 description="Viewing history in and out of the workspace.")
    event_actions = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = event_actions.add_parser("import", parents=[common], help="import a CSV or JSON Lines file of events "
                                   "and sessions; prints rows kept and rejected with line numbers")
    sub.set_defaults(handler=_events_import)
    sub.add_argument("file", metavar="FILE", help="a .csv or .jsonl file (see the README for its columns)")


def _insights(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from ..embeddings import embedder_for
    from ..insights import all_insights
    from ..rag import chat_model_for
    from ..timecode import format_seconds

    course_id = parse_course_id(args.course) if args.course else None
    embedder, chat_model = embedder_for(settings), chat_model_for(settings)
    found = in_workspace(args, settings, lambda t: all_insights(t, embedder, course_id=course_id,
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
    return TextResult({"insights": [i.to_json() for i in found]}, "\n".join(lines) or "No insights yet: "
                       "they need viewing, questions to the assistant, or a course with several lessons.")


def _rollup(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from datetime import date

    from ..errors import ValidationError
    from ..viewing import rollups

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError as exc:
        raise ValidationError(f"'{args.since}' is not a date; write it as YYYY-MM-DD.") from exc
    result = in_workspace(args, settings, lambda t: rollups.rollup(t, since=since))
    days = [d.isoformat() for d in result.days]
    text = (f"days rolled up: {len(days)}" + (f" ({days[0]} to {days[-1]})" if days else "")
            + f"\nvideo rows written: {result.video_rows}\nusage rows written: {result.usage_rows}")
    return TextResult({"days": days, "video_rows": result.video_rows, "usage_rows": result.usage_rows}, text)


def _events_import(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from pathlib import Path

    from ..viewing.event_import import import_events

    data = read_input(args.file)
    report = in_workspace(args, settings, lambda t: import_events(t, data, Path(args.file).name))
    data_out = {"kept": report.kept, "duplicates": report.duplicates, "rejected": report.rejected_count,
                "students_added": report.students_added,
                "errors": [{"line": line, "error": message} for line, message in report.rejected]}
    lines = [f"kept: {report.kept}", f"already imported: {report.duplicates}", f"rejected: {report.rejected_count}"]
    lines += [f"  line {line}: {message}" for line, message in report.rejected]
    if report.rejected_count > len(report.rejected):
        lines.append(f"  … and {report.rejected_count - len(report.rejected)} more")
    return TextResult(data_out, "\n".join(lines))
