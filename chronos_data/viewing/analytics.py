"""The event vocabulary of the seeds (event, device and referrer types) and ``track_video_event``.

Watch sessions are recorded through :mod:`chronos_data.viewing.watching`."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..db import Workspace
from ..errors import ValidationError

__all__ = ["DEVICE_TYPES", "EVENT_TYPES", "REFERRER_TYPES", "check_session_context", "track_event"]

EVENT_TYPES = (
    "video_imported", "video_transcribed", "video_embedded", "video_added_to_course",
    "video_started", "video_progress", "video_completed", "video_rewatched",
)
DEVICE_TYPES = ("desktop", "mobile", "tablet")
REFERRER_TYPES = ("course_page", "direct_link", "search", "chat_reference")


def track_event(
    t: Workspace,
    event_type: str,
    video_id: uuid.UUID,
    *,
    student_id: uuid.UUID | None = None,
    course_id: uuid.UUID | None = None,
    module_id: uuid.UUID | None = None,
    metadata: dict[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> uuid.UUID:
    """Record one event through the seeds' ``track_video_event``; returns its id."""
    if event_type not in EVENT_TYPES:
        raise ValidationError(f"'{event_type}' is not an event type; use one of {', '.join(EVENT_TYPES)}.")
    return t.conn.execute(
        sa.text(
            "SELECT track_video_event(:type, :video, :creator, :student, :course, :module, "
            "CAST(:metadata AS jsonb), coalesce(CAST(:ts AS timestamptz), now()))"
        ),
        {
            "type": event_type, "video": video_id, "creator": t.creator_id, "student": student_id,
            "course": course_id, "module": module_id, "metadata": json.dumps(metadata or {}), "ts": timestamp,
        },
    ).scalar_one()


def check_session_context(device_type: str | None, referrer_type: str | None) -> None:
    """Refuse a device or referrer outside the seeds' CHECK lists, in words."""
    if device_type is not None and device_type not in DEVICE_TYPES:
        raise ValidationError(f"'{device_type}' is not a device type; use one of {', '.join(DEVICE_TYPES)}.")
    if referrer_type is not None and referrer_type not in REFERRER_TYPES:
        raise ValidationError(f"'{referrer_type}' is not a referrer; use one of {', '.join(REFERRER_TYPES)}.")
