"""Stopping the collector (SIGTERM) writes what it accepted: the process is started as an operator
would, a batch is posted, and the stop arrives while its rows wait in the writer's queue."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from tests.collector.conftest import make_workspace


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sigterm_writes_the_queued_events_before_exiting(db, database_url, tmp_path):
    ws = make_workspace(db, "stop")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CHRONOS_IMPORT_WORKER": "off",
           "CHRONOS_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "chronos_data", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the collector did not start"
            time.sleep(0.05)
        at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        body = "\n".join(json.dumps({"id": str(uuid.uuid4()), "type": "video_progress", "video": str(ws.video),
                                     "student_email": f"s{i % 50}@example.com", "timestamp": at,
                                     "percent_complete": i % 100}) for i in range(10_000))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            posted = pool.submit(httpx.post, f"{url}/v1/events", content=body.encode(),
                                 headers={"Authorization": f"Bearer {ws.key}"}, timeout=120)
            while not posted.done():  # stop once the rows wait in the writer's queue
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).json().get("queued"):
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.005)
            process.send_signal(signal.SIGTERM)
            answer = posted.result()
        assert answer.status_code == 200 and answer.json()["stored"] == 10_000
        # uvicorn ends by re-raising the signal it drained for, as a process stopped by SIGTERM does.
        assert process.wait(60) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with db.tenant(ws.creator) as t:
        assert t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events")).scalar_one() == 10_000
