"""Every page renders through Streamlit's AppTest against the real database."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import courses, creators, videos
from chronos_data.migrations import discover
from components.layout import email_html

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = {
    "pages/overview.py": "Welcome to Chronos",
    "pages/videos.py": "Your library is empty",
    "pages/courses.py": "No courses yet",
    "pages/preview.py": "No courses yet",
    "pages/assistant.py": "Nothing to search yet",
    "pages/analytics.py": "No viewing data yet",
    "pages/settings.py": None,
}

LATEST = discover()[-1].filename


@pytest.fixture
def workspace_email(app_env, monkeypatch) -> str:
    """A new, empty local workspace for this test."""
    email = f"app-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    return email


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    return at.switch_page(page).run()


def _text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in [*at.markdown, *at.title, *at.info, *at.caption, *at.sidebar.markdown])


@pytest.mark.parametrize(("page", "empty_state"), PAGES.items())
def test_each_page_renders_a_helpful_empty_state(workspace_email, page, empty_state):
    at = _open(page)
    assert not at.exception and not at.error
    if empty_state:
        assert empty_state in _text(at)


def test_the_sidebar_names_the_active_workspace(workspace_email):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert email_html(workspace_email) in "\n".join(m.value for m in at.sidebar.markdown)


def test_settings_shows_database_schema_and_offline_providers_without_secrets(workspace_email):
    text = _text(_open("pages/settings.py"))
    assert "PostgreSQL server from DATABASE_URL" in text and f"Schema version:** `{LATEST}`" in text
    assert "all-MiniLM-L6-v2" in text and "Offline mode" in text


def test_library_and_overview_show_the_workspace_s_videos(workspace_email, db):
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, workspace_email)
    with db.workspace(creator) as t:
        videos.create_video(t, title="Lists and loops", source_type="youtube", source_id="dQw4w9WgXcQ",
                            duration_seconds=754)
        courses.create_course(t, "Python in a week")

    library = _open("pages/videos.py")
    table = library.dataframe[0].value
    assert list(table["Title"]) == ["Lists and loops"] and list(table["Status"]) == ["Queued"]

    overview = _open("pages/overview.py")
    assert [m.value for m in overview.metric][:2] == ["1", "1"]
    assert "Welcome to Chronos" not in _text(overview)


def test_a_database_that_cannot_be_reached_shows_one_sentence_not_a_traceback(app_env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/db")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Chronos could not start"
    assert at.error[0].value.startswith("Nothing accepts connections at 127.0.0.1:1")


def test_settings_offers_to_re_embed_chunks_of_another_model(workspace_email, db):
    from chronos_data import chunks
    from chronos_data.ingest import pipeline

    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, workspace_email)
    with db.workspace(creator) as t:
        video = pipeline.add_subtitled_video(
            t, source_type="loom", source="https://www.loom.com/share/0123456789abcdef0123456789abcdef",
            subtitle_bytes=b"1\n00:00:00,000 --> 00:00:02,000\nHello.\n", subtitle_filename="a.srt", title="Hi")
        chunks.insert_chunks(t, video, [chunks.NewChunk(0, "Hello.", 0, 2, [1.0] + [0.0] * 1535)],
                             embedding_model="text-embedding-3-small")
        videos.set_status(t, video, "completed")

    at = _open("pages/settings.py")
    assert any("embedded with another model" in w.value for w in at.warning)
    at.button(key="settings_reembed").click().run()
    assert not at.exception and any("1 video queued" in s.value for s in at.success)
    with db.workspace(creator) as t:
        assert videos.get_video(t, video).status == "pending"


def test_the_course_builder_renders_a_course_with_modules_lessons_and_problems(workspace_email, db):
    from chronos_data import courses as course_api

    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, workspace_email)
    with db.workspace(creator) as t:
        video = videos.create_video(t, title="Decorators", source_type="youtube", source_id="dQw4w9WgXcQ",
                                    duration_seconds=300)
        course = course_api.create_course(t, "Advanced Python")
        module = course_api.create_module(t, course, "Week 1")
        course_api.create_module(t, course, "Week 2")
        course_api.add_lesson(t, module, video)

    at = _open("pages/courses.py")
    assert not at.exception and not at.error
    text = _text(at)
    assert "Advanced Python" in at.subheader[0].value and "**1.** Decorators" in text
    assert any("still processing" in w.value for w in at.warning)  # course health: the video is not ready
    at.button(key="courses_publish").click().run()
    assert any("Publish anyway?" in w.value for w in at.warning)  # the course has problems: asked first
    at.button(key="courses_publish_anyway").click().run()
    assert any("Published" in s.value for s in at.success)


def test_a_reload_keeps_the_demo_workspace_and_a_foreign_id_opens_nothing(workspace_email, db, embedder):
    """The demo workspace is named in the URL (?workspace=<id>): a reload (a new session with the same
    URL) opens it again; the id of any other workspace is dropped and the visitor stays in their own."""
    from chronos_data.demo import DEMO_EMAIL, load_demo, remove_demo

    demo = load_demo(db, embedder, students=20, days=10)
    try:
        with db.engine.begin() as conn:
            other = creators.ensure_creator(conn, f"other-{uuid.uuid4().hex[:8]}@example.com")
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["workspace"] = str(demo.creator_id)
        at.run()
        assert not at.exception
        assert any("Demo workspace" in m.value for m in at.markdown)
        assert [m.value for m in at.metric][:1] == ["10"]  # the demo's ten lectures
        assert at.query_params["workspace"] == str(demo.creator_id)
        at = at.switch_page("pages/analytics.py").run()  # a page switch keeps it in the URL
        assert at.query_params["workspace"] == str(demo.creator_id) and not at.exception

        stranger = AppTest.from_file(APP, default_timeout=60)
        stranger.query_params["workspace"] = str(other)
        stranger.run()
        assert not stranger.exception
        assert "workspace" not in stranger.query_params
        assert any("Local workspace" in m.value for m in stranger.markdown)
        assert [m.value for m in stranger.metric][:1] == ["0"]
    finally:
        remove_demo(db, DEMO_EMAIL)
