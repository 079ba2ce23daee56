"""The backup file's format: its name and version, what it leaves out, how much of one a restore
reads, the errors and the summaries an export and a restore return."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import ValidationError

FORMAT = "chronos.workspace-backup"
#: 2: uploaded media may follow the rows (``export_workspace(..., media=settings)``). A backup
#: without media is still written as 1, so that a Chronos that reads only 1 restores it.
FORMAT_VERSION = 2
_MEDIA_VERSION = 2

#: Recomputed by the rollup from the rows a backup keeps (rollups.py, students.py): daily video
#: metrics, which days are final, and the student bitmaps. Bitmaps could not be copied anyway:
#: student numbers follow the order of student ids, and a restore gives every student a new id.
DERIVED_TABLES = frozenset({"video_analytics", "viewing_days", "rollup_days", "student_numbers", "student_sets",
                            "course_students"})
#: Who else may open a workspace is decided by its owner on the server, not carried by a file:
#: restoring a copy next to the original must not hand the copy to the original's teammates, nor
#: let the original's write keys send events into the copy.
ACCESS_TABLES = frozenset({"workspace_members", "write_keys"})
#: Credentials for other services (the Whop connection's API key, encrypted): a backup file leaves
#: the server, and a key encrypted under this installation's secret is of no use elsewhere anyway.
SECRET_TABLES = frozenset({"whop_connections"})

_SCHEMA = "chronos"

# A JSON string token whose whole content is a uuid. An opening quote is never escaped; a quote
# inside a string always is, so uuids quoted inside longer text ("…\"<uuid>\"…") do not match.
_QUOTED_UUID = re.compile(r'(?<!\\)"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"')
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
    #: The restoring workspace's e-mail, and the days rolled up after the rows were committed: given
    #: by ``restore_backup`` (``restore_workspace`` alone leaves the rollup to its caller: None).
    workspace_email: str | None = None
    rolled_up_days: int | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def backup_filename(email: str, when: datetime | None = None) -> str:
    """``chronos-backup-<workspace>-<UTC time>.jsonl.gz``, safe on every file system."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", email.split("@")[0]).strip("._") or "workspace"
    return f"chronos-backup-{name}-{stamp}.jsonl.gz"


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
