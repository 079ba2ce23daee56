"""The Insights page in Chromium on the demo workspace: each of the five insights with its planted
pattern, and the moment it is about opening at the right second."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from chronos_data.demo import load_demo, remove_demo
from tests.e2e.conftest import SCREENSHOTS, running_app

pytestmark = pytest.mark.timeout(300)
EMAIL = "demo-insights-browser@chronos.localhost"


@pytest.fixture(scope="module")
def app(tmp_path_factory, db, embedder, database_url):
    load_demo(db, embedder, email=EMAIL)
    env = {"DATABASE_URL": database_url, "CHRONOS_IMPORT_WORKER": "off", "CHRONOS_LOCAL_EMAIL": EMAIL}
    try:
        with running_app(tmp_path_factory.mktemp("insights"), env) as instance:
            yield instance
    finally:
        remove_demo(db, EMAIL)


def test_every_insight_shows_its_planted_pattern_and_opens_its_moment(browser, app, db):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    try:
        page.goto(app.url)
        page.get_by_role("heading", name="Overview").wait_for(timeout=90_000)
        page.get_by_role("link", name="Insights").click()
        page.get_by_role("heading", name="Insights").wait_for(timeout=60_000)
        tabs = page.get_by_role("tab")
        tabs.first.wait_for(timeout=90_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        expected = {
            "Confusion map": "Learners are confused in lesson 3",
            "Drop-offs": "while explaining",
            "Content gaps": "Students keep asking about Kubernetes",
            "Concept order": "uses 'detached HEAD'",
            "One video, many courses": "'Git branches and merging' is completed by",
        }
        for n, (label, text) in enumerate(expected.items()):
            tab = page.get_by_role("tab", name=label)
            assert not tab.inner_text().endswith("(0)")
            tab.click()
            page.get_by_text(text).first.wait_for(timeout=60_000)
            page.screenshot(path=str(SCREENSHOTS / f"insights-{n + 1}.png"))

        # The inbox: Done hides a suggestion, "Show decided suggestions" and Reopen bring it back.
        page.get_by_role("tab", name="Content gaps").click()
        kubernetes = page.get_by_text("Students keep asking about Kubernetes")
        page.get_by_role("button", name="Done").first.click()
        page.get_by_text("Suggestion marked done").wait_for(timeout=60_000)
        kubernetes.first.wait_for(state="detached", timeout=60_000)
        page.get_by_text("Show decided suggestions", exact=True).click()
        kubernetes.first.wait_for(state="attached", timeout=60_000)
        page.get_by_role("tab", name="Content gaps").click()
        page.get_by_role("button", name="Reopen").first.click()
        page.get_by_text("Suggestion marked done").wait_for(state="detached", timeout=60_000)
        page.get_by_role("tab", name="Content gaps").click()
        page.get_by_role("button", name="Done").first.wait_for(timeout=60_000)
        with db.owner() as conn:  # reopened: no decision is left
            assert conn.execute(sa.text("SELECT count(*) FROM chronos.content_gap_states s JOIN chronos.creators c "
                                        "ON c.id = s.creator_id WHERE c.email = :e"), {"e": EMAIL}).scalar_one() == 0

        page.get_by_role("tab", name="Confusion map").click()
        play = page.get_by_role("button", name="Play at 05:").first
        second = play.inner_text().split("Play at ")[-1].strip()
        play.click()
        page.get_by_text(f"SQL joins explained from {second}").wait_for(timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "insights-moment.png"))
        assert page.get_by_text("Traceback").count() == 0
    finally:
        page.close()
