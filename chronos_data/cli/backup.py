"""Workspace backups from the command line: export, restore."""

from __future__ import annotations

import argparse
from typing import Any

from .. import creators
from ..config import Settings
from ..db import open_database
from .common import TextResult, command, in_workspace, table_rows


def add_export(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "export", _export,
                  "write every row of the workspace (transcripts and embeddings included; media files with "
                  "--with-media) to a backup file")
    sub.add_argument("--out", metavar="FILE", required=True, help="the backup file to write (.jsonl.gz)")
    sub.add_argument("--with-media", action="store_true",
                     help="write the uploaded videos' media files into the backup too (a restore plays them)")


def add_restore(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = command(commands, common, "restore", _restore,
                  "restore a backup file into an empty workspace with fresh ids; all or nothing")
    sub.add_argument("file", metavar="FILE", help="a backup file made by export")
    sub.add_argument("--as-creator", metavar="EMAIL",
                     help="restore into this workspace, created if missing (default: --creator's)")


def _export(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from pathlib import Path

    from .. import backup

    media = settings if args.with_media else None
    summary = in_workspace(args, settings, lambda t: backup.export_workspace(t, Path(args.out), media=media))
    data = {"file": args.out, "bytes": summary.bytes_written, "workspace": summary.email,
            "creator_id": str(summary.creator_id), "schema_version": summary.schema_version, "rows": summary.rows,
            "seconds": round(summary.seconds, 2), "recomputed_on_restore": summary.recomputed,
            "uploaded_media_not_included": summary.uploaded_media, "media_files": summary.media_files,
            "media_bytes": summary.media_bytes}
    lines = [f"exported {summary.total_rows:,} rows of {summary.email} to {args.out} "
             f"({summary.bytes_written / 1024**2:.1f} MB) in {summary.seconds:.1f} s"]
    lines += table_rows(summary.rows)
    lines.append(f"recomputed on restore, not stored: {', '.join(summary.recomputed)}")
    if summary.media_files:
        lines.append(f"included: the media files of {summary.media_files} uploaded videos "
                     f"({summary.media_bytes / 1024**2:.1f} MB)")
    if summary.uploaded_media:
        lines.append(f"not included: the media files of {summary.uploaded_media} uploaded videos (a restore brings "
                     "their transcripts; upload the files again there to play them"
                     + (")" if args.with_media else ", or export --with-media)"))
    return TextResult(data, "\n".join(lines))


def _restore(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from pathlib import Path

    from .. import backup
    from ..errors import ValidationError

    if not Path(args.file).is_file():
        raise ValidationError(f"There is no file {args.file}; check the name.")
    db = open_database(settings)
    try:
        with db.engine.begin() as conn:
            creator_id = creators.ensure_creator(conn, args.as_creator or args.creator or settings.local_creator_email)
        summary = backup.restore_backup(db, creator_id, Path(args.file), settings=settings)
    finally:
        db.dispose()
    email = summary.workspace_email
    data = {"file": args.file, "workspace": email, "creator_id": str(creator_id), "source": summary.source_email,
            "exported_at": summary.exported_at, "schema_version": summary.schema_version, "rows": summary.rows,
            "rolled_up_days": summary.rolled_up_days, "seconds": round(summary.seconds, 2),
            "uploaded_media": summary.uploaded_media, "media_restored": summary.media_restored,
            "media_not_in_backup": summary.media_not_in_backup}
    lines = [f"restored {summary.total_rows:,} rows into {email} ({creator_id}) from the backup of "
             f"{summary.source_email} made {summary.exported_at}, in {summary.seconds:.1f} s"]
    lines += table_rows(summary.rows)
    lines.append(f"recomputed: {', '.join(summary.recomputed)} ({summary.rolled_up_days} days rolled up)")
    if summary.media_restored:
        lines.append(f"media files restored from the backup: {summary.media_restored}")
    if summary.media_not_in_backup:
        lines.append(f"media not in the backup: re-upload the files of {len(summary.media_not_in_backup)} uploaded "
                     "videos to play them (transcripts, search and the assistant work without them): "
                     + ", ".join("".join(c for c in title if c.isprintable()) for title in summary.media_not_in_backup))
    return TextResult(data, "\n".join(lines))
