"""Courses from the command line: list, export and import outlines, publish."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..config import Settings
from ..db import open_database
from .common import TextResult, ensure_workspace, in_workspace, parse_course_id, plural, read_input


def add_course(commands: Any, common: argparse.ArgumentParser) -> None:
    course = commands.add_parser("course", help="list courses, export a course outline, import an outline",
                                 description="Courses of the workspace: list, export (JSON or Markdown), import.")
    actions = course.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, handler, help_text in (
        ("list", _list, "the workspace's courses: id, title, published, lessons, minutes"),
        ("export", _export, "print a course's outline as JSON (to import elsewhere) or Markdown"),
        ("import", _import, "create a draft course from a JSON outline; print its id and unmatched lessons"),
        ("publish", _publish, "make a course visible to students; refused while its checklist has problems "
                              "(a failed or processing video, an empty module) unless --anyway"),
        ("unpublish", _publish, "make a published course a draft again"),
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


def _list(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .. import courses

    db = open_database(settings)
    try:
        creator_id = ensure_workspace(db, args, settings)
        with db.workspace(creator_id) as t:
            rows = [{"id": str(c.id), "title": c.title, "published": c.is_published, "lessons": c.lesson_count,
                     "minutes": c.total_minutes} for c in courses.list_courses(t)]
    finally:
        db.dispose()
    if not rows:
        text = "No courses yet."
    else:
        text = "\n".join(f"{r['id']}  {'published' if r['published'] else 'draft    '}  "
                         f"{plural(r['lessons'], 'lesson'):>12}  {r['minutes']:>5} min  {r['title']}" for r in rows)
    return TextResult({"courses": rows}, text)


def _export(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .. import outlines

    course_id = parse_course_id(args.course_id)
    db = open_database(settings)
    try:
        creator_id = ensure_workspace(db, args, settings)
        with db.workspace(creator_id) as t:
            if args.format == "md":
                outline: Any = outlines.outline_markdown(t, course_id)
                text = outline.rstrip("\n")
            else:
                outline = outlines.export_outline(t, course_id)
                text = json.dumps(outline, indent=2, ensure_ascii=False)
    finally:
        db.dispose()
    return TextResult({"course_id": str(course_id), "format": args.format, "outline": outline}, text)


def _import(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .. import outlines

    data = read_input(args.file)
    result = in_workspace(args, settings, lambda t: outlines.import_outline(t, data))
    report = {"course_id": str(result.course_id), "matched": result.matched, "unmatched": result.unmatched}
    lines = [f"course id: {result.course_id}", f"title: {result.title}", f"matched: {plural(result.matched, 'lesson')}"]
    if result.unmatched:
        lines.append(f"unmatched ({len(result.unmatched)}, left out: no video of this workspace matches): "
                     + "; ".join(result.unmatched))
    else:
        lines.append("unmatched: none")
    return TextResult(report, "\n".join(lines))


def _publish(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from .. import courses

    course_id = parse_course_id(args.course_id)

    def act(t):
        if args.action == "unpublish":
            courses.unpublish_course(t, course_id)
            return []
        return courses.publish_anyway(t, course_id, anyway=args.anyway)

    accepted = in_workspace(args, settings, act)
    published = args.action == "publish"
    text = f"{'Published' if published else 'Unpublished'} course {course_id}"
    if accepted:
        text += f" (anyway, with {plural(len(accepted), 'problem')}: " + "; ".join(p.message for p in accepted) + ")"
    return TextResult({"course_id": str(course_id), "published": published,
                        "problems_accepted": [{"kind": p.kind, "message": p.message} for p in accepted]}, text)
