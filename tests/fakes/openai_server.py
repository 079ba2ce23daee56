"""A protocol-true OpenAI API on 127.0.0.1 for tests: the real `openai` client talks to it.

It answers like the real service, including its error bodies: a key named ``sk-rejected`` gets
401, ``sk-ratelimited`` gets 429 on every call, and ``sk-flaky`` gets one 500 then success.

Endpoints: ``/embeddings`` (JSON) and ``/audio/transcriptions`` (multipart/form-data). The latter
decodes the upload with ffmpeg (from imageio-ffmpeg) like the real service decodes it, rejects what
ffmpeg cannot read or an unsupported extension with the real 400, and answers ``verbose_json`` with
one segment per ``TRANSCRIPT_SEGMENT_SECONDS`` of the upload's audio, so pieces of a long file get
segments matching their true length.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import tempfile
import threading
from email.parser import BytesHeaderParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

#: The fake transcript has one segment per this many seconds of uploaded audio.
TRANSCRIPT_SEGMENT_SECONDS = 4.0
_AUDIO_SUFFIXES = ["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"]


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
                raw = self.rfile.read(length)
                key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                content_type = self.headers.get("Content-Type") or ""
                files: dict[str, tuple[str, bytes]] = {}
                if content_type.startswith("multipart/form-data"):
                    body, files = parse_multipart(raw, content_type)
                    # Record what arrived, not the bytes: name and size are what tests check.
                    recorded = dict(body, **{f"{field}_name": name for field, (name, _) in files.items()},
                                    **{f"{field}_size": len(data) for field, (_, data) in files.items()})
                else:
                    body = json.loads(raw or b"{}")
                    recorded = body
                server.requests.append({"path": self.path, "key": key, "body": recorded})
                status, payload = server.answer(self.path, key, body, files)
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

    def answer(self, path: str, key: str, body: dict[str, Any],
               files: dict[str, tuple[str, bytes]] | None = None) -> tuple[int, dict[str, Any]]:
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
        if path.endswith("/audio/transcriptions"):
            return _transcription(body, files or {})
        return 404, _error(f"Unknown request URL: POST {path}.", "invalid_request_error", "unknown_url")


def _error(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def parse_multipart(raw: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Split a multipart/form-data body into text fields and files (field -> (file name, bytes)).

    A repeated field (``timestamp_granularities[]``) becomes a list. Parts are cut at the boundary
    by hand so file bytes come back exactly as sent.
    """
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError(f"no boundary in {content_type!r}")
    fields: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in raw.split(b"--" + match[1].encode())[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")  # the line break belongs to the next delimiter
        headers = BytesHeaderParser(policy=HTTP).parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        if filename is not None:
            files[name] = (filename, data)
        elif name in fields:
            previous = fields[name]
            fields[name] = [*previous, data.decode()] if isinstance(previous, list) else [previous, data.decode()]
        else:
            fields[name] = data.decode()
    return fields, files


def _audio_seconds(name: str, data: bytes) -> float | None:
    """The upload's duration as ffmpeg reads it, or None when it is not audio ffmpeg can decode."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="fake-openai-") as folder:
        upload = Path(folder) / ("upload" + Path(name).suffix)
        upload.write_bytes(data)
        result = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(upload)],
                                capture_output=True, text=True, errors="replace", timeout=60)
    match = re.search(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)", result.stderr)
    if match is None or not re.search(r"Stream #\S+: Audio:", result.stderr):
        return None
    return int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])


def _transcription(body: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> tuple[int, dict[str, Any]]:
    if "file" not in files:
        return 400, _error("you must provide a file.", "invalid_request_error", None, "file")
    if "model" not in body:
        return 400, _error("you must provide a model parameter.", "invalid_request_error", None, "model")
    language = body.get("language")
    if language is not None and not re.fullmatch(r"[a-z]{2}", language):
        return 400, _error(f"Invalid language '{language}'. Language parameter must be specified in ISO-639-1 "
                           "format.", "invalid_request_error", None, "language")
    name, data = files["file"]
    suffix = Path(name).suffix.lower().lstrip(".")
    duration = _audio_seconds(name, data) if suffix in _AUDIO_SUFFIXES else None
    if duration is None:
        return 400, _error(f"Invalid file format. Supported formats: {_AUDIO_SUFFIXES}", "invalid_request_error",
                           None, "file")
    duration = round(duration, 2)
    count = max(1, math.ceil(duration / TRANSCRIPT_SEGMENT_SECONDS))
    segments = []
    for i in range(count):
        start = i * TRANSCRIPT_SEGMENT_SECONDS
        text = f" Sentence {i + 1} of a recording {duration:.2f} seconds long."
        segments.append({
            "id": i, "seek": int(start * 100), "start": start,
            "end": min(start + TRANSCRIPT_SEGMENT_SECONDS, duration), "text": text,
            "tokens": [50364 + i, 318, 2020, 50564 + i], "temperature": 0.0, "avg_logprob": -0.2,
            "compression_ratio": 1.1, "no_speech_prob": 0.01,
        })
    detected = {"en": "english", "fr": "french", "de": "german"}.get(language or "en", "english")
    return 200, {"task": "transcribe", "language": detected, "duration": duration,
                 "text": "".join(s["text"] for s in segments).strip(), "segments": segments}
