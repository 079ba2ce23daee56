"""Under DATABASE_URL the app logs in as a role of its own, never as the owner: SQL sent on its
connection could RESET ROLE, and RESET ROLE goes back to whoever logged in. These run against a
server that checks passwords (scram over TCP), as a managed PostgreSQL does."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from chronos_data import creators
from chronos_data.applogin import SECRET_FILE
from chronos_data.config import Settings
from chronos_data.db import APP_ROLE, open_database
from chronos_data.errors import StartupError
from tests.pg import running_tcp_cluster

OWNER_PASSWORD = "owner-secret"


@pytest.fixture(scope="module")
def cluster():
    with running_tcp_cluster("chronos-login-", OWNER_PASSWORD, with_vector=True) as server:
        yield server


def _settings(tmp_path: Path, url: str, app_url: str | None = None) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path / "data", openai_api_key=None, openai_base_url=None,
                    app_database_url=app_url)


def _login(conn: sa.Connection) -> tuple[str, str]:
    return tuple(conn.execute(sa.text("SELECT session_user, current_user")).one())


def test_the_app_logs_in_as_chronos_app_with_a_password_the_owner_derived(tmp_path, cluster):
    owner_url = cluster.url(OWNER_PASSWORD)
    first = open_database(_settings(tmp_path / "one", owner_url))
    second = open_database(_settings(tmp_path / "two", owner_url))  # another process or host
    try:
        app_password = make_url(first.engine.url.render_as_string(hide_password=False)).password
        assert app_password and OWNER_PASSWORD not in app_password
        for db in (first, second):
            with db.engine.begin() as conn:
                conn.execute(sa.text("RESET ROLE"))
                assert _login(conn) == (APP_ROLE, APP_ROLE)
                with pytest.raises(DBAPIError, match="permission denied"):
                    conn.execute(sa.text("SET ROLE postgres"))
        # the second start set the same password again: the first one's new connections still log in
        first.engine.dispose()
        with first.engine.connect() as conn:
            assert _login(conn) == (APP_ROLE, APP_ROLE)
    finally:
        first.dispose()
        second.dispose()


def test_an_operator_login_that_may_only_become_chronos_app(tmp_path, cluster):
    owner_url = cluster.url(OWNER_PASSWORD)
    open_database(_settings(tmp_path, owner_url)).dispose()  # migrations create chronos_app
    name = f"chronos_web_{uuid.uuid4().hex[:6]}"
    owner = sa.create_engine(owner_url.replace("postgresql://", "postgresql+psycopg://"))
    with owner.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN NOINHERIT PASSWORD 'web-secret'")
        conn.exec_driver_sql(f"GRANT {APP_ROLE} TO {name}")
    owner.dispose()
    app_url = make_url(owner_url).set(username=name, password="web-secret").render_as_string(hide_password=False)
    db = open_database(_settings(tmp_path, owner_url, app_url))
    try:
        with db.engine.begin() as conn:
            creator = creators.ensure_creator(conn, f"web-{uuid.uuid4().hex[:8]}@example.com")
        with db.workspace(creator, read_only=True) as t:  # analysts: SET LOCAL ROLE chronos_analyst
            assert _login(t.conn) == (name, "chronos_analyst")
        with db.engine.begin() as conn:
            conn.execute(sa.text("RESET ROLE"))
            assert _login(conn) == (name, name)
            with pytest.raises(DBAPIError, match="permission denied"):  # NOINHERIT: nothing of its own
                conn.execute(sa.text("SELECT count(*) FROM chronos.creators"))
    finally:
        db.dispose()


def test_an_app_url_that_logs_in_as_the_owner_is_refused(tmp_path, cluster):
    owner_url = cluster.url(OWNER_PASSWORD)
    with pytest.raises(StartupError) as error:
        open_database(_settings(tmp_path, owner_url, app_url=owner_url))
    message = str(error.value)
    assert "CHRONOS_APP_DATABASE_URL logs in as 'postgres'" in message and OWNER_PASSWORD not in message


def test_an_app_url_with_a_wrong_password_names_the_setting(tmp_path, cluster):
    owner_url = cluster.url(OWNER_PASSWORD)
    app_url = make_url(owner_url).set(username=APP_ROLE, password="wrong").render_as_string(hide_password=False)
    with pytest.raises(StartupError) as error:
        open_database(_settings(tmp_path, owner_url, app_url))
    message = str(error.value)
    assert f"could not log in as '{APP_ROLE}'" in message and "check CHRONOS_APP_DATABASE_URL" in message


def test_an_owner_url_without_password_keeps_the_key_in_the_data_folder_0600(settings, db):
    if make_url(settings.database_url).password:
        pytest.skip("the tests' DATABASE_URL has a password: the key is derived from it")
    key = settings.data_dir / SECRET_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes().strip()) == 64


def test_the_app_password_never_reaches_the_server_log(tmp_path, cluster):
    owner_url = cluster.url(OWNER_PASSWORD)
    owner = sa.create_engine(owner_url.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.exec_driver_sql("ALTER SYSTEM SET log_statement = 'ddl'")
        conn.exec_driver_sql("SELECT pg_reload_conf()")
    try:
        db = open_database(_settings(tmp_path, owner_url))
        db.dispose()
        app_password = make_url(db.engine.url.render_as_string(hide_password=False)).password
        log = (cluster.data / "log").read_text(errors="replace")
        assert f"ALTER ROLE {APP_ROLE} LOGIN PASSWORD 'SCRAM-SHA-256$" in log  # logged, as a verifier
        assert app_password not in log
    finally:
        with owner.connect() as conn:
            conn.exec_driver_sql("ALTER SYSTEM RESET log_statement")
            conn.exec_driver_sql("SELECT pg_reload_conf()")
        owner.dispose()
