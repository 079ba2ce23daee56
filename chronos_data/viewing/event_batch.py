"""Appending many analytics events at once: a player's buffered reports, another system's feed.

Rows are COPYed (binary) into a temporary table and moved into ``video_analytics_events`` by one
INSERT under the transaction's creator, so row-level security and every constraint check them
(COPY itself refuses tables with row-level security). ``ON CONFLICT DO NOTHING`` applies the
table's unique indexes: a milestone already written for its watch session, or a row with an
``import_key`` already imported, is skipped, so re-sending a batch stores nothing new.

Every row is checked before anything is stored (event type, ids of this workspace, JSON
metadata): one bad row refuses the whole batch with its position, and the transaction stays
usable.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa

from ..db import Workspace
from ..errors import ValidationError
from . import rollups
from .analytics import EVENT_TYPES

__all__ = ["CHECK_ROWS", "EventRow", "append_events"]

log = logging.getLogger(__name__)

#: Rows validated, checked against the workspace and COPYed at a time: one query per table for
#: each slice's new ids, and a bounded list in memory however long the input is.
CHECK_ROWS = 20_000
_EVENT_TYPES = frozenset(EVENT_TYPES)
_STAGING = "event_batch_staging"
_COLUMNS = ("event_type", "video_id", "student_id", "course_id", "module_id", "metadata", "timestamp")
# Binary COPY: the driver sends the ids and times as they are instead of formatting and the server
# parsing them. The metadata goes as the text this module made (jsonb in binary would be encoded
# again by the driver) and becomes jsonb in the INSERT.
_COPY_TYPES = ("text", "uuid", "uuid", "uuid", "uuid", "text", "timestamptz")
# One encoder for every row: json.dumps with any option builds a new encoder per call.
_JSON = json.JSONEncoder(allow_nan=False, separators=(",", ":"))
# What each id column must name in this workspace, and how an error calls it.
_OWNED = (("video_id", "videos", "video"), ("student_id", "students", "student"),
          ("course_id", "courses", "course"), ("module_id", "course_modules", "course module"))


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event to store; its workspace is the transaction's creator.

    ``timestamp`` None means now; a time without a zone is taken as UTC. ``metadata`` is stored
    as JSON; a ``session_id`` (with ``milestone``) or an ``import_key`` in it makes the row
    subject to the table's once-only indexes.
    """

    event_type: str
    video_id: uuid.UUID
    timestamp: datetime | None = None
    student_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    module_id: uuid.UUID | None = None
    metadata: Mapping[str, Any] | None = None


