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

Restoring goes through the tenant's own connection (``chronos_app`` under row-level security),
so a file can only ever write into the workspace the transaction names. The workspace must be
empty. Every id gets a fresh uuid and every mention of it is rewritten (foreign keys, arrays,
ids inside JSON such as an answer's citations or a session's metadata), so a backup can be
restored next to its original on the same server. It all happens in one savepoint: a file that
fails anywhere leaves nothing behind.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import itertools
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError, InternalError, ProgrammingError

from . import rollups
from .config import Settings
from .creators import UPLOAD_LIMIT_BYTES
from .db import Tenant
from .errors import ValidationError
from .uploads import keep_file, new_storage_path, remove_upload, stored_file
from .workspace import TENANT_TABLES

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
    "restore_workspace",
]

log = logging.getLogger(__name__)

FORMAT = "chronos.workspace-backup"
#: 2: uploaded media may follow the rows (``export_workspace(..., media=settings)``). A backup
#: without media is still written as 1, so that a Chronos that reads only 1 restores it.
FORMAT_VERSION = 2
_MEDIA_VERSION = 2

#: Recomputed by the rollup from the rows a backup keeps (rollups.py, learners.py): daily video
#: metrics, which days are final, and the learner bitmaps. Bitmaps could not be copied anyway:
#: learner numbers follow the order of student ids, and a restore gives every student a new id.
DERIVED_TABLES = frozenset({"video_analytics", "viewing_days", "rollup_days", "learner_numbers", "learner_sets",
                            "course_learners"})
#: Who else may open a workspace is decided by its owner on the server, not carried by a file:
#: restoring a copy next to the original must not hand the copy to the original's teammates, nor
#: let the original's write keys send events into the copy.
ACCESS_TABLES = frozenset({"workspace_members", "write_keys"})
#: Credentials for other services (the Whop connection's API key, encrypted): a backup file leaves
#: the server, and a key encrypted under this installation's secret is of no use elsewhere anyway.
SECRET_TABLES = frozenset({"whop_connections"})

_SCHEMA = "chronos"
_BATCH_ROWS = 5000
_BATCH_BYTES = 8 * 1024 * 1024  # a batch of chunks with 1536-dimension vectors stays a few MB
_WRITE_BYTES = 1024 * 1024
_COMPRESS_LEVEL = 6  # the demo workspace: level 9 took 2.5 times as long for a file 5 % smaller
# A JSON string token whose whole content is a uuid. An opening quote is never escaped; a quote
# inside a string always is, so uuids quoted inside longer text ("…\"<uuid>\"…") do not match.
_QUOTED_UUID = re.compile(r'(?<!\\)"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"')
# A row line as export_workspace writes it: the row's JSON is taken as is, without parsing it.
_ROW_LINE = re.compile(r'\{"table": "([a-z_][a-z0-9_]*)", "row": (\{.*\})\}')
_MIGRATION_NUMBER = re.compile(r"^(\d+)_")
#: Raw bytes of media per line: 4 MB of base64, far under ``ReadLimits.line_bytes``.
_MEDIA_PART = 3 * 1024**2
#: A media part line as written; counted against the file's media bound, not its rows' size.
_PART_PREFIX = b'{"part": "'
#: Media any backup may hold whatever its size: a short recording of silence compresses far more
#: than ``ReadLimits.media_ratio``, and this much costs a restore little.
_MEDIA_FLOOR = 64 * 1024**2


@dataclass(frozen=True)
class ReadLimits:
    """How much of a file a restore reads before refusing it: a few MB of gzip can decompress to
    gigabytes (one 1 GB line took a restore from 63 MB to 3.2 GB before these bounds)."""

    #: Bytes of one line. The longest rows are videos with their transcript and timed segments: a
    #: ten-hour lecture's are a few MB. A longer line is refused after reading this much of it.
    line_bytes: int = 32 * 1024**2
    #: Decompressed bytes of the whole file: the demo workspace with 100 k events is 71 MB.
    total_bytes: int = 16 * 1024**3
    #: Rows of the whole file (header and closing line aside): the same demo holds 123 k.
    rows: int = 50_000_000
    #: Bytes of media (``export --with-media``) per byte of the file: audio and video barely
    #: compress (an MP4 in a backup is about its own size), a run of one byte a thousand times.
    media_ratio: int = 8


READ_LIMITS = ReadLimits()


class BackupFileError(ValidationError):
    """The file is not a Chronos backup, is damaged, or cannot go into this database."""


class WorkspaceNotEmpty(ValidationError):
    """A backup is restored only into a workspace without data."""


@dataclass(frozen=True)
class ExportSummary:
    creator_id: uuid.UUID
    email: str
    schema_version: str | None
    rows: dict[str, int]
    bytes_written: int
    seconds: float
    #: Uploaded videos whose media file stays in the data folder (not in the backup).
    uploaded_media: int
    #: Tables left out because the rollup recomputes them.
    recomputed: list[str] = field(default_factory=list)
    #: Uploaded videos whose media file is in the backup (``media=``), and their bytes.
    media_files: int = 0
    media_bytes: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True)
