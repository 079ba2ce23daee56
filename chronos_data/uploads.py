"""Uploaded media files, kept under the data folder (the seeds' storage_path), with tier limits."""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .config import Settings
from .creators import UPLOAD_LIMIT_BYTES
from .errors import ValidationError

__all__ = ["MEDIA_EXTENSIONS", "check_upload", "keep_file", "new_storage_path", "remove_leftovers", "remove_upload",
           "removed_on_error", "check_storage_path", "store_upload", "stored_file"]

log = logging.getLogger(__name__)

_COPY_BLOCK = 1024 * 1024
#: A copy whose .part file nobody wrote to for this long was cut off (the process was killed):
#: a copy under way writes a block at least every few seconds.
LEFTOVER_AFTER_SECONDS = 15 * 60
_MAX_STEM, _MAX_SUFFIX = 120, 10  # characters of a kept file's name, well under 255 bytes

MEDIA_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".mp3", ".m4a", ".wav", ".ogg", ".flac")


def check_upload(filename: str, size_bytes: int, tier: str) -> None:
    """Refuse a media file of an unsupported type or over the tier's size limit."""
    suffix = Path(filename).suffix.lower()
    if suffix not in MEDIA_EXTENSIONS:
        raise ValidationError(
            f"{filename} is not an audio or video file Chronos can keep; upload one of "
            f"{', '.join(MEDIA_EXTENSIONS)}."
        )
    limit = UPLOAD_LIMIT_BYTES.get(tier, UPLOAD_LIMIT_BYTES["basic"])
    if size_bytes > limit:
        raise ValidationError(
            f"{filename} is {size_bytes / 1024**3:.1f} GB; the {tier} plan takes files up to "
            f"{limit // 1024**3} GB. Compress it, or import it from YouTube instead."
        )


def store_upload(settings: Settings, creator_id: uuid.UUID, filename: str, source: BinaryIO, size_bytes: int,
                 tier: str) -> str:
    """Copy an uploaded media file into the data folder; returns its storage path (relative to it).

    Raises:
        ValidationError: the file's type or size is refused, or it could not be written (a full
            disk); nothing of it is left behind.
    """
    check_upload(filename, size_bytes, tier)
    return keep_file(settings, creator_id, filename, source)


def keep_file(settings: Settings, creator_id: uuid.UUID, filename: str, source: BinaryIO) -> str:
    """Copy any file into the data folder's uploads, in a folder of its own; returns its storage path.

    The copy is written under a temporary name, flushed to the disk, then renamed: a file under its
    final name is always whole. A failed copy removes what was written.
    """
    relative = new_storage_path(creator_id, filename)
    target = settings.data_dir / relative
    partial = target.with_name(target.name + ".part")
    try:
        _private_folders(settings.data_dir, target.parent)
        # Readable by this user only: a creator's media is theirs, not every local account's.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            while block := source.read(_COPY_BLOCK):
                view = memoryview(block)
                while view:
                    view = view[os.write(descriptor, view):]
            os.fsync(descriptor)  # some file systems report a full disk only here
        finally:
            os.close(descriptor)
        os.replace(partial, target)
    except OSError as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        log.warning("could not save %s: %s", filename, exc)
        raise ValidationError(_unsaved(filename, exc)) from exc
    return relative


def new_storage_path(creator_id: uuid.UUID, filename: str) -> str:
    """A fresh storage path in ``creator_id``'s uploads for a file called ``filename``:
    uploads/<creator>/<new folder>/<safe name>. Nothing is written."""
    # The suffix is kept apart: "講義.mp4" must not become "mp4" (players and ffmpeg go by it), and
    # a 300-character name must not exceed the file system's 255 bytes.
    original = Path(filename)
    suffix = re.sub(r"[^A-Za-z0-9]+", "", original.suffix)[:_MAX_SUFFIX]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", original.stem).lstrip("._")[:_MAX_STEM] or "upload"
    safe_name = f"{stem}.{suffix}" if suffix else stem
    return f"uploads/{creator_id}/{uuid.uuid4().hex}/{safe_name}"


