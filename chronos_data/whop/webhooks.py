"""Whop's webhooks (push), as pure functions for the collector's route: verify a delivery's
signature and apply it to the workspace once.

Whop signs every delivery with Standard Webhooks (``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` headers, an HMAC-SHA256 of ``id.timestamp.body`` under the endpoint's
``ws_…`` secret); the SDK's ``whop_sdk.lib.verify_webhook.unwrap`` checks it, and refuses a
timestamp more than five minutes away from now. A delivery is stored by its ``webhook-id``:
a re-delivery (or a replay inside those five minutes) finds it and changes nothing.

The collector's route knows the workspace from its URL (one webhook URL per workspace, e.g.
``POST /v1/webhooks/whop/{workspace}``) and calls ``receive_delivery`` in that workspace's
transaction: it answers 401 on ``WebhookRejected`` (nothing stored), 503 with Retry-After on
``WebhookBusy`` (a sync is writing the same rows: nothing stored, Whop delivers again), 200 otherwise. A delivery
signed for another workspace fails there, since every workspace has its own secret, and a body
naming another company than the connected one is refused as well.

Applied: ``membership.activated``, ``membership.deactivated``, ``membership.updated`` (the student's
status and membership, with Whop's cancellation reason kept in the delivery's detail) and
``course_lesson_interaction.completed`` (a ``video_completed`` event with the same import key as
the pull sync, so the two never count one completion twice). Payment events and any other type
are stored, for the record, and change nothing else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from whop_sdk.lib.verify_webhook import WebhookVerificationError, unwrap
from whop_sdk.types import CourseLessonInteraction, Membership

from ..config import Settings
from ..db import Workspace, lock_wait_limit
from ..errors import ChronosError, ValidationError
from . import crypto
from .sync import _writer as writer
from .sync_students import MEMBERSHIP_EVENTS, updated_at

__all__ = ["WEBHOOK_LOCK_SECONDS", "DeliveryResult", "WebhookBusy", "WebhookRejected", "receive_delivery",
           "set_webhook_secret", "verify_delivery"]

log = logging.getLogger(__name__)

COMPLETION_EVENT = "course_lesson_interaction.completed"
#: How long a delivery waits for rows a sync (or another delivery) holds before it is answered 503
#: with Retry-After: a sync keeps its rows locked until it commits, and Whop delivers again later.
WEBHOOK_LOCK_SECONDS = 5.0


class WebhookRejected(ChronosError):
    """The delivery is not Whop's for this workspace (unsigned, wrongly signed, stale, malformed, or
    for another company); the collector answers 401 and stores nothing."""


class WebhookBusy(ChronosError):
    """A sync of the workspace holds the rows the delivery would change; the collector answers 503
    with Retry-After, nothing is stored, and Whop delivers it again."""


@dataclass(frozen=True)
class DeliveryResult:
    delivery_id: str
    event_type: str
    duplicate: bool  # seen before: nothing changed
    effect: str  # what it did, in words


def verify_delivery(secret: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """The delivery's JSON body once its signature checks out under ``secret``.

    Raises:
        WebhookRejected: a signature header is missing or malformed, no signature matches, the
            timestamp is over five minutes away, or the body is not a JSON object.
    """
    try:
        return unwrap(body, headers=headers, key=secret)
    except WebhookVerificationError as exc:
        raise WebhookRejected(f"The Whop webhook was refused: {exc}.") from None
    except ValueError as exc:  # an empty secret, or a verified body that is not an object
        raise WebhookRejected(f"The Whop webhook was refused: {exc}") from None


def set_webhook_secret(t: Workspace, secret: str, *, settings: Settings | None = None) -> None:
    """Store the signing secret Whop showed for this workspace's webhook (encrypted, like the key).

    Raises:
        ValidationError: a blank secret, or a workspace not connected to Whop.
    """
    secret = (secret or "").strip()
    if not secret:
        raise ValidationError("The webhook secret is empty; copy it from the webhook's page in Whop (ws_…).")
    encrypted = crypto.encrypt(settings or Settings.from_env(), secret)
    done = t.conn.execute(sa.text("UPDATE whop_connections SET webhook_secret_encrypted = :secret "
                                  "WHERE creator_id = :creator RETURNING 1"),
                          {"creator": t.creator_id, "secret": encrypted}).first()
    if done is None:
        raise ValidationError("This workspace is not connected to Whop; connect it before setting up the webhook.")


def receive_delivery(t: Workspace, body: bytes, headers: Mapping[str, str], *,
                     settings: Settings | None = None) -> DeliveryResult:
    """Verify a Whop webhook delivery with this workspace's secret and apply it once.

    Raises:
        WebhookRejected: see ``verify_delivery``; also when the workspace has no webhook secret or
            the delivery names another company than the connected one. Nothing is stored.
        WebhookBusy: a sync holds the rows it would change for over ``WEBHOOK_LOCK_SECONDS``;
            nothing is stored (the collector answers 503 with Retry-After, and Whop re-delivers).
    """
    row = t.conn.execute(sa.text("SELECT company_id, webhook_secret_encrypted FROM whop_connections "
                                 "WHERE creator_id = :creator"), {"creator": t.creator_id}).one_or_none()
    if row is None or row.webhook_secret_encrypted is None:
        raise WebhookRejected("The Whop webhook was refused: this workspace has no webhook secret set up.")
    try:
        secret = crypto.decrypt(settings or Settings.from_env(), row.webhook_secret_encrypted)
    except ValidationError as exc:
        raise WebhookRejected(f"The Whop webhook was refused: {exc}") from None
    event = verify_delivery(secret, body, headers)
    lowered = {k.lower(): v for k, v in headers.items()}
    delivery = str(lowered.get("webhook-id") or event.get("id") or "")[:200]
    kind = str(event.get("type") or "")[:200]
    data = event.get("data")
    company = event.get("account_id") or event.get("company_id")
    if not delivery or not kind or not isinstance(data, dict):
        raise WebhookRejected("The Whop webhook was refused: it has no id, type or data.")
    if company is not None and company != row.company_id:
        raise WebhookRejected(f"The Whop webhook was refused: it is for company {company}, not {row.company_id}.")
    params = {"creator": t.creator_id, "delivery": delivery, "kind": kind}
    # A sync holds the connection's row and its students' until it commits: wait a little, not for it all.
    busy = WebhookBusy("A Whop sync of this workspace is writing right now; the delivery was not applied, "
                       "send it again in a moment.")
    with lock_wait_limit(t, WEBHOOK_LOCK_SECONDS, busy):
        return _receive(t, row.company_id, params, kind, data)


def _receive(t: Workspace, company: str, params: dict[str, Any], kind: str, data: dict[str, Any]) -> DeliveryResult:
    delivery = params["delivery"]
    if t.conn.execute(sa.text("SELECT 1 FROM whop_deliveries WHERE creator_id = :creator AND delivery_id = :delivery"),
                      params).first():
        return DeliveryResult(delivery, kind, True, "already received: nothing changed")
    effect, student, detail = _apply(t, company, kind, data)
    # Stored after applying (deliveries are never edited); a twin delivery applied at the same time
    # changed nothing more, since every effect is idempotent, and loses the insert here.
    first = t.conn.execute(sa.text("""
        INSERT INTO whop_deliveries (creator_id, delivery_id, event_type, student_id, detail)
        VALUES (:creator, :delivery, :kind, :student, CAST(:detail AS jsonb))
        ON CONFLICT DO NOTHING RETURNING 1
    """), {**params, "student": student, "detail": json.dumps(detail)}).first()
    if first is None:
        return DeliveryResult(delivery, kind, True, "already received: nothing changed")
    log.info("Whop webhook %s (%s) for workspace %s: %s", delivery, kind, t.creator_id, effect)
    return DeliveryResult(delivery, kind, False, effect)


def _apply(t: Workspace, company: str, kind: str, data: dict[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    """What the delivery did, the student it changed (or None) and what to keep of it."""
    try:
        if kind in MEMBERSHIP_EVENTS:
            return _membership(t, company, Membership.model_validate(data))
        if kind == COMPLETION_EVENT:
            interaction = CourseLessonInteraction.model_validate(data)
            stored = writer(t, company).store_completions([interaction])
            return ("completion stored" if stored else "completion already stored, or its lesson is not matched yet",
                    None, {"interaction_id": interaction.id, "lesson_id": interaction.lesson.id})
    except ValueError as exc:  # pydantic's ValidationError: signed, but not the shape Whop documents
        raise WebhookRejected(f"The Whop webhook was refused: its {kind} data is malformed ({type(exc).__name__}).") \
            from None
    return "recorded", None, {}


def _membership(t: Workspace, company: str, membership: Membership) -> tuple[str, Any, dict[str, Any]]:
    detail = {"membership_id": membership.id, "status": str(membership.status),
              "cancellation_reason": membership.cancellation_reason, "canceled_at": membership.canceled_at,
              "updated_at": updated_at(membership)}
    if not membership.user_id:
        return "recorded (the membership has no user yet)", None, detail
    skipped = writer(t, company).apply_memberships([membership])
    student = t.conn.execute(sa.text("SELECT id, is_active FROM students WHERE creator_id = :creator "
                                     "AND whop_user_id = :user"),
                             {"creator": t.creator_id, "user": membership.user_id}).one()
    state = "student active" if student.is_active else "student inactive"
    if skipped:
        # Whop delivered it after a newer state of the same membership: recorded, not applied.
        detail["stale"] = True
        return f"older than the membership's state already applied: nothing changed ({state})", student.id, detail
    return state, student.id, detail