class RestoreSummary:
    creator_id: uuid.UUID
    source_email: str | None
    exported_at: str | None
    schema_version: str | None
    rows: dict[str, int]
    #: Days with restored activity, marked stale: the next rollup recomputes them.
    stale_days: int
    seconds: float
    uploaded_media: int
    recomputed: list[str] = field(default_factory=list)
    #: Titles of the uploaded videos restored without their media file (it is not in a backup):
    #: each points at a new, empty place in this workspace's uploads until the file is uploaded again.
    media_not_in_backup: list[str] = field(default_factory=list)
    #: Uploaded videos whose media file came from the backup, written into this workspace's uploads.
    media_restored: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def backup_filename(email: str, when: datetime | None = None) -> str:
    """``chronos-backup-<workspace>-<UTC time>.jsonl.gz``, safe on every file system."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", email.split("@")[0]).strip("._") or "workspace"
    return f"chronos-backup-{name}-{stamp}.jsonl.gz"


# ---------------------------------------------------------------------------------------------
# The catalog: which tables hold a workspace, their columns, keys and foreign-key order.


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]  # every column in order, generated ones included
    generated: frozenset[str]
    primary_key: tuple[str, ...]
    uuid_key: bool  # the primary key is one uuid column: its values get fresh ids
    parents: frozenset[str]  # workspace tables this one references
    can_select: bool
    can_insert: bool

    @property
    def data_columns(self) -> tuple[str, ...]:
        """What a backup holds: everything but generated columns and creator_id (set on restore)."""
        return tuple(c for c in self.columns if c not in self.generated and c != "creator_id")


@dataclass(frozen=True)
class _Schema:
    tables: dict[str, _Table]
    order: list[str]  # parents before children
    version: str | None

    @property
    def backed_up(self) -> list[str]:
        return [n for n in self.order if n not in DERIVED_TABLES | ACCESS_TABLES | SECRET_TABLES]


def _load_schema(conn: Connection) -> _Schema:
    rows = conn.execute(sa.text("""
        SELECT c.relname, a.attname, a.attgenerated <> '' AS generated, format_type(a.atttypid, a.atttypmod) AS type,
               has_table_privilege(c.oid, 'SELECT') AS can_select, has_table_privilege(c.oid, 'INSERT') AS can_insert,
               coalesce(a.attnum = ANY (i.indkey::int2[]), false) AS in_key, cardinality(i.indkey::int2[]) AS key_size
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND EXISTS (SELECT 1 FROM pg_attribute k WHERE k.attrelid = c.oid AND k.attname = 'creator_id'
                      AND NOT k.attisdropped)
        ORDER BY c.relname, a.attnum
    """), {"schema": _SCHEMA}).all()
    edges = conn.execute(sa.text("""
        SELECT child.relname, parent.relname
        FROM pg_constraint f
        JOIN pg_class child ON child.oid = f.conrelid
        JOIN pg_class parent ON parent.oid = f.confrelid
        JOIN pg_namespace n ON n.oid = child.relnamespace AND n.nspname = :schema
        WHERE f.contype = 'f' AND child.oid <> parent.oid
    """), {"schema": _SCHEMA}).all()
    version = conn.execute(sa.text(f"SELECT max(filename) FROM {_SCHEMA}.schema_migrations")).scalar_one()

    columns: dict[str, list[Any]] = {}
    for row in rows:
        columns.setdefault(row.relname, []).append(row)
    parents: dict[str, set[str]] = {name: set() for name in columns}
    for child, parent in edges:
        if child in columns and parent in columns:  # creators and embedding_models are not workspace tables
            parents[child].add(parent)
    tables = {}
    for name, cols in columns.items():
        key = tuple(c.attname for c in cols if c.in_key)
        tables[name] = _Table(
            name=name,
            columns=tuple(c.attname for c in cols),
            generated=frozenset(c.attname for c in cols if c.generated),
            primary_key=key,
            uuid_key=len(key) == 1 and next(c.type for c in cols if c.attname == key[0]) == "uuid",
            parents=frozenset(parents[name]),
            can_select=cols[0].can_select,
            can_insert=cols[0].can_insert,
        )
    return _Schema(tables, _dependency_order(tables), version)


def _dependency_order(tables: dict[str, _Table]) -> list[str]:
    """Parents before children; among tables that may come next, the order a person reads them."""
    def rank(name: str) -> tuple[int, str]:
        return (TENANT_TABLES.index(name) if name in TENANT_TABLES else len(TENANT_TABLES), name)

    order: list[str] = []
    waiting = dict(tables)
    while waiting:
        ready = sorted((n for n, t in waiting.items() if not (t.parents - set(order))), key=rank)
        if not ready:
            raise BackupFileError(f"The tables {', '.join(sorted(waiting))} reference each other in a cycle; "
                                  "a backup cannot order their rows.")
        order.append(ready[0])
        del waiting[ready[0]]
    return order


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(table: str) -> str:
    return f"{_SCHEMA}.{_ident(table)}"


def _migration_number(version: str | None) -> int:
    match = _MIGRATION_NUMBER.match(version or "")
    return int(match.group(1)) if match else 0


# ---------------------------------------------------------------------------------------------
# Export.


def export_workspace(t: Tenant, out: BinaryIO | Path | str, *, media: Settings | None = None) -> ExportSummary:
    """Write every row of the workspace to ``out`` (a path, or a binary file object) as a backup.

    The rows are read by one SQL statement, so they are one consistent snapshot even while the
    app keeps writing. The file holds database rows only: transcripts, timed segments, chunks
    and their embeddings included, but not the media files of uploaded videos, which stay in the
    data folder (``uploads/``); a restore never reads them (see ``restore_workspace``). A path is written to a
    temporary file first and renamed when complete, so a failed export leaves no partial file.

    Args:
        media: the settings whose data folder holds the uploads: each uploaded video's media file
            (when it is this workspace's and on disk) is written into the backup after the rows,
            so that a restore elsewhere plays it. The file grows by about the media's size (their
            base64 compresses back to within a few % of it).

    Returns:
        What was written: rows per table, bytes, seconds.
    """
    started = time.perf_counter()
    if isinstance(out, str | Path):
        target = Path(out)
        temporary = target.with_name(f".{target.name}.partial")
        try:
            # Readable by this user only, whatever the umask: a backup holds the whole workspace.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)  # an older file of that name kept its own mode
            with os.fdopen(descriptor, "wb") as raw:
                summary = _export(t, raw, started, media)
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise BackupFileError(f"The backup could not be written to {target} ({exc.strerror or exc}); "
                                  "check the folder exists and has free space.") from exc
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return summary
    return _export(t, out, started, media)


def _export(t: Tenant, raw: IO[bytes], started: float, media: Settings | None) -> ExportSummary:
    schema = _load_schema(t.conn)
    names = schema.backed_up
    unreadable = [n for n in names if not schema.tables[n].can_select]
    if unreadable:
        raise BackupFileError(f"The app's database role cannot read {', '.join(unreadable)}; run the migrations "
                              "(python -m chronos_data migrate) and try again.")
    creator = t.conn.execute(sa.text(f"SELECT id, email, name, settings FROM {_SCHEMA}.creators WHERE id = :c"),
                             {"c": t.creator_id}).one()
    header = {
        "format": FORMAT, "version": _MEDIA_VERSION if media else 1, "schema_version": schema.version,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "creator": {"id": str(creator.id), "email": creator.email, "name": creator.name,
                    "settings": creator.settings},
        "tables": [{"name": n, "columns": list(schema.tables[n].data_columns)} for n in names],
        "recomputed": sorted(n for n in DERIVED_TABLES if n in schema.tables),
        "media_files": "included: after the rows, each uploaded video's file" if media else
                       "not included: a restore gives each uploaded video a new, empty place in the restoring "
                       "workspace's uploads; upload its file again there to play it",
    }
    counts = dict.fromkeys(names, 0)
    counter = _CountingWriter(raw)
    with gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=_COMPRESS_LEVEL) as gz:
        buffer = [json.dumps(header, ensure_ascii=False) + "\n"]
        size = 0
        for table, text in _rows_in_order(t, schema, names):
            line = f'{{"table": "{table}", "row": {text}}}\n'
            buffer.append(line)
            size += len(line)
            counts[table] += 1
            if size >= _WRITE_BYTES:
                gz.write("".join(buffer).encode())
                buffer, size = [], 0
        gz.write("".join(buffer).encode())
        files, media_bytes = _write_media(t, media, gz) if media else (0, 0)
        end: dict[str, Any] = {"end": True, "rows": counts}
        if media:
            end["media"] = files
        gz.write((json.dumps(end) + "\n").encode())
    uploaded = t.conn.execute(sa.text("SELECT count(*) FROM videos WHERE creator_id = :c AND source_type = 'upload' "
                                      "AND storage_path IS NOT NULL"), {"c": t.creator_id}).scalar_one()
    return ExportSummary(t.creator_id, creator.email, schema.version, counts, counter.written,
                         time.perf_counter() - started, int(uploaded) - files, header["recomputed"], files, media_bytes)


def _write_media(t: Tenant, settings: Settings, gz: IO[bytes]) -> tuple[int, int]:
    """Each uploaded video's file as a block of lines: ``{"media": id}``, ``{"part": base64}``…,
    ``{"media_end": id, "bytes": n, "sha256": hex}``; returns the files and bytes written. A video
    whose file is not this workspace's or not on disk is left out (it restores without media)."""
    rows = t.conn.execute(sa.text("SELECT id, storage_path FROM videos WHERE creator_id = :c AND source_type = 'upload' "
                                  "AND storage_path IS NOT NULL ORDER BY id"), {"c": t.creator_id}).all()
    files = total = 0
    for video_id, storage_path in rows:
        try:
            path = stored_file(settings, storage_path, t.creator_id)
            source = path.open("rb")
        except (ValidationError, OSError):
            continue
        with source:
            gz.write((json.dumps({"media": str(video_id)}) + "\n").encode())
            digest, size = hashlib.sha256(), 0
            while part := source.read(_MEDIA_PART):
                digest.update(part)
                size += len(part)
                gz.write(_PART_PREFIX + base64.b64encode(part) + b'"}\n')
        gz.write((json.dumps({"media_end": str(video_id), "bytes": size, "sha256": digest.hexdigest()}) + "\n")
                 .encode())
        files += 1
        total += size
    return files, total


