"""The disk fills up while an upload is being saved: one plain message, no video row, no partial file.

Two ways to fill it: a real 1 MiB tmpfs mounted over the data folder in a private mount namespace
(``unshare``, where the machine allows it) under ``python -m chronos_data import``; and, for the
Videos page in AppTest, ``os.write`` made to behave like a filling disk for files under the data
folder (a short write, then ENOSPC), which is the call the upload goes through.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from chronos_data import creators

ROOT = Path(__file__).resolve().parents[2]
SRT = b"1\n00:00:00,000 --> 00:00:04,000\nLoops repeat work until a condition changes.\n"
DISK_FULL = "{name} could not be saved because the disk is full; free some space and upload it again."
MEDIA = os.urandom(3 * 1024 * 1024)  # bytes are bytes to the disk; nothing decodes them before they are saved


def _video_rows(db, creator) -> int:
    with db.workspace(creator) as t:
        return t.conn.execute(sa.text("SELECT count(*) FROM videos WHERE creator_id = :c"), {"c": creator}).scalar_one()


#: Files of the data folder that are not uploads: the app's login key (DATABASE_URL without a password).
_NOT_UPLOADS = {"app-login.key"}


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in _NOT_UPLOADS) if folder.exists() else []


# A private mount namespace: root needs no user namespace (one would hide the test server's socket,
# owned by a user it does not map); anyone else maps themselves to root in one.
UNSHARE = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]


def _private_tmpfs_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run([*UNSHARE, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True,
                           timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _private_tmpfs_works(), reason="this machine allows no private mount namespace (unshare)")
def test_a_real_full_disk_refuses_the_import_and_keeps_nothing(database_url, db, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    media, subtitles = tmp_path / "lecture.mp4", tmp_path / "lecture.srt"
    media.write_bytes(MEDIA)
    subtitles.write_bytes(SRT)
    email = f"diskfull-{uuid.uuid4().hex[:8]}@example.com"
    # The data folder becomes a 1 MiB disk for the import; afterwards, list what is left on it.
    script = ('mount -t tmpfs -o size=1m tmpfs "$CHRONOS_DATA_DIR" || exit 99\n'
              f'{sys.executable} -m chronos_data import "$1" --subtitles "$2" --title Lecture --json --creator "$3"\n'
              'code=$?\necho "--- files left:"\nfind "$CHRONOS_DATA_DIR" -type f ! -name app-login.key\n'
              'df -k "$CHRONOS_DATA_DIR" | tail -1\n'
              'exit $code\n')
    env = {**os.environ, "DATABASE_URL": database_url, "CHRONOS_DATA_DIR": str(data)}
    env.pop("OPENAI_API_KEY", None)
    result = subprocess.run([*UNSHARE, "sh", "-c", script, "sh", str(media), str(subtitles), email], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    report, _, leftovers = result.stdout.partition("--- files left:\n")
    assert result.returncode == 1, result.stderr
    [video] = json.loads(report)["videos"]
    assert (video["status"], video["error"]) == ("refused", DISK_FULL.format(name="lecture.mp4"))
    assert "Traceback" not in result.stderr
    files, _, df = leftovers.rpartition("tmpfs")
    assert files.strip() == ""  # no partial file on the full disk
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    assert _video_rows(db, creator) == 0
    print(f"\nreal 1 MiB tmpfs: a {len(MEDIA) / 2**20:.0f} MiB upload refused, files left: 0, video rows: 0; "
          f"disk after: tmpfs{df.strip()}")


@pytest.fixture
def disk(monkeypatch, tmp_path) -> dict[str, int]:
    """``os.write`` to files under the data folder fills a disk with ``room`` bytes free: a short
    write when the room runs out, then ENOSPC, as the kernel answers."""
    data = tmp_path / "data"
    monkeypatch.setenv("CHRONOS_DATA_DIR", str(data))
    state = {"room": 1024 * 1024, "written": 0, "refused": 0}
    real_write = os.write

    def write(fd: int, data_bytes) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if not target.startswith(str(tmp_path / "data")):
            return real_write(fd, data_bytes)
        room = state["room"] - state["written"]
        if room <= 0:
            state["refused"] += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, bytes(memoryview(data_bytes)[:room]))
        state["written"] += written
        return written

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to tell which file a write goes to")
    monkeypatch.setattr(os, "write", write)
    return state


@pytest.fixture
def workspace(app_env, monkeypatch, db):
    email = f"upload-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    with db.engine.begin() as conn:
        return creators.ensure_creator(conn, email)


def _upload_on_the_page(media: tuple[str, bytes], subtitle: tuple[str, bytes]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at = at.switch_page("pages/videos.py").run()
    at.text_input(key="videos_upload_title").input("Lecture")
    at.file_uploader(key="videos_upload_media").set_value((media[0], media[1], "video/mp4"))
    at.file_uploader(key="videos_upload_subtitle").set_value((subtitle[0], subtitle[1], "application/x-subrip"))
    next(b for b in at.button if b.proto.form_id == "videos_upload_form").click().run()
    return at


def test_a_full_disk_on_the_videos_page_says_what_to_do_and_keeps_nothing(workspace, db, disk, tmp_path):
    at = _upload_on_the_page(("lecture.mp4", MEDIA), ("lecture.srt", SRT))
    assert not at.exception
    assert [e.value for e in at.error] == [DISK_FULL.format(name="lecture.mp4")]
    assert disk["written"] == disk["room"] and disk["refused"] == 1  # the disk did fill up, then refused
    assert _files(tmp_path / "data") == [] and _video_rows(db, workspace) == 0

    disk["room"] = 10 * len(MEDIA)  # space freed: the same upload goes through, whole
    disk["written"] = 0
    at = _upload_on_the_page(("lecture.mp4", MEDIA), ("lecture.srt", SRT))
    assert not at.exception and not at.error
    [stored] = _files(tmp_path / "data")
    assert stored.name == "lecture.mp4" and stored.read_bytes() == MEDIA and _video_rows(db, workspace) == 1


def test_an_upload_whose_video_is_refused_leaves_no_file_behind(workspace, db, tmp_path, monkeypatch):
    monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path / "data"))
    at = _upload_on_the_page(("lecture.mp4", MEDIA), ("lecture.srt", b"\n\n"))  # a subtitle file with no captions
    assert not at.exception and len(at.error) == 1
    assert _files(tmp_path / "data") == [] and _video_rows(db, workspace) == 0
