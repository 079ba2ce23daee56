"""Ctrl-C (SIGTERM) of `streamlit run app.py` in the middle of an import, then a restart: the new
app resumes the video at once instead of after the five-minute lease (issue 17 item 4)."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from chronos_data.config import Settings
from chronos_data.db import open_database
from chronos_data.ingest import pipeline
from tests.conftest import new_creator
from tests.e2e.conftest import StreamlitApp
from tests.faults.test_graceful_stop import _long_srt
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_a_gracefully_stopped_app_leaves_its_import_to_the_restarted_one(browser, fresh_url, tmp_path):
    settings = Settings(database_url=fresh_url, data_dir=tmp_path / "data", openai_api_key=None,
                        openai_base_url=None)
    db = open_database(settings)
    creator = new_creator(db, "restart")
    with db.workspace(creator) as t:
        video_id = pipeline.add_subtitled_video(
            t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
            subtitle_bytes=_long_srt(5000), subtitle_filename="lecture.srt", title="A long lecture")

    def video():
        with db.workspace(creator) as t:
            return t.conn.execute(sa.text("SELECT status, claimed_at, progress FROM videos WHERE creator_id = :c "
                                          "AND id = :v"), {"c": creator, "v": video_id}).one()

    env = {"DATABASE_URL": fresh_url, "CHRONOS_IMPORT_LEASE_SECONDS": "300"}  # the default lease, said out loud
    page = browser.new_page()
    first = StreamlitApp(tmp_path / "data", tmp_path / "first.log", env)
    second = None
    try:
        first.wait_until_healthy()
        page.goto(f"{first.url}/videos")  # the first page view starts the app's import worker
        wait_until(lambda: video().status == "embedding" and video().progress > 0, timeout=240,
                   what="the first app to be embedding")
        first.stop()  # SIGTERM, what Ctrl-C amounts to
        first_log = first.log_path.read_text()
        assert first.process.returncode == 0, first_log
        assert "terminate called" not in first_log
        interrupted = video()
        assert (interrupted.status, interrupted.claimed_at) == ("embedding", None), first_log

        second = StreamlitApp(tmp_path / "data", tmp_path / "second.log", env)
        second.wait_until_healthy()
        page.goto(f"{second.url}/videos")
        # Well inside the 300 s lease: only a released claim lets the new worker in this soon.
        viewed_at = time.monotonic()
        wait_until(lambda: video().claimed_at is not None or video().status == "completed", timeout=60,
                   what="the restarted app to take the video")
        resumed = time.monotonic() - viewed_at
        wait_until(lambda: video().status == "completed", timeout=240, what="the restarted app to finish the video")
        print(f"\nrestarted app took the interrupted video {resumed:.1f} s after its first page view")
    finally:
        page.close()
        for app in (first, second):
            if app is not None:
                app.stop()
        db.dispose()
