"""Write keys: what a site, player or server presents to the event collector instead of a sign-in.

A key is ``chr_live_`` followed by 43 URL-safe characters (256 random bits). It is shown once, when
created; the database keeps only its sha256 and a short prefix to tell keys apart
(sql/025_write_keys.sql). Each key may name the web origins (``https://school.example.com``)
whose browsers may send events with it; a key without origins is for a server.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .._rows import require_text, to_record
from ..db import Workspace
from ..errors import ValidationError

__all__ = ["KEY_PREFIX", "CreatedKey", "KeyOwner", "WriteKey", "create_key", "hash_key", "key_owner", "list_keys",
           "normalize_origin", "revoke_key"]

#: What every key starts with: a secret scanner (or a person) recognises a Chronos key on sight.
KEY_PREFIX = "chr_live_"
_TOKEN_BYTES = 32  # 256 bits: guessing is hopeless, so a fast hash is enough
_KEY = re.compile(r"^chr_live_[A-Za-z0-9_-]{43}$")
_SHOWN = len(KEY_PREFIX) + 4  # the part of a key kept to tell keys apart in a list
_MAX_NAME = 100
_MAX_ORIGINS = 50  # the table's limit too
_NAME = re.compile(r"^[\w .,:()/@+-]+$")
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


@dataclass(frozen=True)
class WriteKey:
    """A key as listed: never the key itself."""

    id: uuid.UUID
    name: str
    key_prefix: str
    origins: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``key`` is the secret, shown this once and stored nowhere."""

    key: str
    write_key: WriteKey


@dataclass(frozen=True)
class KeyOwner:
    """What a live key opens: its workspace, and the web origins it accepts."""

    creator_id: uuid.UUID
    key_id: uuid.UUID
    origins: tuple[str, ...]


def hash_key(key: str) -> str:
    """The stored form of ``key`` (hex sha256)."""
    return hashlib.sha256(key.encode()).hexdigest()


def normalize_origin(origin: str) -> str:
    """``origin`` as browsers send it in the Origin header: ``scheme://host[:port]``, lower case,
    without a default port.

    Raises:
        ValidationError: not an http(s) origin, or it carries a path, query or credentials.
    """
    text = (origin or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"'{text}' is not a web origin ({exc}); write it as https://example.com.") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in {"http", "https"} or not host:
        raise ValidationError(f"'{text}' is not a web origin; write it as https://example.com (http or https, "
                              "then the host).")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"'{text}' carries a user name or password; an origin is only scheme://host[:port].")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ValidationError(f"'{text}' has a path; an origin is only scheme://host[:port], "
                              f"e.g. {scheme}://{host}.")
    if ":" in host:
        host = f"[{host}]"
    elif not _HOST.match(host):
        raise ValidationError(f"'{text}' does not name a host; write it as https://example.com.")
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def _name(name: str) -> str:
    text = require_text(name, "key name", max_length=_MAX_NAME)
    if not _NAME.match(text):
        raise ValidationError(f"The key name '{text}' may hold letters, digits, spaces and . , : ( ) / @ + - _ only; "
                              "name it for the site or player that uses it.")
    return text


def create_key(t: Workspace, name: str, origins: Sequence[str] = ()) -> CreatedKey:
    """Make a write key named ``name`` for this workspace; the returned ``key`` is shown once.

    Args:
        name: what the key is for ("School site"); unique among the workspace's live keys.
        origins: web pages whose browsers may send events with the key (CORS); none for a server.

    Raises:
        ValidationError: a bad or taken name, or an origin that is not ``scheme://host[:port]``.
    """
    name = _name(name)
    if isinstance(origins, str):
        origins = [origins]
    allowed = list(dict.fromkeys(normalize_origin(o) for o in origins))
    if len(allowed) > _MAX_ORIGINS:
        raise ValidationError(f"A key accepts at most {_MAX_ORIGINS} origins; make a second key for the others.")
    key = KEY_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    try:
        with t.conn.begin_nested():
            row = t.conn.execute(
                sa.text("INSERT INTO write_keys (creator_id, name, key_hash, key_prefix, origins) "
                        "VALUES (:c, :name, :hash, :prefix, :origins) "
                        "RETURNING id, name, key_prefix, origins, created_at, last_used_at, revoked_at"),
                {"c": t.creator_id, "name": name, "hash": hash_key(key), "prefix": key[:_SHOWN], "origins": allowed},
            ).one()
    except IntegrityError as exc:
        if "idx_write_keys_name" in str(exc.orig):
            raise ValidationError(f"This workspace already has a key named '{name}'; choose another name or "
                                  "revoke that key first.") from exc
        raise
    return CreatedKey(key, to_record(WriteKey, row))


def list_keys(t: Workspace, *, include_revoked: bool = False) -> list[WriteKey]:
    """This workspace's keys, newest first (revoked ones too when asked)."""
    rows = t.conn.execute(
        sa.text("SELECT id, name, key_prefix, origins, created_at, last_used_at, revoked_at FROM write_keys "
                "WHERE creator_id = :c AND (:all OR revoked_at IS NULL) ORDER BY created_at DESC, name, id"),
        {"c": t.creator_id, "all": include_revoked},
    )
    return [to_record(WriteKey, row) for row in rows]


def revoke_key(t: Workspace, name: str) -> bool:
    """Revoke the live key named ``name`` (the collector refuses it within seconds: it remembers a key
    for at most ``collector.service.KEY_CACHE_SECONDS``); False when there is no such key."""
    revoked = t.conn.execute(
        sa.text("UPDATE write_keys SET revoked_at = now() WHERE creator_id = :c AND lower(name) = lower(:name) "
                "AND revoked_at IS NULL"),
        {"c": t.creator_id, "name": (name or "").strip()},
    )
    return revoked.rowcount > 0


def key_owner(conn: Connection, key: str) -> KeyOwner | None:
    """The workspace a live ``key`` writes into, or None (malformed, unknown or revoked).

    ``conn`` is an app connection outside any workspace's transaction: the lookup is the database
    function ``write_key_owner``, which refuses to run inside one.
    """
    if not isinstance(key, str) or not _KEY.match(key):
        return None
    row = conn.execute(sa.text("SELECT creator_id, key_id, origins FROM chronos.write_key_owner(:hash)"),
                       {"hash": hash_key(key)}).one_or_none()
    if row is None:
        return None
    return KeyOwner(row.creator_id, row.key_id, tuple(row.origins))
