"""Whop's webhooks reach the collector at /v1/webhooks/whop/{workspace}: a signed delivery is applied
once, a forged one or one sent to another workspace's address is refused with 401 and stores nothing."""

from __future__ import annotations

import dataclasses
import uuid

import httpx
import pytest
import sqlalchemy as sa

from chronos_data import whop
from chronos_data.collector.writer import Writer
from chronos_data.whop import webhooks
from tests.collector.conftest import run_collector
from tests.conftest import new_creator
from tests.fakes.whop import FakeWhop
from tests.whop.test_whop_sync import _company, _key, _members
from tests.whop.test_whop_webhooks import _membership_event, _signed

SECRETS = ("ws_" + "c" * 48, "ws_" + "d" * 48)


@pytest.fixture
def hooked(db, settings):
    """Two committed workspaces, each connected to a fake Whop company, synced, with a webhook secret."""
    with (FakeWhop(_company(), _key(), members=_members(), courses=[]) as fake_a,
          FakeWhop(_company(), _key(), members=_members(), courses=[]) as fake_b):
        made = []
        for label, fake, secret in (("route-a", fake_a, SECRETS[0]), ("route-b", fake_b, SECRETS[1])):
            creator = new_creator(db, label)
            s = dataclasses.replace(settings, whop_base_url=fake.api_url)
            with db.workspace(creator) as t:
                whop.connect(t, fake.key, fake.company, settings=s)
                whop.sync(t, settings=s)
                webhooks.set_webhook_secret(t, secret, settings=s)
            made.append((creator, fake))
        for running in run_collector(db, Writer(db), settings=settings):
            yield running.url, made


def _state(db, creator: uuid.UUID) -> tuple[bool, int]:
    """(user_0 active?, webhook deliveries stored)."""
    with db.workspace(creator) as t:
        active = t.conn.execute(sa.text("SELECT is_active FROM students WHERE creator_id = :c AND whop_user_id = "
                                        "'user_0'"), {"c": creator}).scalar_one()
        stored = t.conn.execute(sa.text("SELECT count(*) FROM whop_deliveries WHERE creator_id = :c "
                                        "AND delivery_id NOT LIKE 'sync:%'"), {"c": creator}).scalar_one()
    return active, stored


def test_a_signed_cancellation_is_applied_once_and_a_redelivery_changes_nothing(db, hooked):
    url, [(a, fake_a), _] = hooked
    body, headers = _signed(SECRETS[0], _membership_event(fake_a, "user_0", "canceled", "Too busy"))
    first = httpx.post(f"{url}/v1/webhooks/whop/{a}", content=body, headers=headers, timeout=30)
    assert first.status_code == 200 and first.json()["effect"] == "student inactive"
    again = httpx.post(f"{url}/v1/webhooks/whop/{a}", content=body, headers=headers, timeout=30)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert _state(db, a) == (False, 1)


def test_forged_and_misaddressed_deliveries_get_401_and_store_nothing(db, hooked):
    url, [(a, fake_a), (b, _)] = hooked
    body, headers = _signed(SECRETS[0], _membership_event(fake_a, "user_0", "canceled"))
    forged = httpx.post(f"{url}/v1/webhooks/whop/{a}", content=body,
                        headers={**headers, "webhook-signature": "v1,AAAA"}, timeout=30)
    misaddressed = httpx.post(f"{url}/v1/webhooks/whop/{b}", content=body, headers=headers, timeout=30)
    nobody = httpx.post(f"{url}/v1/webhooks/whop/{uuid.uuid4()}", content=body, headers=headers, timeout=30)
    assert (forged.status_code, misaddressed.status_code, nobody.status_code) == (401, 401, 401)
    assert "refused" in forged.json()["error"]
    assert _state(db, a) == (True, 0) and _state(db, b) == (True, 0)
    assert httpx.post(f"{url}/v1/webhooks/whop/not-a-workspace", content=body, headers=headers,
                      timeout=30).status_code == 404


def test_a_delivery_during_a_sync_gets_503_with_retry_after_and_the_redelivery_applies(db, hooked, monkeypatch):
    url, [(a, fake_a), _] = hooked
    # The wait is WEBHOOK_LOCK_SECONDS (5 s) in service; shortened here so the test is quick.
    monkeypatch.setattr(webhooks, "WEBHOOK_LOCK_SECONDS", 0.5)
    body, headers = _signed(SECRETS[0], _membership_event(fake_a, "user_0", "canceled", "Too busy"))
    with db.workspace(a) as sync_running:  # a sync holds the connection's row (and its students') until it commits
        sync_running.conn.execute(sa.text("SELECT 1 FROM whop_connections WHERE creator_id = :c FOR UPDATE"),
                                  {"c": a})
        busy = httpx.post(f"{url}/v1/webhooks/whop/{a}", content=body, headers=headers, timeout=30)
    assert busy.status_code == 503 and busy.headers["Retry-After"].isdigit()
    assert "sync" in busy.json()["error"]
    assert _state(db, a) == (True, 0)
    # Whop delivers it again once the sync is done.
    again = httpx.post(f"{url}/v1/webhooks/whop/{a}", content=body, headers=headers, timeout=30)
    assert again.status_code == 200 and _state(db, a) == (False, 1)
