"""An uploaded video cited by the Assistant plays in Chromium from the media server, by range requests,
from the cited second (issue 18: ``st.video`` of the file held all of it in the app's memory)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ROOT, SCREENSHOTS, chronos_env, running_app
from tests.rag_eval_set import LECTURES, to_srt

pytestmark = pytest.mark.e2e

TUPLES = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")
KEY_SENTENCE = "Because they cannot change, tuples can be used as dictionary keys."
SECOND = TUPLES.captions.index(KEY_SENTENCE) * 5  # each caption of the set lasts 5 s


@pytest.fixture(scope="module")
def app():
    import imageio_ffmpeg

    root = Path(tempfile.mkdtemp(prefix="chronos-upload-player-"))
    root.chmod(0o755)  # the embedded database's own user must reach the data folder when run as root
    try:
        clip, subtitles = root / "tuples.webm", root / "tuples.srt"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                        "-i", f"testsrc=duration={len(TUPLES.captions) * 5}:size=160x120:rate=2", "-c:v", "libvpx",
                        "-b:v", "40k", str(clip)], check=True, timeout=240)
        subtitles.write_bytes(to_srt(TUPLES))
        result = subprocess.run([sys.executable, "-m", "chronos_data", "import", str(clip), "--subtitles",
                                 str(subtitles), "--title", TUPLES.title], cwd=ROOT,
                                env=chronos_env(root / "chronos-data"), capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stderr
        with running_app(root) as instance:
            yield instance
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_cited_upload_plays_from_its_second_by_range_requests(autoplay_browser, app):
    page = autoplay_browser.new_page(viewport={"width": 1400, "height": 1000})
    media: list[tuple[int, str | None]] = []
    page.on("response", lambda r: media.append((r.status, r.headers.get("content-range")))
            if "/media/" in r.url and urlsplit(r.url).port != urlsplit(app.url).port else None)
    try:
        page.goto(f"{app.url}/assistant")
        box = page.get_by_placeholder("Ask a question about your videos")
        box.wait_for(timeout=90_000)
        box.fill("Can a tuple be used as a dictionary key?")
        box.press("Enter")
        answer = page.locator('[data-testid="stChatMessage"]').last
        answer.get_by_text("Sources (").first.wait_for(timeout=90_000)
        answer.get_by_text("Sources (").first.click()
        answer.get_by_role("button", name="Play").first.click()
        video = page.locator("video").first
        video.wait_for(timeout=60_000)

        src = video.get_attribute("src")
        # The media server's port, not the app's own /media/ route (Streamlit's media file manager).
        assert src.startswith("http://127.0.0.1:") and "/media/" in src, src
        assert urlsplit(src).port != urlsplit(app.url).port, src
        # Streamlit's player seeks to the cited second once the browser knows the duration; then it plays.
        page.wait_for_function(f"() => {{ const v = document.querySelector('video');"
                               f" return v.readyState >= 1 && v.currentTime >= {SECOND} - 1; }}", timeout=60_000)
        page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
        page.wait_for_function(f"() => document.querySelector('video').currentTime >= {SECOND} + 1", timeout=60_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "assistant-upload-player.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert any(status == 206 and (rng or "").startswith("bytes ") for status, rng in media), media
    finally:
        page.close()
