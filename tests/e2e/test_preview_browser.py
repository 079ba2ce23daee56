"""The student preview in Chromium: what the player records is what was played.

An uploaded one-minute clip is played by script (muted, faster than real time) and the watch
sessions the app wrote are read from the database the app runs on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from chronos_data import creators, students
from chronos_data.config import Settings
from chronos_data.db import open_database
from tests.e2e.conftest import ROOT, SCREENSHOTS, chronos_env, running_app
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

CLIP_SECONDS = 60
RATE = 4  # played four times faster than real time: a minute of video in 15 s
SRT = "1\n00:00:00,000 --> 00:00:30,000\nThe first half of the test pattern.\n\n" \
      "2\n00:00:30,000 --> 00:01:00,000\nThe second half of the test pattern.\n"


@pytest.fixture(scope="module")
def app():
    import imageio_ffmpeg

    # A folder of its own: pytest keeps its run folders private to root (0700), where the embedded
    # database's own user could not reach a data folder when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="chronos-preview-"))
    root.chmod(0o755)
    try:
        yield from _app_in(root, imageio_ffmpeg.get_ffmpeg_exe())
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _app_in(root: Path, ffmpeg: str):
    clip, subtitles, outline = root / "pattern.webm", root / "pattern.srt", root / "course.json"
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"testsrc=duration={CLIP_SECONDS}:size=160x120:rate=5", "-c:v", "libvpx", "-b:v", "60k",
                    str(clip)], check=True, timeout=240)
    subtitles.write_text(SRT)
    outline.write_text(json.dumps({"format": "chronos.course/1", "title": "Preview course", "modules": [
        {"title": "Only module", "lessons": [{"title": "Test pattern", "video": {"title": "Test pattern"}}]}]}))
    # Imported before the app starts: the app and the command line would both create the new
    # data folder's database at once.
    for args in (("import", str(clip), "--subtitles", str(subtitles), "--title", "Test pattern"),
                 ("course", "import", str(outline))):
        result = subprocess.run([sys.executable, "-m", "chronos_data", *args], cwd=ROOT,
                                env=chronos_env(root / "chronos-data"), capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stderr
    with running_app(root) as instance:
        yield instance


@pytest.fixture(scope="module")
def sessions(app):
    """Reads the preview student's watch sessions, oldest first, from the app's database."""
    settings = Settings.from_env({"CHRONOS_DATA_DIR": str(app.data_dir)})
    db = open_database(settings)
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, settings.local_creator_email)

    def read() -> list[dict]:
        with db.workspace(creator) as t:
            student = students.ensure_student(t, students.PREVIEW_STUDENT_EMAIL, "Preview student")
            rows = t.conn.execute(sa.text("""
                SELECT s.id, s.percent_complete, s.watch_time_seconds, s.completed, s.session_end IS NOT NULL AS ended,
                       s.metadata -> 'rewinds' AS rewinds,
                       coalesce(array_agg((e.metadata ->> 'milestone')::int ORDER BY (e.metadata ->> 'milestone')::int)
                                FILTER (WHERE e.event_type = 'video_progress'), '{}') AS milestones
                FROM video_watch_sessions s
                LEFT JOIN video_analytics_events e ON e.creator_id = s.creator_id
                     AND e.metadata ->> 'session_id' = s.id::text
                WHERE s.student_id = :student GROUP BY s.id ORDER BY s.session_start"""), {"student": student})
            return [dict(row._mapping) for row in rows]

    yield read
    db.dispose()


@pytest.fixture
def page(autoplay_browser, app):
    page = autoplay_browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app.url}/preview")
    page.locator("video").wait_for(timeout=90_000)
    _log_events(page)
    yield page
    page.close()


def _log_events(page) -> None:
    """Keep every event the player sends in window.chronosLog (shown when a wait times out)."""
    page.evaluate("""() => {
        const box = document.querySelector('.chronos-player');
        let real = box.chronosSend; window.chronosLog = [];
        Object.defineProperty(box, 'chronosSend', {configurable: true, set(f) { real = f; }, get() {
            return (name, value) => {
                window.chronosLog.push([new Date().toISOString().slice(11, 23), value.kind, value.viewing, value.seq,
                                        value.position, JSON.stringify(value.played), JSON.stringify(box.chronosRecorded)]);
                (window.chronosSendHook || real)(name, value, real);
            };
        }});
    }""")


def _wait_for(page, condition, what: str, timeout: float = 90, show=None):
    """Poll ``condition`` (the browser keeps running between polls) until it returns something truthy."""

    def explain() -> str:
        _shot(page, "preview-timed-out.png")
        alerts = page.locator('[data-testid="stAlert"], [data-testid="stException"]').all_inner_texts()
        sent = "\n".join(map(str, page.evaluate("() => window.chronosLog || []")[-12:]))
        return (f"the page shows {alerts}; the player sent:\n{sent}"
                + (f"\nand the database holds {show()}" if show else ""))

    return wait_until(condition, timeout=timeout, what=what, poll=0.25, pause=lambda s: page.wait_for_timeout(s * 1000),
                      explain=explain)


def _sent(page) -> str:
    return "\n".join(map(str, page.evaluate("() => window.chronosLog || []")[-12:]))


def _play(page) -> None:
    page.evaluate(f"""() => {{ const v = document.querySelector('video'); v.muted = true;
                                v.playbackRate = {RATE}; return v.play(); }}""")


def _wait_for_position(page, seconds: float) -> None:
    page.wait_for_function(f"() => document.querySelector('video').currentTime >= {seconds}", timeout=60_000)


def _wait_for_end(page) -> None:
    page.wait_for_function("() => document.querySelector('video').ended", timeout=(CLIP_SECONDS / RATE + 60) * 1000)


def _new_sessions(sessions, before: int, count: int):
    return lambda: (rows := sessions()) and len(rows) >= before + count and rows[before:]


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_playing_again_after_the_end_is_a_new_session(page, sessions):
    before = len(sessions())
    _play(page)
    _wait_for_end(page)
    first = _wait_for(page, lambda: (rows := _new_sessions(sessions, before, 1)()) and rows[0]["ended"] and rows[0],
                      "the first viewing to end")
    assert first["completed"] and first["milestones"] == [10, 25, 50, 75, 90]

    _play(page)  # from the end: the browser starts the clip over
    _wait_for_position(page, 10)
    second = _wait_for(page, lambda: (rows := _new_sessions(sessions, before, 2)()) and rows[1]["watch_time_seconds"]
                       and rows, "a second session", show=sessions)
    assert second[0]["id"] == first["id"] and second[1]["id"] != first["id"]
    assert CLIP_SECONDS - 2 <= second[0]["watch_time_seconds"] <= CLIP_SECONDS  # the first kept its own minute
    # Its own seconds only (the player reports every few seconds, so a busy machine sees 10–25 s),
    # not the first viewing's minute carried on.
    assert second[1]["watch_time_seconds"] < CLIP_SECONDS / 2 and not second[1]["completed"]
    assert second[1]["rewinds"] is None  # the browser's own return to 0:00 is no rewind
    _shot(page, "preview-played-again.png")


def test_a_jump_forward_counts_only_the_seconds_played(page, sessions):
    before = len(sessions())
    _play(page)
    _wait_for_position(page, 7)
    page.evaluate("() => { document.querySelector('video').currentTime = 55; }")
    _wait_for_end(page)
    viewing = _wait_for(page, lambda: (rows := _new_sessions(sessions, before, 1)()) and rows[0]["ended"] and rows[0],
                        "the viewing to end")
    # About 7 s before the jump (it lands a reading or two after 0:07) and the last 5 s: some 20 % of a minute.
    assert 15 <= viewing["percent_complete"] <= 25, (viewing, sessions(), _sent(page))
    assert viewing["milestones"] == [10] and not viewing["completed"] and viewing["rewinds"] is None
    summary = page.locator("p", has_text="This viewing:").first
    summary.filter(has_text=f"{viewing['percent_complete']}% reached").wait_for(timeout=30_000)
    assert "completed" not in summary.inner_text()
    _shot(page, "preview-jump-forward.png")


def test_coming_back_to_the_preview_records_again(page, sessions):
    _play(page)
    _wait_for_position(page, 8)
    page.evaluate("() => document.querySelector('video').pause()")
    before = len(sessions())
    assert before >= 1
    page.get_by_role("link", name="Analytics").first.click()
    page.get_by_text("data as of").wait_for(timeout=60_000)
    page.get_by_role("link", name="Student preview").first.click()
    page.locator("video").wait_for(timeout=60_000)
    _play(page)
    _wait_for_position(page, 20)
    back = _wait_for(page, lambda: (rows := _new_sessions(sessions, before, 1)()) and rows[-1]["watch_time_seconds"]
                     >= 8 and rows[-1], "the viewing after coming back")
    assert back["percent_complete"] >= 10


def test_an_end_swallowed_on_the_way_is_sent_again(page, sessions):
    # A trigger sent while the page reruns can be lost; the last event of a viewing has no
    # successor to carry its state, so the player sends it again until the page says it has it.
    page.evaluate("""() => { window.chronosSendHook = (name, value, real) => {
        if (value.kind === 'ended' && window.chronosDropped === undefined) { window.chronosDropped = value.seq; return; }
        real(name, value);
    }; }""")
    before = len(sessions())
    _play(page)
    _wait_for_position(page, 2)
    page.evaluate("() => { document.querySelector('video').currentTime = 50; }")
    _wait_for_end(page)
    viewing = _wait_for(page, lambda: (rows := _new_sessions(sessions, before, 1)()) and rows[0]["ended"] and rows[0],
                        "the end sent again")
    assert page.evaluate("() => window.chronosDropped") is not None
    assert 15 <= viewing["percent_complete"] <= 25, viewing  # 0:00-0:02 and 0:50-1:00