def _rows_in_order(t: Tenant, schema: _Schema, names: list[str]) -> Iterator[tuple[str, str]]:
    """(table, row as JSON text) for every row, tables in ``names`` order, from one snapshot."""
    if not names:
        return
    params: dict[str, Any] = {"creator": t.creator_id}
    selects = []
    for i, name in enumerate(names):
        table = schema.tables[name]
        params[f"name_{i}"] = name
        params[f"drop_{i}"] = sorted(table.generated | {"creator_id"})
        selects.append(f"SELECT CAST(:name_{i} AS text) AS t, CAST(to_jsonb(x) - CAST(:drop_{i} AS text[]) AS text) AS r "
                       f"FROM {_qualified(name)} x WHERE x.creator_id = :creator")
    # One statement, one snapshot. Without parallel workers the executor reads UNION ALL's
    # branches one after the other, in the order written: the file's foreign-key order. (The
    # setting lasts until the end of the caller's transaction; restore checks the order anyway.)
    t.conn.execute(sa.text("SELECT set_config('max_parallel_workers_per_gather', '0', true)"))
    result = t.conn.execute(sa.text(" UNION ALL ".join(selects)), params,
                            execution_options={"stream_results": True, "yield_per": 2000})
    for row in result:
        yield row[0], row[1]


