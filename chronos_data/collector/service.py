"""The event collector: an HTTP service that takes viewing events from wherever students watch.

``python -m chronos_data serve`` runs it beside the Streamlit app. Routes:

* ``GET /healthz``: 200 when the database answers, 503 otherwise.
* ``POST /v1/events``: a JSON array or JSON Lines of event rows (``collector.rows``), with a write
  key as ``Authorization: Bearer KEY`` (or ``?key=KEY``, which browsers need: a CORS preflight
  carries no Authorization header, so the key's allowed origins can only be checked from the URL).
  Answers ``{"stored": n, "duplicates": m, "rejected": [{"line": i, "error": "..."}]}``: good rows are
  kept when others are refused. 401 for a missing, unknown or revoked key; 403 for a browser origin
  the key does not allow; 413 over ``MAX_BODY_BYTES`` or ``rows.MAX_ROWS``; 400 for a body that is not
  UTF-8 JSON; 429 with Retry-After when the writer's queue is full; 503 (Retry-After) when the
  database is away, or when the workspace's rows stay held by another transaction (a rollup, a Whop
  sync) for ``writer.WRITE_LOCK_SECONDS``: only that workspace's requests wait, never everyone's.
* ``GET /v1/collector.js``: the snippet players load (static/collector.js).
* ``POST /v1/webhooks/whop/{workspace}``: Whop's webhook deliveries for one workspace, checked
  against that workspace's signing secret (``chronos_data.whop.webhooks``): 200 once applied (or
  seen before), 401 for an unsigned, wrongly signed, replayed-late or foreign delivery (nothing
  stored), 404 for an address that names no workspace id, 503 with Retry-After when a sync of the
  workspace holds its rows for over ``webhooks.WEBHOOK_LOCK_SECONDS`` (Whop delivers it again).

Why Starlette on uvicorn: both already ship with Streamlit (no new dependency), the media server
(``chronos_data.media_server``) uses them, and an ASGI server reads a body as a stream (so an
oversized one is cut off without being held) and handles SIGTERM with a graceful drain, after
which the lifespan hook writes what is queued. FastAPI would add request models this service does
not need: its rows are checked by ``event_import.check_row``, the same checks as ``events import``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..config import Settings
from ..db import Database, open_database
from ..errors import ChronosError
from ..viewing.event_import import video_lookup
from . import rows as body_rows
from .keys import KeyOwner, key_owner
from .writer import QueueFull, Writer

__all__ = ["KEY_CACHE_SECONDS", "MAX_BODY_BYTES", "create_app", "serve"]

log = logging.getLogger(__name__)

#: Largest body accepted: 10,000 rows of about 300 bytes, with room to spare. Read in pieces and
#: cut off past this, so a 50 MB body costs 5 MB of memory at most.
MAX_BODY_BYTES = 5 * 1024 * 1024
#: How long a key's lookup is remembered: a revoked key is refused within this many seconds.
KEY_CACHE_SECONDS = 10.0
#: How long a workspace's list of videos is remembered for checking rows (a new video is looked
#: for again when a row names a video not in the list, at most every ``_VIDEO_RECHECK_SECONDS``:
#: a sender repeating an unknown video must not cost a query per request).
VIDEO_CACHE_SECONDS = 30.0
_VIDEO_RECHECK_SECONDS = 2.0
_RETRY_AFTER_SECONDS = 1
_STATIC = Path(__file__).resolve().parent / "static"
_CORS_HEADERS = "Authorization, Content-Type"


class _Cache:
    """Keys and workspaces' video lists, remembered for a few seconds (thread-safe)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._keys: dict[str, tuple[float, KeyOwner | None]] = {}
        self._videos: dict[uuid.UUID, tuple[float, dict[str, uuid.UUID]]] = {}
        self._lock = threading.Lock()

    def owner(self, key: str) -> KeyOwner | None:
        now = time.monotonic()
        with self._lock:
            hit = self._keys.get(key)
        if hit is not None and now - hit[0] < KEY_CACHE_SECONDS:
            return hit[1]
        with self._db.engine.begin() as conn:
            found = key_owner(conn, key)
        with self._lock:
            if len(self._keys) > 10_000:  # a flood of made-up keys must not grow memory without end
                self._keys.clear()
            self._keys[key] = (now, found)
        return found

    def videos(self, creator_id: uuid.UUID, *, fresh: bool = False) -> dict[str, uuid.UUID]:
        now = time.monotonic()
        with self._lock:
            hit = self._videos.get(creator_id)
        if hit is not None and now - hit[0] < (_VIDEO_RECHECK_SECONDS if fresh else VIDEO_CACHE_SECONDS):
            return hit[1]
        with self._db.workspace(creator_id, read_only=True) as t:
            found = video_lookup(t)
        with self._lock:
            self._videos[creator_id] = (now, found)
        return found


