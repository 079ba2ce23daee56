"""Small helpers shared by the domain modules (private)."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy.engine import Row

T = TypeVar("T")
_SURROGATE = re.compile("[\ud800-\udfff]")


def to_record(cls: type[T], row: Row[Any]) -> T:
    """Build dataclass ``cls`` from the columns of ``row`` that it declares."""
    mapping = row._mapping
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return cls(**{name: mapping[name] for name in fields if name in mapping})


def require_text(value: str | None, what: str, *, max_length: int = 500) -> str:
    """Strip ``value``; raise ValidationError when it is empty or too long."""
    from .errors import ValidationError

    text = (value or "").strip()
    if not text:
        raise ValidationError(f"The {what} is empty; type a {what}.")
    if len(text) > max_length:
        raise ValidationError(f"The {what} is {len(text)} characters long; keep it under {max_length}.")
    if problem := unstorable(text):
        raise ValidationError(f"The {what} contains {problem}, which cannot be stored; remove it and try again.")
    return text


def unstorable(text: str) -> str | None:
    """What in ``text`` PostgreSQL cannot store, in words, or None.

    A NUL character (text columns refuse it) or half of a UTF-16 surrogate pair (it has no UTF-8
    form; JSON's "\\ud800" escape and undecodable command-line bytes produce one).
    """
    if "\x00" in text:
        return "a NUL character"
    if not text.isascii() and _SURROGATE.search(text):
        return "a broken character (half of a surrogate pair)"
    return None
