"""A protocol-true OpenAI API on 127.0.0.1 for tests: the real `openai` client talks to it.

It answers like the real service, including its error bodies: a key named ``sk-rejected`` gets
401, ``sk-ratelimited`` gets 429 on every call, and ``sk-flaky`` gets one 500 then success.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


def fake_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector per text (same text, same vector)."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dimensions)
    return (vector / np.linalg.norm(vector)).round(6).tolist()


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._flaky_failed = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                server.requests.append({"path": self.path, "key": key, "body": body})
                status, payload = server.answer(self.path, key, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if key == "sk-rejected":
            return 401, _error("Incorrect API key provided: sk-rejec*****.", "invalid_request_error",
                               "invalid_api_key")
        if key == "sk-ratelimited":
            return 429, _error("Rate limit reached for requests", "requests", "rate_limit_exceeded")
        if key == "sk-flaky" and not self._flaky_failed:
            self._flaky_failed = True
            return 500, _error("The server had an error while processing your request.", "server_error", None)
        if path.endswith("/embeddings"):
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            dimensions = int(body.get("dimensions") or 1536)
            tokens = sum(len(text.split()) for text in inputs)
            return 200, {
                "object": "list",
                "data": [{"object": "embedding", "index": i, "embedding": fake_vector(text, dimensions)}
                         for i, text in enumerate(inputs)],
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        return 404, _error(f"Unknown request URL: POST {path}.", "invalid_request_error", "unknown_url")


def _error(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}
