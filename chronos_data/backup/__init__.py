"""Workspace backups: every row of one creator to a file, and back into an empty workspace.

A backup is a gzip'd JSON Lines file:

  * a header line: format and version, the schema version (last migration applied), when and from
    which workspace it was made, and each table's columns, in the order the rows follow;
  * one line per row, ``{"table": "videos", "row": {...}}``, written by PostgreSQL itself
    (``to_jsonb(row)``) so every type keeps its exact text form: vectors, timestamps, arrays;
  * a closing line with the rows per table, so a truncated file is recognised as one.

Which tables: every table of schema ``chronos`` with a ``creator_id`` column, found in the
catalog, so a table added by a later migration is backed up without changing this module. Rows
come in foreign-key order (parents first), also read from the catalog. Left out:
``DERIVED_TABLES``, which the rollup recomputes from the rows that are kept, and
``ACCESS_TABLES``. Uploaded media files are not in the file (see ``export_workspace``).

A file is untrusted input: its header's creator id and its videos' storage paths are whatever
whoever made it wrote. A restore therefore reads no file but the backup: every uploaded video's
storage path is made anew in the restoring workspace's own uploads folder, where no file is yet
(the video keeps its transcript, search and citations; its media is uploaded again to play it).
Reading is bounded (``ReadLimits``): a line, the decompressed size and the number of rows, so a
small file that decompresses to gigabytes is refused after reading at most one bounded line.

Restoring goes through the workspace's own connection (``chronos_app`` under row-level security),
so a file can only ever write into the workspace the transaction names. The workspace must be
empty. Every id gets a fresh uuid and every mention of it is rewritten (foreign keys, arrays,
ids inside JSON such as an answer's citations or a session's metadata), so a backup can be
restored next to its original on the same server. It all happens in one savepoint: a file that
fails anywhere leaves nothing behind.
"""
from .export import export_workspace
from .file_format import (
    ACCESS_TABLES,
    DERIVED_TABLES,
    FORMAT,
    FORMAT_VERSION,
    READ_LIMITS,
    SECRET_TABLES,
    BackupFileError,
    ExportSummary,
    ReadLimits,
    RestoreSummary,
    WorkspaceNotEmpty,
    backup_filename,
)
from .restore import ensure_empty, restore_backup, restore_workspace

__all__ = [
    "ACCESS_TABLES",
    "DERIVED_TABLES",
    "FORMAT",
    "FORMAT_VERSION",
    "READ_LIMITS",
    "BackupFileError",
    "ReadLimits",
    "ExportSummary",
    "RestoreSummary",
    "SECRET_TABLES",
    "WorkspaceNotEmpty",
    "backup_filename",
    "ensure_empty",
    "export_workspace",
    "restore_backup",
    "restore_workspace",
]
