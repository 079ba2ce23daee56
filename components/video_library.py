"""Pieces of the video library: status labels, timestamps, the transcript viewer."""

from __future__ import annotations

import streamlit as st

from chronos_data.ingest.links import moment_url
from chronos_data.timecode import format_seconds as format_timestamp
from chronos_data.videos import Video
from components.layout import inert

__all__ = ["STATUS_LABELS", "format_timestamp", "render_transcript", "source_key", "status_label"]

STATUS_LABELS = {
    "pending": "Queued",
    "uploading": "Uploading",
    "transcribing": "Fetching transcript",
    "processing": "Chunking transcript",
    "embedding": "Embedding",
    "completed": "Ready",
    "failed": "Failed",
}
_STAGE_SHARE = {"pending": 0.0, "uploading": 0.05, "transcribing": 0.1, "processing": 0.4, "embedding": 0.5}


def status_label(video: Video) -> str:
    return STATUS_LABELS.get(video.status, video.status)


def overall_progress(video: Video) -> float:
    """0..1 across the whole pipeline, for one progress bar per video."""
    if video.status == "completed":
        return 1.0
    base = _STAGE_SHARE.get(video.status, 0.0)
    return min(0.99, base + (0.5 * video.progress if video.status == "embedding" else 0.0))


def source_key(video: Video) -> str | None:
    return video.youtube_video_id or video.embed_id or video.mux_playback_id


def render_transcript(video: Video, segments: list[tuple[float, float, str]], *, limit: int = 400) -> None:
    """The timed transcript; each timestamp links to that moment where the source allows it."""
    if not segments:
        st.caption("No transcript stored yet.")
        return
    lines = []
    for start, _end, text in segments[:limit]:
        stamp = format_timestamp(start)
        url = moment_url(video.source_type, source_key(video), start)
        label = f"[`{stamp}`]({url})" if url else f"`{stamp}`"
        lines.append(f"{label} {inert(text)}")
    # A scroll box only when the transcript is long; a short one shows whole.
    with st.container(height=420 if len(lines) > 15 else "content", border=True):
        st.markdown("  \n".join(lines))
    if len(segments) > limit:
        st.caption(f"Showing the first {limit} of {len(segments)} lines.")

