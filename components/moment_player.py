"""The one in-page player for a moment of a video: YouTube, Loom, Mux or an uploaded file, from a second.

The Assistant (a cited passage), Insights (a finding's moment) and the course builder's student
preview (a lesson) all play through it, so a platform is handled in one place. An uploaded file plays
from the process's media server (``chronos_data.media_server``) by range requests: ``st.video`` of a
path would hold the whole file in memory.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

from chronos_data import uploads
from chronos_data.courses import Lesson
from chronos_data.errors import ChronosError
from chronos_data.ingest.sources import embed_url, find_source, key_of
from chronos_data.media_server import MediaServer
from chronos_data.timecode import format_seconds
from chronos_data.videos import Video
from components import state
from components.layout import inert

__all__ = ["media_url", "render_lesson_player", "render_moment_player", "upload_file"]

_HEIGHT = 420  # the iframe players' height: a 16:9 video at the main column's width


def render_moment_player(video: Video, start_seconds: int) -> None:
    """``video`` playing from ``start_seconds`` inside the page, under its title and the second (an
    upload only when it is this workspace's file and on disk)."""
    st.markdown(f"**{inert(video.title)}** from {format_seconds(start_seconds)}")
    if video.is_deleted:
        st.warning("This video is in the trash; restore it on the Videos page to play it.", icon=":material/delete:")
        return
    _play(video.source_type, key_of(video), video.storage_path, start_seconds)


def render_lesson_player(lesson: Lesson, start_seconds: int = 0) -> None:
    """A course lesson's video from ``start_seconds`` (the course builder's student preview)."""
    if lesson.video_is_deleted:
        st.error("This lesson's video was deleted; restore it from the video library's trash or remove "
                 "the lesson.", icon=":material/broken_image:")
        return
    _play(lesson.source_type, key_of(lesson), lesson.storage_path, start_seconds)


def _play(source_type: str, key: str | None, storage_path: str | None, start_seconds: int) -> None:
    """Every platform plays here, as its registered source says (``chronos_data.ingest.sources``)."""
    start = max(0, int(start_seconds))
    source = find_source(source_type)
    if source is not None and source.player == "file":
        if (file_url := media_url(storage_path)) is not None:
            st.video(file_url, start_time=start)  # a URL: the browser fetches ranges; ``#t=`` starts it at the second
        else:
            st.info("This uploaded video's file is not in this workspace's data folder (a demo lecture or a restored "
                    f"backup keeps only its transcript), so it cannot play here; the moment is at "
                    f"{format_seconds(start)}.", icon=":material/videocam_off:")
        return
    url = embed_url(source_type, key, start)
    if source is None or url is None:
        st.info(f"This video has no player link, so it cannot play here; the moment is at {format_seconds(start)}.",
                icon=":material/videocam_off:")
    elif source.player == "video":
        st.video(url, start_time=start)
    else:
        st.iframe(url, height=_HEIGHT)


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


def media_url(storage_path: str | None) -> str | None:
    """A URL the browser plays an upload from by range requests (this workspace's file, on disk),
    valid for ``media_server.TOKEN_SECONDS``; None when the file is not here."""
    if upload_file(storage_path) is None:
        return None
    creator_id = state.current_creator_id(state.get_database())
    settings = state.get_settings()
    server = _media_server(settings.data_dir.resolve(), _listen_host(), settings.media_port)
    return f"http://{_browser_host()}:{server.port}{server.path_for(creator_id, storage_path)}"


@st.cache_resource(show_spinner=False)
def _media_server(data_dir: Path, host: str, port: int) -> MediaServer:
    """One media server per process (and data folder), on the interface the app listens on
    (loopback by default), so it is reachable exactly where the app is."""
    return MediaServer(data_dir, host, port).start()


def _listen_host() -> str:
    address = st.get_option("server.address") or "127.0.0.1"
    return "0.0.0.0" if address in ("0.0.0.0", "::", "*") else address


def _browser_host() -> str:
    """The host name the browser reached the app by, when the server listens beyond loopback."""
    host = _listen_host()
    if host.startswith("127.") or host in ("localhost", "::1"):
        return "[::1]" if host == "::1" else "127.0.0.1"
    reached = urlsplit("//" + (st.context.headers.get("host") or "")).hostname
    if reached:
        return f"[{reached}]" if ":" in reached else reached
    return host
