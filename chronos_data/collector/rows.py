"""The body of ``POST /v1/events``: a JSON array or JSON Lines of event rows, read and checked.

A row is what ``events import`` reads (``chronos_data.viewing.event_import.check_row``: type, video,
student_email, timestamp, end, percent_complete, watch_time_seconds, device_type, referrer_type)
plus ``id``, the sender's id for the event, which makes sending it again harmless.

A row may also name ``session``, the player's id for one viewing: its rows then make a watch session
the way the Chronos player's events do (``chronos_data.viewing.watching``): ``video_started`` opens it,
``video_progress`` reports the ranges played (``played``: ``[[start, end], ...]`` seconds, with the
player's ``duration`` when the library does not know it), and milestones and completion are reckoned
from what was played, not from where the playhead went. A row with only ``percent_complete`` is taken
as played from the start, that share of the library's length or else of the player's ``duration``
(refused, with the reason, when neither is known). ``end`` closes the session; a ``video_started``
after that end under the same id (played again after the end) opens a new one.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .._rows import unstorable
from ..errors import ValidationError
from ..viewing import played as played_ranges
from ..viewing.event_batch import EventRow
from ..viewing.event_import import check_row, event_row

__all__ = ["CLOCK_SKEW", "MAX_ROWS", "BodyError", "Checked", "SessionReport", "check_rows", "parse_body"]

#: Rows in one request: a player's or a server's batch. More is refused whole (send several requests):
#: a request's rows are answered together, and one answer should not wait for a minute of writing.
MAX_ROWS = 10_000
#: How far ahead of this server's clock an event may be: a phone's clock runs a little fast.
CLOCK_SKEW = timedelta(minutes=5)
_SESSION_TYPES = frozenset({"video_started", "video_progress", "video_completed"})
_MAX_ID = 128
_MAX_RANGES = 500  # as watching: one range per jump forward
_LINE_END = re.compile(r"\r\n|\r|\n")


class BodyError(ValidationError):
    """The body as a whole cannot be read (400) or is too many rows (413, ``too_large``)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


@dataclass(frozen=True)
class SessionReport:
    """A row of one viewing (``session``): what it adds to that viewing's watch session."""

    line: int
    viewing: str  # the sender's session id, scoped to the workspace by the writer
    kind: str
    video_id: uuid.UUID
    student_email: str
    at: datetime
    end: datetime | None
    played: list[played_ranges.PlayedRange] | None
    duration: float | None
    percent: int | None
    watched: int | None
    device: str | None
    referrer: str | None


@dataclass
class Checked:
    """A body's rows: events to append, viewing reports, and the rows refused with their reason."""

    events: list[tuple[int, str, EventRow]]  # (line, student e-mail, event without its student yet)
    sessions: list[SessionReport]
    rejected: list[tuple[int, str]]

    @property
    def accepted(self) -> int:
        return len(self.events) + len(self.sessions)


