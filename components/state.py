"""Per-process resources and per-visitor state: the database, the signed-in workspace."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from chronos_data import access, creators, uploads
from chronos_data.config import Settings
from chronos_data.db import Database, Workspace, open_database
from chronos_data.demo import DEMO_EMAIL
from chronos_data.embeddings import Embedder, embedder_for
from chronos_data.errors import ChronosError, NotFound
from chronos_data.ingest.pipeline import Sources
from chronos_data.ingest.worker import ImportWorker
from chronos_data.rag import Assistant, chat_model_for

__all__ = [
    "can_edit",
    "choose_workspace",
    "current_creator_id",
    "current_workspace",
    "database_reached",
    "retry_database",
    "demo_email",
    "follow_workspace_url",
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
    "sign_in_required",
    "signed_in_workspaces",
    "workspace",
]

_CREATOR_KEY = "chronos_creator_id"
_DEMO_KEY = "chronos_demo_workspace"
_URL_WORKSPACE = "workspace"  # ?workspace=<id>: the demo workspace, kept over a reload
_ROUTED_KEY = "chronos_routed"
_WORKSPACES_KEY = "chronos_signed_in_workspaces"
_RETRY_KEY = "chronos_database_retry"


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
def tidy_data_folder() -> int:
    """Once per process, at start: remove the upload copies a killed process left unfinished."""
    return uploads.remove_leftovers(get_settings())


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


def sign_in_required() -> bool:
    """True when ``[auth]`` is configured in secrets.toml: every visitor signs in with OpenID Connect."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


def refuses_remote_visitor() -> bool:
    """True when a visitor from another computer reached an app without sign-in (it was started with
    ``--server.address 0.0.0.0``) and the operator did not declare the network trusted: without
    sign-in, every visitor is the workspace's owner."""
    address = st.context.ip_address  # None from this computer; not a str under AppTest (no client)
    return (not sign_in_required() and isinstance(address, str) and bool(address)
            and not get_settings().trusted_network)


def signed_in_workspaces() -> list[access.Membership]:
    """The workspaces the signed-in person may open, their own first; looked up (and the sign-in
    recorded) once per browser session.

    Raises:
        ValidationError: the identity provider shared no usable, verified e-mail address, or the
            address's workspace belongs to another sign-in identity.
    """
    if _WORKSPACES_KEY not in st.session_state:
        identity = access.identity_from_claims(st.user.to_dict(), get_settings().verified_email_issuers)
        with get_database().engine.begin() as conn:
            st.session_state[_WORKSPACES_KEY] = access.sign_in(conn, identity)
    return st.session_state[_WORKSPACES_KEY]


def current_workspace() -> access.Membership | None:
    """The signed-in workspace in use (None in single-user mode or the demo workspace)."""
    if not sign_in_required() or in_demo_workspace():
        return None
    choices = signed_in_workspaces()
    chosen = st.session_state.get(_CREATOR_KEY)
    return next((w for w in choices if w.creator_id == chosen), choices[0])


def choose_workspace(creator_id: uuid.UUID) -> None:
    """Switch this browser session to another workspace the person may open."""
    st.session_state[_CREATOR_KEY] = creator_id
    st.session_state.pop(_DEMO_KEY, None)


def can_edit() -> bool:
    """False for an analyst teammate: pages show read-only views instead of forms."""
    current = current_workspace()
    return current is None or not current.read_only


def current_creator_id(db: Database) -> uuid.UUID:
    """The workspace of this browser session: the signed-in choice, the demo, or the local creator."""
    if current := current_workspace():
        return current.creator_id
    if _CREATOR_KEY not in st.session_state:
        with db.engine.begin() as conn:
            st.session_state[_CREATOR_KEY] = creators.ensure_creator(conn, get_settings().local_creator_email)
    return st.session_state[_CREATOR_KEY]


def demo_email() -> str:
    """The demo workspace's address: one shared demo locally, one per person when signed in (so one
    person's "Load demo workspace" never rebuilds the demo another person is looking at)."""
    if not sign_in_required():
        return DEMO_EMAIL
    person = hashlib.sha256(str(st.user.get("email", "")).lower().encode()).hexdigest()[:12]
    return f"demo-{person}@chronos.localhost"


def use_demo_workspace(creator_id: uuid.UUID) -> None:
    """Show the demo workspace in this browser session (the local one stays as it was), and say so
    in the page's URL: a reload or a shared link opens it again."""
    st.session_state[_CREATOR_KEY] = creator_id
    st.session_state[_DEMO_KEY] = True
    st.query_params[_URL_WORKSPACE] = str(creator_id)


def leave_demo_workspace() -> None:
    """Back to the local (or the signed-in person's own) workspace."""
    st.session_state.pop(_CREATOR_KEY, None)
    st.session_state.pop(_DEMO_KEY, None)
    st.query_params.pop(_URL_WORKSPACE, None)


def follow_workspace_url() -> None:
    """Keep the demo workspace in the URL on every page (a page switch drops the query), and open
    it again from the URL after a reload. Only the visitor's own demo opens this way: the id must
    name the workspace of :func:`demo_email`; anything else is dropped from the URL."""
    if in_demo_workspace():
        st.query_params[_URL_WORKSPACE] = str(st.session_state[_CREATOR_KEY])
        return
    wanted = st.query_params.get(_URL_WORKSPACE)
    if not wanted:
        return
    try:
        creator_id = uuid.UUID(wanted)
        with get_database().workspace(creator_id, read_only=True) as t:
            email = creators.get_creator(t).email
    except (ValueError, NotFound):
        email = None
    if email is not None and email.lower() == demo_email().lower():
        use_demo_workspace(creator_id)
    else:
        st.query_params.pop(_URL_WORKSPACE, None)


def in_demo_workspace() -> bool:
    return bool(st.session_state.get(_DEMO_KEY))


@contextmanager
def workspace() -> Iterator[Workspace]:
    """A transaction scoped to the signed-in creator; pages read and write only through it."""
    db = get_database()
    with db.workspace(current_creator_id(db), read_only=not can_edit()) as t:
        yield t


def retry_database() -> int:
    """Count one more failed attempt to reach the database; the seconds to wait before the next."""
    attempt = st.session_state.get(_RETRY_KEY, 0) + 1
    st.session_state[_RETRY_KEY] = attempt
    if get_database().recover():
        return 1
    return min(2 ** attempt, 10)


def database_reached() -> None:
    """A page ran to its end: the database answers again."""
    st.session_state.pop(_RETRY_KEY, None)


def startup_error() -> str | None:
    """The sentence to show when the database could not be opened, else None."""
    try:
        get_database()
    except ChronosError as exc:
        return str(exc)
    return None
