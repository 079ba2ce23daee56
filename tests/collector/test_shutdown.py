"""Stopping the collector (SIGTERM) writes what it accepted: the process is started as an operator
would, a batch is posted, and the stop arrives while its rows wait in the writer's queue."""

from __future__ import annotations

import concurrent.futures
import json
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from tests.collector.conftest import make_workspace, serve_process


def test_sigterm_writes_the_queued_events_before_exiting(db, database_url, tmp_path):
    ws = make_workspace(db, "stop")
    env = {"CHRONOS_IMPORT_WORKER": "off", "CHRONOS_DATA_DIR": str(tmp_path)}
    with serve_process(database_url, tmp_path / "serve.log", env) as (url, process):
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
    with db.workspace(ws.creator) as t:
        assert t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events")).scalar_one() == 10_000
