"""A workspace's connection to its Whop company: connect (the key checked by one call and stored
encrypted), status, disconnect."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..config import Settings
from ..db import Workspace
from ..errors import ValidationError
from . import crypto
from .client import call, whop_client

__all__ = ["WhopConnection", "connect", "disconnect", "status"]

log = logging.getLogger(__name__)

_COMPANY_ID = re.compile(r"^biz_[A-Za-z0-9]+\Z")


@dataclass(frozen=True)
class WhopConnection:
    """What the Settings page and ``whop status`` show; the key itself is never read back out."""

    company_id: str
    company_title: str | None
    connected_at: datetime
    last_synced_at: datetime | None
    #: The last finished sync's summary (SyncSummary.to_json()), or None before the first.
    last_summary: dict[str, Any] | None
    #: Why the last sync stopped early; the next sync resumes where it stopped.
    last_error: str | None
    resumable: bool
    #: Whether the webhook's signing secret is set (deliveries are refused until it is).
    webhook_ready: bool = False


def connect(t: Workspace, api_key: str, company_id: str, *, settings: Settings | None = None) -> WhopConnection:
    """Check ``api_key`` against Whop with one call (listing one member of ``company_id``), then
    store it encrypted as this workspace's Whop connection (replacing an earlier one).

    Raises:
        ValidationError: a blank key, a company id that is not ``biz_…``, or a company already
            connected to another workspace.
        WhopError: Whop refused the key (401) or the company (403/404), or could not be reached.
    """
    settings = settings or Settings.from_env()
    api_key = (api_key or "").strip()
    company_id = (company_id or "").strip()
    if not api_key:
        raise ValidationError("The Whop API key is empty; paste a company API key from Whop's developer settings.")
    if not _COMPANY_ID.match(company_id):
        raise ValidationError("The Whop company id starts with biz_ followed by letters and digits "
                              "(Whop shows it in the dashboard's URL and settings).")
    with whop_client(settings, api_key) as client:
        call(api_key, f"checking the key against company {company_id}",
             lambda: client.members.list(account_id=company_id, first=1), company_id)
    encrypted = crypto.encrypt(settings, api_key)
    try:
        with t.conn.begin_nested():
            t.conn.execute(sa.text("""
                INSERT INTO whop_connections (creator_id, company_id, api_key_encrypted)
                VALUES (:creator, :company, :key)
                ON CONFLICT (creator_id) DO UPDATE SET
                  api_key_encrypted = excluded.api_key_encrypted, connected_at = now(),
                  company_id = excluded.company_id,
                  -- Another company's resume point, title and summary mean nothing for this one.
                  sync_state = CASE WHEN whop_connections.company_id = excluded.company_id
                                    THEN whop_connections.sync_state END,
                  company_title = CASE WHEN whop_connections.company_id = excluded.company_id
                                       THEN whop_connections.company_title END,
                  last_summary = CASE WHEN whop_connections.company_id = excluded.company_id
                                      THEN whop_connections.last_summary END,
                  last_error = NULL
            """), {"creator": t.creator_id, "company": company_id, "key": encrypted})
            t.conn.execute(sa.text("UPDATE creators SET whop_company_id = :company WHERE id = :creator"),
                           {"creator": t.creator_id, "company": company_id})
    except IntegrityError as exc:
        raise ValidationError(f"Whop company {company_id} is already connected to another Chronos workspace; "
                              "disconnect it there first.") from exc
    log.info("workspace %s connected to Whop company %s", t.creator_id, company_id)
    found = status(t)
    assert found is not None
    return found


def status(t: Workspace) -> WhopConnection | None:
    """This workspace's Whop connection, or None when it has none."""
    row = t.conn.execute(sa.text("""
        SELECT company_id, company_title, connected_at, last_synced_at, last_summary, last_error,
               sync_state IS NOT NULL AS resumable, webhook_secret_encrypted IS NOT NULL AS webhook_ready
        FROM whop_connections WHERE creator_id = :creator
    """), {"creator": t.creator_id}).one_or_none()
    if row is None:
        return None
    summary = row.last_summary
    return WhopConnection(row.company_id, row.company_title, row.connected_at, row.last_synced_at,
                          json.loads(summary) if isinstance(summary, str) else summary, row.last_error,
                          row.resumable, row.webhook_ready)


def disconnect(t: Workspace) -> bool:
    """Forget the Whop connection and its key. Students, their history and the lesson mapping stay.

    Returns:
        Whether there was a connection.
    """
    gone = t.conn.execute(sa.text("DELETE FROM whop_connections WHERE creator_id = :creator RETURNING company_id"),
                          {"creator": t.creator_id}).scalar_one_or_none()
    if gone is not None:
        t.conn.execute(sa.text("UPDATE creators SET whop_company_id = NULL WHERE id = :creator AND "
                               "whop_company_id = :company"), {"creator": t.creator_id, "company": gone})
        log.info("workspace %s disconnected from Whop company %s", t.creator_id, gone)
    return gone is not None
