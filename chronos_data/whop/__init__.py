"""Whop: a creator's Whop company in sync with the workspace (members, courses, completions)."""

from .client import WhopError
from .connection import WhopConnection, connect, disconnect, status
from .sync import LessonMapping, SyncProgress, SyncSummary, list_lessons, sync, sync_steps

__all__ = ["LessonMapping", "SyncProgress", "SyncSummary", "WhopConnection", "WhopError", "connect",
           "disconnect", "list_lessons", "status", "sync", "sync_steps"]
