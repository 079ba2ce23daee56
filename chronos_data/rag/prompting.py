"""Prompt assembly: small pure functions over typed passages; the wording lives in prompts/*.txt."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from ..timecode import format_seconds
from .retrieve import Source

__all__ = ["NOT_FOUND", "answer_messages", "rewrite_messages"]

_PROMPTS = Path(__file__).resolve().parent / "prompts"
#: What the answer prompt tells the model to say when the passages do not answer the question.
NOT_FOUND = "I could not find this in the videos."
_HISTORY_TURNS = 6  # messages of context for rewriting a follow-up: the last three exchanges
_HISTORY_CHARS = 600  # per message: an earlier long answer must not crowd out the question


@cache
def _prompt(name: str) -> str:
    return (_PROMPTS / f"{name}.txt").read_text(encoding="utf-8").strip()


def _passage_block(number: int, source: Source) -> str:
    span = f"{format_seconds(source.start_seconds)}–{format_seconds(source.end_seconds)}"
    return f"[{number}] {source.title} ({span})\n{source.text}"


def answer_messages(question: str, sources: Sequence[Source]) -> list[dict[str, str]]:
    """The chat messages asking a model to answer ``question`` from numbered ``sources`` only."""
    passages = "\n\n".join(_passage_block(i, s) for i, s in enumerate(sources, start=1))
    return [
        {"role": "system", "content": _prompt("answer_system")},
        {"role": "user", "content": _prompt("answer_user").format(passages=passages, question=question)},
    ]


def rewrite_messages(history: Sequence[tuple[str, str]], question: str) -> list[dict[str, str]]:
    """The chat messages asking a model to turn a follow-up into a stand-alone search query.

    Args:
        history: earlier (role, content) pairs of the conversation, oldest first.
    """
    recent = history[-_HISTORY_TURNS:]
    lines = "\n".join(f"{role}: {' '.join(content.split())[:_HISTORY_CHARS]}" for role, content in recent)
    return [
        {"role": "system", "content": _prompt("rewrite_system")},
        {"role": "user", "content": _prompt("rewrite_user").format(history=lines, question=question)},
    ]
