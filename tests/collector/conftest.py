"""A running collector on 127.0.0.1 (uvicorn in a thread, on the session's database), a workspace
with a video and a write key, and a client that posts to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chronos_data import videos
from chronos_data.collector import keys, service
from chronos_data.collector.writer import Writer
from chronos_data.db import Database
from tests.conftest import new_creator
from tests.pg import free_port
from tests.waiting import wait_until


@dataclass
class Running:
    url: str
    writer: Writer
    server: object

    def post(self, key: str | None, body: bytes | str, **headers: str) -> httpx.Response:
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {key}")
        content = body.encode() if isinstance(body, str) else body
        return httpx.post(f"{self.url}/v1/events", content=content, headers=headers, timeout=60)


def run_collector(db: Database, writer: Writer, settings=None) -> Iterator[Running]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(service.create_app(db, writer=writer, settings=settings), log_level="warning", access_log=False,
                            lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30, poll=0.01, what="the collector to start")
    try:
        yield Running(f"http://127.0.0.1:{port}", writer, server)
    finally:
        server.should_exit = True
        thread.join(30)
        writer.close()


@contextmanager
def serve_process(database_url: str | None, log: Path, env: dict[str, str] | None = None,
                  port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python -m chronos_data serve` as an operator starts it, once /healthz answers; killed after.

    ``database_url`` None: ``env`` is the whole environment (e.g. an app's data folder, no DATABASE_URL).
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "DATABASE_URL": database_url, **(env or {})} if database_url else dict(env or {})
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "chronos_data", "serve", "--port", str(port)],
                                   env=environment,
                                   stdout=out, stderr=subprocess.STDOUT)
        try:
            def healthy() -> bool:
                assert process.poll() is None, f"the collector exited:\n{log.read_text()}"
                try:
                    return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(healthy, timeout=60, poll=0.05, what="the collector to answer /healthz",
                       explain=log.read_text)
            yield url, process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="module")
def collector(db: Database) -> Iterator[Running]:
    yield from run_collector(db, Writer(db))


@dataclass(frozen=True)
class Workspace:
    creator: uuid.UUID
    key: str
    video: uuid.UUID
    youtube_id: str
    title: str


def make_workspace(db: Database, label: str, origins: tuple[str, ...] = ()) -> Workspace:
    creator = new_creator(db, label)
    youtube_id = ("C" + uuid.uuid4().hex)[:11]
    title = f"Loops {label} {uuid.uuid4().hex[:6]}"
    with db.workspace(creator) as t:
        video = videos.create_video(t, title=title, source_type="youtube", source_id=youtube_id,
                                    duration_seconds=600)
        key = keys.create_key(t, "Site", origins).key
    return Workspace(creator, key, video, youtube_id, title)


@pytest.fixture
def ws(db: Database) -> Workspace:
    return make_workspace(db, "collect", ("https://school.example.com",))
