"""The collector snippet in a real page: a creator's site plays a lesson in an HTML5 video, the
snippet sends what was played to `python -m chronos_data serve`, and Chronos holds one completed
viewing; a site whose origin the key does not name sends nothing."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chronos_data import creators, videos
from chronos_data.collector import keys
from tests.collector.conftest import serve_process
from tests.waiting import wait_until

CLIP_SECONDS = 6
PAGE = """<!doctype html><html><body>
<script src="{collector}/v1/collector.js" data-key="{key}" data-student="{student}" data-every="1"></script>
<video id="lesson" src="pattern.webm" muted playsinline data-chronos-video="Pattern lesson"></video>
</body></html>"""


@pytest.fixture(scope="module")
def collector(database_url: str, tmp_path_factory) -> Iterator[str]:
    with serve_process(database_url, tmp_path_factory.mktemp("collector") / "serve.log") as (url, _):
        yield url


def _site(root: Path, html: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A creator's own site: a static page and the lesson's video, on an origin of its own."""
    (root / "index.html").write_text(html)
    (root / "favicon.ico").write_bytes(b"")  # so the page's only console messages are the snippet's
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    import imageio_ffmpeg

    path = tmp_path_factory.mktemp("clip") / "pattern.webm"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=duration={CLIP_SECONDS}:size=320x240:rate=10", "-c:v", "libvpx", "-b:v", "150k",
                    str(path)], check=True, timeout=120)
    return path


def _workspace(db, origins: list[str]) -> tuple[uuid.UUID, uuid.UUID, str]:
    """A committed workspace with the lesson's video and a write key; (creator, video, key)."""
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, f"site-{uuid.uuid4().hex[:8]}@example.com")
    with db.workspace(creator) as t:
        video = videos.create_video(t, title="Pattern lesson", source_type="upload", source_id=f"p-{uuid.uuid4().hex}",
                                    duration_seconds=CLIP_SECONDS)
        key = keys.create_key(t, "School site", origins).key
    return creator, video, key


def _viewings(db, creator: uuid.UUID, video: uuid.UUID) -> list[sa.Row]:
    with db.workspace(creator) as t:
        return t.conn.execute(sa.text(
            "SELECT s.percent_complete, s.completed, s.watch_time_seconds, st.email FROM video_watch_sessions s "
            "JOIN students st ON st.id = s.student_id WHERE s.creator_id = :c AND s.video_id = :v"),
            {"c": creator, "v": video}).all()


def _play_to_the_end(page) -> None:
    page.locator("#lesson").wait_for(state="attached")
    page.wait_for_function("() => window.Chronos && document.querySelector('#lesson').readyState >= 2")
    page.evaluate("() => document.querySelector('#lesson').play()")
    page.wait_for_function("() => document.querySelector('#lesson').ended", timeout=(CLIP_SECONDS + 30) * 1000)
    page.evaluate("() => window.Chronos.flush()")


def test_a_lesson_played_on_the_creators_site_becomes_one_completed_viewing(
        autoplay_browser, db, collector, clip, tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "pattern.webm").write_bytes(clip.read_bytes())
    server, origin = _site(root, "")
    try:
        creator, video, key = _workspace(db, [origin])
        (root / "index.html").write_text(PAGE.format(collector=collector, key=key, student="ada@example.com"))
        page = autoplay_browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda message: errors.append(message.text) if message.type in {"error", "warning"} else None)
        try:
            page.goto(f"{origin}/index.html")
            _play_to_the_end(page)
            wait_until(lambda: page.evaluate("() => window.Chronos.pending() === 0"), timeout=30,
                       pause=lambda seconds: page.wait_for_timeout(seconds * 1000), what="the snippet to send its rows",
                       explain=lambda: f"the page said {errors}; rows pending, failed sends: "
                                       f"{page.evaluate('() => [window.Chronos.pending(), window.Chronos.failures()]')}")
        finally:
            page.close()
        (viewing,) = wait_until(lambda: _viewings(db, creator, video), timeout=30, what="the viewing in the database")
        assert viewing.email == "ada@example.com" and viewing.completed and viewing.percent_complete >= 90
        assert CLIP_SECONDS - 2 <= viewing.watch_time_seconds <= CLIP_SECONDS + 1
        assert errors == []
    finally:
        server.shutdown()


def test_a_site_the_key_does_not_name_sends_nothing(autoplay_browser, db, collector, clip, tmp_path):
    root = tmp_path / "other-site"
    root.mkdir()
    (root / "pattern.webm").write_bytes(clip.read_bytes())
    server, origin = _site(root, "")
    try:
        creator, video, key = _workspace(db, ["https://school.example.com"])
        (root / "index.html").write_text(PAGE.format(collector=collector, key=key, student="eve@example.com"))
        page = autoplay_browser.new_page()
        try:
            page.goto(f"{origin}/index.html")
            _play_to_the_end(page)
            # The browser refuses to send (the preflight names no CORS header for this origin): the
            # rows stay queued for a later try.
            page.wait_for_function("() => window.Chronos.failures() > 0 && window.Chronos.pending() > 0",
                                   timeout=30_000)
        finally:
            page.close()
        assert _viewings(db, creator, video) == []
    finally:
        server.shutdown()