class _CountingWriter:
    """Passes writes through and counts the bytes (the compressed size of the backup)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.written = 0

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


# ---------------------------------------------------------------------------------------------
# Restore.


def ensure_empty(t: Tenant, schema: _Schema | None = None) -> None:
    """Raise WorkspaceNotEmpty unless the workspace holds no data (teammates and rollup state aside)."""
    schema = schema or _load_schema(t.conn)
    names = [n for n in schema.order if n not in ACCESS_TABLES and n != "rollup_days"]
    held = list(t.conn.execute(sa.text(" UNION ALL ".join(
        f"SELECT CAST(:n_{i} AS text) WHERE EXISTS (SELECT 1 FROM {_qualified(n)} WHERE creator_id = :c)"
        for i, n in enumerate(names))), {"c": t.creator_id, **{f"n_{i}": n for i, n in enumerate(names)}}).scalars())
    if held:
        raise WorkspaceNotEmpty(
            f"This workspace already holds data ({', '.join(n.replace('_', ' ') for n in held)}), and a backup is "
            "restored only into an empty workspace; nothing was changed. Restore it as a new workspace instead "
            "(python -m chronos_data restore FILE --as-creator NEW_EMAIL).")


def restore_workspace(t: Tenant, source: BinaryIO | Path | str | bytes, limits: ReadLimits = READ_LIMITS, *,
                      media: Settings | None = None) -> RestoreSummary:
    """Restore a backup into this (empty) workspace, with fresh ids; all or nothing.

    No file but the backup is read. Uploaded videos whose media file is in the backup (``export
    --with-media``) get it written into this workspace's own uploads when ``media`` gives the data
    folder; the others come back without media, each with a new, empty storage path there
    (``RestoreSummary.media_not_in_backup``). Files written for a restore that fails are removed.

    The daily rollups are not part of a backup: the restored days are marked stale, and the
    next ``rollups.rollup`` recomputes them. Run it after this transaction commits, not inside
    it: measured with 100 k events, rolling up inside the restoring transaction once took 345 s
    (the learner bitmaps' join, on the second restore into one server), after commit 3-4 s.

    Args:
        source: the backup, as a path, bytes, or a binary file object (read twice: it is
            rewound, or copied to a temporary file when it cannot be).
        limits: the longest line, the decompressed size and the rows a file may have; one over
            any of them is refused while it is read, before a row is written.
        media: the settings whose data folder receives the backup's media files (none are
            written without it). Each file is bounded by this workspace's plan's upload limit.

    Raises:
        WorkspaceNotEmpty: the workspace already has videos, courses, students or activity.
        BackupFileError: the file is not a backup, is damaged or truncated, exceeds ``limits``,
            was made by a newer Chronos, or its rows do not fit this database. Nothing is written.
    """
    started = time.perf_counter()
    if getattr(t, "read_only", False):
        raise ValidationError("Your access to this workspace is read-only; only its owner can restore a backup into it.")
    schema = _load_schema(t.conn)
    tier = t.conn.execute(sa.text(f"SELECT subscription_tier FROM {_SCHEMA}.creators WHERE id = :c"),
                          {"c": t.creator_id}).scalar_one()
    written: list[str] = []
    with _reopenable(source, limits) as readable, _removed_unless_done(media, written):
        # One restore per workspace at a time: two at once would both find it empty.
        t.conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended('chronos.restore:' || :c, 0))"),
                       {"c": str(t.creator_id)})
        ensure_empty(t, schema)
        try:
            with t.conn.begin_nested():
                plan = _read_plan(t, schema, readable, UPLOAD_LIMIT_BYTES.get(tier, UPLOAD_LIMIT_BYTES["basic"]))
                _check_targets(t, schema, plan)
                _insert_rows(t, schema, plan, readable)
                _restore_profile(t, plan)
                restored = _restore_media(t, plan, readable, media, written) if media and plan.media else {}
                missing_media = _new_upload_paths(t, restored)
                days = _mark_days_stale(t)
        except (IntegrityError, DataError, ProgrammingError, InternalError) as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise BackupFileError(f"The backup does not fit this database ({reason}); nothing was written.") from exc
    log.info("restored %d rows into %s (%d stale days)", sum(plan.counts.values()), t.creator_id, len(days))
    uploaded = t.conn.execute(sa.text("SELECT count(*) FROM videos WHERE creator_id = :c AND source_type = 'upload' "
                                      "AND storage_path IS NOT NULL"), {"c": t.creator_id}).scalar_one()
    creator = _header_creator(plan.header)
    return RestoreSummary(t.creator_id, _text_or_none(creator.get("email")), _text_or_none(plan.header.get("exported_at")),
                          _text_or_none(plan.header.get("schema_version")), plan.counts, len(days), time.perf_counter() - started,
                          int(uploaded), sorted(n for n in DERIVED_TABLES if n in schema.tables), missing_media,
                          len(restored))


@contextmanager
def _removed_unless_done(settings: Settings | None, written: list[str]) -> Iterator[None]:
    """Remove the media files in ``written`` if the block raises: a refused restore keeps no file."""
    try:
        yield
    except BaseException:
        for storage_path in written:
            remove_upload(settings, storage_path)
        raise


def _restore_media(t: Tenant, plan: _Plan, source: _Source, settings: Settings, written: list[str]) -> dict[str, str]:
    """The third reading: each media file (checked by the first) written into this workspace's
    uploads, named as its video's file was; returns old video id -> new storage path."""
    names = dict(t.conn.execute(sa.text(
        "SELECT CAST(r.old AS text), v.storage_path FROM videos v JOIN chronos_restore_ids r ON r.new = v.id "
        "WHERE v.creator_id = :c AND v.source_type = 'upload' AND v.storage_path IS NOT NULL"),
        {"c": t.creator_id}).all())
    restored: dict[str, str] = {}
    lines = _lines(source)
    for line in lines:
        if not line.startswith('{"media": '):
            continue
        video = json.loads(line)["media"].lower()
        path = keep_file(settings, t.creator_id, PurePosixPath(names.get(video, "upload").replace("\\", "/")).name,
                         _PartsReader(lines))
        written.append(path)
        restored[video] = path
    return restored


