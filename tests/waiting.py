"""Waiting in tests: poll a condition until it holds, never sleep a fixed time and hope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float, what: str, poll: float = 0.1,
               pause: Callable[[float], object] = time.sleep, explain: Callable[[], str] | None = None) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    Args:
        what: what is awaited, for the failure message ("the worker's first embedding batch").
        pause: how to wait between polls; a browser test passes ``page.wait_for_timeout`` so the
            page keeps running its scripts in between.
        explain: called on timeout for what the failure message should add (the page's alerts,
            the rows the database holds).

    Raises:
        AssertionError: ``timeout`` seconds passed first.
    """
    deadline = time.monotonic() + timeout
    while True:
        if value := condition():
            return value
        if time.monotonic() >= deadline:
            detail = f"; {explain()}" if explain else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        pause(poll)
