"""A newcomer's first visit: `streamlit run app.py` on a fresh data folder, every page in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

PAGES = [
    ("", "Overview", "Welcome to Chronos"),
    ("videos", "Video library", "Your library is empty"),
    ("courses", "Courses", "No courses yet"),
    ("assistant", "Assistant", "Nothing to search yet"),
    ("analytics", "Analytics", "No viewing data yet"),
    ("settings", "Settings", "Embedded PostgreSQL (local data folder)"),
]


@pytest.mark.parametrize(("path", "title", "expected"), PAGES, ids=[p[1] for p in PAGES])
def test_every_page_loads_without_an_exception(browser, fresh_app, path, title, expected):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{fresh_app.url}/{path}", wait_until="domcontentloaded")
        # The first visit starts the embedded database and applies migrations: allow for it.
        page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=90_000)
        page.get_by_text(expected).first.wait_for(timeout=30_000)
        # Finished running (not "network idle": a player or a chart may keep a request open).
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=90_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{title.lower().replace(' ', '-')}.png"), full_page=True)

        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Traceback" not in page.content()
        # The badge's Markdown (with inline HTML) can be drawn a moment after the caption below it.
        expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("local@chronos.localhost")
        assert errors == []
    finally:
        page.close()
