"""Shared pieces of the fuzz tests: settings, hostile strings, what counts as a plain message, and
a savepoint per example for the tests on the database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from chronos_data.db import Workspace

#: Every fuzz test derives its settings from this: no per-example deadline (the machine is slow
#: and shared), and examples replayed from the local database first.
FUZZ = settings(deadline=None)
#: CHRONOS_FUZZ_SCALE=20 runs twenty times the examples (a nightly run); the default keeps the
#: whole folder near a minute on a 2-core machine.
SCALE = float(os.environ.get("CHRONOS_FUZZ_SCALE", "1"))


def examples(count: int) -> int:
    """``count`` examples, times CHRONOS_FUZZ_SCALE."""
    return max(1, round(count * SCALE))


#: For tests on the database: fewer examples each, and the function-scoped ``t`` fixture is
#: shared by the examples (each runs in a savepoint of its own, see ``rolled_back``).
DB = settings(FUZZ, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

INJECTIONS = (
    "'; DROP TABLE courses;--",
    "Robert'); DROP TABLE students;--",
    "1 OR 1=1",
    "$$; SELECT pg_sleep(10); $$",
    ":creator",
    "%(creator)s",
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "javascript:alert(1)",
    "[click](javascript:alert(1))",
    "![x](https://evil.example/x.png)",
    "**bold** _it_ `code` # heading",
    "&lt;script&gt;",
    "{{7*7}} ${7*7}",
    "$x^2$ costs $5 and $6",
    ":material/delete: :red[alert]",
    "\u202eevil\u202c",
    "Zalgo Z\u0351\u0352\u0353",
    "emoji 👩‍💻 ok",
    "𝕳𝖊𝖑𝖑𝖔",
)

#: Text PostgreSQL can store: everything but NUL and half surrogate pairs (no UTF-8 form).
storable_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))
hostile_text = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(),
    st.lists(st.sampled_from(INJECTIONS) | st.text(max_size=8), min_size=1, max_size=4).map("".join),
)


def assert_plain_message(error: BaseException) -> None:
    """A message a page can show as is: one non-empty line of printable text ending with a period."""
    message = str(error)
    assert message.strip(), "empty error message"
    assert not any(ord(char) < 32 or 0x7F <= ord(char) < 0xA0 for char in message), repr(message)
    assert message.rstrip().endswith((".", ".)", "?")), repr(message)
    assert "Traceback" not in message


@contextmanager
def rolled_back(t: Workspace) -> Iterator[None]:
    """Run one hypothesis example in a savepoint of the test's transaction, and undo it."""
    savepoint = t.conn.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()
