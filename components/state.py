"""Per-process resources and per-visitor state: the database, the signed-in workspace."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from chronos_data import creators
from chronos_data.config import Settings
from chronos_data.db import Database, Tenant, open_database
from chronos_data.embeddings import Embedder, embedder_for
from chronos_data.errors import ChronosError
from chronos_data.ingest.worker import ImportWorker

__all__ = [
    "current_creator_id",
    "get_database",
    "get_embedder",
    "get_import_worker",
    "get_settings",
    "load_secrets_into_env",
    "tenant",
]

_CREATOR_KEY = "chronos_creator_id"


def load_secrets_into_env() -> None:
    """Expose root-level keys of .streamlit/secrets.toml (DATABASE_URL, OPENAI_API_KEY, ...) as
    environment variables, so chronos_data reads one source; real environment variables win."""
    try:
        items = dict(st.secrets)
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return
    for key, value in items.items():
        if isinstance(value, str | int | float | bool):
            os.environ.setdefault(key, str(value))


def get_settings() -> Settings:
    return Settings.from_env()


@st.cache_resource(show_spinner="Starting the database…")
def get_database() -> Database:
    """One Database (pooled engine, embedded server handle) per process."""
    return open_database(get_settings())


@st.cache_resource(show_spinner=False)
def get_embedder() -> Embedder:
    """One embedding model per process (the local one loads once, then stays in memory)."""
    return embedder_for(get_settings())


@st.cache_resource(show_spinner=False)
def get_import_worker() -> ImportWorker:
    """The process's import worker; started with the app so queued work resumes after a restart."""
    return ImportWorker(get_database(), get_embedder()).start()


def current_creator_id(db: Database) -> uuid.UUID:
    """The workspace of this browser session: the local creator in single-user mode."""
    if _CREATOR_KEY not in st.session_state:
        with db.engine.begin() as conn:
            st.session_state[_CREATOR_KEY] = creators.ensure_creator(conn, get_settings().local_creator_email)
    return st.session_state[_CREATOR_KEY]


@contextmanager
def tenant() -> Iterator[Tenant]:
    """A transaction scoped to the signed-in creator; pages read and write only through it."""
    db = get_database()
    with db.tenant(current_creator_id(db)) as t:
        yield t


def startup_error() -> str | None:
    """The sentence to show when the database could not be opened, else None."""
    try:
        get_database()
    except ChronosError as exc:
        return str(exc)
    return None
