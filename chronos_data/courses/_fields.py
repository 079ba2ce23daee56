"""Checking typed fields (titles, descriptions, thumbnail URLs, minutes) before they are stored."""

from __future__ import annotations

from typing import Any

from .._rows import unstorable
from ..errors import ValidationError


def _set_clause(changes: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The SET list and parameters for column -> new value (column names are this module's own)."""
    return (", ".join(f"{column} = :set_{column}" for column in changes),
            {f"set_{column}": value for column, value in changes.items()})


def _optional_text(text: str) -> str | None:
    """A description as typed; an empty one clears the field."""
    _storable(text, "description")
    return text.strip() or None


def _thumbnail(url: str) -> str | None:
    url = _storable(url, "thumbnail URL").strip()
    if url and not url.lower().startswith(("https://", "http://")):
        raise ValidationError("The thumbnail URL must start with https:// or http://; paste the image's web address.")
    return url or None


def _storable(text: str, what: str) -> str:
    if problem := unstorable(text):
        raise ValidationError(f"The {what} contains {problem}, which cannot be stored; remove it and try again.")
    return text


def _check_minutes(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise ValidationError(
            f"The estimated duration is {minutes!r}; give a whole number of minutes above 0."
        )
    return minutes
