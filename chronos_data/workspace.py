"""What a workspace holds, and what the database under it is: the status report."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from . import migrations
from .db import Database, Workspace

__all__ = ["WORKSPACE_TABLES", "DatabaseStatus", "database_status", "has_questions", "has_rows", "has_transcripts",
           "has_viewing", "row_counts"]

#: Every table holding one creator's rows, in the order a person reads them.
WORKSPACE_TABLES = (
    "videos", "video_chunks", "courses", "course_modules", "module_lessons", "students",
    "chat_sessions", "chat_messages", "video_watch_sessions", "video_analytics_events",
    "video_analytics", "usage_metrics", "report_schedules",
)


@dataclass(frozen=True)
class DatabaseStatus:
    kind: str
    url: str
    server_version: str
    pgvector_version: str | None
    schema_version: str | None
    applied_migrations: int
    pending_migrations: list[str]


def database_status(db: Database) -> DatabaseStatus:
    """Which database is in use (password hidden), its versions and migration state."""
    with db.engine.connect() as conn:
        server_version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        pgvector = conn.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        ).scalar_one_or_none()
        state = migrations.migration_status(conn)
    return DatabaseStatus(
        kind=db.kind,
        url=db.display_url,
        server_version=server_version.split()[0],
        pgvector_version=pgvector,
        schema_version=state.version,
        applied_migrations=len(state.applied),
        pending_migrations=state.pending,
    )


#: How a table with a trash marks the rows in it.
_IN_TRASH = {"videos": "is_deleted", "courses": "is_deleted", "chat_sessions": "deleted_at IS NOT NULL"}


def row_counts(t: Workspace, tables: tuple[str, ...] = WORKSPACE_TABLES, *, live: bool = False) -> dict[str, int]:
    """Rows per table in this workspace. Counting millions of events takes seconds: pages ask
    for the small tables only and use ``has_rows`` for the big ones.

    Args:
        live: leave out the rows in the trash (videos, courses, conversations), as people count them.
    """
    selects = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM {_known(table)} WHERE creator_id = :creator"
        + (f" AND NOT ({_IN_TRASH[table]})" if live and table in _IN_TRASH else "") for table in tables
    )
    return {name: int(count) for name, count in t.conn.execute(sa.text(selects), {"creator": t.creator_id})}


def has_rows(t: Workspace, table: str) -> bool:
    """Whether this workspace has any row in ``table`` (one index probe, at any size)."""
    return t.conn.execute(sa.text(f"SELECT EXISTS (SELECT 1 FROM {_known(table)} WHERE creator_id = :creator)"),
                          {"creator": t.creator_id}).scalar_one()


def has_viewing(t: Workspace) -> bool:
    """Whether students have watched anything yet (events or sessions, recorded or imported)."""
    return has_rows(t, "video_analytics_events") or has_rows(t, "video_watch_sessions")


def has_questions(t: Workspace) -> bool:
    """Whether anyone has asked the assistant anything yet (in any conversation, trash included)."""
    return has_rows(t, "chat_messages")


def has_transcripts(t: Workspace) -> bool:
    """Whether any video has searchable transcript chunks (the assistant has something to answer from)."""
    return has_rows(t, "video_chunks")


def _known(table: str) -> str:
    """Table names are put into SQL text: only the workspace's own tables pass."""
    if table not in WORKSPACE_TABLES:
        raise ValueError(f"{table!r} is not a workspace table")
    return table
