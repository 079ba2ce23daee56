"""Counting the transactions a page script opens itself, to hold a page to one read per run."""

from __future__ import annotations

import traceback

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest


def page_transactions(at: AppTest, page: str) -> list[int]:
    """Rerun ``at`` and list the lines where the page script itself opened a transaction (a
    ``with state.workspace()`` of its own; cached queries and components are theirs, not the page's)."""
    opened: list[int] = []

    def begin(_conn) -> None:
        stack = traceback.extract_stack()
        mine = [n for n, frame in enumerate(stack) if frame.filename.endswith(page)]
        if mine and stack[mine[-1] + 1].filename.endswith("contextlib.py"):
            opened.append(stack[mine[-1]].lineno)

    sa.event.listen(sa.engine.Engine, "begin", begin)
    try:
        at.run()
    finally:
        sa.event.remove(sa.engine.Engine, "begin", begin)
    assert not at.exception
    return opened
