"""Uploaded media files, kept under the data folder (the seeds' storage_path), with tier limits."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from .config import Settings
from .creators import UPLOAD_LIMIT_BYTES
from .errors import ValidationError

__all__ = ["MEDIA_EXTENSIONS", "check_upload", "store_upload", "stored_file"]

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
    """Copy an uploaded file into the data folder; returns its storage path (relative to it).

    A failed copy (a full disk) removes the partial file, so nothing is left behind.
    """
    check_upload(filename, size_bytes, tier)
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name).strip("._") or "upload"
    relative = Path("uploads") / str(creator_id) / uuid.uuid4().hex / safe_name
    target = settings.data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("wb") as out:
            shutil.copyfileobj(source, out, length=1024 * 1024)
    except OSError as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        reason = "the disk is full" if getattr(exc, "errno", None) == 28 else (exc.strerror or str(exc)).lower()
        raise ValidationError(f"{filename} could not be saved ({reason}); free some space and try again.") from exc
    return relative.as_posix()


def stored_file(settings: Settings, storage_path: str) -> Path:
    """Where an upload's file is on disk (storage paths are relative to the data folder)."""
    return settings.data_dir / storage_path
