"""Whop: a creator's Whop company in sync with the workspace (members, courses, completions)."""

from .client import WhopError
from .connection import WhopConnection, connect, disconnect, status
from .mapping import LessonImports, import_unmatched_lessons, set_lesson_video
from .sync import LessonMapping, SyncProgress, SyncSummary, list_lessons, sync, sync_steps

__all__ = ["LessonImports", "LessonMapping", "SyncProgress", "SyncSummary", "WhopConnection", "WhopError", "connect",
           "disconnect", "import_unmatched_lessons", "list_lessons", "set_lesson_video", "status", "sync",
           "sync_steps"]
