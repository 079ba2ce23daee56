"""The Insights page in Chromium on the demo workspace: each of the five insights with its planted
pattern, and the moment it is about opening at the right second."""

from __future__ import annotations

import re

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


def _kind(page, label: str):
    """The segmented control's option for a kind ("Content gaps (2)": its count changes, its name not)."""
    return page.get_by_role("radio", name=re.compile("^" + re.escape(label) + r" \("))


def test_every_insight_shows_its_planted_pattern_and_opens_its_moment(browser, app, db):
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    try:
        page.goto(app.url)
        page.get_by_role("heading", name="Overview").wait_for(timeout=90_000)
        page.get_by_role("link", name="Insights").click()
        page.get_by_role("heading", name="Insights").wait_for(timeout=60_000)
        _kind(page, "Confusion map").wait_for(timeout=90_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        expected = {
            "Confusion map": "Students are confused in lesson 3",
            "Drop-offs": "while explaining",
            "Content gaps": "Students keep asking about Kubernetes",
            "Concept order": "uses 'detached HEAD'",
            "One video, many courses": "'Git branches and merging' is completed by",
        }
        for n, (label, text) in enumerate(expected.items()):
            option = _kind(page, label)
            assert not option.inner_text().endswith("(0)")
            option.click()
            page.get_by_text(text).first.wait_for(timeout=60_000)
            page.screenshot(path=str(SCREENSHOTS / f"insights-{n + 1}.png"))
        assert page.get_by_text("left share").count() == 0 and page.get_by_text("p value").count() == 0

        # The inbox: Done hides a suggestion and stays on the content gaps (it jumped to the first
        # kind); "Show decided suggestions" shows when, and Reopen brings it back.
        _kind(page, "Content gaps").click()
        kubernetes = page.get_by_text("Students keep asking about Kubernetes")
        kubernetes.first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Done").first.click()
        page.get_by_text("Suggestion marked done").wait_for(timeout=60_000)
        kubernetes.first.wait_for(state="detached", timeout=60_000)
        assert _kind(page, "Content gaps").get_attribute("aria-checked") == "true"
        assert "insights_kind=content_gap" in page.url
        page.get_by_text("Show decided suggestions", exact=True).click()
        kubernetes.first.wait_for(state="attached", timeout=60_000)
        decided_on = page.get_by_text(re.compile(r"Done on \d{1,2} [A-Z][a-z]{2} \d{4}"))
        decided_on.first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Reopen").first.click()
        decided_on.first.wait_for(state="detached", timeout=60_000)
        assert _kind(page, "Content gaps").get_attribute("aria-checked") == "true"
        with db.owner() as conn:  # reopened: no decision is left
            assert conn.execute(sa.text("SELECT count(*) FROM chronos.content_gap_states s JOIN chronos.creators c "
                                        "ON c.id = s.creator_id WHERE c.email = :e"), {"e": EMAIL}).scalar_one() == 0

        # A reload (or a shared link) opens on the same kind.
        page.reload()
        page.get_by_text("Students keep asking about Kubernetes").first.wait_for(timeout=90_000)
        assert _kind(page, "Content gaps").get_attribute("aria-checked") == "true"

        _kind(page, "Confusion map").click()
        play = page.get_by_role("button", name="Play at 05:").first
        play.wait_for(timeout=60_000)
        second = play.inner_text().split("Play at ")[-1].strip()
        play.click()
        page.get_by_text(f"SQL joins explained from {second}").wait_for(timeout=60_000)
        # The demo's lectures are uploads kept as transcripts: the player says so (never "its own platform").
        page.get_by_text("file is not in this workspace's data folder").wait_for(timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "insights-moment.png"))
        assert page.get_by_text("Traceback").count() == 0
    finally:
        page.close()
