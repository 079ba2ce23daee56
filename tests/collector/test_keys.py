"""Write keys: made once, stored hashed, listed without the secret, revoked by name; the
collector's lookup maps a live key to its workspace and nothing else."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from chronos_data import cli
from chronos_data.collector import keys
from chronos_data.errors import ValidationError
from tests.conftest import new_creator


def test_a_key_is_returned_once_and_only_its_hash_is_stored(t):
    created = keys.create_key(t, "School site", ["https://School.example.com:443/", "http://localhost:8000"])
    assert created.key.startswith("chr_live_") and len(created.key) == 52
    assert created.write_key.origins == ["https://school.example.com", "http://localhost:8000"]
    stored = t.conn.execute(sa.text("SELECT row_to_json(k)::text FROM write_keys k WHERE id = :id"),
                            {"id": created.write_key.id}).scalar_one()
    assert created.key not in stored and keys.hash_key(created.key) in stored
    listed = keys.list_keys(t)
    assert [k.name for k in listed] == ["School site"] and listed[0].key_prefix == created.key[:13]


def test_names_are_unique_among_live_keys_and_free_again_after_revoking(t):
    keys.create_key(t, "Player")
    with pytest.raises(ValidationError, match="already has a key named 'player'"):
        keys.create_key(t, "player")
    assert keys.revoke_key(t, "PLAYER") is True
    assert keys.revoke_key(t, "Player") is False  # already revoked: nothing left to revoke
    keys.create_key(t, "Player")
    assert [k.revoked_at is None for k in keys.list_keys(t, include_revoked=True)].count(False) == 1


@pytest.mark.parametrize("origin, message", [
    ("school.example.com", "not a web origin"),
    ("ftp://school.example.com", "not a web origin"),
    ("https://school.example.com/lessons", "has a path"),
    ("https://user:pw@school.example.com", "user name or password"),
    ("https://school.example.com:99999", "not a web origin"),
    ("https://exa mple.com", "does not name a host"),
])
def test_an_origin_that_is_not_scheme_host_port_is_refused_in_words(t, origin, message):
    with pytest.raises(ValidationError, match=message):
        keys.create_key(t, "Site", [origin])


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "<script>", "tab\there"])
def test_a_bad_name_is_refused(t, name):
    with pytest.raises(ValidationError):
        keys.create_key(t, name)


def test_the_lookup_finds_the_workspace_of_a_live_key_only(db):
    creator = new_creator(db, "keys")
    with db.workspace(creator) as t:
        live = keys.create_key(t, "Live", ["https://a.example.com"]).key
        gone = keys.create_key(t, "Gone").key
        keys.revoke_key(t, "Gone")
    with db.engine.begin() as conn:
        owner = keys.key_owner(conn, live)
        assert owner is not None and owner.creator_id == creator and owner.origins == ("https://a.example.com",)
        assert keys.key_owner(conn, gone) is None
        assert keys.key_owner(conn, "chr_live_" + "A" * 43) is None
        assert keys.key_owner(conn, "not a key") is None
    with db.workspace(creator) as t:
        assert keys.list_keys(t)[0].last_used_at is not None


def test_the_lookup_is_refused_inside_a_workspace_transaction(db, t):
    live = keys.create_key(t, "Mine").key
    with pytest.raises(DBAPIError, match="only outside a workspace"):
        keys.key_owner(t.conn, live)


@pytest.fixture
def env(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)


def test_the_cli_creates_lists_and_revokes_keys(env, capsys):
    email = f"keys-{uuid.uuid4().hex[:6]}@example.com"
    assert cli.main(["keys", "create", "--name", "Site", "--origin", "https://s.example.com", "--creator", email,
                     "--json"]) == 0
    key = json.loads(capsys.readouterr().out)["key"]
    assert key.startswith("chr_live_")
    assert cli.main(["keys", "list", "--creator", email]) == 0
    out = capsys.readouterr().out
    assert "Site" in out and key[:13] in out and key not in out and "https://s.example.com" in out
    assert cli.main(["keys", "revoke", "Site", "--creator", email]) == 0
    capsys.readouterr()
    assert cli.main(["keys", "revoke", "Site", "--creator", email, "--json"]) == 1
    assert "no live key named 'Site'" in json.loads(capsys.readouterr().out)["error"]
    assert cli.main(["keys", "create", "--name", "Bad", "--origin", "https://s.example.com/x", "--creator", email]) == 1
    assert "has a path" in capsys.readouterr().err
