"""Small helpers shared by the domain modules (private)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.engine import Row

T = TypeVar("T")


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
    return text