def append_events(t: Workspace, events: Iterable[EventRow]) -> int:
    """Store ``events`` in ``t``'s workspace, skipping rows the table already holds once.

    Days that receive rows are marked for the next rollup (an event of a day already rolled up
    makes that day stale).

    Returns:
        How many rows were stored (a re-sent batch stores 0).

    Raises:
        ValidationError: a row is not an event this workspace can hold (an unknown event type, a
            video, student, course or module of another workspace, metadata that is not JSON);
            the message names the row (counted from 1) and nothing is stored.
    """
    known: dict[str, set[uuid.UUID]] = {column: set() for column, _, _ in _OWNED}
    t.conn.execute(sa.text(f"""DROP TABLE IF EXISTS pg_temp.{_STAGING};
                               CREATE TEMP TABLE {_STAGING} (event_type text, video_id uuid, student_id uuid,
                                 course_id uuid, module_id uuid, metadata text, "timestamp" timestamptz)
                               ON COMMIT DROP"""))
    cursor = t.conn.connection.driver_connection.cursor()
    names = ", ".join(f'"{c}"' for c in _COLUMNS)
    first = 1
    try:
        for rows in _slices(events):
            _check_owned(t, rows, first, known)
            with cursor.copy(f"COPY {_STAGING} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_COPY_TYPES)
                for row in rows:
                    copy.write_row(row)
            first += len(rows)
    except ValidationError:
        t.conn.execute(sa.text(f"DROP TABLE {_STAGING}"))  # the transaction goes on without the batch
        raise
    days = t.conn.execute(
        sa.text(f"""
            WITH stored AS (
              INSERT INTO video_analytics_events (event_type, video_id, creator_id, student_id, course_id,
                                                  module_id, metadata, "timestamp")
              SELECT event_type, video_id, :creator, student_id, course_id, module_id, stored_metadata,
                     coalesce("timestamp", now())
              FROM {_STAGING}, CAST(metadata AS jsonb) AS stored_metadata
              -- One order for equal rows in every batch: two transactions storing overlapping events
              -- (a retried batch, re-sent in another order while the first try still runs) then wait
              -- for each other's rows in the same order instead of deadlocking. Time first keeps the
              -- table's rows in the order they happened; jsonb's text is the same for equal metadata.
              ORDER BY "timestamp", event_type, video_id, student_id, stored_metadata::text
              ON CONFLICT DO NOTHING
              RETURNING "timestamp"
            )
            SELECT ("timestamp" AT TIME ZONE 'UTC')::date AS day, count(*) AS stored FROM stored GROUP BY 1
        """),
        {"creator": t.creator_id},
    ).all()
    t.conn.execute(sa.text(f"DROP TABLE {_STAGING}"))  # a second batch in this transaction makes its own
    if days:
        rollups.mark_days_stale(t, sorted(row.day for row in days))
    stored = sum(row.stored for row in days)
    log.debug("appended %d events (%d submitted)", stored, first - 1)
    return stored


def _slices(events: Iterable[EventRow]) -> Iterator[list[tuple]]:
    """The events as COPY rows, ``CHECK_ROWS`` at a time, each checked on its own."""
    iterator = iter(events)
    number = 0
    while chunk := list(islice(iterator, CHECK_ROWS)):
        rows = []
        for event in chunk:
            number += 1
            rows.append(_row(number, event))
        yield rows


def _row(number: int, event: EventRow) -> tuple:
    if not isinstance(event, EventRow):
        raise ValidationError(f"Event {number} is a {type(event).__name__}, not an EventRow.")
    if event.event_type not in _EVENT_TYPES:
        raise ValidationError(f"Event {number}: '{event.event_type}' is not an event type; use one of "
                              f"{', '.join(EVENT_TYPES)}.")
    ids = []
    for name in ("video_id", "student_id", "course_id", "module_id"):
        value = getattr(event, name)
        if value is not None and type(value) is not uuid.UUID:
            try:
                value = uuid.UUID(str(value))
            except ValueError as exc:
                raise ValidationError(f"Event {number}: {name} '{value}' is not an id.") from exc
        ids.append(value)
    if ids[0] is None:
        raise ValidationError(f"Event {number} names no video.")
    at = event.timestamp
    if at is not None:
        if not isinstance(at, datetime):
            raise ValidationError(f"Event {number}: timestamp '{at}' is not a date and time.")
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
    metadata = event.metadata
    if metadata is None:
        text = "{}"
    else:
        if not isinstance(metadata, Mapping):
            raise ValidationError(f"Event {number}: metadata must be a mapping of names to values.")
        try:
            text = _JSON.encode(metadata)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"Event {number}: metadata cannot be stored as JSON ({exc}).") from exc
    return (event.event_type, ids[0], ids[1], ids[2], ids[3], text, at)


def _check_owned(t: Workspace, rows: list[tuple], first: int, known: dict[str, set[uuid.UUID]]) -> None:
    """Refuse ids that are not this workspace's, naming the first row that uses one (before any
    foreign key would abort the transaction)."""
    for position, (column, table, noun) in enumerate(_OWNED, start=1):
        seen = known[column]
        new = {row[position] for row in rows if row[position] is not None} - seen
        if not new:
            continue
        found = set(t.conn.execute(
            sa.text(f"SELECT id FROM {table} WHERE creator_id = :creator AND id = ANY(:ids)"),
            {"creator": t.creator_id, "ids": list(new)},
        ).scalars())
        seen |= found
        if missing := new - found:
            number = next(first + i for i, row in enumerate(rows) if row[position] in missing)
            raise ValidationError(f"Event {number}: {noun} {rows[number - first][position]} is not in this "
                                  "workspace.")
