"""The video library in Chromium: a selected video stays selected while the list refreshes itself.

The list re-reads the library every two seconds. It once kept the ticked row by position, so a video
trashed in another tab moved the details panel to the next video (whose "Move to trash" button the
creator might then press) or, past the end of the list, crashed the page.
"""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from chronos_data import creators, videos
from chronos_data.ingest import pipeline
from tests.e2e.conftest import running_app

SRT = b"1\n00:00:02,000 --> 00:00:06,000\nGenerators yield values lazily.\n"
ROW_HEIGHT, FIRST_ROW = 35, 54  # the grid's header and rows, in CSS pixels


def _add(t, title: str) -> uuid.UUID:
    return pipeline.add_subtitled_video(t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
                                        subtitle_bytes=SRT, subtitle_filename="a.srt", title=title)


def test_the_picked_video_stays_picked_when_another_tab_trashes_one_above_it(browser, db, database_url, tmp_path):
    email = f"library-{uuid.uuid4().hex[:6]}@example.com"
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        alpha = _add(t, "Alpha")
        _add(t, "Beta")
        _add(t, "Gamma")  # added together: listed by title
    env = {"DATABASE_URL": database_url, "CHRONOS_LOCAL_EMAIL": email, "CHRONOS_IMPORT_WORKER": "off"}
    with running_app(tmp_path, extra_env=env) as app:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{app.url}/videos")
        page.get_by_text("3 in progress").wait_for(timeout=90_000)
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.click(position={"x": 14, "y": FIRST_ROW + 2 * ROW_HEIGHT})  # the third row: Gamma
        expect(page.get_by_role("heading", name="Gamma")).to_be_visible(timeout=30_000)

        with db.workspace(creator) as t:  # another tab
            videos.soft_delete_video(t, alpha)
        page.get_by_text("2 in progress").wait_for(timeout=30_000)  # the list refreshed itself
        expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        expect(page.get_by_role("heading", name="Gamma")).to_be_visible()
        assert page.get_by_role("heading", name="Beta").count() == 0
        page.close()
