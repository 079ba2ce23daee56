"""A running collector on 127.0.0.1 (uvicorn in a thread, on the session's database), a workspace
with a video and a write key, and a client that posts to it."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from chronos_data import videos
from chronos_data.collector import keys, service
from chronos_data.collector.writer import Writer
from chronos_data.db import Database
from tests.conftest import new_creator


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


def run_collector(db: Database, writer: Writer) -> Iterator[Running]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(service.create_app(db, writer=writer), log_level="warning", access_log=False,
                            lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the collector did not start"
        time.sleep(0.01)
    try:
        yield Running(f"http://127.0.0.1:{port}", writer, server)
    finally:
        server.should_exit = True
        thread.join(30)
        writer.close()


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
    with db.tenant(creator) as t:
        video = videos.create_video(t, title=title, source_type="youtube", source_id=youtube_id,
                                    duration_seconds=600)
        key = keys.create_key(t, "Site", origins).key
    return Workspace(creator, key, video, youtube_id, title)


@pytest.fixture
def ws(db: Database) -> Workspace:
    return make_workspace(db, "collect", ("https://school.example.com",))
