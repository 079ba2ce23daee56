"""User text is shown as typed on every page: Markdown and HTML in a title, a course, a module, a
question never fetch anything or restyle the page.

Before, ``![x](http://host/pixel.png)`` in a question or a title made every viewer's browser (an
analyst's too) fetch the image, and ``:red[…]`` or LaTeX restyled the page. A "pixel" server on
127.0.0.1 counts the requests that reach it while every page is opened.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chronos_data import courses
from chronos_data.config import Settings
from chronos_data.db import open_database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from chronos_data.rag import Assistant
from tests.e2e.conftest import SCREENSHOTS, running_app
from tests.fakes.http import FakeHTTPServer, RecordedRequest, Reply
from tests.rag_eval_set import LECTURES, to_srt

pytestmark = pytest.mark.e2e

PAGES = ("", "videos", "courses", "preview", "assistant", "analytics", "insights", "settings")
RESTYLE = ":red[RESTYLED]"


class _Pixel(FakeHTTPServer):
    thread_name = "fake-pixel"

    def _reply(self, request: RecordedRequest) -> Reply:
        return Reply(200, b"GIF89a", content_type="image/gif")


def _payload(pixel: _Pixel, label: str) -> str:
    return (f"{label} ![x]({pixel.base_url}/{label}.png) <img src={pixel.base_url}/{label}-html.png> "
            f"{RESTYLE} $x^2$ **bold**")


def _seed(data_dir, pixel: _Pixel) -> None:
    """A workspace whose every name a creator types carries the payload, in the app's own database."""
    from chronos_data import creators

    db = open_database(Settings.from_env({"CHRONOS_DATA_DIR": str(data_dir)}))
    embedder = LocalEmbedder()
    try:
        with db.engine.begin() as conn:
            creator = creators.ensure_creator(conn, Settings.from_env({}).local_creator_email)
        lecture = LECTURES[0]
        with db.workspace(creator) as t:
            video = pipeline.add_subtitled_video(
                t, source_type="loom", source="https://www.loom.com/share/0123456789abcdef0123456789abcdef",
                subtitle_bytes=to_srt(lecture), subtitle_filename="l.srt", title=_payload(pixel, "video"))
        run_until_done(db, creator, embedder, [video], timeout=180)
        with db.workspace(creator) as t:
            course = courses.create_course(t, _payload(pixel, "course"), _payload(pixel, "description"))
            module = courses.create_module(t, course, _payload(pixel, "module"))
            courses.add_lesson(t, module, video, title=_payload(pixel, "lesson"))
        Assistant(db, embedder).ask(creator, _payload(pixel, "question"))
    finally:
        db.dispose()


def _settled(page) -> None:
    """The page has drawn its main column (more than its title) and finished running.

    No wait for "network idle": a page with a player or a chart may keep a request open, and the
    check that matters (no <img> pointing at the pixel server) reads the drawn page itself.
    """
    main = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]')
    expect(main.nth(3)).to_be_attached(timeout=90_000)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=90_000)
    page.wait_for_function("document.readyState === 'complete'", timeout=90_000)


def test_markdown_and_html_in_user_text_fetch_nothing_and_restyle_nothing(browser, tmp_path):
    with _Pixel() as pixel, running_app(tmp_path) as app:
        _seed(app.data_dir, pixel)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            for name in PAGES:
                page.goto(f"{app.url}/{name}")
                _settled(page)
                page.screenshot(path=str(SCREENSHOTS / f"inert-{name or 'overview'}-before.png"), full_page=True)
                if name == "courses":  # the module's lessons are inside its expander
                    page.locator("summary", has_text="module ![x]").first.click()
                    _settled(page)
                if name == "assistant":  # open the conversation: the question and its answer
                    page.get_by_role("button", name="question ![x]").first.click()
                    expect(page.locator('[data-testid="stChatMessage"]')).to_have_count(2, timeout=90_000)
                    _settled(page)
                page.screenshot(path=str(SCREENSHOTS / f"inert-{name or 'overview'}.png"), full_page=True)
                shown = page.locator("body").inner_text()
                if name in {"courses", "assistant"}:  # the payload is on the page, as typed
                    assert "![x](" in shown and RESTYLE in shown, name
                assert page.locator(f'img[src^="{pixel.base_url}"]').count() == 0, name
                restyled = page.locator('span[style*="color"]', has_text="RESTYLED")
                assert restyled.count() == 0, name
                assert page.locator(".katex").count() == 0, name
            assert [r.path for r in pixel.requests] == []
        finally:
            page.close()
