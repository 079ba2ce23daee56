"""The Settings page's Backup section: download the workspace as a file, restore one into it."""

from __future__ import annotations

import io

import streamlit as st

from chronos_data import backup, creators
from chronos_data.errors import ChronosError
from components import state

__all__ = ["render_backup_panel"]


def _backup_bytes() -> bytes:
    out = io.BytesIO()
    with state.workspace() as t:
        backup.export_workspace(t, out)
    return out.getvalue()


def render_backup_panel() -> None:
    """A download button for a backup of this workspace, and a restore when the workspace is empty."""
    st.subheader("Backup")
    with state.workspace() as t:
        email = creators.get_creator(t).email
        read_only = getattr(t, "read_only", False)
        try:
            backup.ensure_empty(t)
            empty = True
        except backup.WorkspaceNotEmpty:
            empty = False
    st.caption("A backup holds every row of this workspace: videos with their transcripts and embeddings, "
               "courses, students, conversations and viewing history. Uploaded media files are not in it: after a "
               "restore, upload them again to play them (`python -m chronos_data export --with-media` makes a backup "
               "with them). Daily metrics are recomputed after a restore.")
    # Written when clicked, not on every rerun of the page.
    st.download_button("Download backup", _backup_bytes, backup.backup_filename(email), "application/gzip",
                       key="settings_backup_download", icon=":material/download:", on_click="ignore")
    if read_only:
        st.caption("Restoring needs the workspace owner: your access is read-only.")
        return
    if not empty:
        st.caption("A backup is restored only into an empty workspace, and this one already has data. To restore "
                   "next to it, run `python -m chronos_data restore FILE --as-creator NEW_EMAIL`.")
        return
    upload = st.file_uploader("Backup file (.jsonl.gz)", type=["gz", "jsonl"], key="settings_backup_file")
    if not st.button("Restore into this workspace", key="settings_backup_restore",
                     icon=":material/settings_backup_restore:", disabled=upload is None):
        return
    with st.spinner("Restoring the backup…"):
        try:
            db = state.get_database()
            summary = backup.restore_backup(db, state.current_creator_id(db), upload, settings=state.get_settings(),
                                            read_only=not state.can_edit())
        except ChronosError as exc:
            st.error(str(exc), icon=":material/error:")
            return
    held = ", ".join(f"{count:,} {table.replace('_', ' ')}" for table, count in summary.rows.items() if count)
    st.success(f"Restored the backup of {summary.source_email or 'a workspace'}: {held}.",
               icon=":material/check_circle:")
    if summary.media_not_in_backup:
        count = len(summary.media_not_in_backup)
        st.warning(f"Media not in the backup: re-upload the file of {count} uploaded "
                   f"{'video' if count == 1 else 'videos'} to play {'it' if count == 1 else 'them'} here; their "
                   "transcripts, search and the assistant work already.", icon=":material/videocam_off:")
