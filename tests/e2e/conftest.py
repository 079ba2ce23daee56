"""A real `streamlit run app.py` on a fresh data folder, and headless Chromium to drive it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.pg import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHRONOS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOTS = Path(os.environ.get("CHRONOS_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))


def chronos_env(data_dir: Path) -> dict[str, str]:
    """The environment of a newcomer's machine: no DATABASE_URL, no key, a fresh data folder."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"}}
    env["CHRONOS_DATA_DIR"] = str(data_dir)
    return env


class StreamlitApp:
    def __init__(self, data_dir: Path, log: Path, extra_env: dict[str, str] | None = None,
                 extra_args: list[str] | None = None, port: int | None = None,
                 address: str | None = "127.0.0.1") -> None:
        """``address``: where the server listens (None: as .streamlit/config.toml says)."""
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             *(["--server.address", address] if address else []), "--server.headless", "true",
             # No source watcher: it would watch every file under the repository, the tests' PostgreSQL
             # data folders in .pytest-tmp too (inotify overflowed, and the watcher cost CPU).
             "--server.fileWatcherType", "none", *(extra_args or [])],
            cwd=ROOT, env={**chronos_env(data_dir), **(extra_env or {})}, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.log_path = log

    def wait_until_healthy(self, timeout: float = 90) -> None:
        def healthy() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(healthy, timeout=timeout, poll=0.3, what="streamlit's health check",
                   explain=lambda: "its log:\n" + self.log_path.read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    """One Playwright driver for the session: a second ``sync_playwright()`` while one runs fails
    ("using Playwright Sync API inside the asyncio loop"), so every browser is launched from this."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        message = f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium')"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing browser is a failure, never a skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver) -> Iterator[object]:
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@contextmanager
def running_app(root: Path, extra_env: dict[str, str] | None = None, extra_args: list[str] | None = None,
                port: int | None = None, address: str | None = "127.0.0.1") -> Iterator[StreamlitApp]:
    """`streamlit run app.py` on a fresh data folder under ``root``, stopped afterwards."""
    instance = StreamlitApp(root / "chronos-data", root / "streamlit.log", extra_env, extra_args, port, address)
    try:
        instance.wait_until_healthy()
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def fresh_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    root = tmp_path_factory.mktemp("newcomer")
    app = StreamlitApp(root / "chronos-data", root / "streamlit.log")
    try:
        app.wait_until_healthy()
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def autoplay_browser(playwright_driver) -> Iterator[object]:
    """Chromium that may start a muted video without a click (the test presses play by script)."""
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
    yield chromium
    chromium.close()
