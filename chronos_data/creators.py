"""Creators: the workspaces. One creator's data is invisible to every other creator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ._rows import require_text, to_record
from .db import Workspace
from .errors import NotFound

__all__ = ["Creator", "ensure_creator", "get_creator", "TIERS", "UPLOAD_LIMIT_BYTES"]

TIERS = ("basic", "pro", "enterprise")
#: Seeds: largest upload per video for each subscription tier.
UPLOAD_LIMIT_BYTES = {"basic": 2 * 1024**3, "pro": 5 * 1024**3, "enterprise": 10 * 1024**3}


@dataclass(frozen=True)
class Creator:
    id: uuid.UUID
    email: str
    name: str | None
    subscription_tier: str
    created_at: datetime
    last_login_at: datetime | None
    is_active: bool


def ensure_creator(conn: Connection, email: str, name: str | None = None) -> uuid.UUID:
    """Return the id of the workspace for ``email``, creating it on first use.

    Runs before any creator is known, so it goes through the owner-run ``chronos.ensure_creator``
    function; it records the sign-in time (``last_login_at``) of an existing workspace.
    """
    email = require_text(email, "e-mail address", max_length=320)
    return conn.execute(
        sa.text("SELECT chronos.ensure_creator(:email, :name)"), {"email": email, "name": name}
    ).scalar_one()


def get_creator(t: Workspace) -> Creator:
    """The signed-in creator. Raises NotFound if the workspace was removed."""
    row = t.conn.execute(
        sa.text(
            "SELECT id, email, name, subscription_tier, created_at, last_login_at, is_active "
            "FROM creators WHERE id = :id"
        ),
        {"id": t.creator_id},
    ).one_or_none()
    if row is None:
        raise NotFound("This workspace no longer exists; sign in again.")
    return to_record(Creator, row)
