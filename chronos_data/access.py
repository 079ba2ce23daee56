"""Who may open which workspace: sign-in, and the teammates a creator gives read-only access.

A signed-in person owns the workspace of their sign-in identity, the provider's issuer and subject
(created on first sign-in; the e-mail address is its label), and may open, read-only, every
workspace whose owner added their verified address as an analyst teammate.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from ._rows import require_text, to_record
from .db import Workspace
from .errors import NotFound, ValidationError

__all__ = [
    "Identity",
    "Role",
    "Teammate",
    "Membership",
    "add_teammate",
    "list_teammates",
    "remove_teammate",
    "restore_teammate",
    "identity_from_claims",
    "sign_in",
]

Role = Literal["owner", "analyst"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Membership:
    """A workspace a signed-in person may open, and how."""

    creator_id: uuid.UUID
    email: str
    name: str | None
    role: Role

    @property
    def read_only(self) -> bool:
        return self.role != "owner"


@dataclass(frozen=True)
class Teammate:
    id: uuid.UUID
    email: str
    role: str
    added_at: datetime
    last_seen_at: datetime | None
    removed_at: datetime | None


@dataclass(frozen=True)
class Identity:
    """Who signed in: the provider (``issuer``), its id for the person (``subject``), and the
    verified e-mail address it shared."""

    issuer: str
    subject: str
    email: str
    name: str | None = None


def identity_from_claims(claims: Mapping[str, object], verified_issuers: Collection[str] = ()) -> Identity:
    """The identity an OpenID Connect token's claims prove, or a refusal saying what is missing.

    The address must be verified: ``email_verified`` true, or the token comes from an issuer the
    operator listed in ``verified_issuers`` (CHRONOS_VERIFIED_EMAIL_ISSUERS) because that provider
    only hands out addresses it controls (Microsoft Entra work accounts send no such claim). An
    absent claim is not a yes: an address anyone can type would open its owner's workspace.

    Raises:
        ValidationError: no issuer/subject, no e-mail address, or an address not verified.
    """
    issuer, subject = str(claims.get("iss") or "").strip(), str(claims.get("sub") or "").strip()
    email = str(claims.get("email") or "").strip()
    if not issuer or not subject:
        raise ValidationError("Your sign-in provider did not say who you are (no 'iss' or 'sub' in its token); "
                              "check the [auth] settings in .streamlit/secrets.toml.")
    if not email:
        raise ValidationError("Your sign-in provider did not share an e-mail address; allow the 'email' "
                              "scope for this app in the provider's settings, then sign in again.")
    verified = claims.get("email_verified")
    if isinstance(verified, str):  # some providers send "true" as a string
        verified = verified.strip().lower() == "true"
    if verified is not True and issuer.rstrip("/") not in {i.rstrip("/") for i in verified_issuers}:
        raise ValidationError(
            f"Your sign-in provider has not confirmed that {email} is yours; verify the address there, then "
            "sign in again. (An administrator whose provider verifies every address it issues can list it in "
            "CHRONOS_VERIFIED_EMAIL_ISSUERS.)")
    name = str(claims.get("name") or "").strip() or None
    return Identity(issuer, subject, _require_email(email), name)


def sign_in(conn: Connection, identity: Identity) -> list[Membership]:
    """The workspaces ``identity`` may open, its own first (created on first sign-in).

    Its own workspace is the one its issuer and subject hold; on the first sign-in, a workspace of
    the same address that no identity holds yet becomes its own. Runs before any creator is
    known, through the owner-run ``chronos.sign_in`` function, which records the sign-in time
    (``last_login_at``) and when each teammate access was last used.

    Raises:
        ValidationError: the address's workspace belongs to another sign-in identity.
    """
    email = _require_email(identity.email)
    try:
        with conn.begin_nested():
            rows = conn.execute(
                sa.text("SELECT * FROM chronos.sign_in(:issuer, :subject, :email, :name)"),
                {"issuer": identity.issuer, "subject": identity.subject, "email": email,
                 "name": (identity.name or "").strip()[:200] or None}).all()
    except DBAPIError as exc:
        if getattr(exc.orig, "diag", None) is not None and exc.orig.diag.message_hint == "address_held":
            raise ValidationError(
                f"The workspace of {email} belongs to another sign-in account. Sign in with the account "
                "that created it, or ask its owner to add you as a teammate.") from exc
        raise
    return [Membership(row.creator_id, row.creator_email, row.creator_name, row.role) for row in rows]


def list_teammates(t: Workspace, *, include_removed: bool = False) -> list[Teammate]:
    """This workspace's teammates, newest first (removed ones too when asked, to offer undo)."""
    rows = t.conn.execute(
        sa.text("SELECT id, email, role, added_at, last_seen_at, removed_at FROM workspace_members "
                "WHERE creator_id = :c AND (:all OR removed_at IS NULL) ORDER BY added_at DESC, email"),
        {"c": t.creator_id, "all": include_removed},
    )
    return [to_record(Teammate, row) for row in rows]


def add_teammate(t: Workspace, email: str) -> Teammate:
    """Give ``email`` read-only analyst access (again, if it had been removed)."""
    email = _require_email(email)
    own = t.conn.execute(sa.text("SELECT email FROM creators WHERE id = :c"), {"c": t.creator_id}).scalar_one()
    if email.lower() == own.lower():
        raise ValidationError(f"{email} is this workspace's own address; add a teammate's address instead.")
    try:
        with t.conn.begin_nested():
            row = t.conn.execute(
                sa.text(
                    "INSERT INTO workspace_members (creator_id, email) VALUES (:c, :email) "
                    "ON CONFLICT (creator_id, lower(email)) DO UPDATE SET removed_at = NULL, "
                    "added_at = CASE WHEN workspace_members.removed_at IS NULL THEN workspace_members.added_at "
                    "ELSE now() END "
                    "RETURNING id, email, role, added_at, last_seen_at, removed_at"),
                {"c": t.creator_id, "email": email},
            ).one()
    except IntegrityError as exc:
        raise ValidationError(f"{email} cannot be added ({str(exc.orig).splitlines()[0]}).") from exc
    return to_record(Teammate, row)


def remove_teammate(t: Workspace, teammate_id: uuid.UUID) -> Teammate:
    """Take a teammate's access away (their next page load no longer shows the workspace)."""
    return _set_removed(t, teammate_id, removed=True)


def restore_teammate(t: Workspace, teammate_id: uuid.UUID) -> Teammate:
    """Undo :func:`remove_teammate`."""
    return _set_removed(t, teammate_id, removed=False)


def _set_removed(t: Workspace, teammate_id: uuid.UUID, *, removed: bool) -> Teammate:
    row = t.conn.execute(
        sa.text("UPDATE workspace_members SET removed_at = CASE WHEN :removed THEN now() END "
                "WHERE id = :id AND creator_id = :c "
                "RETURNING id, email, role, added_at, last_seen_at, removed_at"),
        {"id": teammate_id, "c": t.creator_id, "removed": removed},
    ).one_or_none()
    if row is None:
        raise NotFound("That teammate is not in this workspace; reload the page.")
    return to_record(Teammate, row)


def _require_email(email: str) -> str:
    email = require_text(email, "e-mail address", max_length=320)
    if not _EMAIL.match(email):
        raise ValidationError(f"'{email}' is not an e-mail address; write it as name@example.com.")
    return email
