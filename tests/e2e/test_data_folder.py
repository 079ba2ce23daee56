"""The embedded database: data survives a killed app, and several processes share one folder."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.e2e.conftest import ROOT, chronos_env


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chronos_data", *args], cwd=ROOT, env=chronos_env(data_dir),
                          capture_output=True, text=True, timeout=180)


def _server_running(data_dir: Path) -> bool:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        import os

        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_processes_starting_together_on_a_fresh_folder_share_one_workspace(tmp_path):
    data_dir = tmp_path / "chronos-data"
    starts = [subprocess.Popen([sys.executable, "-m", "chronos_data", "status", "--json"], cwd=ROOT,
                               env=chronos_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    outputs = [process.communicate(timeout=180) for process in starts]

    assert [process.returncode for process in starts] == [0, 0], outputs
    reports = [json.loads(out) for out, _ in outputs]
    assert reports[0]["workspace"]["id"] == reports[1]["workspace"]["id"]
    assert reports[0]["database"]["kind"] == "embedded"
    assert not _server_running(data_dir)  # the last process to leave stopped the server cleanly


HOLD_A_COURSE = textwrap.dedent("""
    import sys, time
    from chronos_data import courses, creators
    from chronos_data.config import Settings
    from chronos_data.db import open_database
    import sqlalchemy as sa
    db = open_database(Settings.from_env())
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, Settings.from_env().local_creator_email)
    with db.workspace(creator) as t:
        courses.create_course(t, "Survives a crash")
    with db.engine.connect() as conn:
        print(conn.execute(sa.text("SELECT session_user")).scalar(), flush=True)
    time.sleep(600)
""")


def test_data_survives_a_killed_app_and_the_app_logs_in_as_the_restricted_role(tmp_path):
    data_dir = tmp_path / "chronos-data"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_COURSE], cwd=ROOT, env=chronos_env(data_dir),
                              stdout=subprocess.PIPE, text=True)
    try:
        # session_user, not just current_user: no SQL can RESET ROLE back to the owner.
        assert holder.stdout.readline().strip() == "chronos_app"
        second = _cli(data_dir, "status", "--json")  # a second process while the first runs
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["workspace"]["rows"]["courses"] == 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)

    after_crash = _cli(data_dir, "status", "--json")
    assert after_crash.returncode == 0, after_crash.stderr
    assert json.loads(after_crash.stdout)["workspace"]["rows"]["courses"] == 1
    # The killed process was forgotten, so the last one to exit stopped the server cleanly.
    assert not _server_running(data_dir)