class _PartsReader:
    """A media block's bytes as a file ``keep_file`` copies from: one decoded part per read, until
    the block's closing line (the parts were checked by the first reading)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines

    def read(self, size: int = -1) -> bytes:
        line = next(self.lines, "")
        if not line.startswith('{"part": "'):
            return b""  # the block's closing line
        return base64.b64decode(line[len('{"part": "'):-2])


@dataclass
class _Plan:
    """What the first reading of a file found: it is valid, and what it holds."""

    header: dict[str, Any]
    columns: dict[str, tuple[str, ...]]
    counts: dict[str, int]
    models: set[str]
    source_creator: str | None
    #: Old ids of the uploaded videos whose media file is in the backup.
    media: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Source:
    """A backup that can be read from its start as often as needed, within ``limits``."""

    open: Callable[[], ContextManager[IO[bytes]]]
    limits: ReadLimits


@contextmanager
def _reopenable(source: BinaryIO | Path | str | bytes, limits: ReadLimits) -> Iterator[_Source]:
    """``source`` as a _Source: its ``open`` gives it from its start, as a seekable stream."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise BackupFileError(f"There is no file {path}; check the name.")
        yield _Source(lambda: path.open("rb"), limits)
    elif isinstance(source, bytes | bytearray):
        data = bytes(source)
        yield _Source(lambda: io.BytesIO(data), limits)
    elif source.seekable():
        start = source.tell()

        def rewind() -> ContextManager[IO[bytes]]:
            source.seek(start)
            return nullcontext(source)  # the caller's file stays open

        yield _Source(rewind, limits)
    else:
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(source, spool, 1024 * 1024)

            def reread() -> ContextManager[IO[bytes]]:
                spool.seek(0)
                return nullcontext(spool)

            yield _Source(reread, limits)


def _lines(source: _Source) -> Iterator[str]:
    """The text lines of a backup, gzip'd (as exported) or already decompressed, each read within
    ``source.limits``: a line, the file's decompressed size or its rows over a limit is refused
    having held at most one bounded line in memory."""
    limits = source.limits
    with source.open() as raw:
        start = raw.tell()
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(start)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        total = parts = 0
        try:
            for number in itertools.count(1):
                line = stream.readline(limits.line_bytes + 2)  # the limit, then room for "\r\n"
                if not line:
                    return
                text = line.rstrip(b"\r\n")
                if text.startswith(_PART_PREFIX):
                    parts += 1  # media: bounded by the plan's file size, per uploaded video (_MediaCheck)
                else:
                    total += len(line)
                if len(text) > limits.line_bytes:
                    raise BackupFileError(
                        f"Line {number} of the file is longer than {_size(limits.line_bytes)}, which no Chronos "
                        "backup holds, so nothing was restored; choose the .jsonl.gz file that export made, or "
                        "export the workspace again.")
                if total > limits.total_bytes:
                    raise BackupFileError(
                        f"The file decompresses to more than {_size(limits.total_bytes)}, far more than a "
                        "workspace's rows, so nothing was restored; choose the .jsonl.gz file that export made, or "
                        "export the workspace again.")
                if number - parts > limits.rows + 2:  # the header and the closing line are not rows
                    raise BackupFileError(
                        f"The file holds more than {limits.rows:,} rows, more than one restore takes, so nothing "
                        "was restored; choose the .jsonl.gz file that export made, or export the workspace again.")
                yield text.decode("utf-8")
        except (OSError, EOFError, zlib.error) as exc:
            raise BackupFileError("The backup file is damaged or was cut short (it does not decompress); "
                                  "export it again, or copy it again in full.") from exc
        except UnicodeDecodeError as exc:
            raise BackupFileError("This file is not a Chronos backup (it is not UTF-8 text); choose the "
                                  ".jsonl.gz file that export made.") from exc


def _size(count: int) -> str:
    for unit, power in (("GB", 3), ("MB", 2), ("KB", 1)):
        if count >= 1024**power:
            return f"{count / 1024**power:.3g} {unit}"
    return f"{count} bytes"


def _json(line: str) -> Any:
    """A line's JSON value; ValueError when it is not JSON (or nests deeper than Python recurses)."""
    try:
        return json.loads(line)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _header_creator(header: dict[str, Any]) -> dict[str, Any]:
    creator = header.get("creator")
    return creator if isinstance(creator, dict) else {}


