"""The one in-page player for a moment of a video: YouTube, Loom, Mux or an uploaded file, from a second.

The Assistant (a cited passage), Insights (a finding's moment) and the course builder's student
preview (a lesson) all play through it, so a platform is handled in one place.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import streamlit as st

from chronos_data import uploads
from chronos_data.courses import Lesson
from chronos_data.errors import ChronosError
from chronos_data.timecode import format_seconds
from chronos_data.videos import Video
from components import state
from components.layout import inert

__all__ = ["render_lesson_player", "render_moment_player", "upload_file"]

_HEIGHT = 420  # the iframe players' height: a 16:9 video at the main column's width


def render_moment_player(video: Video, start_seconds: int, file: Path | None = None) -> None:
    """``video`` playing from ``start_seconds`` inside the page, under its title and the second.

    Args:
        file: an upload's file on disk; looked up in this workspace's uploads when not given.
    """
    st.markdown(f"**{inert(video.title)}** from {format_seconds(start_seconds)}")
    if video.is_deleted:
        st.warning("This video is in the trash; restore it on the Videos page to play it.", icon=":material/delete:")
        return
    source_id = video.youtube_video_id or video.embed_id or video.mux_playback_id
    _play(video.source_type, source_id, file or upload_file(video.storage_path), start_seconds)


def render_lesson_player(lesson: Lesson, start_seconds: int = 0) -> None:
    """A course lesson's video from ``start_seconds`` (the course builder's student preview)."""
    if lesson.video_is_deleted:
        st.error("This lesson's video was deleted; restore it from the video library's trash or remove "
                 "the lesson.", icon=":material/broken_image:")
        return
    _play(lesson.source_type, lesson.youtube_video_id or lesson.embed_id, upload_file(lesson.storage_path),
          start_seconds)


def _play(source_type: str, source_id: str | None, file: Path | None, start_seconds: int) -> None:
    start = max(0, int(start_seconds))
    if source_type == "youtube" and source_id:
        st.video(f"https://www.youtube.com/watch?v={source_id}", start_time=start)
    elif source_type == "loom" and source_id:
        st.iframe(f"https://www.loom.com/embed/{quote(source_id)}?t={start}", height=_HEIGHT)
    elif source_type == "mux" and source_id:
        # Mux's hosted player page; ``start-time`` is its documented embed parameter (seconds).
        st.iframe(f"https://player.mux.com/{quote(source_id)}?start-time={start}", height=_HEIGHT)
    elif source_type == "upload" and file is not None:
        st.video(str(file), start_time=start)
    elif source_type == "upload":
        st.info("This uploaded video's file is not in this workspace's data folder (a demo lecture or a restored "
                f"backup keeps only its transcript), so it cannot play here; the moment is at "
                f"{format_seconds(start)}.", icon=":material/videocam_off:")
    else:
        st.info(f"This video has no player link, so it cannot play here; the moment is at {format_seconds(start)}.",
                icon=":material/videocam_off:")


def upload_file(storage_path: str | None) -> Path | None:
    """The upload's file, when it is in this workspace's uploads and on disk (every player of the
    app finds a file the same way, so what plays on one page plays on the others)."""
    if not storage_path:
        return None
    try:
        file = uploads.stored_file(state.get_settings(), storage_path, state.current_creator_id(state.get_database()))
    except ChronosError:  # not this workspace's file (a restored backup's video, the demo's lectures)
        return None
    return file if file.is_file() else None
