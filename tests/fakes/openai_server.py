"""A protocol-true OpenAI API on 127.0.0.1 for tests: the real `openai` client talks to it.

It answers like the real service, including its error bodies: a key named ``sk-rejected`` gets
401, ``sk-ratelimited`` gets 429 on every call, and ``sk-flaky`` gets one 500 then success.

Endpoints: ``/embeddings`` (JSON) and ``/audio/transcriptions`` (multipart/form-data). The latter
decodes the upload with ffmpeg (from imageio-ffmpeg) like the real service decodes it, rejects what
ffmpeg cannot read or an unsupported extension with the real 400, and answers ``verbose_json`` with
one segment per ``TRANSCRIPT_SEGMENT_SECONDS`` of the upload's audio, so pieces of a long file get
segments matching their true length.

``/chat/completions`` answers like a grounded model, deterministically from the request: a query-rewriting
request (system message starting "You rewrite") gets the follow-up question prefixed with the last
``user:`` line of the conversation; an answer request gets the first sentence of passages [1] and [2]
with their citations, or "I could not find this in the videos." when no passages came. With
``"stream": true`` it streams ``chat.completion.chunk`` server-sent events in chunked transfer
encoding (role delta, content deltas of a few words, a ``finish_reason`` chunk, a usage chunk when
``stream_options.include_usage``, then ``[DONE]``). The key ``sk-dropstream`` gets a stream that
stops after two content deltas: the connection closes mid-body, without ``[DONE]``.

Faults on demand, for any key: ``fail_next(n, status=429, retry_after=2)`` answers the next ``n``
requests (to a path ending in ``path``, or any) with that error and a ``Retry-After`` header,
``fail_next(n, status=500)`` with a server error, ``fail_next(n, hang=5)`` holds them ``hang``
seconds before answering normally (past a client's timeout); then service is normal again.
``slow(seconds, path)`` delays every matching answer (a slow model, for tests that kill a worker
mid-video). Each recorded request has ``at`` (``time.monotonic()``) and the ``fault`` it got.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
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
    """A deterministic unit vector per text that behaves like a (crude) semantic embedding: the sum
    of one fixed random vector per lower-case word, so texts sharing words point the same way
    (same text, same vector; no shared words, cosine near 0)."""
    words = re.findall(r"[a-z0-9]+", text.lower()) or [""]
    vector = np.zeros(dimensions)
    for word in words:
        vector += _word_vector(word, dimensions)
    return (vector / np.linalg.norm(vector)).round(6).tolist()


@functools.lru_cache(maxsize=65_536)
def _word_vector(word: str, dimensions: int) -> np.ndarray:
    """One word's fixed random vector (cached: long transcripts repeat their words)."""
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dimensions)


@dataclass(frozen=True)
class Fault:
    """What one request gets instead of a normal answer: an error status, or a long wait first."""

    path: str = ""  # the request path must end with this ("" matches every path)
    status: int | None = None
    retry_after: float | None = None  # seconds, sent as the standard Retry-After header
    hang: float = 0.0

    def label(self) -> str:
        return f"hang {self.hang:g}s" if self.hang else str(self.status)


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._flaky_failed = False
        self._faults: list[Fault] = []
        self._slow: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
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
                fault = server._take_fault(self.path)
                server.requests.append({"path": self.path, "key": key, "body": recorded, "at": time.monotonic(),
                                        "fault": fault.label() if fault else None})
                delay = (fault.hang if fault else 0.0) + server._delay_for(self.path)
                if delay and server._stopping.wait(delay):
                    return  # the fake is closing: give up on the slow answer
                if fault is not None and fault.status is not None:
                    self.send_error_body(fault)
                    return
                status, payload = server.answer(self.path, key, body, files)
                if status == 200 and self.path.endswith("/chat/completions") and body.get("stream") is True:
                    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                    self.send_events(_chat_chunks(payload, include_usage), drop=key == "sk-dropstream")
                    return
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("retry-after-ms", "10")
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def send_error_body(self, fault: Fault) -> None:
                status = fault.status or 500
                if status == 429:
                    payload = _error("Rate limit reached for requests", "requests", "rate_limit_exceeded")
                else:
                    payload = _error("The server had an error while processing your request.", "server_error", None)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", f"{fault.retry_after:g}")
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def send_events(self, events: list[dict[str, Any]], drop: bool) -> None:
                """Server-sent events in chunked transfer encoding, as the real API streams them.

                Chunked framing needs an HTTP/1.1 status line; the connection still closes after the
                stream, so no keep-alive connection outlives the test. With ``drop`` the body stops
                after the role delta and two content deltas, without the closing zero-length chunk.
                """
                self.protocol_version = "HTTP/1.1"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")  # also sets self.close_connection
                self.end_headers()
                lines = [f"data: {json.dumps(event)}\n\n".encode() for event in events] + [b"data: [DONE]\n\n"]
                for i, line in enumerate(lines):
                    if drop and i == 3:
                        return  # the server closes the socket mid-body
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.write(b"0\r\n\r\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"
        # A short poll interval: shutdown() waits for the serving loop to notice, 0.5 s by default.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, times: int, *, status: int | None = None, retry_after: float | None = None,
                  hang: float = 0.0, path: str = "") -> None:
        """Answer the next ``times`` requests whose path ends with ``path`` with a fault (see the module doc)."""
        if status is None and not hang:
            raise ValueError("give a status, a hang, or both")
        with self._lock:
            self._faults.extend([Fault(path, status, retry_after, hang)] * times)

    def slow(self, seconds: float, path: str = "") -> None:
        """Delay every answer to a path ending with ``path`` by ``seconds``."""
        with self._lock:
            self._slow[path] = seconds

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        """The recorded requests whose path ends with ``path``."""
        return [r for r in list(self.requests) if r["path"].endswith(path)]

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if path.endswith(fault.path):
                    return self._faults.pop(i)
        return None

    def _delay_for(self, path: str) -> float:
        with self._lock:
            return max((s for suffix, s in self._slow.items() if path.endswith(suffix)), default=0.0)

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
        if path.endswith("/chat/completions"):
            return _chat_completion(body)
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


