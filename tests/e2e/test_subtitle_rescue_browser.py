"""A YouTube video that YouTube refused (a proof-of-origin token) is completed in the browser by
attaching its subtitle file, and stays a YouTube video: its transcript links open YouTube at each
moment (issue 17 item 5).

The refusal comes from the real youtube-transcript-api reading recorded answers on 127.0.0.1; the
app (its own worker off) shows what the pipeline, run here against the same fake, stored.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chronos_data import creators, videos
from chronos_data.config import Settings
from chronos_data.db import open_database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from chronos_data.ingest.youtube import ProxySettings
from tests.e2e.conftest import SCREENSHOTS, running_app
from tests.fakes.youtube import FakeYouTube

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

VIDEO = "potokenE2E1"
SRT = (b"1\n00:00:01,000 --> 00:00:05,000\nWelcome back to the course on closures.\n\n"
       b"2\n00:01:10,000 --> 00:01:15,000\nA closure remembers the variables around it.\n")


def test_a_refused_youtube_video_is_completed_with_its_subtitle_file(browser, tmp_path):
    with running_app(tmp_path, {"CHRONOS_IMPORT_WORKER": "off"}) as app, FakeYouTube() as youtube:
        settings = Settings.from_env({"CHRONOS_DATA_DIR": str(app.data_dir)})
        db = open_database(settings)  # the same data folder as the running app: a second process
        sources = pipeline.Sources(youtube_session=youtube.session(), proxy=ProxySettings(), sleep=lambda _: None,
                                   ytdlp_fallback=False)
        srt = tmp_path / "closures.srt"
        srt.write_bytes(SRT)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        try:
            with db.engine.begin() as conn:
                creator = creators.ensure_creator(conn, settings.local_creator_email)
            youtube.scenario(VIDEO, "po_token_required")
            with db.workspace(creator) as t:
                video_id = pipeline.add_youtube_video(t, VIDEO)
            run_until_done(db, creator, LocalEmbedder(), [video_id], sources=sources)

            page.goto(f"{app.url}/videos")
            page.get_by_role("button", name="Fix", exact=True).click()
            form = page.locator('[data-testid="stForm"]').filter(has_text="Use the video's subtitle file instead")
            form.locator('input[type="file"]').set_input_files(str(srt))
            form.get_by_text("closures.srt").wait_for(timeout=30_000)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "videos-failed-youtube-subtitle-file.png"), full_page=True)
            form.get_by_role("button", name="Import with this subtitle file").click()

            expect(page.get_by_role("button", name="Fix", exact=True)).to_have_count(0, timeout=30_000)  # no longer failed
            with db.workspace(creator) as t:
                assert videos.get_video(t, video_id).transcript_method == "subtitle_file"
            run_until_done(db, creator, LocalEmbedder(), [video_id], sources=sources)
            with db.workspace(creator) as t:
                video = videos.get_video(t, video_id)
            assert (video.status, video.youtube_video_id) == ("completed", VIDEO)

            assert video.thumbnail_url == f"https://i.ytimg.com/vi/{VIDEO}/hqdefault.jpg"
            page.reload()
            page.get_by_text("1 ready").wait_for(timeout=60_000)
            expect(page.get_by_text("failed: why, and retry")).to_have_count(0)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            page.close()
            db.dispose()
