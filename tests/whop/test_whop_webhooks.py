"""Whop webhook deliveries (chronos_data/whop/webhooks.py): signed as Whop signs them (Standard
Webhooks over the literal ws_ secret), forged, replayed, stale and malformed ones."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from chronos_data import videos, whop
from chronos_data.whop import webhooks
from tests.conftest import new_creator
from tests.fakes.whop import FakeWhop
from tests.whop.test_whop_sync import YOUTUBE, _company, _course, _key, _members


def _signed(secret: str, event: dict, *, at: datetime | None = None, delivery: str | None = None) -> tuple[bytes, dict]:
    """A delivery as Whop sends it: HMAC under the secret's literal bytes (whop_sdk.lib.verify_webhook)."""
    body = json.dumps(event).encode()
    delivery = delivery or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signer = Webhook(base64.b64encode(secret.encode()).decode())
    return body, {"webhook-id": delivery, "webhook-timestamp": str(int(at.timestamp())),
                  "webhook-signature": signer.sign(delivery, at, body.decode())}


def _membership_event(fake: FakeWhop, user: str, status: str, reason: str | None = None) -> dict:
    member = next(m for m in fake.members if m.user_id == user)
    data = fake._membership(dataclasses.replace(member, status=status, cancellation_reason=reason))
    kind = "membership.deactivated" if status in {"canceled", "expired"} else "membership.activated"
    return {"id": f"evt_{uuid.uuid4().hex}", "api_version": "v1", "type": kind, "account_id": fake.company,
            "timestamp": datetime.now(UTC).isoformat(), "data": data}


SECRET = "ws_" + "a1b2c3d4" * 6


@pytest.fixture
def fake():
    with FakeWhop(_company(), _key(), members=_members(), courses=[_course()]) as server:
        yield server


@pytest.fixture
def synced(t, fake, settings):
    """A workspace connected to the fake, synced once, with its webhook secret set up."""
    s = dataclasses.replace(settings, whop_base_url=fake.api_url)
    video = videos.create_video(t, title="Commits", source_type="youtube", source_id=YOUTUBE)
    whop.connect(t, fake.key, fake.company, settings=s)
    whop.sync(t, settings=s)
    webhooks.set_webhook_secret(t, SECRET, settings=s)
    return s, video


def _student(t, user: str):
    return t.conn.execute(sa.text("SELECT id, is_active FROM students WHERE creator_id = :c AND whop_user_id = :u"),
                          {"c": t.creator_id, "u": user}).one()


def _deliveries(t) -> int:
    """Webhook deliveries stored (a sync keeps the memberships it saw end as ``sync:…`` rows)."""
    return t.conn.execute(sa.text("SELECT count(*) FROM whop_deliveries WHERE creator_id = :c "
                                  "AND delivery_id NOT LIKE 'sync:%'"), {"c": t.creator_id}).scalar_one()


def test_a_signed_cancellation_turns_the_student_inactive_once(t, fake, synced):
    s, _ = synced
    assert _student(t, "user_0").is_active
    body, headers = _signed(SECRET, _membership_event(fake, "user_0", "canceled", "Found a cheaper course"))
    result = webhooks.receive_delivery(t, body, headers, settings=s)
    assert (result.duplicate, result.effect) == (False, "student inactive")
    student = _student(t, "user_0")
    assert not student.is_active
    detail = t.conn.execute(sa.text("SELECT student_id, detail FROM whop_deliveries WHERE creator_id = :c "
                                    "AND delivery_id = :d"), {"c": t.creator_id, "d": headers["webhook-id"]}).one()
    assert detail.student_id == student.id and detail.detail["cancellation_reason"] == "Found a cheaper course"
    # Whop re-delivers (or someone replays it inside the tolerance): nothing changes.
    again = webhooks.receive_delivery(t, body, headers, settings=s)
    assert again.duplicate and _deliveries(t) == 1
    # Reactivated by a later delivery.
    body, headers = _signed(SECRET, _membership_event(fake, "user_0", "active"))
    assert webhooks.receive_delivery(t, body, headers, settings=s).effect == "student active"


def test_a_completion_delivery_is_stored_once_with_the_sync_s_import_key(t, fake, synced):
    s, video = synced
    interaction = {"id": "crsli_new", "completed": True, "created_at": "2026-11-30T10:00:00Z",
                   "course": {"id": "cors_1", "experience": {"id": "exp_1"}},
                   "lesson": {"id": "lesn_yt", "title": "Commits", "chapter": {"id": "chap_1"}},
                   "user": {"id": "user_2", "username": "member2", "name": None}}
    event = {"id": "evt_1", "api_version": "v1", "type": "course_lesson_interaction.completed",
             "account_id": fake.company, "timestamp": datetime.now(UTC).isoformat(), "data": interaction}
    body, headers = _signed(SECRET, event)
    assert webhooks.receive_delivery(t, body, headers, settings=s).effect == "completion stored"
    keys = t.conn.execute(sa.text("SELECT metadata->>'import_key' FROM video_analytics_events WHERE creator_id = :c "
                                  "AND video_id = :v AND event_type = 'video_completed' ORDER BY 1"),
                          {"c": t.creator_id, "v": video}).scalars().all()
    assert keys == ["whop:completion:crsli_1", "whop:completion:crsli_new"]
    # The same completion reported by the pull sync later is not counted twice.
    fake.courses[0].completions.append(("crsli_new", "user_2", "lesn_yt"))
    assert whop.sync(t, settings=s).completions == 0


