"""Settings → Collect viewing: a write key is shown once, listed by name, and revoked after a confirmation."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import creators
from chronos_data.collector import keys
from tests.app.shown import shown

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def workspace_email(app_env, monkeypatch) -> str:
    email = f"collect-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    monkeypatch.setenv("CHRONOS_COLLECTOR_URL", "https://collect.school.example")
    return email


def _settings() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    return at.switch_page("pages/settings.py").run()


def _codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def _keys(db, email: str) -> list[keys.WriteKey]:
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        return keys.list_keys(t, include_revoked=True)


def test_a_new_key_is_shown_once_in_the_snippet_and_listed_by_name(workspace_email, db):
    at = _settings()
    assert "No write keys yet" in "\n".join(c.value for c in at.caption)
    assert any("https://collect.school.example/v1/collector.js" in code for code in _codes(at))

    at.text_input(key="collect_name").input("Player: https://a.example")
    at.text_area(key="collect_origins").input("https://school.example.com/")
    at.button(key="collect_create_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (created,) = _keys(db, workspace_email)
    raw = next(code for code in _codes(at) if code.startswith(keys.KEY_PREFIX))
    assert keys.hash_key(raw)  # a real key, not the placeholder
    assert any(f'data-key="{raw}"' in code for code in _codes(at))
    assert created.origins == ["https://school.example.com"]
    listed = "\n".join(shown(m.value) for m in at.markdown)
    assert "https://a.example" not in "\n".join(m.value for m in at.markdown)  # never autolinked
    assert "Player: https://a.example" in listed and created.key_prefix in listed  # as typed, not a link

    at.run()  # any later visit: the key is gone for good
    assert not any(raw in code for code in _codes(at))


def test_revoking_asks_first_and_keep_it_changes_nothing(workspace_email, db):
    at = _settings()
    at.text_input(key="collect_name").input("Player")
    at.button(key="collect_create_submit").click().run()
    (key,) = _keys(db, workspace_email)

    at.button(key=f"collect_revoke_{key.id}").click().run()
    assert "Every page and server using it stops sending" in "\n".join(w.value for w in at.warning)
    at.button(key=f"collect_revoke_no_{key.id}").click().run()
    assert _keys(db, workspace_email)[0].revoked_at is None

    at.button(key=f"collect_revoke_{key.id}").click().run()
    at.button(key=f"collect_revoke_yes_{key.id}").click().run()
    assert not at.exception
    assert _keys(db, workspace_email)[0].revoked_at is not None
    assert "Key revoked" in "\n".join(s.value for s in at.success)
    assert "No write keys yet" in "\n".join(c.value for c in at.caption)


def test_a_bad_origin_is_refused_with_the_form_kept(workspace_email, db):
    at = _settings()
    at.text_input(key="collect_name").input("Site")
    at.text_area(key="collect_origins").input("school.example.com/lessons")
    at.button(key="collect_create_submit").click().run()
    assert at.error and _keys(db, workspace_email) == []
    assert at.text_input(key="collect_name").value == "Site"
