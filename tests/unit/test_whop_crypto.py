"""Secrets at rest (chronos_data/whop/crypto.py): the generated key file, CHRONOS_SECRET_KEY, and
what a wrong key says (never the secret)."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from chronos_data.config import Settings
from chronos_data.errors import ValidationError
from chronos_data.whop import crypto


def _settings(tmp_path, secret_key=None) -> Settings:
    return Settings(database_url=None, data_dir=tmp_path, openai_api_key=None, openai_base_url=None,
                    secret_key=secret_key)


def test_the_generated_key_file_is_the_owner_s_only_and_reused(tmp_path):
    settings = _settings(tmp_path / "data")
    token = crypto.encrypt(settings, "apik_secret")
    key_file = tmp_path / "data" / crypto.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"apik_secret" not in token and crypto.decrypt(settings, token) == "apik_secret"
    assert key_file.read_bytes() == key_file.read_bytes().strip()  # one key, kept as made


def test_chronos_secret_key_is_used_instead_of_a_file(tmp_path):
    key = Fernet.generate_key().decode()
    token = crypto.encrypt(_settings(tmp_path, key), "apik_secret")
    assert not (tmp_path / crypto.KEY_FILE).exists()
    assert Fernet(key.encode()).decrypt(token) == b"apik_secret"


def test_a_changed_key_says_to_connect_again(tmp_path):
    token = crypto.encrypt(_settings(tmp_path, Fernet.generate_key().decode()), "apik_secret")
    with pytest.raises(ValidationError, match="connect to Whop again"):
        crypto.decrypt(_settings(tmp_path, Fernet.generate_key().decode()), token)


def test_a_malformed_secret_key_is_refused_without_repeating_it(tmp_path):
    with pytest.raises(ValidationError, match="not a Fernet key") as refused:
        crypto.encrypt(_settings(tmp_path, "hunter2-is-not-a-key"), "apik_secret")
    assert "hunter2" not in str(refused.value)
    assert "hunter2" not in repr(_settings(tmp_path, "hunter2-is-not-a-key"))