def create_app(db: Database, *, writer: Writer | None = None, settings: Settings | None = None):
    """The collector's Starlette app on ``db``; its writer is closed (queued rows written) at shutdown."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    cache = _Cache(db)
    own_writer = writer is None
    writer = writer or Writer(db)

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    def key_of(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return request.query_params.get("key") or None

    def cors(owner: KeyOwner, origin: str | None) -> dict[str, str] | None:
        """CORS headers for ``origin`` under ``owner``'s key: {} for a caller that is not a browser
        page (no Origin), None for an origin the key does not allow."""
        if origin is None:
            return {}
        if origin.lower().rstrip("/") not in owner.origins:
            return None
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    async def lookup(key: str | None) -> KeyOwner | None:
        if not key:
            return None
        return await asyncio.to_thread(cache.owner, key)

    async def healthz(request: Request) -> Response:
        def ping() -> None:
            with db.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        try:
            await asyncio.wait_for(asyncio.to_thread(ping), timeout=5)
        except Exception as exc:  # any failure to answer is "not healthy"
            log.warning("health check failed: %s", exc)
            return error(503, "The database is not answering.")
        return JSONResponse({"ok": True, "queued": writer.queued_rows})

    async def preflight(request: Request) -> Response:
        origin = request.headers.get("origin")
        try:
            owner = await lookup(key_of(request))
        except Exception:
            owner = None
        headers = cors(owner, origin) if owner is not None else None
        if not headers:
            # No CORS headers: the browser refuses the request it asked about.
            return Response(status_code=403)
        return Response(status_code=204, headers={
            **headers, "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": _CORS_HEADERS, "Access-Control-Max-Age": "600"})

    async def events(request: Request) -> Response:
        key = key_of(request)
        try:
            owner = await lookup(key)
        except Exception as exc:
            log.warning("key lookup failed: %s", exc)
            return error(503, "The database is not answering; send the events again in a moment.",
                         {"Retry-After": "5"})
        if owner is None:
            return error(401, "A valid write key is required: send it as 'Authorization: Bearer KEY' (see "
                              "`python -m chronos_data keys create`); this one is missing, unknown or revoked.")
        headers = cors(owner, request.headers.get("origin"))
        if headers is None:
            return error(403, "This web page's origin is not allowed for this key; add it to the key's origins.")
        body = await _read_body(request)
        if body is None:
            return error(413, f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; send at most "
                              f"{body_rows.MAX_ROWS:,} events per request.", headers)
        try:
            checked = await asyncio.to_thread(_check, cache, owner.creator_id, body)
        except body_rows.BodyError as exc:
            return error(413 if exc.too_large else 400, str(exc), headers)
        except ChronosError as exc:
            return error(503, str(exc), {**headers, "Retry-After": "5"})
        if checked.accepted == 0:
            return _answer(0, 0, checked.rejected, headers)
        try:
            future = writer.submit(owner.creator_id, checked)
        except QueueFull as exc:
            return error(429, str(exc), {**headers, "Retry-After": str(_RETRY_AFTER_SECONDS)})
        try:
            result = await asyncio.wrap_future(future)
        except ChronosError as exc:
            return error(503, str(exc), {**headers, "Retry-After": "5"})
        except Exception as exc:
            log.warning("events of %s not written: %s", owner.creator_id, exc)
            return error(503, "The events could not be written right now; send them again in a moment.",
                         {**headers, "Retry-After": "5"})
        return _answer(result.stored, result.duplicates, result.rejected, headers)

    async def whop_webhook(request: Request) -> Response:
        from ..whop.webhooks import WebhookRejected, receive_delivery

        try:
            workspace = uuid.UUID(request.path_params["workspace"])
        except ValueError:
            return error(404, "No workspace has this webhook address; copy it from Settings → Whop.")
        body = await _read_body(request)
        if body is None:
            return error(413, f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.")
        headers = dict(request.headers)

        def receive():
            with db.workspace(workspace) as t:
                return receive_delivery(t, body, headers, settings=settings)

        try:
            result = await asyncio.to_thread(receive)
        except WebhookRejected as exc:
            # One answer for a bad signature and for an address of no workspace: nothing to probe.
            return error(401, str(exc))
        except ChronosError as exc:
            return error(503, str(exc), {"Retry-After": "5"})
        return JSONResponse({"delivery": result.delivery_id, "type": result.event_type,
                             "duplicate": result.duplicate, "effect": result.effect})

    async def script(request: Request) -> Response:
        return FileResponse(_STATIC / "collector.js", media_type="text/javascript", headers={
            "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        if own_writer:
            # After uvicorn's drain: every request in flight has its answer; write what is left.
            await asyncio.to_thread(writer.close)

    return Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/events", events, methods=["POST"]),
        Route("/v1/events", preflight, methods=["OPTIONS"]),
        Route("/v1/collector.js", script, methods=["GET"]),
        Route("/v1/webhooks/whop/{workspace}", whop_webhook, methods=["POST"]),
    ], lifespan=lifespan)


def _check(cache: _Cache, creator_id: uuid.UUID, body: bytes) -> body_rows.Checked:
    parsed = body_rows.parse_body(body)
    scope = str(creator_id)
    checked = body_rows.check_rows(parsed, cache.videos(creator_id), scope)
    if any("no video" in message for _, message in checked.rejected):
        # A video added since the list was read: look again once, then refuse for good.
        checked = body_rows.check_rows(parsed, cache.videos(creator_id, fresh=True), scope)
    return checked


async def _read_body(request: Any) -> bytes | None:
    """The body, or None once it passes ``MAX_BODY_BYTES`` (reading stops there)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    pieces, size = [], 0
    async for piece in request.stream():
        size += len(piece)
        if size > MAX_BODY_BYTES:
            return None
        pieces.append(piece)
    return b"".join(pieces)


def _answer(stored: int, duplicates: int, rejected: list[tuple[int, str]], headers: dict[str, str]):
    from starlette.responses import JSONResponse

    return JSONResponse({"stored": stored, "duplicates": duplicates,
                         "rejected": [{"line": line, "error": message} for line, message in sorted(rejected)]},
                        headers=headers)


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8502) -> None:
    """Run the collector until SIGINT/SIGTERM; queued events are written before it returns."""
    import uvicorn

    db = open_database(settings)
    try:
        app = create_app(db, settings=settings)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                lifespan="on", proxy_headers=True, timeout_graceful_shutdown=30)
        log.warning("collector listening on http://%s:%d", host, port)
        uvicorn.Server(config).run()
    finally:
        db.dispose()