def _read_plan(t: Tenant, schema: _Schema, source: _Source, media_limit: int) -> _Plan:
    """Read the whole file once: check it, count its rows, and record its ids in a temporary table
    (old id -> fresh id) that the second reading rewrites references with."""
    lines = _lines(source)
    header = _parse_header(next(lines, None), schema)
    columns = {}
    for entry in header["tables"]:
        name, cols = (entry.get("name"), entry.get("columns")) if isinstance(entry, dict) else (None, None)
        if not isinstance(name, str) or not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise BackupFileError("The backup's header is damaged (its table list is malformed); export it again.")
        if name not in schema.tables or name in DERIVED_TABLES or name in ACCESS_TABLES:
            raise BackupFileError(f"The backup holds a table this Chronos does not know ({name}); restore it with "
                                  "the Chronos version that made it, or a newer one.")
        unknown = set(cols) - set(schema.tables[name].columns) - {"creator_id"}
        if unknown:
            raise BackupFileError(f"The backup's table {name} has columns this Chronos does not know "
                                  f"({', '.join(sorted(unknown))}); upgrade Chronos, then restore it.")
        columns[name] = tuple(cols)

    t.conn.execute(sa.text("CREATE TEMP TABLE IF NOT EXISTS chronos_restore_ids (old uuid PRIMARY KEY, "
                           "new uuid NOT NULL DEFAULT gen_random_uuid()) ON COMMIT DROP"))
    t.conn.execute(sa.text("TRUNCATE chronos_restore_ids"))
    source_creator = _header_creator(header).get("id")
    if source_creator:
        _uuid_or_fail(source_creator, "the header's creator id")
        t.conn.execute(sa.text("INSERT INTO chronos_restore_ids (old, new) VALUES (:old, :new)"),
                       {"old": source_creator, "new": t.creator_id})

    counts = dict.fromkeys(columns, 0)
    done: list[str] = []
    models: set[str] = set()
    ids: list[str] = []
    trailer = None
    media = _MediaCheck(media_limit, max(source.limits.media_ratio * _file_size(source), _MEDIA_FLOOR)) \
        if header["version"] >= _MEDIA_VERSION else None
    number = 1
    for number, line in enumerate(lines, start=2):
        if trailer is not None:
            raise BackupFileError(f"The backup has lines after its end (line {number}); export it again.")
        if media and media.take(number, line):
            continue
        try:
            entry = _json(line)
        except ValueError as exc:  # json.JSONDecodeError is one
            raise BackupFileError(f"Line {number} of the backup is not valid JSON; the file is damaged.") from exc
        if not isinstance(entry, dict):
            raise BackupFileError(f"Line {number} of the backup is not a row; the file is damaged.")
        if entry.get("end") is True:
            trailer = entry
            continue
        if media and media.take_entry(number, entry):
            continue
        table, row = entry.get("table"), entry.get("row")
        if table not in columns or not isinstance(row, dict):
            raise BackupFileError(f"Line {number} of the backup is a row of a table its header does not list "
                                  f"({table!r}); the file is damaged.")
        if not done or done[-1] != table:
            if table in done:
                raise BackupFileError(f"The rows of {table} are not together (line {number}); the file was edited "
                                      "or damaged.")
            early = [d for d in done if table in schema.tables[d].parents]
            if early:
                raise BackupFileError(f"The rows of {', '.join(early)} come before the {table} they refer to "
                                      f"(line {number}); the file was edited or damaged.")
            done.append(table)
        if media and media.files:
            raise BackupFileError(f"Line {number} is a row after the media files; the file was edited or damaged.")
        extra = set(row) - set(columns[table])
        if extra:
            raise BackupFileError(f"Line {number} has columns its header does not list ({', '.join(sorted(extra))}); "
                                  "the file is damaged.")
        counts[table] += 1
        spec = schema.tables[table]
        if spec.uuid_key:
            key = row.get(spec.primary_key[0])
            ids.append(_uuid_or_fail(key, f"the id on line {number}"))
            if media and table == "videos" and row.get("source_type") == "upload":
                media.uploads.add(ids[-1])
            if len(ids) >= 10_000:
                _store_ids(t, ids)
                ids = []
        if table == "video_chunks" and row.get("embedding_model"):
            models.add(str(row["embedding_model"]))
    _store_ids(t, ids)
    if trailer is None:
        raise BackupFileError(f"The backup ends after line {number} without its closing line: it was cut short. "
                              "Copy the whole file again, or export it again.")
    expected = trailer.get("rows")
    if not isinstance(expected, dict) or {k: v for k, v in expected.items() if v} != {k: v for k, v in counts.items()
                                                                                      if v}:
        raise BackupFileError("The backup's rows do not add up to the counts its last line gives: rows are missing "
                              "or were added; export it again.")
    if media:
        media.check_end(number, trailer)
    return _Plan(header, columns, counts, models, source_creator, set(media.files) if media else set())


def _file_size(source: _Source) -> int:
    with source.open() as raw:
        start = raw.tell()
        size = raw.seek(0, io.SEEK_END) - start
        raw.seek(start)
        return size


class _MediaCheck:
    """The first reading of a backup's media blocks (format 2): each names an uploaded video of the
    file, once; its parts decode, stay within ``limit`` bytes and match the closing checksum."""

    def __init__(self, limit: int, total_limit: int) -> None:
        self.limit = limit
        self.total_limit = total_limit
        self.total = 0
        self.uploads: set[str] = set()  # ids of the file's uploaded videos
        self.files: dict[str, int] = {}  # video id -> bytes, for each block closed
        self.current: str | None = None
        self.size = 0
        self.digest = hashlib.sha256()

    def take(self, number: int, line: str) -> bool:
        """Check a part line (parsed here without the general JSON reader: it is most of the file)."""
        if not line.startswith(_PART_PREFIX.decode()):
            return False
        if self.current is None:
            raise BackupFileError(f"Line {number} is part of a media file that no line began; the file is damaged.")
        encoded = line[len(_PART_PREFIX):-2] if line.endswith('"}') else ""
        try:
            part = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise BackupFileError(f"Line {number} of the backup is not a media part; the file is damaged.") from exc
        if not part:
            raise BackupFileError(f"Line {number} of the backup is not a media part; the file is damaged.")
        self.size += len(part)
        if self.size > self.limit:
            raise BackupFileError(
                f"A media file of the backup (line {number}) is larger than this workspace's plan takes "
                f"({_size(self.limit)}), so nothing was restored; restore it into a workspace on a larger plan, or "
                "export it without media.")
        self.total += len(part)
        if self.total > self.total_limit:
            raise BackupFileError(
                f"The backup's media files (line {number}) decompress to far more than the file itself, which audio "
                "and video do not, so nothing was restored; choose the .jsonl.gz file that export made, or export "
                "the workspace again.")
        self.digest.update(part)
        return True

    def take_entry(self, number: int, entry: dict[str, Any]) -> bool:
        """Check the line that begins or closes a media block."""
        if "media" in entry:
            video = entry["media"]
            key = _uuid_or_fail(video, f"the video of the media file on line {number}")
            if self.current is not None or key not in self.uploads or key in self.files:
                raise BackupFileError(f"Line {number} begins a media file for no uploaded video of the backup, or a "
                                      "second one; the file was edited or damaged.")
            self.current, self.size, self.digest = key, 0, hashlib.sha256()
            return True
        if "media_end" in entry:
            if self.current is None or str(entry["media_end"]).lower() != self.current \
                    or entry.get("bytes") != self.size or entry.get("sha256") != self.digest.hexdigest():
                raise BackupFileError(f"The media file that ends on line {number} does not match its size or "
                                      "checksum; the file is damaged, so export it again.")
            self.files[self.current] = self.size
            self.current = None
            return True
        if self.current is not None:
            raise BackupFileError(f"Line {number} comes inside a media file; the file is damaged.")
        return False

    def check_end(self, number: int, trailer: dict[str, Any]) -> None:
        if self.current is not None or trailer.get("media", 0) != len(self.files):
            raise BackupFileError(f"The backup's media files do not add up to the count its last line (line {number}) "
                                  "gives: files are missing or were added; export it again.")


