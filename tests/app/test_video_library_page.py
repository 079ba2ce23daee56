"""The Videos page's library side through AppTest: a link to one video, the transcript viewer (paged,
searchable, timestamps that play in the page) and a Loom link added twice."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from chronos_data import creators, videos
from chronos_data.ingest import pipeline

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SRT = b"1\n00:00:02,000 --> 00:00:06,000\nGenerators yield values lazily.\n"
LOOM = "https://www.loom.com/share/0123456789abcdef0123456789abcdef"


@pytest.fixture
def workspace(app_env, monkeypatch, db):
    email = f"library-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    with db.engine.begin() as conn:
        return creators.ensure_creator(conn, email)


def test_a_link_to_one_video_opens_its_details_even_in_the_trash(workspace, db):
    """The Courses page's checklist links to ?video=<id>: the page opens on that video."""
    with db.workspace(workspace) as t:
        videos.create_video(t, title="Other", source_type="youtube", source_id="aaaaaaaaaaa")
        gone = videos.create_video(t, title="Gone lesson", source_type="youtube", source_id="bbbbbbbbbbb")
        videos.soft_delete_video(t, gone)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["video"] = str(gone)
    at.switch_page("pages/videos.py").run()
    assert not at.exception
    assert at.subheader[0].value == "Gone lesson"
    assert at.toggle(key="videos_show_trash").value is True
    assert at.button(key="videos_restore")


def _long_transcript(db, workspace, *, source_type: str, lines: int = 250) -> uuid.UUID:
    """A video with a stored transcript of ``lines`` lines, line i at second 10 * i."""
    with db.workspace(workspace) as t:
        if source_type == "mux":
            video = pipeline.add_subtitled_video(t, source_type="mux", source="https://stream.mux.com/a1B2c3D4e5F6g7H8i9J0k1L2.m3u8",
                                                 subtitle_bytes=SRT, subtitle_filename="talk.srt", title="Long talk")
        else:
            video = videos.create_video(t, title="Long talk", source_type="youtube", source_id="dQw4w9WgXcQ")
        segments = [[10.0 * i, 10.0 * i + 9, f"Sentence number {i} of the talk."] for i in range(lines)]
        t.conn.execute(sa.text("UPDATE videos SET transcript_segments = CAST(:s AS jsonb) WHERE id = :v"),
                       {"s": json.dumps(segments), "v": video})
        videos.set_status(t, video, "completed")
    return video


def _opened(video_id: uuid.UUID) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["video"] = str(video_id)
    return at.switch_page("pages/videos.py").run()


def _transcript_text(at: AppTest) -> str:
    return "\n".join(m.value.replace("\\", "") for m in at.markdown)


def test_a_long_transcript_is_paged_and_searchable_to_its_last_line(workspace, db):
    video = _long_transcript(db, workspace, source_type="youtube")
    at = _opened(video)
    assert not at.exception
    assert any("Page 1 of 3: lines 1–100 of 250 lines" in c.value for c in at.caption)
    assert "Sentence number 99 of" in _transcript_text(at) and "Sentence number 100 of" not in _transcript_text(at)

    at.number_input(key=next(w.key for w in at.number_input if w.key.startswith("videos_transcript_page_"))) \
        .set_value(3).run()
    assert "Sentence number 249 of" in _transcript_text(at)
    assert "youtube.com/watch?v=dQw4w9WgXcQ&t=2490" in _transcript_text(at)  # YouTube stamps stay links

    at.text_input(key=f"videos_transcript_find_{video}").input("number 123 ").run()
    assert any(c.value == "Page 1 of 1: line 124 of 1 line with 'number 123'." for c in at.caption)
    assert "Sentence number 123 of" in _transcript_text(at) and "Sentence number 1 of" not in _transcript_text(at)


def test_a_mux_timestamp_opens_the_player_in_the_page_at_that_second(workspace, db):
    video = _long_transcript(db, workspace, source_type="mux", lines=20)
    at = _opened(video)
    assert not at.exception
    at.button(key=f"videos_transcript_at_{video}_7").click().run()
    assert not at.exception
    [frame] = at.get("iframe")
    assert frame.proto.src.endswith("start-time=70")
    at.button(key="videos_transcript_close").click().run()
    assert not at.get("iframe")


def test_the_same_loom_link_twice_is_refused_and_points_at_the_copy_in_the_library(workspace, db):
    with db.workspace(workspace) as t:
        first = pipeline.add_subtitled_video(t, source_type="loom", source=LOOM, subtitle_bytes=SRT,
                                             subtitle_filename="talk.srt", title="Kick-off")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/videos.py").run()
    at.text_input(key="videos_loom_title").input("Kick-off again")
    at.text_input(key="videos_loom_link").input(LOOM.replace("/share/", "/embed/"))
    at.file_uploader(key="videos_loom_subtitle").upload("talk.srt", SRT, "application/x-subrip")
    next(b for b in at.button if b.proto.form_id == "videos_loom_form").click().run()
    assert not at.exception
    assert any("'Kick-off' is already in your library with this Loom link" in e.value for e in at.error)
    assert at.subheader[0].value == "Kick-off"  # the copy already there is opened
    with db.workspace(workspace) as t:
        assert [v.id for v in videos.list_videos(t)] == [first]
