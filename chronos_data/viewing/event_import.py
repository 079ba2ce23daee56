"""Importing viewing history from another platform: CSV or JSON Lines of events and sessions.

Each row is checked on its own; good rows are kept, bad ones reported with their line number and
what is wrong. Every imported row carries a key made from its content, so importing the same
file twice adds nothing. Days that receive rows are marked for the next rollup. Events are stored
together at the end, in one batch (``event_batch.append_events``); sessions row by row.

Columns (CSV header or JSON keys):
  type              an event type (video_started, video_progress, video_completed, video_rewatched, ...)
                    or "session" for a whole watch session
  video             the video: its Chronos id, its YouTube id, or its exact title
  student_email     the student (added to the workspace if new)
  timestamp         ISO 8601, e.g. 2026-03-01T14:05:00Z (events; a session's start) -- no zone means UTC
  end               a session's end (optional)
  percent_complete  0-100 (optional); watch_time_seconds >= 0 (optional)
  device_type       desktop, mobile or tablet (optional); referrer_type: course_page, direct_link,
                    search or chat_reference (optional)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .._rows import unstorable
from ..db import Workspace
from ..errors import ValidationError
from . import rollups
from .analytics import DEVICE_TYPES, EVENT_TYPES, REFERRER_TYPES
from .event_batch import EventRow, append_events

__all__ = ["ImportReport", "MAX_ROWS", "check_row", "event_row", "import_events", "video_lookup"]

MAX_ROWS = 1_000_000  # one file; split larger exports
_MAX_SECONDS = 2**31 - 1  # sessions store watch time as a 32-bit integer
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_CLOCK_SKEW = timedelta(days=1)  # another system's clock may run a little ahead
_REPORTED_ERRORS = 200  # rejected rows listed in full; the rest are counted


@dataclass
class ImportReport:
    kept: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    rejected_count: int = 0
    students_added: int = 0
    #: Days of the file's good rows (kept or already there), UTC.
    days: set[date] = field(default_factory=set)

    def reject(self, line: int, message: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < _REPORTED_ERRORS:
            self.rejected.append((line, message))


def import_events(t: Workspace, data: bytes, filename: str) -> ImportReport:
    """Import a CSV (``.csv``) or JSON Lines (``.jsonl``/``.ndjson``) file of events and sessions."""
    rows = _read(data, filename)
    report = ImportReport()
    videos = video_lookup(t)
    student_ids: dict[str, uuid.UUID] = {}
    events: list[EventRow] = []
    session_days: set[date] = set()
    for line, row in rows:
        try:
            record = check_row(row, videos)
            record["import_key"] = _content_key(record)
        except ValidationError as exc:
            report.reject(line, str(exc))
            continue
        email = record.pop("student_email")
        if email not in student_ids:
            student_ids[email], added = _student(t, email)
            report.students_added += added
        record["student_id"] = student_ids[email]
        day = record["timestamp"].astimezone(UTC).date()
        report.days.add(day)
        if record["kind"] != "session":
            events.append(event_row(record))
        elif _insert_session(t, record):
            report.kept += 1
            session_days.add(day)
        else:
            report.duplicates += 1
    if events:
        stored = append_events(t, events)  # marks the days of the events it stores for the rollup
        report.kept += stored
        report.duplicates += len(events) - stored
    if session_days:
        rollups.mark_days_stale(t, sorted(session_days))
    return report


def _read(data: bytes, filename: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{filename} is not UTF-8 text; export it as UTF-8 CSV or JSON Lines.") from exc
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        rows = []
        # Only \r and \n end a line: splitlines() also splits at U+2028 and others a JSON string may hold.
        for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                rows.append((number, {"__error__": f"not valid JSON ({exc.msg})"}))
                continue
            rows.append((number, value if isinstance(value, dict) else {"__error__": "not a JSON object"}))
    elif name.endswith(".csv"):
        # newline="": the csv module reads \r, \r\n and \n line ends itself (a bare \r is an error otherwise).
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            if not reader.fieldnames or "type" not in [f.strip() for f in reader.fieldnames]:
                raise ValidationError(f"{filename} has no 'type' column; the first line must name the columns "
                                      "(type, video, student_email, timestamp, ...).")
            rows = [(reader.line_num, {k.strip(): v for k, v in row.items() if k}) for row in reader]
        except csv.Error as exc:  # a field over 128 KiB: the file is not the CSV it claims to be
            raise ValidationError(f"{filename} cannot be read as CSV at line {reader.line_num + 1} ({exc}); "
                                  "export it again as CSV.") from exc
    else:
        raise ValidationError(f"{filename} is neither .csv nor .jsonl; export the events as CSV or JSON Lines.")
    if len(rows) > MAX_ROWS:
        raise ValidationError(f"{filename} has {len(rows):,} rows; import at most {MAX_ROWS:,} per file.")
    if not rows:
        raise ValidationError(f"{filename} has no rows to import.")
    return rows


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    value = str(value).strip()
    if value and (problem := unstorable(value)):
        raise ValidationError(f"{key} contains {problem}, which cannot be stored")
    return value or None


def _number(row: dict[str, Any], key: str, low: int, high: int | None) -> int | None:
    value = _text(row, key)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise ValidationError(f"{key} '{value}' is not a number") from exc
    if not math.isfinite(number):
        raise ValidationError(f"{key} '{value}' is not a number")
    if number < low or (high is not None and number > high):
        raise ValidationError(f"{key} {value} is outside {low}–{high}" if high is not None
                              else f"{key} {value} is below {low}")
    return int(number)


def _time(row: dict[str, Any], key: str, *, required: bool, skew: timedelta = _CLOCK_SKEW) -> datetime | None:
    value = _text(row, key)
    if value is None:
        if required:
            raise ValidationError(f"{key} is missing")
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"{key} '{value}' is not an ISO 8601 time such as 2026-03-01T14:05:00Z") from exc
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    # Viewing happened between the epoch and now. Exports write 9999-12-31 for "never", whose
    # next day does not exist for the rollup, and 0001-01-01+01:00 has no UTC day at all.
    if moment < _EARLIEST:
        raise ValidationError(f"{key} '{value}' is not a time between 1970 and now")
    if moment > datetime.now(UTC) + skew:
        raise ValidationError(f"{key} '{value}' is in the future (more than {_shown(skew)} ahead of this "
                              "server's clock); check the sender's clock")
    return moment


def _shown(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 86400} day(s)" if seconds >= 86400 else f"{seconds // 60} minute(s)"


def check_row(row: dict[str, Any], videos: dict[str, uuid.UUID], *, skew: timedelta = _CLOCK_SKEW) -> dict[str, Any]:
    """One row of events or a session checked on its own, as a record for ``event_row``.

    Args:
        row: the row's columns (``__error__`` holds why a line could not be read at all).
        videos: ``video_lookup``'s map of the workspace's video ids, YouTube ids and titles.
        skew: how far after now a time may be (a sender's clock may run ahead).

    Raises:
        ValidationError: what is wrong with the row, in words.
    """
    if "__error__" in row:
        raise ValidationError(row["__error__"])
    kind = (_text(row, "type") or "").lower()
    if kind != "session" and kind not in EVENT_TYPES:
        raise ValidationError(f"type '{kind or '(empty)'}' is not 'session' or an event type "
                              f"({', '.join(EVENT_TYPES)})")
    video_key = _text(row, "video")
    if video_key is None:
        raise ValidationError("video is missing (its id, YouTube id or exact title)")
    video_id = videos.get(video_key) or videos.get(video_key.lower())
    if video_id is None:
        raise ValidationError(f"no video '{video_key}' in this workspace")
    if video_id == SHARED_TITLE:
        raise ValidationError(f"more than one video is titled '{video_key}': name it by its id or YouTube id")
    email = (_text(row, "student_email") or "").lower()
    if "@" not in email or len(email) > 320:
        raise ValidationError(f"student_email '{email or '(empty)'}' is not an e-mail address")
    device, referrer = _text(row, "device_type"), _text(row, "referrer_type")
    if device is not None and device not in DEVICE_TYPES:
        raise ValidationError(f"device_type '{device}' is not one of {', '.join(DEVICE_TYPES)}")
    if referrer is not None and referrer not in REFERRER_TYPES:
        raise ValidationError(f"referrer_type '{referrer}' is not one of {', '.join(REFERRER_TYPES)}")
    start = _time(row, "timestamp", required=True, skew=skew)
    end = _time(row, "end", required=False, skew=skew)
    if end is not None and end < start:
        raise ValidationError("end is before timestamp")
    record = {"kind": kind, "video_id": video_id, "student_email": email, "timestamp": start, "end": end,
              "percent": _number(row, "percent_complete", 0, 100),
              "watch": _number(row, "watch_time_seconds", 0, _MAX_SECONDS), "device": device, "referrer": referrer}
    return record


def _content_key(record: dict[str, Any]) -> str:
    """An imported row's once-only key, made from its content: the same file imported twice adds nothing."""
    key_source = json.dumps({k: str(v) for k, v in record.items()}, sort_keys=True)
    return hashlib.sha256(key_source.encode()).hexdigest()[:32]


#: A title two live videos share: a row naming it is refused rather than given to either.
SHARED_TITLE = uuid.UUID(int=0)


def video_lookup(t: Workspace) -> dict[str, uuid.UUID]:
    """The workspace's videos by id, YouTube id and title (lower case), for ``check_row``; a title
    of more than one video maps to ``SHARED_TITLE``."""
    lookup: dict[str, uuid.UUID] = {}
    for row in t.conn.execute(sa.text("SELECT id, youtube_video_id, title FROM videos WHERE creator_id = :c "
                                      "AND NOT is_deleted"), {"c": t.creator_id}):
        title = row.title.lower()
        lookup[title] = SHARED_TITLE if title in lookup else row.id
        if row.youtube_video_id:
            lookup[row.youtube_video_id] = row.id
        lookup[str(row.id)] = row.id
    return lookup


def _student(t: Workspace, email: str) -> tuple[uuid.UUID, bool]:
    found = t.conn.execute(sa.text("SELECT id FROM students WHERE creator_id = :c AND lower(email) = :e LIMIT 1"),
                           {"c": t.creator_id, "e": email}).scalar_one_or_none()
    if found is not None:
        return found, False
    return t.conn.execute(sa.text("INSERT INTO students (creator_id, email) VALUES (:c, :e) RETURNING id"),
                          {"c": t.creator_id, "e": email}).scalar_one(), True


def _insert_session(t: Workspace, r: dict[str, Any]) -> bool:
    return t.conn.execute(
        sa.text("""INSERT INTO video_watch_sessions (creator_id, video_id, student_id, session_start, session_end,
                     watch_time_seconds, percent_complete, device_type, referrer_type, metadata)
                   VALUES (:c, :video, :student, :at, :end, coalesce(:watch, 0), coalesce(:percent, 0), :device,
                     :referrer, jsonb_build_object('import_key', CAST(:key AS text)))
                   ON CONFLICT (creator_id, (metadata ->> 'import_key')) WHERE metadata ? 'import_key' DO NOTHING
                   RETURNING id"""),
        {"c": t.creator_id, "video": r["video_id"], "student": r["student_id"], "at": r["timestamp"],
         "key": r["import_key"], "end": r["end"], "watch": r["watch"], "percent": r["percent"],
         "device": r["device"], "referrer": r["referrer"]},
    ).scalar_one_or_none() is not None


def event_row(r: dict[str, Any]) -> EventRow:
    """An imported event; its import key (in the metadata) makes a second import of it a duplicate."""
    metadata = {"import_key": r["import_key"], "percent_complete": r["percent"], "watch_time_seconds": r["watch"],
                "device": r["device"], "referrer": r["referrer"]}
    return EventRow(r["kind"], r["video_id"], r["timestamp"], student_id=r["student_id"],
                    metadata={k: v for k, v in metadata.items() if v is not None})
