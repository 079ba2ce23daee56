"""A creator adds a Loom video with its subtitle file in the browser and reads the transcript."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SCREENSHOTS, running_app

pytestmark = pytest.mark.e2e

SRT = """1
00:00:01,000 --> 00:00:04,000
Welcome back. Today: list comprehensions.

2
00:00:04,500 --> 00:00:09,000
A comprehension builds a new list from an old one in a single line.
"""


LOOM = "https://www.loom.com/share/0123456789abcdef0123456789abcdef"


def _loom_form(page):
    """Open the Add videos panel if it is folded, then the Loom tab; return its form."""
    tab = page.get_by_role("tab", name="Loom")
    if not tab.is_visible():
        page.get_by_text("Add videos").first.click()
    tab.click()
    return page.locator('[data-testid="stForm"]').filter(has_text="Loom share link")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("importer")) as instance:
        yield instance


def test_add_a_loom_video_with_subtitles_and_see_it_ready(browser, app, tmp_path):
    subtitle = tmp_path / "comprehensions.srt"
    subtitle.write_text(SRT)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app.url}/videos")
        page.get_by_text("Your library is empty").wait_for(timeout=90_000)
        # A fresh process's first view must still go through app.py's router (its sections).
        assert "Account" in page.locator('[data-testid="stSidebarNav"]').inner_text()
        form = _loom_form(page)
        form.get_by_role("textbox", name="Title", exact=True).fill("List comprehensions")
        form.get_by_role("textbox", name="Loom share link").fill(LOOM)
        form.locator('input[type="file"]').set_input_files(str(subtitle))
        form.get_by_text("comprehensions.srt").wait_for(timeout=30_000)
        form.get_by_role("button", name="Add video").click()

        # The worker processes it in the background; the library updates by itself.
        try:
            page.get_by_text("1 ready").wait_for(timeout=90_000)
        finally:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "videos-after-add.png"), full_page=True)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "videos-ready.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0

        # Select the row (the grid's first column is its selection box) to open the transcript.
        page.locator('[data-testid="stDataFrame"]').first.click(position={"x": 14, "y": 54})
        page.get_by_text("Chunks:").wait_for(timeout=30_000)
        try:
            page.get_by_text("A comprehension builds a new list").wait_for(timeout=30_000)
        finally:
            page.screenshot(path=str(SCREENSHOTS / "videos-transcript.png"), full_page=True)
        link = page.get_by_role("link", name="00:04")
        assert link.get_attribute("href") == "https://www.loom.com/share/0123456789abcdef0123456789abcdef?t=4"
        page.screenshot(path=str(SCREENSHOTS / "videos-transcript.png"), full_page=True)
    finally:
        page.close()


def test_a_malformed_subtitle_file_gets_a_plain_message(browser, app, tmp_path):
    bad = tmp_path / "broken.srt"
    bad.write_bytes(b"")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app.url}/videos")
        page.get_by_role("heading", name="Video library").wait_for(timeout=90_000)
        form = _loom_form(page)
        form.get_by_role("textbox", name="Title", exact=True).fill("Broken")
        form.get_by_role("textbox", name="Loom share link").fill(LOOM)
        form.locator('input[type="file"]').set_input_files(str(bad))
        form.get_by_text("broken.srt").wait_for(timeout=30_000)
        form.get_by_role("button", name="Add video").click()
        alert = page.locator('[data-testid="stAlertContentError"]').first
        alert.wait_for(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "videos-bad-subtitle.png"), full_page=True)
        assert "empty" in alert.inner_text()
    finally:
        page.close()


def test_a_bad_link_and_a_missing_subtitle_file_are_explained(browser, app, tmp_path):
    media = tmp_path / "lecture.mp3"
    media.write_bytes(b"ID3" + b"\0" * 64)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app.url}/videos")
        page.get_by_role("heading", name="Video library").wait_for(timeout=90_000)
        if not page.get_by_role("tab", name="YouTube").is_visible():
            page.get_by_text("Add videos").first.click()
        form = page.locator('[data-testid="stForm"]').filter(has_text="YouTube link or video id")
        form.get_by_role("textbox", name="YouTube link or video id").fill("https://vimeo.com/76979871")
        form.get_by_role("button", name="Add video").click()
        page.get_by_text("is not a YouTube, Loom or Mux link").wait_for(timeout=30_000)

        page.get_by_role("tab", name="Upload a file").click()
        upload = page.locator('[data-testid="stForm"]').filter(has_text="Audio or video file")
        upload.get_by_role("textbox", name="Title", exact=True).fill("Lecture")
        upload.locator('input[type="file"]').first.set_input_files(str(media))
        upload.get_by_text("lecture.mp3").wait_for(timeout=30_000)
        upload.get_by_role("button", name="Add video").click()
        page.get_by_text("or set OPENAI_API_KEY so Chronos can transcribe the audio").wait_for(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "videos-upload-needs-subtitles.png"), full_page=True)
    finally:
        page.close()