def _private_folders(root: Path, folder: Path) -> None:
    """Create ``folder`` (and the missing ones between it and ``root``) for this user only (0700)."""
    missing = []
    for parent in [folder, *folder.parents]:
        if parent == root or parent.exists():
            break
        missing.append(parent)
    root.mkdir(parents=True, exist_ok=True)
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)  # mkdir's mode is reduced by the umask; 0700 is what is meant


def remove_leftovers(settings: Settings, *, now: float | None = None) -> int:
    """Delete the ``.part`` files of copies that were cut off (the process was killed mid-copy), with
    the folder of their own when it is left empty; returns how many. A ``.part`` written to in the
    last ``LEFTOVER_AFTER_SECONDS`` belongs to a copy under way (another process) and is kept."""
    uploads = settings.data_dir / "uploads"
    if not uploads.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for partial in uploads.glob("*/*/*.part"):
        try:
            if now - partial.stat().st_mtime < LEFTOVER_AFTER_SECONDS:
                continue
            partial.unlink()
            removed += 1
            if not any(partial.parent.iterdir()):
                partial.parent.rmdir()
        except OSError as exc:  # another process removed it first, or it cannot be removed
            log.warning("could not remove the leftover %s: %s", partial, exc)
    if removed:
        log.info("removed %d unfinished upload copies left by a stopped process", removed)
    return removed


@contextmanager
def removed_on_error(settings: Settings, storage_path: str) -> Iterator[str]:
    """Yield ``storage_path``; if the block raises (a refused subtitle file, a failed commit), remove
    the stored file, so no file is kept that no video uses. Wrap the transaction that creates the
    video, so that its commit happens inside the block."""
    try:
        yield storage_path
    except BaseException:
        remove_upload(settings, storage_path)
        raise


def remove_upload(settings: Settings, storage_path: str) -> None:
    """Delete a stored upload and the folder of its own that ``keep_file`` made for it."""
    parts = Path(storage_path).parts
    if len(parts) != 4 or parts[0] != "uploads" or ".." in parts:
        raise ValueError(f"{storage_path!r} is not a storage path made by keep_file")
    shutil.rmtree(settings.data_dir / Path(*parts[:3]), ignore_errors=True)


def _unsaved(filename: str, exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{filename} could not be saved because the disk is full; free some space and upload it again."
    if exc.errno == errno.EFBIG:
        return (f"{filename} could not be saved because it is larger than this computer lets Chronos write; "
                "raise the file size limit or upload a smaller file.")
    reason = (exc.strerror or str(exc)).lower()
    return f"{filename} could not be saved ({reason}); check that Chronos may write to its data folder, then upload it again."


def check_storage_path(creator_id: uuid.UUID, storage_path: str) -> str:
    """``storage_path`` if it names a file in this workspace's own uploads folder (as ``keep_file``
    makes them: uploads/<creator>/<folder>/<name>, or the demo's shared demo/<name>); a video must
    never point at another workspace's file, or outside the data folder."""
    parts = Path(storage_path).parts
    own = len(parts) == 4 and parts[:2] == ("uploads", str(creator_id))
    demo = len(parts) == 2 and parts[0] == "demo"
    if not (own or demo) or ".." in parts:
        raise ValidationError("That file is not one of this workspace's uploads; upload it again.")
    return storage_path


def stored_file(settings: Settings, storage_path: str, creator_id: uuid.UUID) -> Path:
    """Where an upload's file is on disk (storage paths are relative to the data folder).

    Raises:
        ValidationError: the path is not in ``creator_id``'s uploads (a restored backup's videos
            keep the paths of the workspace they came from).
    """
    return settings.data_dir / check_storage_path(creator_id, storage_path)
