"""Uploaded media served to the browser by HTTP range requests, never read whole.

Streamlit's ``st.video`` of a file path holds the file's bytes in memory (its media file manager), so
playing a 1.5 GB upload took the app to 4.7 GB. Instead each process starts one small HTTP server
(Starlette's ``FileResponse``, run by uvicorn in a daemon thread; both ship with Streamlit) that
streams a file in 64 KB pieces and answers ``Range`` with ``206 Partial Content`` (``416`` for a range
outside the file), so a browser seeks in a large video by asking for the part it needs.

A URL names a file only by an unguessable token that expires (``TOKEN_SECONDS``); the token maps to a
workspace and a storage path, which is checked again with ``uploads.check_storage_path`` on every
request, so a URL never carries a path and cannot reach another workspace's folder.
"""

from __future__ import annotations

import logging
import mimetypes
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from chronos_data import uploads
from chronos_data.errors import ChronosError

__all__ = ["TOKEN_SECONDS", "MediaServer"]

log = logging.getLogger(__name__)

TOKEN_SECONDS = 6 * 3600  # outlasts a long lecture watched with pauses; a URL copied out of the page dies after it
_RENEW_BELOW = TOKEN_SECONDS // 2  # a page rerun hands out the same URL (the player keeps playing) until half is used
_START_TIMEOUT = 10.0  # seconds the server may take to accept connections
_PREFIX = "/media/"
# Suffixes the mimetypes table may not know on every system; the browser needs the type to play.
_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
          ".mkv": "video/x-matroska", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".wav": "audio/wav",
          ".ogg": "audio/ogg", ".oga": "audio/ogg", ".ogv": "video/ogg"}


@dataclass(frozen=True)
class _Grant:
    creator_id: uuid.UUID
    storage_path: str
    expires: float  # time.monotonic()


class MediaServer:
    """One range-capable file server for this process's uploads (see the module's docstring).

    Args:
        data_dir: the data folder storage paths are relative to.
        host: the interface to listen on (loopback unless the app itself listens wider).
        port: the port to listen on; 0 picks a free one.
    """

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self._data_dir = data_dir.resolve()
        self._host = host
        self._wanted_port = port
        self._grants: dict[str, _Grant] = {}
        self._issued: dict[tuple[uuid.UUID, str], str] = {}
        self._lock = threading.Lock()
        self._server = None
        self._port = 0

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> MediaServer:
        """Listen on ``host`` in a daemon thread; returns once connections are accepted."""
        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Route

        sock = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self._host, self._wanted_port))
        sock.listen(64)
        self._port = sock.getsockname()[1]
        app = Starlette(routes=[Route(_PREFIX + "{token}", self._serve, methods=["GET", "HEAD"])])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = server = uvicorn.Server(config)
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="chronos-media", daemon=True).start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("The media server did not start.")
            time.sleep(0.01)
        log.info("media server listening on %s:%d", self._host, self._port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    def path_for(self, creator_id: uuid.UUID, storage_path: str) -> str:
        """The URL path (``/media/<token>``) that plays ``storage_path`` for ``creator_id``.

        Raises:
            ValidationError: the path is not in that workspace's uploads.
        """
        uploads.check_storage_path(creator_id, storage_path)
        now = time.monotonic()
        with self._lock:
            self._forget_expired(now)
            token = self._issued.get((creator_id, storage_path))
            if token is None or self._grants[token].expires - now < _RENEW_BELOW:
                token = secrets.token_urlsafe(32)
                self._grants[token] = _Grant(creator_id, storage_path, now + TOKEN_SECONDS)
                self._issued[(creator_id, storage_path)] = token
        return _PREFIX + token

    def _forget_expired(self, now: float) -> None:
        for token in [t for t, g in self._grants.items() if g.expires <= now]:
            grant = self._grants.pop(token)
            if self._issued.get((grant.creator_id, grant.storage_path)) == token:
                del self._issued[(grant.creator_id, grant.storage_path)]

    def _file_for(self, token: str) -> Path | None:
        """The file a token grants, or None (unknown, expired, or no longer this workspace's)."""
        with self._lock:
            grant = self._grants.get(token)
        if grant is None or grant.expires <= time.monotonic():
            return None
        try:
            uploads.check_storage_path(grant.creator_id, grant.storage_path)
        except ChronosError:
            return None
        file = (self._data_dir / grant.storage_path).resolve()
        # A symlink inside the uploads folder must not lead out of the data folder.
        if not file.is_relative_to(self._data_dir) or not file.is_file():
            return None
        return file

    async def _serve(self, request):
        from starlette.responses import FileResponse, PlainTextResponse

        file = self._file_for(request.path_params["token"])
        if file is None:
            return PlainTextResponse("Not found.", status_code=404)
        media_type = _TYPES.get(file.suffix.lower()) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return FileResponse(file, media_type=media_type, headers={
            "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cross-Origin-Resource-Policy": "cross-origin"})
