"""Settings and database URLs: what a user types is accepted, and passwords never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from chronos_data.config import LOCAL_CREATOR_EMAIL, Settings
from chronos_data.db import explain_connect_error, normalize_url, redact_url
from chronos_data.errors import StartupError
from chronos_data.providers import active_providers


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@db.example.com:5432/app",
        "postgresql://u:p@db.example.com:5432/app",
        "postgresql+psycopg://u:p@db.example.com:5432/app",
        "  postgresql://u:p@db.example.com:5432/app\n",
    ],
)
def test_every_postgres_url_form_becomes_psycopg3(url):
    assert normalize_url(url) == "postgresql+psycopg://u:p@db.example.com:5432/app"


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "db.example.com:5432", ""])
def test_other_urls_are_refused_with_the_expected_form(url):
    with pytest.raises(StartupError, match="postgresql://"):
        normalize_url(url)


def test_a_password_with_an_unencoded_at_sign_is_refused_without_showing_it():
    """Read as-is, "p@ss" made "ss@db.example.com" the host, and the connection error showed it."""
    with pytest.raises(StartupError, match="percent-encode") as error:
        normalize_url("postgresql://admin:s3cr@t@db.example.com:5432/app")
    assert "s3cr" not in str(error.value) and "t@db" not in str(error.value)
    assert normalize_url("postgresql://admin:s3cr%40t@db.example.com/app").endswith("@db.example.com/app")


def test_redacted_url_hides_the_password_only():
    shown = redact_url("postgresql+psycopg://admin:s3cr%40t@db.example.com:6543/app?sslmode=require")
    assert "s3cr" not in shown and "admin" in shown and "db.example.com:6543/app" in shown and "***" in shown


def test_settings_defaults_and_blank_values(tmp_path):
    settings = Settings.from_env({"DATABASE_URL": "  ", "OPENAI_API_KEY": ""})
    assert settings.database_url is None and settings.openai_api_key is None
    assert settings.data_dir == Path.home() / ".chronos" and settings.local_creator_email == LOCAL_CREATOR_EMAIL
    custom = Settings.from_env({"CHRONOS_DATA_DIR": str(tmp_path), "OPENAI_API_KEY": "sk-test"})
    assert custom.pgdata == tmp_path / "pgdata" and custom.openai_api_key == "sk-test"
    assert settings.app_database_url is None
    app = Settings.from_env({"CHRONOS_APP_DATABASE_URL": " postgresql://chronos_app:pw@db/chronos "})
    assert app.app_database_url == "postgresql://chronos_app:pw@db/chronos"


def test_providers_are_offline_without_a_key_and_openai_with_one():
    offline = active_providers(Settings.from_env({}))
    assert not offline.online and "384" in offline.embeddings and "offline" in offline.answers.lower()
    # The Assistant page and the question log call offline answers "Quoted from your videos".
    assert "quoted from your videos" in offline.answers.lower() and "extractive" not in offline.answers.lower()
    online = active_providers(Settings.from_env({"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "http://localhost:11434/v1"}))
    assert online.online and online.openai_endpoint == "http://localhost:11434/v1" and "1536" in online.embeddings


class _Orig(Exception):
    pass


class _Wrapped(Exception):
    def __init__(self, message: str) -> None:
        self.orig = _Orig(message)


@pytest.mark.parametrize(
    ("server_said", "we_say"),
    [
        ('FATAL:  database "shop" does not exist', "The database 'shop' does not exist"),
        ('FATAL:  role "bob" does not exist', "The user 'bob' does not exist"),
        ("could not translate host name \"db.exmaple.com\" to address", "could not be found"),
        ("connection timeout expired", "did not answer within"),
    ],
)
def test_connection_failures_become_one_actionable_sentence(server_said, we_say):
    message = explain_connect_error(_Wrapped(server_said), "postgresql+psycopg://bob:pw@db.exmaple.com/shop")
    assert we_say in message and message.endswith(".") and "pw" not in message.replace("password", "")
