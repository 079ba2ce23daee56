"""What every fake service on 127.0.0.1 shares: a threaded HTTP server that records requests and
answers with whatever its subclass decides (status, body, headers, a delay, or a dropped line)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeHTTPServer", "RecordedRequest", "Reply"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (headers with lower-case names)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    drop_connection: bool = False
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class FakeHTTPServer:
    """Base of the fakes: start/stop (or use as a context manager), the request log, and the
    serving loop; subclasses implement ``_reply(request) -> Reply``."""

    thread_name = "fake-http"
    #: HTTP/1.0 closes each connection after one answer; HTTP/1.1 keeps it alive like real sites.
    protocol_version = "HTTP/1.0"

    def __init__(self) -> None:
        self._log: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Self:
        handler = type("_BoundHandler", (_Handler,), {"owner": self, "protocol_version": self.protocol_version})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.block_on_close = False  # a slow answer must not hold up close()
        server.handle_error = lambda request, client_address: None  # clients that give up are expected
        self._server = server
        # A short poll interval: shutdown() waits for it, once per test.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                         name=self.thread_name, daemon=True).start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def netloc(self) -> str:
        """``127.0.0.1:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.netloc}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._log)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The requests received for one path."""
        return [r for r in self.requests if r.path == path]

    def clear(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._log.clear()

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._log.append(request)
        return self._reply(request)

    def _reply(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    owner: FakeHTTPServer  # set on the bound subclass in FakeHTTPServer.start()
    server_version = "FakeService/1.0"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RecordedRequest(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                  {k.lower(): v for k, v in self.headers.items()}, body)
        reply = self.owner._respond(request)
        if reply.delay and self.owner._stopping.wait(reply.delay):
            return  # the server is closing: give up on the slow answer
        if reply.drop_connection:
            self.close_connection = True
            return  # no status line at all: the client sees the connection dropped
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left
