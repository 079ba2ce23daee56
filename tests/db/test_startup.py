"""Start-up failures end in one sentence naming the cause and the fix, never a traceback."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from chronos_data.config import Settings
from chronos_data.db import open_database
from chronos_data.errors import StartupError
from tests.pg import free_port, running_tcp_cluster


def _settings(tmp_path: Path, url: str | None) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path / "data", openai_api_key=None, openai_base_url=None)


def _one_sentence(message: str) -> bool:
    return "\n" not in message and "Traceback" not in message and message.endswith(".")


@pytest.fixture(scope="module")
def cluster():
    """A password-protected PostgreSQL without pgvector, like a bare managed server."""
    with running_tcp_cluster("chronos-tcp-", "right-password") as server:
        yield server


def test_wrong_password_names_the_user_and_the_fix(tmp_path, cluster):
    with pytest.raises(StartupError) as error:
        open_database(_settings(tmp_path, cluster.url("wrong-password")))
    message = str(error.value)
    assert "rejected the password for user 'postgres'" in message and "DATABASE_URL" in message
    assert _one_sentence(message) and "wrong-password" not in message


def test_server_without_pgvector_says_how_to_get_it(tmp_path, cluster):
    with pytest.raises(StartupError) as error:
        open_database(_settings(tmp_path, cluster.url("right-password")))
    message = str(error.value)
    assert "no pgvector extension" in message and "unset DATABASE_URL" in message
    assert _one_sentence(message)


def test_nothing_listening_on_the_port(tmp_path):
    with pytest.raises(StartupError) as error:
        open_database(_settings(tmp_path, f"postgres://u:p@127.0.0.1:{free_port()}/db"))
    assert "Nothing accepts connections at 127.0.0.1:" in str(error.value)
    assert _one_sentence(str(error.value))


def test_port_busy_with_a_program_that_is_not_postgres(tmp_path):
    # A web server on the port: it answers Postgres' opening bytes with an HTTP error.
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)

    def answer_like_a_web_server() -> None:
        for _ in range(4):  # libpq may try twice (with and without TLS); bounded either way
            try:
                peer, _ = listener.accept()
            except OSError:
                return
            with peer:
                peer.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=answer_like_a_web_server, daemon=True).start()
    try:
        with pytest.raises(StartupError) as error:
            open_database(_settings(tmp_path, f"postgresql://u:p@127.0.0.1:{listener.getsockname()[1]}/db"))
    finally:
        listener.close()
    assert "not PostgreSQL answered" in str(error.value) and _one_sentence(str(error.value))


def test_data_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StartupError) as error:
        open_database(_settings(blocker, None))
    assert "cannot write to its data folder" in str(error.value) and "CHRONOS_DATA_DIR" in str(error.value)


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "localhost:5432"])
def test_a_url_that_is_not_postgres_is_refused(tmp_path, url):
    with pytest.raises(StartupError, match="DATABASE_URL"):
        open_database(_settings(tmp_path, url))
