"""Restoring a backup into an empty workspace: rows with fresh ids, the profile, media files and
new upload paths, all in one savepoint; and the restore a user asks for (the Settings page, the
CLI), which also rolls the restored days up once the rows are committed."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError, InternalError, ProgrammingError

from .. import creators
from ..config import Settings
from ..creators import UPLOAD_LIMIT_BYTES
from ..db import Database, Workspace
from ..errors import ValidationError
from ..uploads import keep_file, new_storage_path, remove_upload
from ..viewing import rollups
from .catalog import _ident, _load_schema, _qualified, _Schema, _Table
from .file_format import (
    _QUOTED_UUID,
    _SCHEMA,
    ACCESS_TABLES,
    DERIVED_TABLES,
    READ_LIMITS,
    BackupFileError,
    ReadLimits,
    RestoreSummary,
    WorkspaceNotEmpty,
    _header_creator,
    _text_or_none,
)
from .reading import _lines, _Plan, _read_plan, _reopenable, _Source

__all__ = ["ensure_empty", "restore_backup", "restore_workspace"]

log = logging.getLogger(__name__)

_BATCH_ROWS = 5000
_BATCH_BYTES = 8 * 1024 * 1024  # a batch of chunks with 1536-dimension vectors stays a few MB
# A row line as export_workspace writes it: the row's JSON is taken as is, without parsing it.
_ROW_LINE = re.compile(r'\{"table": "([a-z_][a-z0-9_]*)", "row": (\{.*\})\}')


def ensure_empty(t: Workspace, schema: _Schema | None = None) -> None:
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


def restore_workspace(t: Workspace, source: BinaryIO | Path | str | bytes, limits: ReadLimits = READ_LIMITS, *,
                      media: Settings | None = None) -> RestoreSummary:
    """Restore a backup into this (empty) workspace, with fresh ids; all or nothing.

    No file but the backup is read. Uploaded videos whose media file is in the backup (``export
    --with-media``) get it written into this workspace's own uploads when ``media`` gives the data
    folder; the others come back without media, each with a new, empty storage path there
    (``RestoreSummary.media_not_in_backup``). Files written for a restore that fails are removed.

    The daily rollups are not part of a backup: the restored days are marked stale, and the
    next ``rollups.rollup`` recomputes them. Run it after this transaction commits, not inside
    it: measured with 100 k events, rolling up inside the restoring transaction once took 345 s
    (the student bitmaps' join, on the second restore into one server), after commit 3-4 s.

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


def restore_backup(db: Database, creator_id: uuid.UUID, source: BinaryIO | Path | str | bytes, *,
                   settings: Settings | None = None, read_only: bool = False,
                   limits: ReadLimits = READ_LIMITS) -> RestoreSummary:
    """Restore a backup into the (empty) workspace ``creator_id`` and roll its days up: the restore
    the Settings page and ``python -m chronos_data restore`` offer.

    The rows go in by ``restore_workspace`` in one transaction, all or nothing; the daily metrics
    are rolled up in a second one once they are committed (inside the first, it once took 100
    times as long: see ``restore_workspace``).

    Args:
        settings: the settings whose data folder receives the backup's media files.
        read_only: the caller may only read this workspace (an analyst teammate): refused.

    Returns:
        The restore's summary, with the workspace's e-mail and the days rolled up.

    Raises:
        WorkspaceNotEmpty, BackupFileError: as ``restore_workspace``; the database is unchanged.
    """
    with db.workspace(creator_id, read_only=read_only) as t:
        summary = restore_workspace(t, source, limits, media=settings)
        email = creators.get_creator(t).email
    with db.workspace(creator_id) as t:
        rolled = rollups.rollup(t)
    return dataclasses.replace(summary, workspace_email=email, rolled_up_days=len(rolled.days))


@contextmanager
def _removed_unless_done(settings: Settings | None, written: list[str]) -> Iterator[None]:
    """Remove the media files in ``written`` if the block raises: a refused restore keeps no file."""
    try:
        yield
    except BaseException:
        for storage_path in written:
            remove_upload(settings, storage_path)
        raise


def _restore_media(t: Workspace, plan: _Plan, source: _Source, settings: Settings, written: list[str]) -> dict[str, str]:
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


def _check_targets(t: Workspace, schema: _Schema, plan: _Plan) -> None:
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


def _insert_rows(t: Workspace, schema: _Schema, plan: _Plan, source: _Source) -> None:
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


def _insert_batch(t: Workspace, statement: sa.TextClause, rows: list[str], ids: _NewIds) -> None:
    t.conn.execute(statement, {"creator": t.creator_id, "rows": ids.rewrite("[" + ",".join(rows) + "]")})


class _NewIds:
    """Rewrites JSON text: every id of a restored row, wherever it is mentioned, becomes that row's
    new id (from the temporary table the first reading filled). Other uuid-shaped values (a
    deleted video's id in an old citation) are kept as they are."""

    _CACHED = 200_000  # a workspace's videos and students are asked for once, not once per batch

    def __init__(self, t: Workspace) -> None:
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


def _restore_profile(t: Workspace, plan: _Plan) -> None:
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


def _new_upload_paths(t: Workspace, restored: dict[str, str]) -> list[str]:
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


def _mark_days_stale(t: Workspace) -> list[date]:
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
