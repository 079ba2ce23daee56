"""Whop in the browser, against the fake Whop API: connect with a pasted key, sync, see the summary
and the course mapping; the key is nowhere on the page afterwards. The Whop course became a draft
course whose funnel on Analytics shows the completion Whop reported. Then Whop's webhooks through the
collector at the address Settings shows: a signed cancellation turns the member inactive with Whop's
reason, a forged one is refused (401) and changes nothing."""

from __future__ import annotations

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from chronos_data import creators, videos
from chronos_data.config import Settings
from chronos_data.db import open_database
from chronos_data.whop import churn
from tests.collector.conftest import serve_process
from tests.e2e.conftest import SCREENSHOTS, chronos_env, running_app
from tests.fakes.whop import FakeWhop
from tests.pg import free_port
from tests.whop.test_whop_sync import YOUTUBE, _company, _course, _key, _members
from tests.whop.test_whop_webhooks import _membership_event, _signed

SECRET = "ws_" + "e" * 48

pytestmark = pytest.mark.e2e


def test_connect_sync_and_receive_webhooks_from_a_whop_company(browser, tmp_path):
    collector_port = free_port()
    env = {"CHRONOS_IMPORT_WORKER": "off", "CHRONOS_SECRET_KEY": Fernet.generate_key().decode(),
           "CHRONOS_COLLECTOR_URL": f"http://127.0.0.1:{collector_port}"}
    with (FakeWhop(_company(), _key(), members=_members(), courses=[_course()]) as fake,
          running_app(tmp_path, {**env, "WHOP_BASE_URL": fake.api_url}) as app):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            # The library holds the video the Whop course's first lesson embeds (user_0 completed it).
            settings = Settings.from_env(chronos_env(app.data_dir))
            db = open_database(settings)
            try:
                with db.engine.begin() as conn:
                    creator = creators.ensure_creator(conn, settings.local_creator_email)
                with db.workspace(creator) as t:
                    videos.create_video(t, title="Commits", source_type="youtube", source_id=YOUTUBE)
            finally:
                db.dispose()
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
            expect(page.get_by_text("1 course made as a draft").first).to_be_visible()
            expect(page.get_by_text("Course mapping")).to_be_visible()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "settings-whop.png"), full_page=True)
            assert fake.key not in page.content()

            page.get_by_text("Webhook signing secret (not set yet)").click()
            page.get_by_label("Webhook signing secret").fill(SECRET)
            page.get_by_role("button", name="Save secret", exact=True).click()
            expect(page.get_by_text("Webhook secret saved.")).to_be_visible(timeout=30_000)
            page.get_by_text("Webhook signing secret (set").click()
            address = page.locator("code", has_text="/v1/webhooks/whop/").first.inner_text().strip()
            assert address.startswith(env["CHRONOS_COLLECTOR_URL"])

            # The collector beside the app, on the same data folder, as the README starts it.
            with serve_process(None, tmp_path / "serve.log", {**chronos_env(app.data_dir), **env},
                               port=collector_port):
                cancel, headers = _signed(SECRET, _membership_event(fake, "user_0", "canceled", "Moved to another school"))
                forged = httpx.post(address, content=cancel.replace(b"Moved", b"Forced"), headers=headers, timeout=30)
                assert forged.status_code == 401
                answer = httpx.post(address, content=cancel, headers=headers, timeout=30)
                assert answer.status_code == 200 and answer.json()["effect"] == "student inactive"

            db = open_database(Settings.from_env(chronos_env(app.data_dir)))
            try:
                with db.engine.begin() as conn:
                    creator = creators.ensure_creator(conn, Settings.from_env(chronos_env(app.data_dir)).local_creator_email)
                with db.workspace(creator) as t:
                    reasons = set(churn.churned_members(t)["reason"])
            finally:
                db.dispose()
            assert "Moved to another school" in reasons and not any("Forced" in str(r) for r in reasons)
            page.goto(f"{app.url}/analytics", wait_until="domcontentloaded")
            page.get_by_text("Members who cancelled").wait_for(timeout=90_000)
            # Below the dashboards (someone has watched: the Whop completion), the members and cancellations.
            expect(page.get_by_role("heading", name="Whop members")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(SCREENSHOTS / "analytics-whop-members.png"), full_page=True)

            # The course funnel: the draft made from the Whop course, its one matched lesson completed
            # once (Whop's completion, which has no start), every bar labelled with its count.
            page.goto(f"{app.url}/analytics?analytics_period=All+time&analytics_tab=Courses",
                      wait_until="domcontentloaded")
            funnel = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="1. Commits")
            funnel.wait_for(timeout=90_000)
            bars = funnel.locator("g.trace.bars")
            expect(bars).to_have_count(2, timeout=30_000)  # started, completed
            expect(bars.nth(0).locator("text.bartext")).to_have_text(["0"])
            expect(bars.nth(1).locator("text.bartext")).to_have_text(["1"])
            page.screenshot(path=str(SCREENSHOTS / "analytics-whop-funnel.png"), full_page=True)
            assert page.locator('[data-testid="stException"]').count() == 0 and errors == []
        finally:
            page.close()
