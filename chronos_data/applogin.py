"""The app's own login under DATABASE_URL: a role with no path back to the owner.

SQL sent on a connection can always ``RESET ROLE`` to the user that logged in. So the app must not
log in as the owner and ``SET ROLE`` down: it logs in as ``chronos_app`` itself (or as an operator's
login role that may only become it). Unless CHRONOS_APP_DATABASE_URL names that login, the owner
gives ``chronos_app`` LOGIN and a password derived from the owner's own password, so every process
and host with the same DATABASE_URL arrives at the same one without anything stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from .errors import StartupError

__all__ = ["APP_ROLE", "APP_URL_SETTING", "check_login", "provision", "role_exists"]

APP_ROLE = "chronos_app"
APP_URL_SETTING = "CHRONOS_APP_DATABASE_URL"
#: For an owner URL without a password (peer, certificate or .pgpass login): the key is kept here.
SECRET_FILE = "app-login.key"
_ALTER_ROLE_LOCK = 7_220_330_819  # ALTER ROLE from two processes at once fails "concurrently updated"


def role_exists(conn: Connection) -> bool:
    """True once migration 002 has created chronos_app."""
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}).first() is not None


def provision(owner_engine: Engine, owner_url: str, data_dir: Path) -> str:
    """Give chronos_app LOGIN with the derived password; return the URL the app logs in with.

    Raises:
        StartupError: the owner may not change chronos_app (no CREATEROLE or ADMIN on it).
    """
    owner = make_url(owner_url)
    password = _derived_password(owner.password, data_dir)
    # Supabase's pooler names users "role.project"; the app's login goes to the same project.
    _, dot, project = (owner.username or "").partition(".")
    username = APP_ROLE + (dot + project if project else "")
    try:
        with owner_engine.begin() as conn:
            if role_exists(conn):  # not yet on a fresh database opened only to migrate
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ALTER_ROLE_LOCK})
                # Sent as a SCRAM verifier (libpq's PQencryptPasswordConn), never as the password:
                # statements may be logged. Verifiers are base64, '$' and ':' only: no quoting needed.
                pgconn = conn.connection.driver_connection.pgconn
                verifier = pgconn.encrypt_password(password.encode(), APP_ROLE.encode(), b"scram-sha-256").decode()
                conn.exec_driver_sql(f"ALTER ROLE {APP_ROLE} LOGIN PASSWORD '{verifier}'")
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0]
        raise StartupError(
            f"The user in DATABASE_URL may not let {APP_ROLE} log in ({first}); give it CREATEROLE, or "
            f"set {APP_URL_SETTING} to a login that is a member of {APP_ROLE} (see the README, "
            "'Using a managed PostgreSQL')."
        ) from exc
    return owner.set(username=username, password=password).render_as_string(hide_password=False)


def check_login(engine: Engine, app_url: str, *, derived: bool) -> None:
    """Log in as the app once: it must reach chronos_app and must not be able to act as the owner.

    Raises:
        StartupError: the login failed, or it is the owner, a superuser or a BYPASSRLS role.
    """
    url = make_url(app_url)
    fix = (f"set {APP_URL_SETTING} to a login that is a member of {APP_ROLE}" if derived
           else f"check {APP_URL_SETTING}")
    try:
        with engine.connect() as conn:
            unsafe = conn.execute(sa.text(
                "SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(session_user, n.nspowner, 'MEMBER') "
                "FROM pg_roles r, pg_namespace n WHERE r.rolname = session_user AND n.nspname = 'chronos'"
            )).scalar_one()
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        raise StartupError(
            f"Chronos could not log in as '{url.username}' for the app ({first}); {fix} "
            "(see the README, 'Using a managed PostgreSQL')."
        ) from exc
    if unsafe:
        raise StartupError(
            f"{APP_URL_SETTING} logs in as '{url.username}', which can act as the owner of Chronos's tables "
            f"or bypass row-level security; use a login that is only a member of {APP_ROLE}."
        )


def _derived_password(owner_password: str | None, data_dir: Path) -> str:
    key = owner_password.encode() if owner_password else _local_key(data_dir)
    return hmac.new(key, f"{APP_ROLE} login".encode(), hashlib.sha256).hexdigest()


def _local_key(data_dir: Path) -> bytes:
    """A random key in the data folder (0600), made once; every process on this host reads it."""
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole under another name, then linked: a process starting alongside never reads
        # a half-written key, and the first link wins.
        draft = data_dir / f".{SECRET_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes().strip()
