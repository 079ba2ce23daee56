"""Whop in the browser, against the fake Whop API: connect with a pasted key, sync, see the summary
and the course mapping; the key is nowhere on the page afterwards."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS, running_app
from tests.fakes.whop import FakeWhop
from tests.whop.test_whop_sync import _company, _course, _key, _members

pytestmark = pytest.mark.e2e


def test_connect_and_sync_a_whop_company(browser, tmp_path):
    with (FakeWhop(_company(), _key(), members=_members(), courses=[_course()]) as fake,
          running_app(tmp_path, {"CHRONOS_IMPORT_WORKER": "off", "WHOP_BASE_URL": fake.api_url,
                                 "CHRONOS_SECRET_KEY": Fernet.generate_key().decode()}) as app):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(f"{app.url}/settings", wait_until="domcontentloaded")
            page.get_by_role("heading", name="Whop", exact=True).first.wait_for(timeout=90_000)
            key_box = page.get_by_label("Company API key")
            expect(key_box).to_have_attribute("type", "password")
            key_box.fill(fake.key)
            page.get_by_label("Company id").fill(fake.company)
            page.get_by_role("button", name="Connect", exact=True).click()
            expect(page.get_by_text(f"Connected to Whop company {fake.company}")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Sync now", exact=True).click()
            expect(page.get_by_text("3 members: 3 new, 1 cancelled; 1 course").first).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Course mapping")).to_be_visible()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "settings-whop.png"), full_page=True)
            assert fake.key not in page.content()
            assert page.locator('[data-testid="stException"]').count() == 0 and errors == []
        finally:
            page.close()