@pytest.mark.parametrize("forgery", ["wrong_secret", "unsigned", "stale", "garbled_signature", "tampered_body",
                                     "other_company", "not_json"])
def test_forged_stale_and_malformed_deliveries_are_refused_and_store_nothing(t, fake, synced, forgery):
    s, _ = synced
    event = _membership_event(fake, "user_0", "canceled")
    body, headers = _signed(SECRET, event)
    if forgery == "wrong_secret":
        body, headers = _signed("ws_" + "f" * 48, event)
    elif forgery == "unsigned":
        headers = {}
    elif forgery == "stale":
        body, headers = _signed(SECRET, event, at=datetime.now(UTC) - timedelta(minutes=10))
    elif forgery == "garbled_signature":
        headers["webhook-signature"] = "v1,!!!not-base64"
    elif forgery == "tampered_body":
        body = body.replace(b'"canceled"', b'"active"', 1)
    elif forgery == "other_company":
        body, headers = _signed(SECRET, {**event, "account_id": "biz_someoneelse"})
    elif forgery == "not_json":  # signed, but not an event
        body, headers = b"[1, 2]", _signed_raw(SECRET, b"[1, 2]")
    with pytest.raises(webhooks.WebhookRejected, match="refused"):
        webhooks.receive_delivery(t, body, headers, settings=s)
    assert _deliveries(t) == 0 and _student(t, "user_0").is_active


def _signed_raw(secret: str, body: bytes) -> dict:
    delivery, at = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    signer = Webhook(base64.b64encode(secret.encode()).decode())
    return {"webhook-id": delivery, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signer.sign(delivery, at, body.decode())}


def test_a_delivery_for_workspace_a_never_writes_into_workspace_b(db, settings):
    a, b = new_creator(db, "hook-a"), new_creator(db, "hook-b")
    with (FakeWhop(_company(), _key(), members=_members(), courses=[]) as fake_a,
          FakeWhop(_company(), _key(), members=_members(), courses=[]) as fake_b):
        secrets = {a: "ws_" + "a" * 48, b: "ws_" + "b" * 48}
        for creator, fake in ((a, fake_a), (b, fake_b)):
            s = dataclasses.replace(settings, whop_base_url=fake.api_url)
            with db.workspace(creator) as t:
                whop.connect(t, fake.key, fake.company, settings=s)
                whop.sync(t, settings=s)
                webhooks.set_webhook_secret(t, secrets[creator], settings=s)
        body, headers = _signed(secrets[a], _membership_event(fake_a, "user_0", "canceled"))
        with db.workspace(b) as t, pytest.raises(webhooks.WebhookRejected):
            webhooks.receive_delivery(t, body, headers, settings=settings)
        with db.workspace(b) as t:
            assert _deliveries(t) == 0 and _student(t, "user_0").is_active
        with db.workspace(a) as t:
            assert webhooks.receive_delivery(t, body, headers, settings=settings).effect == "student inactive"


def test_without_a_webhook_secret_every_delivery_is_refused(t, fake, settings):
    s = dataclasses.replace(settings, whop_base_url=fake.api_url)
    whop.connect(t, fake.key, fake.company, settings=s)
    body, headers = _signed(SECRET, _membership_event(fake, "user_0", "canceled"))
    with pytest.raises(webhooks.WebhookRejected, match="no webhook secret"):
        webhooks.receive_delivery(t, body, headers, settings=s)


def _membership_event_at(fake: FakeWhop, user: str, status: str, updated_at: str) -> dict:
    event = _membership_event(fake, user, status)
    event["data"]["updated_at"] = updated_at
    return event


def test_an_older_activation_delivered_after_a_newer_cancellation_does_not_reactivate(t, fake, synced):
    s, _ = synced
    # Whop cancelled the membership at 12:05 after activating it at 12:00; the deliveries cross.
    body, headers = _signed(SECRET, _membership_event_at(fake, "user_0", "canceled", "2026-12-01T12:05:00Z"))
    assert webhooks.receive_delivery(t, body, headers, settings=s).effect == "student inactive"
    body, headers = _signed(SECRET, _membership_event_at(fake, "user_0", "active", "2026-12-01T12:00:00Z"))
    late = webhooks.receive_delivery(t, body, headers, settings=s)
    assert not _student(t, "user_0").is_active
    assert late.effect.startswith("older than the membership's state already applied")
    # A genuinely newer activation still applies.
    body, headers = _signed(SECRET, _membership_event_at(fake, "user_0", "active", "2026-12-01T12:10:00Z"))
    assert webhooks.receive_delivery(t, body, headers, settings=s).effect == "student active"
    assert _student(t, "user_0").is_active


