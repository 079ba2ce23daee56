"""Secrets at rest: a Whop API key is stored as a Fernet token, never in clear text.

The key comes from ``CHRONOS_SECRET_KEY`` or, unset, from ``secret.key`` in the data folder,
generated on first use and readable by its owner only. Losing it makes stored secrets unreadable:
the creator connects again (nothing else depends on it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..config import Settings
from ..errors import ValidationError

__all__ = ["KEY_FILE", "decrypt", "encrypt"]

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"


def encrypt(settings: Settings, secret: str) -> bytes:
    """``secret`` as a Fernet token under this installation's key."""
    return _fernet(settings).encrypt(secret.encode())


def decrypt(settings: Settings, token: bytes) -> str:
    """The secret ``token`` holds.

    Raises:
        ValidationError: the token was made under another key (CHRONOS_SECRET_KEY changed, or the
            data folder's key file was replaced); the message says to connect again.
    """
    try:
        return _fernet(settings).decrypt(bytes(token)).decode()
    except InvalidToken as exc:
        raise ValidationError("The stored Whop API key cannot be read with this installation's secret key "
                              "(CHRONOS_SECRET_KEY or the data folder's secret.key changed); "
                              "connect to Whop again.") from exc


def _fernet(settings: Settings) -> Fernet:
    if settings.secret_key:
        try:
            return Fernet(settings.secret_key.encode())
        except ValueError as exc:
            # The message says nothing of the value: it is a secret, even when malformed.
            raise ValidationError("CHRONOS_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes); "
                                  "make one with `python -c \"from cryptography.fernet import Fernet; "
                                  "print(Fernet.generate_key().decode())\"`.") from exc
    return Fernet(_key_file(settings.data_dir / KEY_FILE))


def _key_file(path: Path) -> bytes:
    """The key in ``path``, made on first use; created with mode 0600 so no moment exists in which
    another user could read it."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    log.info("generated the secret key file %s", path)
    return key
