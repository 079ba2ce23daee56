"""The assistant from the command line: ask."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Settings
from ..db import open_database
from .common import TextResult, command, ensure_workspace, parse_id


def add_ask(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "ask", _ask,
                  "answer a question from the workspace's transcripts, with cited moments")
    sub.add_argument("question", metavar="QUESTION", help="the question, in quotes")
    sub.add_argument("--course", metavar="ID", help="search only this course's videos")
    sub.add_argument("--video", metavar="ID", action="append", help="search only this video (repeatable)")
    sub.add_argument("--session", metavar="ID",
                     help="continue this conversation (follow-up questions; it searches where it did "
                          "unless --course or --video is given)")


def _ask(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from ..embeddings import embedder_for
    from ..rag import Assistant, Scope, chat_model_for, model_label
    from ..timecode import format_seconds

    # No --course or --video: a new conversation searches every video, a follow-up its conversation's.
    scope: Scope | None = Scope(course_id=parse_id(args.course, "course") if args.course else None,
                                video_ids=tuple(parse_id(v, "video") for v in args.video) if args.video else None)
    if scope == Scope():
        scope = None
    session_id = parse_id(args.session, "conversation") if args.session else None
    db = open_database(settings)
    try:
        creator_id = ensure_workspace(db, args, settings)
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
    return TextResult(answer.to_json(), "\n".join(lines).strip())
