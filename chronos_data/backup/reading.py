"""Reading a backup: a file read from its start as often as a restore needs, line by line within
``ReadLimits``, and its first reading, which checks it whole and records its ids before a row is
written."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import itertools
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

import sqlalchemy as sa

from ..db import Workspace
from .catalog import _migration_number, _Schema
from .file_format import (
    _MEDIA_FLOOR,
    _MEDIA_VERSION,
    _PART_PREFIX,
    _QUOTED_UUID,
    ACCESS_TABLES,
    DERIVED_TABLES,
    FORMAT,
    FORMAT_VERSION,
    BackupFileError,
    ReadLimits,
    _header_creator,
    _json,
    _size,
    _text_or_none,
)


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


def _read_plan(t: Workspace, schema: _Schema, source: _Source, media_limit: int) -> _Plan:
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


def _store_ids(t: Workspace, ids: list[str]) -> None:
    # A repeated id maps to one new id: a table whose key is also its parent's (one-to-one) keeps
    # matching it, and a row that really is in the file twice fails on the table's primary key.
    if ids:  # canonical uuids (checked): sent as one array literal
        t.conn.execute(sa.text("INSERT INTO chronos_restore_ids (old) SELECT unnest(CAST(:ids AS uuid[])) "
                               "ON CONFLICT DO NOTHING"), {"ids": "{" + ",".join(ids) + "}"})
