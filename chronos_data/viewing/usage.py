"""Daily usage counters per creator (the seeds' usage_metrics), bumped as work happens."""

from __future__ import annotations

import sqlalchemy as sa

from ..db import Workspace

__all__ = ["COUNTERS", "add_usage"]

COUNTERS = ("videos_uploaded", "total_video_duration_seconds", "ai_credits_used", "transcription_minutes",
            "chat_messages_sent", "storage_used_bytes")


def add_usage(t: Workspace, **increments: int) -> None:
    """Add to today's counters, e.g. ``add_usage(t, videos_uploaded=1)``; unknown names are refused."""
    unknown = set(increments) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown usage counters: {sorted(unknown)}")
    if not increments:
        return
    columns = sorted(increments)  # names from COUNTERS only, never from input
    t.conn.execute(
        sa.text(
            f"INSERT INTO usage_metrics (creator_id, date, {', '.join(columns)}) "
            f"VALUES (:creator, current_date, {', '.join(':' + c for c in columns)}) "
            "ON CONFLICT (creator_id, date) DO UPDATE SET "
            + ", ".join(f"{c} = usage_metrics.{c} + EXCLUDED.{c}" for c in columns)
        ),
        {"creator": t.creator_id, **{c: int(v) for c, v in increments.items()}},
    )