def parse_body(body: bytes) -> list[tuple[int, Any]]:
    """The rows of a JSON array or JSON Lines body, numbered from 1 (a JSON Lines row by its line).

    A line that is not JSON becomes a row that ``check_rows`` refuses; a body with nothing readable
    as JSON, not UTF-8, or of more than ``MAX_ROWS`` rows raises.

    Raises:
        BodyError: as above.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"The body is not UTF-8 text (bad byte at position {exc.start}); send JSON as UTF-8.") from exc
    text = text.removeprefix("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        raise BodyError("The body is empty; send a JSON array or JSON Lines of events.")
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise BodyError(f"The body is not JSON ({getattr(exc, 'msg', 'nested too deeply')}); send a JSON array "
                            "or JSON Lines of events.") from exc
        if not isinstance(value, list):
            raise BodyError("The body is not a JSON array of events.")
        _check_count(len(value))
        return list(enumerate(value, start=1))
    # Only \r and \n end a line: a JSON string may hold U+2028, which splitlines() splits at.
    lines = [(n, raw) for n, raw in enumerate(_LINE_END.split(text), start=1) if raw.strip()]
    _check_count(len(lines))
    try:  # every line JSON (the usual case): one parse for the whole body
        values = json.loads("[" + ",".join(raw for _, raw in lines) + "]")
        if len(values) == len(lines):
            return [(number, value) for (number, _), value in zip(lines, values, strict=True)]
    except (json.JSONDecodeError, RecursionError):
        pass
    rows: list[tuple[int, Any]] = []
    readable = False
    for number, raw in lines:
        try:
            rows.append((number, json.loads(raw)))
            readable = True
        except (json.JSONDecodeError, RecursionError) as exc:
            rows.append((number, {"__error__": f"not valid JSON ({getattr(exc, 'msg', 'nested too deeply')})"}))
    if not readable:
        raise BodyError("The body is not JSON; send a JSON array or JSON Lines of events.")
    return rows


def _check_count(count: int) -> None:
    if count > MAX_ROWS:
        raise BodyError(f"The body holds {count:,} rows; send at most {MAX_ROWS:,} per request.", too_large=True)


def check_rows(rows: list[tuple[int, Any]], videos: dict[str, uuid.UUID], scope: str) -> Checked:
    """Each row checked on its own against the workspace's ``videos``; ``scope`` names the
    workspace in the rows' once-only keys."""
    checked = Checked([], [], [])
    for line, row in rows:
        try:
            if not isinstance(row, dict):
                raise ValidationError("not a JSON object")
            client_id = _client_id(row)
            record = check_row(row, videos, skew=CLOCK_SKEW)
            if record["kind"] == "session":
                raise ValidationError("type 'session' is for `events import`; the collector takes events "
                                      "(a viewing's events with its session id make its watch session)")
            viewing = _viewing(row)
        except ValidationError as exc:
            checked.rejected.append((line, str(exc)))
            continue
        # The sender's id, not the row's content, names the event: two real views with the same
        # content stay two, and the same event sent again is one.
        record["import_key"] = hashlib.sha256(f"collector\0{scope}\0{client_id}".encode()).hexdigest()[:32]
        email = record.pop("student_email")
        if viewing is not None and record["kind"] in _SESSION_TYPES:
            try:
                checked.sessions.append(_session_report(line, viewing, record, email, row))
            except ValidationError as exc:
                checked.rejected.append((line, str(exc)))
            continue
        record["student_id"] = None
        event = event_row(record)
        if viewing is not None:
            event = EventRow(event.event_type, event.video_id, event.timestamp,
                             metadata={**(event.metadata or {}), "viewing": viewing})
        checked.events.append((line, email, event))
    return checked


def _client_id(row: dict[str, Any]) -> str:
    value = row.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise ValidationError("id is missing: give every event an id of its own (a UUID), so that sending it "
                              "again stores it once")
    text = str(value).strip()
    if len(text) > _MAX_ID or (problem := unstorable(text)):
        raise ValidationError(f"id is longer than {_MAX_ID} characters" if len(text) > _MAX_ID
                              else f"id contains {problem}")
    return text


def _viewing(row: dict[str, Any]) -> str | None:
    value = row.get("session")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64 or unstorable(value):
        raise ValidationError("session must be the player's id for the viewing: text of at most 64 characters")
    return value


def _session_report(line: int, viewing: str, record: dict[str, Any], email: str, row: dict[str, Any]) -> SessionReport:
    played = row.get("played")
    duration = row.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float)
                                 or not 0 < duration < 10**7):
        raise ValidationError("duration must be the video's length in seconds, more than 0")
    return SessionReport(
        line=line, viewing=viewing, kind=record["kind"], video_id=record["video_id"], student_email=email,
        at=record["timestamp"], end=record["end"],
        played=played_ranges.parse_ranges(played, most=_MAX_RANGES) if played is not None else None,
        duration=float(duration) if duration is not None else None, percent=record["percent"],
        watched=record["watch"], device=record["device"], referrer=record["referrer"])
