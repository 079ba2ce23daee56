"""The media server: uploads by range requests, only by a token of their own workspace, never read whole."""

from __future__ import annotations

import http.client
import os
import socket
import tracemalloc
import uuid
from pathlib import Path

import pytest

from chronos_data.errors import ValidationError
from chronos_data.media_server import MediaServer

ALPHA, BRAVO = uuid.UUID(int=1), uuid.UUID(int=2)
BODY = bytes(range(256)) * 40  # 10240 bytes, each offset's byte known


def _keep(data_dir: Path, creator: uuid.UUID, name: str, body: bytes = BODY) -> str:
    storage_path = f"uploads/{creator}/f{len(name)}/{name}"
    (data_dir / storage_path).parent.mkdir(parents=True, exist_ok=True)
    (data_dir / storage_path).write_bytes(body)
    return storage_path


@pytest.fixture
def served(tmp_path):
    server = MediaServer(tmp_path).start()
    yield tmp_path, server
    server.stop()


def _get(server: MediaServer, path: str, headers: dict[str, str] | None = None,
         method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def test_a_range_is_answered_with_206_and_its_bytes(served):
    data_dir, server = served
    url = server.path_for(ALPHA, _keep(data_dir, ALPHA, "talk.mp4"))

    status, headers, body = _get(server, url, {"Range": "bytes=1000-1099"})

    assert status == 206 and body == BODY[1000:1100]
    assert headers["Content-Range"] == f"bytes 1000-1099/{len(BODY)}"
    assert headers["Accept-Ranges"] == "bytes" and headers["Content-Type"] == "video/mp4"
    assert headers["Content-Length"] == "100"


def test_the_whole_file_an_open_range_and_a_head(served):
    data_dir, server = served
    url = server.path_for(ALPHA, _keep(data_dir, ALPHA, "talk.webm"))

    status, headers, body = _get(server, url)
    assert status == 200 and body == BODY and headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "video/webm"
    status, headers, body = _get(server, url, {"Range": f"bytes={len(BODY) - 10}-"})
    assert status == 206 and body == BODY[-10:]
    status, headers, body = _get(server, url, method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(BODY))


@pytest.mark.parametrize("suffix, media_type", [(".mp3", "audio/mpeg"), (".m4a", "audio/mp4"),
                                                (".wav", "audio/wav"), (".mov", "video/quicktime")])
def test_the_content_type_follows_the_suffix(served, suffix, media_type):
    data_dir, server = served
    url = server.path_for(ALPHA, _keep(data_dir, ALPHA, "talk" + suffix))
    assert _get(server, url, {"Range": "bytes=0-1"})[1]["Content-Type"] == media_type


@pytest.mark.parametrize("bad", [f"bytes={len(BODY)}-", f"bytes={len(BODY) + 5}-{len(BODY) + 9}"])
def test_a_range_outside_the_file_is_416(served, bad):
    data_dir, server = served
    url = server.path_for(ALPHA, _keep(data_dir, ALPHA, "talk.mp4"))

    status, headers, _ = _get(server, url, {"Range": bad})

    assert status == 416 and headers["Content-Range"] == f"bytes */{len(BODY)}"


def test_forged_unknown_and_path_urls_are_refused(served):
    data_dir, server = served
    path = _keep(data_dir, ALPHA, "talk.mp4")
    real = server.path_for(ALPHA, path)
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")

    for url in (forged, "/media/", "/media/x", f"/{path}", f"/media/../{path}", f"/media/..%2f{path}",
                f"/media/{path}", "/media/..%2F..%2F..%2Fetc%2Fpasswd", "/etc/passwd"):
        status, _, body = _get(server, url)
        assert status in (403, 404), url
        assert BODY[:64] not in body, url


def test_a_token_only_ever_reaches_its_own_workspace(served):
    data_dir, server = served
    bravos = _keep(data_dir, BRAVO, "secret.mp4")

    with pytest.raises(ValidationError):  # Alpha cannot be granted Bravo's file
        server.path_for(ALPHA, bravos)
    with pytest.raises(ValidationError):
        server.path_for(ALPHA, f"uploads/{ALPHA}/../{BRAVO}/f10/secret.mp4")
    # A grant that names another workspace's folder (as a tampered registry would) serves nothing.
    token = server.path_for(BRAVO, bravos).removeprefix("/media/")
    grant = server._grants[token]
    server._grants[token] = type(grant)(ALPHA, grant.storage_path, grant.expires)
    assert _get(server, "/media/" + token)[0] in (403, 404)


def test_a_symlink_out_of_the_data_folder_is_not_followed(served, tmp_path_factory):
    data_dir, server = served
    outside = tmp_path_factory.mktemp("outside") / "passwd.mp4"
    outside.write_bytes(b"root:x:0:0")
    link = data_dir / f"uploads/{ALPHA}/f1/link.mp4"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)

    status, _, body = _get(server, server.path_for(ALPHA, f"uploads/{ALPHA}/f1/link.mp4"))

    assert status == 404 and b"root" not in body


def test_an_expired_token_is_refused_and_a_rerun_keeps_the_url(served, monkeypatch):
    data_dir, server = served
    path = _keep(data_dir, ALPHA, "talk.mp4")
    url = server.path_for(ALPHA, path)
    assert server.path_for(ALPHA, path) == url  # the player keeps its source across reruns

    token = url.removeprefix("/media/")
    grant = server._grants[token]
    server._grants[token] = type(grant)(grant.creator_id, grant.storage_path, 0.0)

    assert _get(server, url)[0] == 404
    assert server.path_for(ALPHA, path) != url


def test_a_large_file_is_streamed_in_small_pieces(served):
    """1.5 GB sparse (nothing written to disk): served whole and by a range near its end, the process
    allocates a few MB at most (st.video of the same file held all 1.5 GB, and more)."""
    data_dir, server = served
    size = 1536 * 1024**2
    path = f"uploads/{ALPHA}/big/lecture.mp4"
    (data_dir / path).parent.mkdir(parents=True)
    with open(data_dir / path, "wb") as f:
        f.truncate(size)
    url = server.path_for(ALPHA, path)

    tracemalloc.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        conn.request("GET", url)
        response = conn.getresponse()
        received = 0
        while piece := response.read(1024**2):
            received += len(piece)
        conn.close()
        status, headers, tail = _get(server, url, {"Range": f"bytes={size - 4096}-"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status == 200 and received == size
    assert status == 206 and tail == bytes(4096) and headers["Content-Range"] == f"bytes {size - 4096}-{size - 1}/{size}"
    assert peak < 32 * 1024**2, f"{peak / 1024**2:.0f} MB allocated while serving"
    assert os.stat(data_dir / path).st_blocks * 512 < 1024**2  # the file stayed sparse: nothing was written


def test_a_fixed_port_is_used_when_set(tmp_path):
    from chronos_data.config import Settings

    port = Settings.from_env({"CHRONOS_MEDIA_PORT": "0"}).media_port
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()[1]
    probe.close()
    server = MediaServer(tmp_path, port=free).start()
    try:
        assert port == 0 and server.port == free
        assert Settings.from_env({"CHRONOS_MEDIA_PORT": str(free)}).media_port == free
    finally:
        server.stop()