NOT_FOUND_ANSWER = "I could not find this in the videos."
_PASSAGE_HEADER = re.compile(r"\[(\d+)\]\s")


def _message_text(message: dict[str, Any]) -> str:
    """A message's text, whether its content is a string or a list of content parts."""
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _first_sentence(text: str) -> str:
    match = re.match(r"[^.!?]*[.!?]", text)
    return (match[0] if match else text).strip()


def _rewritten_query(prompt: str) -> str:
    """The follow-up question, prefixed with the student's last turn of the conversation."""
    history, _, question = prompt.partition("Follow-up question:")
    history = history.partition("Conversation so far:")[2]
    user_turns = [line.strip().removeprefix("user:").strip() for line in history.splitlines()
                  if line.strip().startswith("user:")]
    return " ".join(part for part in (user_turns[-1] if user_turns else "", question.strip()) if part)


def _grounded_answer(prompt: str) -> str:
    """First sentences of passages [1] and [2] with their citations, or the not-found sentence."""
    passages: dict[int, str] = {}
    for block in re.split(r"\n\s*\n", prompt):
        header, _, text = block.strip().partition("\n")
        match = _PASSAGE_HEADER.match(header)
        if match:
            lines = [line for line in text.splitlines() if not line.startswith("Question:")]
            passages[int(match[1])] = " ".join(line.strip() for line in lines).strip()
    if not passages:
        return NOT_FOUND_ANSWER
    parts = [f"{_first_sentence(passages[n])} [{n}]" for n in (1, 2) if n in passages]
    return "From the videos: " + " ".join(parts)


def _chat_completion(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if "model" not in body:
        return 400, _error("you must provide a model parameter", "invalid_request_error", None)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, _error("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                           "empty array instead.", "invalid_request_error", "empty_array", "messages")
    if body.get("stream_options") is not None and body.get("stream") is not True:
        return 400, _error("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                           "invalid_request_error", None, "stream_options")
    system = next((_message_text(m) for m in messages if m.get("role") in ("system", "developer")), "")
    prompt = next((_message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    content = _rewritten_query(prompt) if system.lstrip().startswith("You rewrite") else _grounded_answer(prompt)
    prompt_tokens = sum(len(_message_text(m).split()) for m in messages)
    completion_tokens = len(content.split())
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return 200, {
        "id": f"chatcmpl-{digest[:29]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def _chat_chunks(completion: dict[str, Any], include_usage: bool) -> list[dict[str, Any]]:
    """The completion as the real API streams it: role delta, content deltas of three words, finish, usage."""
    head = {key: completion[key] for key in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        event = dict(head, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
        if include_usage:
            event["usage"] = None  # the real API sends a null usage on every chunk but the last
        return event

    words = re.findall(r"\s*\S+", completion["choices"][0]["message"]["content"])
    pieces = ["".join(words[i:i + 3]) for i in range(0, len(words), 3)]
    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in pieces]
    chunks.append(chunk({}, "stop"))
    if include_usage:
        chunks.append(dict(head, choices=[], usage=completion["usage"]))
    return chunks