def test_a_sync_page_older_than_a_received_cancellation_does_not_undo_it(t, fake, synced):
    """The sync's page of memberships was read (Whop's updated_at 2026-11-01) before the cancellation
    (updated_at 2026-12-01) reached the webhook: writing that page keeps the student cancelled."""
    s, _ = synced
    body, headers = _signed(SECRET, _membership_event_at(fake, "user_0", "canceled", "2026-12-01T12:05:00Z"))
    assert webhooks.receive_delivery(t, body, headers, settings=s).effect == "student inactive"
    # The fake still shows the membership active as of its (older) updated_at.
    assert next(m for m in fake.members if m.user_id == "user_0").status == "active"
    whop.sync(t, settings=s)
    assert not _student(t, "user_0").is_active


def test_a_delivery_older_than_the_state_a_sync_read_does_not_undo_it(t, fake, synced):
    """Whop cancelled the membership at 12:05 and the member renewed it at 12:10; a sync read it
    active (12:10) before Whop's delayed cancellation delivery came: the student stays active."""
    s, _ = synced
    member = next(m for m in fake.members if m.user_id == "user_0")
    member.updated_at = "2026-12-01T12:10:00Z"
    whop.sync(t, settings=s)
    body, headers = _signed(SECRET, _membership_event_at(fake, "user_0", "canceled", "2026-12-01T12:05:00Z"))
    late = webhooks.receive_delivery(t, body, headers, settings=s)
    assert _student(t, "user_0").is_active
    assert late.effect.startswith("older than the membership's state already applied")


def test_a_delivery_older_than_a_second_cancellation_a_sync_read_does_not_undo_it(t, fake, synced):
    """The membership ended (seen by a sync), came back, and ended again at 12:10 (seen by the next
    sync); the delayed delivery of the comeback (12:05) does not re-activate the student."""
    s, _ = synced
    member = next(m for m in fake.members if m.user_id == "user_0")
    member.status, member.updated_at = "canceled", "2026-12-01T12:00:00Z"
    whop.sync(t, settings=s)
    member.updated_at = "2026-12-01T12:10:00Z"  # active again at 12:05, cancelled again at 12:10
    whop.sync(t, settings=s)
    assert not _student(t, "user_0").is_active
    body, headers = _signed(SECRET, _membership_event_at(fake, "user_0", "active", "2026-12-01T12:05:00Z"))
    webhooks.receive_delivery(t, body, headers, settings=s)
    assert not _student(t, "user_0").is_active


def test_a_late_activation_of_a_membership_the_member_replaced_does_not_outlive_the_new_one(t, fake, synced):
    """The member cancelled mem_0 and bought mem_0b (a plan change); a sync saw both. Whop's retry of
    mem_0's old activation comes after: it changes nothing, and the cancellation of mem_0b later turns
    the student off (before, the late activation made mem_0 the student's membership again, and the
    cancellation of mem_0b was taken for an old membership's and ignored)."""
    s, _ = synced
    old = next(m for m in fake.members if m.user_id == "user_0")
    old.status, old.updated_at = "canceled", "2026-12-01T12:00:00Z"
    new = dataclasses.replace(old, membership_id="mem_0b", status="active", updated_at="2026-12-01T12:01:00Z")
    fake.members.insert(0, new)  # Whop lists the new membership first
    whop.sync(t, settings=s)
    assert _student(t, "user_0").is_active
    began = fake._membership(dataclasses.replace(old, status="active", updated_at="2026-11-30T09:00:00Z"))
    body, headers = _signed(SECRET, {"id": "evt_began", "api_version": "v1", "type": "membership.activated",
                                     "account_id": fake.company, "timestamp": datetime.now(UTC).isoformat(),
                                     "data": began})
    late = webhooks.receive_delivery(t, body, headers, settings=s)
    assert late.effect.startswith("older than the membership's state already applied")
    ended = fake._membership(dataclasses.replace(new, status="canceled", updated_at="2026-12-02T08:00:00Z"))
    body, headers = _signed(SECRET, {"id": "evt_end", "api_version": "v1", "type": "membership.deactivated",
                                     "account_id": fake.company, "timestamp": datetime.now(UTC).isoformat(),
                                     "data": ended})
    assert webhooks.receive_delivery(t, body, headers, settings=s).effect == "student inactive"