def _parse_header(line: str | None, schema: _Schema) -> dict[str, Any]:
    try:
        header = _json(line) if line else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupFileError("This file is not a Chronos workspace backup; choose the .jsonl.gz file that "
                              "python -m chronos_data export (or the Settings page) made.")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BackupFileError("The backup's header is damaged (it gives no format version); choose the .jsonl.gz "
                              "file that export made, or export the workspace again.")
    if version > FORMAT_VERSION:
        raise BackupFileError(f"This backup was made by a newer Chronos (backup format {version}; this one reads "
                              f"up to {FORMAT_VERSION}); upgrade Chronos, then restore it.")
    theirs, ours = _text_or_none(header.get("schema_version")), schema.version
    if _migration_number(theirs) > _migration_number(ours):
        raise BackupFileError(f"This backup comes from a newer database schema ({theirs}; this database is at "
                              f"{ours}); upgrade Chronos and run its migrations, then restore it.")
    if not isinstance(header.get("tables"), list):
        raise BackupFileError("The backup's header is damaged (it lists no tables); export it again.")
    return header


def _uuid_or_fail(value: Any, what: str) -> str:
    # The canonical form only: it is the form the second reading finds and rewrites.
    if not isinstance(value, str) or not _QUOTED_UUID.fullmatch(f'"{value}"'):
        raise BackupFileError(f"The backup is damaged: {what} is not an id ({value!r}).")
    return value.lower()


def _store_ids(t: Tenant, ids: list[str]) -> None:
    # A repeated id maps to one new id: a table whose key is also its parent's (one-to-one) keeps
    # matching it, and a row that really is in the file twice fails on the table's primary key.
    if ids:  # canonical uuids (checked): sent as one array literal
        t.conn.execute(sa.text("INSERT INTO chronos_restore_ids (old) SELECT unnest(CAST(:ids AS uuid[])) "
                               "ON CONFLICT DO NOTHING"), {"ids": "{" + ",".join(ids) + "}"})


def _check_targets(t: Tenant, schema: _Schema, plan: _Plan) -> None:
    """What the database must offer before a row is written: privileges and embedding models."""
    refused = [n for n, count in plan.counts.items() if count and not schema.tables[n].can_insert]
    if refused:
        raise BackupFileError(f"The app's database role may not add rows to {', '.join(refused)}; run the migrations "
                              "(python -m chronos_data migrate) and try again.")
    if plan.models:
        known = set(t.conn.execute(sa.text("SELECT name FROM embedding_models WHERE name = ANY(:names)"),
                                   {"names": sorted(plan.models)}).scalars())
        missing = sorted(plan.models - known)
        if missing:
            raise BackupFileError(
                f"The backup's transcripts are embedded with {', '.join(missing)}, which this database does not "
                "know; register it first as the database owner (SELECT chronos.register_embedding_model(name, "
                "provider, dimensions)), or set the matching OpenAI model and restart.")


def _insert_rows(t: Tenant, schema: _Schema, plan: _Plan, source: _Source) -> None:
    """The second reading: each table's rows in batches, ids rewritten, creator set to this one."""
    statements = {name: _insert_sql(schema.tables[name], plan.columns[name]) for name in plan.columns}
    ids = _NewIds(t)
    batch: list[str] = []
    size = 0
    current = None
    for line in _lines(source):
        if line.startswith('{"part": "'):
            continue
        match = _ROW_LINE.fullmatch(line)
        if match:
            table, text = match.group(1), match.group(2)
        else:
            entry = json.loads(line)
            if "table" not in entry:
                continue  # the header and the closing line
            table, text = entry["table"], json.dumps(entry["row"])
        if table not in statements:
            raise BackupFileError("The backup file changed while it was being restored; restore it again.")
        if table != current or len(batch) >= _BATCH_ROWS or size >= _BATCH_BYTES:
            if batch:
                _insert_batch(t, statements[current], batch, ids)
            batch, size, current = [], 0, table
        batch.append(text)
        size += len(text)
    if batch:
        _insert_batch(t, statements[current], batch, ids)


