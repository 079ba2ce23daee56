"""Settings → Whop through AppTest, against the real database and the fake Whop API."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from streamlit.testing.v1 import AppTest

from chronos_data import creators, videos
from tests.app.shown import shown
from tests.fakes.whop import FakeWhop
from tests.whop.test_whop_sync import YOUTUBE, _company, _course, _key, _members

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def fake(app_env, monkeypatch):
    with FakeWhop(_company(), _key(), members=_members(), courses=[_course()],
                  company_title="**Loud** Academy <b>x</b>") as server:
        monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", f"whop-app-{uuid.uuid4().hex[:8]}@example.com")
        monkeypatch.setenv("WHOP_BASE_URL", server.api_url)
        monkeypatch.setenv("CHRONOS_SECRET_KEY", Fernet.generate_key().decode())
        yield server


def _settings() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    return at.switch_page("pages/settings.py").run()


def _connect(at: AppTest, key: str, company: str) -> AppTest:
    at.text_input(key="settings_whop_key").input(key)
    at.text_input(key="settings_whop_company").input(company)
    return at.button(key="settings_whop_connect_submit").click().run()


def test_connect_sync_see_the_mapping_and_disconnect(fake, db):
    import os

    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, os.environ["CHRONOS_LOCAL_EMAIL"])
    with db.workspace(creator) as t:
        videos.create_video(t, title="Commits video", source_type="youtube", source_id=YOUTUBE)

    at = _connect(_settings(), fake.key, fake.company)
    assert not at.exception and not at.error
    assert any(f"Connected to Whop company {fake.company}" in shown(s.value) for s in at.success)

    at = at.button(key="settings_whop_sync").click().run()
    assert not at.exception and not at.error
    assert any(shown(s.value).startswith("3 members: 3 new, 1 cancelled; 1 course, 1 lesson matched, 3 unmatched")
               for s in at.success)
    page = "\n".join(m.value for m in at.markdown)
    # The company's name as Whop gives it, drawn inert (no bold, no HTML).
    assert "&#42;&#42;Loud&#42;&#42;" in page and "<b>" not in page
    assert fake.key not in page
    (table,) = at.dataframe  # the page's only table (AppTest gives a table without selection no key)
    mapping = table.value
    commits = mapping[mapping["Whop lesson"] == "Commits"].iloc[0]
    assert commits["Chronos video"] == "Commits video"
    assert (mapping["Chronos video"] == "unmatched: import it to the library").sum() == 3
    assert any("have no match in the library" in shown(c.value) for c in at.caption)

    at = at.button(key="settings_whop_import").click().run()
    assert not at.exception
    assert any(shown(s.value).startswith("1 lesson queued for import and matched. import these with their subtitle "
                                         "file on the Videos page: Branches; Rebase") for s in at.success)

    # Match a lesson by hand, chosen by id.
    with db.workspace(creator) as t:
        video = next(v.id for v in videos.list_videos(t) if v.title == "Commits video")
    at.selectbox(key="settings_whop_match_lesson").select("lesn_other")
    at.selectbox(key="settings_whop_match_video").select(video)
    at = at.button(key="settings_whop_match_save").click().run()
    assert not at.exception
    assert any("Matched: Not in the library → Commits video" in shown(s.value) for s in at.success)
    (table,) = at.dataframe
    other = table.value[table.value["Whop lesson"] == "Not in the library"].iloc[0]
    assert other["Chronos video"] == "Commits video (chosen by hand)"

    at.text_input(key="settings_whop_webhook_secret").input("ws_" + "d" * 48)
    at = at.button(key="settings_whop_webhook_submit").click().run()
    assert any("Webhook secret saved" in shown(s.value) for s in at.success)
    assert any("Webhook signing secret (set" in e.label for e in at.expander)
    # The address to give Whop: this workspace's own webhook route on the collector.
    assert any(c.value.endswith(f"/v1/webhooks/whop/{creator}") for c in at.code)

    at = at.button(key="settings_whop_disconnect").click().run()
    assert any("Disconnect from Whop?" in w.value for w in at.warning)
    at = at.button(key="settings_whop_disconnect_confirm").click().run()
    assert not at.exception
    assert any("Disconnected from Whop" in shown(s.value) for s in at.success)
    with db.workspace(creator) as t:
        assert t.conn.execute(sa.text("SELECT count(*) FROM whop_connections WHERE creator_id = :c"),
                              {"c": creator}).scalar_one() == 0
        assert t.conn.execute(sa.text("SELECT count(*) FROM students WHERE creator_id = :c"),
                              {"c": creator}).scalar_one() == 3


def test_a_wrong_key_is_refused_in_words_and_not_shown(fake):
    at = _connect(_settings(), "apik_not_the_key", fake.company)
    assert not at.exception
    assert any("refused the API key (401)" in shown(e.value) for e in at.error)
    assert all("apik_not_the_key" not in shown(e.value) for e in at.error)
    from streamlit.proto.TextInput_pb2 import TextInput

    assert at.text_input(key="settings_whop_key").proto.type == TextInput.PASSWORD  # typed as dots


def test_analytics_shows_whop_members_and_who_cancelled_after_what(fake, db):
    import os

    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, os.environ["CHRONOS_LOCAL_EMAIL"])
    with db.workspace(creator) as t:
        video = videos.create_video(t, title="Commits video", source_type="youtube", source_id=YOUTUBE)
    at = _connect(_settings(), fake.key, fake.company)
    at = at.button(key="settings_whop_sync").click().run()
    with db.workspace(creator) as t:
        t.conn.execute(sa.text("""
            INSERT INTO video_watch_sessions (creator_id, student_id, video_id, session_start, session_end, metadata)
            SELECT :c, id, :v, '2026-10-30T09:00:00Z', '2026-10-30T09:05:00Z', '{"played": [[0, 65]]}'
            FROM students WHERE creator_id = :c AND whop_user_id = 'user_2'
        """), {"c": creator, "v": video})
    at = at.switch_page("pages/analytics.py").run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    groups = next(f for f in frames if "Who" in f.columns)
    assert set(groups["Who"]) == {"Active Whop members", "Cancelled Whop members"}
    churned = next(f for f in frames if "What happened" in f.columns)
    assert churned.iloc[0]["What happened"] == "cancelled 2 days after stopping at 01:05 of Commits video"
    assert churned.iloc[0]["Reason given"] == "Too expensive"


def test_analytics_shows_whop_members_before_anyone_has_watched(fake):
    """Members and cancellations are news on day one: the section is drawn under the empty state."""
    at = _connect(_settings(), fake.key, fake.company)
    at.button(key="settings_whop_sync").click().run()  # no library video: no completion, no viewing
    at = at.switch_page("pages/analytics.py").run()
    assert not at.exception
    assert any("No viewing data yet" in shown(m.value) for m in at.markdown)
    frames = [d.value for d in at.dataframe]
    churned = next(f for f in frames if "What happened" in f.columns)
    assert list(churned["Reason given"]) == ["Too expensive"]
