"""The Student preview page through AppTest: every lesson the Assistant can play plays here too."""

from __future__ import annotations

import uuid
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import courses, creators, uploads, videos
from chronos_data.ingest import pipeline

APP = str(Path(__file__).resolve().parents[2] / "app.py")
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
SRT = b"1\n00:00:02,000 --> 00:00:06,000\nGenerators yield values lazily.\n"
CANNOT_PLAY = "cannot play inside Chronos"


@pytest.fixture
def workspace(app_env, monkeypatch, db, settings, tmp_path) -> tuple[uuid.UUID, Path]:
    email = f"preview-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path))
    with db.engine.begin() as conn:
        return creators.ensure_creator(conn, email), tmp_path


def _uploaded_lesson(workspace, db, settings, *, size: int | None = None) -> None:
    """An uploaded lecture (grown to ``size`` bytes as a sparse file: nothing written) in a course."""
    creator, data_dir = workspace
    stored = uploads.keep_file(replace(settings, data_dir=data_dir), creator, "lecture.mp4", BytesIO(FAKE_MP4))
    if size is not None:
        with open(data_dir / stored, "r+b") as f:
            f.truncate(size)
    with db.workspace(creator) as t:
        video = pipeline.add_subtitled_video(t, source_type="upload", source=stored, subtitle_bytes=SRT,
                                             subtitle_filename="lecture.srt", title="Lecture")
    _course_of(db, creator, video)


def _course_of(db, creator, video) -> None:
    with db.workspace(creator) as t:
        videos.set_status(t, video, "completed")
        course = courses.create_course(t, "Course")
        courses.add_lesson(t, courses.create_module(t, course, "Week 1"), video)


def _preview() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    return at.switch_page("pages/preview.py").run()


def test_an_uploaded_lesson_plays(workspace, db, settings):
    _uploaded_lesson(workspace, db, settings)
    at = _preview()
    assert not at.exception
    assert not any(CANNOT_PLAY in i.value for i in at.info)


def test_a_loom_lesson_plays_in_the_page_as_on_the_assistant(workspace, db):
    creator, _ = workspace
    with db.workspace(creator) as t:
        video = pipeline.add_subtitled_video(
            t, source_type="loom", source="https://www.loom.com/share/0123456789abcdef0123456789abcdef",
            subtitle_bytes=SRT, subtitle_filename="talk.srt", title="Talk")
    _course_of(db, creator, video)
    at = _preview()
    assert not at.exception
    assert not any(CANNOT_PLAY in i.value for i in at.info)
    [frame] = at.get("iframe")
    assert "loom.com/embed/0123456789abcdef0123456789abcdef" in frame.proto.src
    assert any("viewing is not recorded" in c.value for c in at.caption)


def test_a_large_upload_plays_in_the_tracking_player_from_the_media_server(workspace, db, settings):
    """A file over 300 MB used to fall back to ``st.video`` (read whole into memory, viewing not recorded)."""
    _uploaded_lesson(workspace, db, settings, size=400 * 1024**2)
    at = _preview()
    assert not at.exception
    assert not at.get("video")  # not Streamlit's player, which holds the file in memory
    assert not any("not recorded" in c.value for c in at.caption)


def test_a_mux_lesson_plays_in_the_page_as_on_the_assistant(workspace, db):
    """The lesson player (student preview and the course builder's preview) forgot Mux: it said
    "no player link" while the Assistant played the same video."""
    creator, _ = workspace
    playback = "EcHgOK9coz5K4rjSwOkoE7Y7O01201YMIC200RI6lNxnhs"
    with db.workspace(creator) as t:
        video = pipeline.add_subtitled_video(t, source_type="mux", source=f"https://stream.mux.com/{playback}.m3u8",
                                             subtitle_bytes=SRT, subtitle_filename="talk.srt", title="Talk")
    _course_of(db, creator, video)
    at = _preview()
    assert not at.exception
    assert not any("no player link" in i.value for i in at.info)
    [frame] = at.get("iframe")
    assert frame.proto.src == f"https://player.mux.com/{playback}?start-time=0"
    assert any("viewing is not recorded" in c.value for c in at.caption)