def _insert_sql(table: _Table, columns: tuple[str, ...]) -> sa.TextClause:
    insertable = [c for c in columns if c not in table.generated and c != "creator_id"]
    names = ", ".join(_ident(c) for c in insertable)
    return sa.text(f"INSERT INTO {_qualified(table.name)} (creator_id, {names}) "
                   f"SELECT CAST(:creator AS uuid), {names} "
                   f"FROM jsonb_populate_recordset(CAST(NULL AS {_qualified(table.name)}), CAST(:rows AS jsonb))")


def _insert_batch(t: Tenant, statement: sa.TextClause, rows: list[str], ids: _NewIds) -> None:
    t.conn.execute(statement, {"creator": t.creator_id, "rows": ids.rewrite("[" + ",".join(rows) + "]")})


class _NewIds:
    """Rewrites JSON text: every id of a restored row, wherever it is mentioned, becomes that row's
    new id (from the temporary table the first reading filled). Other uuid-shaped values (a
    deleted video's id in an old citation) are kept as they are."""

    _CACHED = 200_000  # a workspace's videos and students are asked for once, not once per batch

    def __init__(self, t: Tenant) -> None:
        self.t = t
        self.known: dict[str, str] = {}

    def rewrite(self, text: str) -> str:
        parts = _QUOTED_UUID.split(text)  # text, uuid, text, uuid, …, text (the quotes dropped)
        if len(parts) == 1:
            return text
        found = [u.lower() for u in parts[1::2]]
        missing = set(found) - self.known.keys()
        if missing:
            if len(self.known) + len(missing) > self._CACHED:
                self.known.clear()
            # Ids are canonical uuids (the pattern): an array literal is safe, and much cheaper to
            # send than a list of thousands of parameters.
            fresh = dict(self.t.conn.execute(
                sa.text("SELECT CAST(old AS text), CAST(new AS text) FROM chronos_restore_ids "
                        "WHERE old = ANY(CAST(:ids AS uuid[]))"), {"ids": "{" + ",".join(missing) + "}"}).all())
            self.known.update({u: fresh.get(u, u) for u in missing})
        parts[1::2] = [f'"{self.known[u]}"' for u in found]
        return "".join(parts)


def _restore_profile(t: Tenant, plan: _Plan) -> None:
    """The workspace's name and settings, where the target has none yet (never its e-mail or plan:
    a file must not change who signs in or what they pay for)."""
    creator = _header_creator(plan.header)
    settings = creator.get("settings")
    if not isinstance(settings, dict):
        settings = {}
    text = _NewIds(t).rewrite(json.dumps(settings))
    t.conn.execute(sa.text(f"UPDATE {_SCHEMA}.creators SET name = coalesce(name, :name), "
                           "settings = CASE WHEN settings = '{}'::jsonb THEN CAST(:settings AS jsonb) ELSE settings END "
                           "WHERE id = :c"),
                   {"c": t.creator_id, "name": creator.get("name") if isinstance(creator.get("name"), str) else None,
                    "settings": text})


def _new_upload_paths(t: Tenant, restored: dict[str, str]) -> list[str]:
    """Give every restored video with a storage path a new one in this workspace's own uploads
    folder: the media file written from the backup (``restored``, by the video's old id), or a new
    place where nothing is yet; returns the titles of the uploaded videos left without media.

    A backup's storage paths are never used: a forged file could name another workspace's folder
    (uploads/<their id>/…), and that workspace's files must stay out of reach. The shared demo
    lectures' paths (demo/<name>, no workspace's files) are kept as they are.
    """
    rows = t.conn.execute(sa.text("SELECT v.id, v.title, v.storage_path, v.source_type, CAST(r.old AS text) AS old "
                                  "FROM videos v LEFT JOIN chronos_restore_ids r ON r.new = v.id "
                                  "WHERE v.creator_id = :c AND v.storage_path IS NOT NULL ORDER BY v.title, v.id"),
                          {"c": t.creator_id}).all()
    moved = [(row.id, restored.get(row.old) or new_storage_path(
                 t.creator_id, PurePosixPath(row.storage_path.replace("\\", "/")).name))
             for row in rows if row.old in restored or not _is_demo_path(row.storage_path)]
    if moved:
        t.conn.execute(sa.text("UPDATE videos v SET storage_path = m.path FROM unnest(CAST(:ids AS uuid[]), "
                               "CAST(:paths AS text[])) AS m(id, path) WHERE v.creator_id = :c AND v.id = m.id"),
                       {"c": t.creator_id, "ids": [i for i, _ in moved], "paths": [p for _, p in moved]})
    kept = {i for i, _ in moved}
    return [row.title for row in rows
            if row.id in kept and row.source_type == "upload" and row.old not in restored]


def _is_demo_path(storage_path: str) -> bool:
    parts = PurePosixPath(storage_path).parts
    return len(parts) == 2 and parts[0] == "demo" and "\\" not in storage_path and parts[1] not in {".", ".."}


def _mark_days_stale(t: Tenant) -> list[date]:
    """Every day with restored activity, for the rollup to recompute: today too, as the live
    paths (``event_batch``) mark it, so a copy's rollup bookkeeping matches its original's."""
    days = list(t.conn.execute(sa.text("""
        SELECT DISTINCT d FROM (
          SELECT ("timestamp" AT TIME ZONE 'UTC')::date AS d FROM video_analytics_events WHERE creator_id = :c
          UNION SELECT (session_start AT TIME ZONE 'UTC')::date FROM video_watch_sessions WHERE creator_id = :c
          UNION SELECT (created_at AT TIME ZONE 'UTC')::date FROM chat_messages WHERE creator_id = :c
        ) x ORDER BY d"""), {"c": t.creator_id}).scalars())
    if days:
        rollups.mark_days_stale(t, days)
    return days
