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
from chronos_data.ingest.pipeline import Sources
from chronos_data.ingest.worker import ImportWorker
from chronos_data.rag import Assistant, chat_model_for

__all__ = [
    "current_creator_id",
    "get_database",
    "get_assistant",
    "get_embedder",
    "get_import_worker",
    "get_settings",
    "in_demo_workspace",
    "leave_demo_workspace",
    "use_demo_workspace",
    "load_secrets_into_env",
    "mark_routed",
    "require_router",
    "tenant",
]

_CREATOR_KEY = "chronos_creator_id"
_DEMO_KEY = "chronos_demo_workspace"
_ROUTED_KEY = "chronos_routed"


def mark_routed() -> None:
    """Called by app.py: this session's pages run through the router."""
    st.session_state[_ROUTED_KEY] = True


def require_router() -> None:
    """Rerun through app.py when a page was started without it.

    Because the app keeps its pages in pages/, Streamlit runs the very first view of a fresh
    process in its legacy multipage mode, executing the page file alone (no navigation, no
    database start-up, no import worker). One rerun in st.navigation mode brings the same page
    back through the router.
    """
    if not st.session_state.get(_ROUTED_KEY):
        # Streamlit switches modes only when app.py calls st.navigation, which this run never
        # reaches; flip the process-wide switch it would set, then rerun through app.py.
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()


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
def get_assistant() -> Assistant:
    """The process's assistant: the database, the embedder, and the language model if configured."""
    return Assistant(get_database(), get_embedder(), chat_model_for(get_settings()))


@st.cache_resource(show_spinner=False)
def get_import_worker() -> ImportWorker | None:
    """The process's import worker; started with the app so queued work resumes after a restart
    (None when CHRONOS_IMPORT_WORKER=off)."""
    if not get_settings().import_worker:
        return None
    return ImportWorker(get_database(), get_embedder(), Sources(settings=get_settings())).start()


def current_creator_id(db: Database) -> uuid.UUID:
    """The workspace of this browser session: the local creator in single-user mode."""
    if _CREATOR_KEY not in st.session_state:
        with db.engine.begin() as conn:
            st.session_state[_CREATOR_KEY] = creators.ensure_creator(conn, get_settings().local_creator_email)
    return st.session_state[_CREATOR_KEY]


def use_demo_workspace(creator_id: uuid.UUID) -> None:
    """Show the demo workspace in this browser session (the local one stays as it was)."""
    st.session_state[_CREATOR_KEY] = creator_id
    st.session_state[_DEMO_KEY] = True


def leave_demo_workspace() -> None:
    """Back to the local workspace."""
    st.session_state.pop(_CREATOR_KEY, None)
    st.session_state.pop(_DEMO_KEY, None)


def in_demo_workspace() -> bool:
    return bool(st.session_state.get(_DEMO_KEY))


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
