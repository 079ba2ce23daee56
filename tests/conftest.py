"""Fixtures: one real PostgreSQL per test session (embedded, or DATABASE_URL's), a migrated
database on it, and creator-scoped transactions that roll back after each test."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chronos_data import creators
from chronos_data.config import Settings
from chronos_data.db import Database, Workspace, open_database
from tests.pg import Server, start_session_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    # A folder of its own rather than pytest's tmp_path: pytest prunes old run folders, and a
    # concurrent pytest run on the same machine must not delete this server's data under it.
    folder = Path(tempfile.mkdtemp(prefix="chronos-test-pg-"))
    server, handle = start_session_server(folder)
    yield server
    if handle is not None:
        handle.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_server: Server) -> Iterator[str]:
    """A migrated database shared by the session's tests (they isolate by creator and rollback)."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("chronos-data"),
        openai_api_key=None,
        openai_base_url=None,
    )


@pytest.fixture(scope="session")
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.dispose()


@pytest.fixture
def fresh_url(pg_server: Server) -> Iterator[str]:
    """An empty database of its own, for tests of migrations and start-up."""
    url = pg_server.create_database("chronos_fresh")
    yield url
    pg_server.drop_database(url)


@pytest.fixture(scope="session")
def embedder():
    """The local embedding model, loaded once for the session, remembering what it embedded.

    The demo's lectures and the evaluation set are embedded by many tests; the model is
    deterministic, so a text embedded once gives the same vector every time after.
    """
    from chronos_data.embeddings import CachedEmbedder, LocalEmbedder

    return CachedEmbedder(LocalEmbedder(), max_bytes=512 * 1024 * 1024)


def import_lecture(db: Database, creator: uuid.UUID, lecture, *, title: str | None = None,
                   loom_id: str | None = None) -> uuid.UUID:
    """Queue one lecture of tests/rag_eval_set.py as a Loom video with its subtitles."""
    from chronos_data.ingest import pipeline
    from tests.rag_eval_set import to_srt

    with db.workspace(creator) as t:
        return pipeline.add_subtitled_video(
            t, source_type="loom", source=f"https://www.loom.com/share/{loom_id or uuid.uuid4().hex}",
            subtitle_bytes=to_srt(lecture), subtitle_filename="lecture.srt", title=title or lecture.title)


def new_creator(db: Database, label: str = "creator") -> uuid.UUID:
    with db.engine.begin() as conn:
        return creators.ensure_creator(conn, f"{label}-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture
def creator_id(db: Database) -> uuid.UUID:
    return new_creator(db)


@pytest.fixture
def t(db: Database, creator_id: uuid.UUID) -> Iterator[Workspace]:
    """A creator-scoped transaction that is rolled back after the test."""
    with db.engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(creator_id)})
        yield Workspace(conn, creator_id)
        transaction.rollback()


@pytest.fixture
def app_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the Streamlit app (AppTest runs in this process) at the session's database."""
    from components import state

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CHRONOS_IMPORT_WORKER", "off")  # tests drive the queue themselves
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    state.get_database.clear()
    state.get_import_worker.clear()
    yield
    state.get_database.clear()
    state.get_import_worker.clear()

