"""Every YouTube failure reaches the creator in the browser as one plain sentence with a retry.

The failures come from the real youtube-transcript-api reading recorded YouTube responses served
on 127.0.0.1; the app (its own worker off) shows what the pipeline stored.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chronos_data import creators
from chronos_data.config import Settings
from chronos_data.db import open_database
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from chronos_data.ingest.youtube import ProxySettings
from tests.e2e.conftest import SCREENSHOTS, StreamlitApp
from tests.fakes.youtube import FakeYouTube

pytestmark = pytest.mark.e2e

FAILURES = {
    # scenario: (video id, words the creator must read)
    "transcripts_disabled": ("disabled001", "has no captions on YouTube"),
    "age_restricted": ("agelimit001", "age-restricted"),
    "unavailable": ("gone0000001", "private, deleted or otherwise unavailable"),
    "request_blocked": ("blocked0001", "blocking caption requests from this server"),
    "too_many_requests": ("toomany0001", "received too many"),
    "po_token_required": ("potoken0001", "proof-of-origin token"),
    "no_english": ("noenglish01", "YouTube has them only in"),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("errors")
    instance = StreamlitApp(root / "chronos-data", root / "streamlit.log", {"CHRONOS_IMPORT_WORKER": "off"})
    try:
        instance.wait_until_healthy()
        yield instance
    finally:
        instance.stop()


def test_each_youtube_failure_is_explained_in_the_library(browser, app):
    from chronos_data.embeddings import LocalEmbedder

    settings = Settings.from_env({"CHRONOS_DATA_DIR": str(app.data_dir)})
    db = open_database(settings)  # the same data folder as the running app: a second process
    try:
        with db.engine.begin() as conn:
            creator = creators.ensure_creator(conn, settings.local_creator_email)
        with FakeYouTube() as youtube:
            ids = []
            for scenario, (video_id, _) in FAILURES.items():
                youtube.scenario(video_id, scenario)
                with db.workspace(creator) as t:
                    ids.append(pipeline.add_youtube_video(t, video_id, title=f"Lesson {scenario}",
                                                          only_these_languages=scenario == "no_english"))
            sources = pipeline.Sources(youtube_session=youtube.session(), proxy=ProxySettings(), sleep=lambda _: None,
                                       ytdlp_fallback=False)  # no second route to YouTube in this test
            run_until_done(db, creator, LocalEmbedder(), ids, sources=sources)
        _upload_with_a_rejected_openai_key(db, creator, app.data_dir)
    finally:
        db.dispose()

    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    try:
        page.goto(f"{app.url}/videos")
        page.get_by_text(f"{len(FAILURES) + 1} failed: why, and retry").wait_for(timeout=90_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "videos-failures.png"), full_page=True)
        # The library refreshes itself every few seconds: a rerun may be drawing the list when it is
        # read, so wait for each reason rather than read the text once.
        failures = page.locator('[data-testid="stExpander"]').filter(has_text="failed: why")
        for _scenario, (_, words) in FAILURES.items():
            expect(failures).to_contain_text(words, timeout=30_000)
        expect(failures).to_contain_text("OpenAI rejected the API key", timeout=30_000)
        # Likewise for the buttons: wait for them rather than count once.
        expect(page.get_by_role("button", name="Retry")).to_have_count(len(FAILURES) + 1, timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def _upload_with_a_rejected_openai_key(db, creator, data_dir) -> None:
    """An upload whose transcription OpenAI refuses: the key is wrong."""
    import subprocess

    import imageio_ffmpeg

    from chronos_data.embeddings import LocalEmbedder
    from chronos_data.uploads import store_upload
    from tests.fakes.openai_server import FakeOpenAI

    audio = data_dir / "tone.mp3"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=3", str(audio)], check=True)
    with FakeOpenAI() as api:
        settings = Settings.from_env({"CHRONOS_DATA_DIR": str(data_dir), "OPENAI_API_KEY": "sk-rejected",
                                      "OPENAI_BASE_URL": api.base_url})
        with db.workspace(creator) as t, audio.open("rb") as media:
            path = store_upload(settings, creator, audio.name, media, audio.stat().st_size, "basic")
            video_id = pipeline.add_upload_to_transcribe(t, storage_path=path, title="Lesson whisper",
                                                         file_size_bytes=audio.stat().st_size)
        run_until_done(db, creator, LocalEmbedder(), [video_id], sources=pipeline.Sources(settings=settings))
