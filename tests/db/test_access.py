"""Sign-in and analyst teammates: who may open which workspace, and read-only enforced by Postgres."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from chronos_data import access, courses, creators, workspace
from chronos_data.errors import NotFound, ReadOnlyAccess, ValidationError


def _email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}@example.com"


_ISSUER = "https://idp.example.com"


def _sign_in(db, email: str, name: str | None = None, *, subject: str | None = None) -> list[access.Membership]:
    """Sign in as the person the provider knows by ``subject`` (default: one per address)."""
    identity = access.Identity(_ISSUER, subject or f"user-{email.lower()}", email, name)
    with db.engine.begin() as conn:
        return access.sign_in(conn, identity)


def test_first_sign_in_creates_the_workspace_and_records_the_time(db):
    email = _email("new")
    [own] = _sign_in(db, email, "Ada Lovelace")
    assert own.role == "owner" and own.email == email and not own.read_only
    with db.workspace(own.creator_id) as t:
        first = creators.get_creator(t)
    assert first.name == "Ada Lovelace" and first.last_login_at is not None

    [again] = _sign_in(db, email.upper())
    assert again.creator_id == own.creator_id
    with db.workspace(own.creator_id) as t:
        assert creators.get_creator(t).last_login_at > first.last_login_at


def test_a_teammate_sees_the_owner_s_workspace_after_their_own(db):
    owner_email, analyst_email = _email("owner"), _email("analyst")
    [owner] = _sign_in(db, owner_email)
    with db.workspace(owner.creator_id) as t:
        added = access.add_teammate(t, analyst_email.upper())
    assert added.role == "analyst" and added.last_seen_at is None

    own, shared = _sign_in(db, analyst_email)
    assert own.role == "owner" and own.email == analyst_email
    assert (shared.creator_id, shared.role, shared.read_only) == (owner.creator_id, "analyst", True)
    with db.workspace(owner.creator_id) as t:
        [seen] = access.list_teammates(t)
    assert seen.last_seen_at is not None


def test_an_analyst_reads_the_workspace_and_postgres_refuses_every_change(db):
    [owner] = _sign_in(db, _email("owner"))
    with db.workspace(owner.creator_id) as t:
        course_id = courses.create_course(t, "Statistics 101")
    with db.workspace(owner.creator_id, read_only=True) as t:
        assert [c.title for c in courses.list_courses(t)] == ["Statistics 101"]
        assert workspace.row_counts(t, ("courses",)) == {"courses": 1}

    with pytest.raises(ReadOnlyAccess, match="read-only"):
        with db.workspace(owner.creator_id, read_only=True) as t:
            courses.create_course(t, "Sneaky course")
    with pytest.raises(ReadOnlyAccess):
        with db.workspace(owner.creator_id, read_only=True) as t:
            t.conn.execute(sa.text("UPDATE courses SET title = 'changed' WHERE id = :id"), {"id": course_id})
    with pytest.raises(ReadOnlyAccess):
        with db.workspace(owner.creator_id, read_only=True) as t:
            t.conn.execute(sa.text("DELETE FROM courses WHERE id = :id"), {"id": course_id})
    with db.workspace(owner.creator_id) as t:
        assert [(c.id, c.title) for c in courses.list_courses(t)] == [(course_id, "Statistics 101")]


def test_the_analyst_role_ends_with_its_transaction(db):
    [owner] = _sign_in(db, _email("owner"))
    for _ in range(12):  # more than the pool holds: every pooled connection is reused
        with db.workspace(owner.creator_id, read_only=True) as t:
            assert t.conn.execute(sa.text("SELECT current_user")).scalar_one() == "chronos_analyst"
        with db.workspace(owner.creator_id) as t:
            assert t.conn.execute(sa.text("SELECT current_user")).scalar_one() == "chronos_app"


def test_the_analyst_role_may_read_every_table_the_app_reads_and_write_none(db):
    with db.owner() as conn:
        app_reads = set(conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'chronos' AND c.relkind IN ('r', 'v', 'p') "
            "AND has_table_privilege('chronos_app', c.oid, 'SELECT')")).scalars())
        analyst = conn.execute(sa.text(
            "SELECT c.relname, has_table_privilege('chronos_analyst', c.oid, 'SELECT') AS reads, "
            "has_table_privilege('chronos_analyst', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS writes "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'chronos' AND c.relkind IN ('r', 'v', 'p')")).all()
    assert "workspace_members" in app_reads
    assert {row.relname for row in analyst if row.reads} == app_reads
    assert [row.relname for row in analyst if row.writes] == []


def test_removing_a_teammate_takes_access_away_and_can_be_undone(db):
    [owner] = _sign_in(db, _email("owner"))
    analyst_email = _email("analyst")
    with db.workspace(owner.creator_id) as t:
        mate = access.add_teammate(t, analyst_email)
        access.remove_teammate(t, mate.id)
        assert access.list_teammates(t) == []
        assert [m.email for m in access.list_teammates(t, include_removed=True)] == [analyst_email]
    assert [w.role for w in _sign_in(db, analyst_email)] == ["owner"]

    with db.workspace(owner.creator_id) as t:
        access.restore_teammate(t, mate.id)
    assert [w.creator_id for w in _sign_in(db, analyst_email)][1] == owner.creator_id


def test_teammates_are_per_workspace(db):
    [a] = _sign_in(db, _email("a"))
    [b] = _sign_in(db, _email("b"))
    with db.workspace(a.creator_id) as t:
        mate = access.add_teammate(t, _email("mate"))
    with db.workspace(b.creator_id) as t:
        assert access.list_teammates(t, include_removed=True) == []
        with pytest.raises(NotFound):
            access.remove_teammate(t, mate.id)
    with db.workspace(a.creator_id) as t:
        assert [m.removed_at for m in access.list_teammates(t)] == [None]


@pytest.mark.parametrize("bad", ["", "   ", "not-an-email", "two@@example.com", "x@y", "a b@example.com"])
def test_teammate_addresses_are_validated(db, bad):
    [owner] = _sign_in(db, _email("owner"))
    with db.workspace(owner.creator_id) as t, pytest.raises(ValidationError):
        access.add_teammate(t, bad)


def test_the_owner_cannot_add_their_own_address(db):
    email = _email("owner")
    [owner] = _sign_in(db, email)
    with db.workspace(owner.creator_id) as t, pytest.raises(ValidationError, match="own address"):
        access.add_teammate(t, email.title())


def test_sign_in_needs_an_email(db):
    with pytest.raises(ValidationError):
        _sign_in(db, "")


def test_teammates_from_the_command_line(db, database_url, monkeypatch, capsys):
    from chronos_data import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    owner, mate = _email("cli-owner"), _email("cli-mate")
    assert cli.main(["teammates", "list", "--creator", owner]) == 0
    assert capsys.readouterr().out.strip() == "No teammates."

    assert cli.main(["teammates", "add", mate, "--creator", owner, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["teammates"]
    assert (row["email"], row["role"], row["removed"]) == (mate, "analyst", False)
    assert [w.role for w in _sign_in(db, mate)] == ["owner", "analyst"]

    assert cli.main(["teammates", "remove", mate.upper(), "--creator", owner]) == 0
    assert "(removed)" in capsys.readouterr().out
    assert [w.role for w in _sign_in(db, mate)] == ["owner"]
    assert cli.main(["teammates", "restore", mate, "--creator", owner]) == 0
    assert "(removed)" not in capsys.readouterr().out

    assert cli.main(["teammates", "remove", "nobody@example.com", "--creator", owner]) == 1
    assert "is not a teammate" in capsys.readouterr().err
    assert cli.main(["teammates", "add", "not-an-address", "--creator", owner]) == 1
    assert "not an e-mail address" in capsys.readouterr().err


def test_an_address_does_not_open_a_workspace_another_sign_in_holds(db):
    """A reused or retyped address: the provider's subject differs, so the workspace stays shut."""
    email = _email("bravo")
    [bravo] = _sign_in(db, email, subject="bravo-subject")
    with pytest.raises(ValidationError, match="belongs to another sign-in account"):
        _sign_in(db, email, subject="mallory-subject")
    [again] = _sign_in(db, email, subject="bravo-subject")
    assert again.creator_id == bravo.creator_id


def test_a_changed_address_still_opens_the_same_workspace_under_its_new_label(db):
    old, new = _email("old"), _email("new")
    [before] = _sign_in(db, old, subject="same-person")
    [after] = _sign_in(db, new, subject="same-person")
    assert after.creator_id == before.creator_id and after.email == new
    [fresh] = _sign_in(db, old, subject="someone-else")  # the old address is free for a new workspace
    assert fresh.creator_id != before.creator_id


def test_a_workspace_made_before_sign_in_becomes_the_first_identity_s_own(db):
    email = _email("local")
    with db.engine.begin() as conn:
        made = creators.ensure_creator(conn, email)
    [own] = _sign_in(db, email, subject="first")
    assert own.creator_id == made
    with pytest.raises(ValidationError, match="another sign-in"):
        _sign_in(db, email, subject="second")
