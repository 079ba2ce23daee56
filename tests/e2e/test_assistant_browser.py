"""A creator asks the assistant in the browser: offline, then with a (fake) language model.

Each app gets a fresh data folder; its video is imported with `python -m chronos_data import`
against the same folder while the app runs, as a creator scripting imports would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, SCREENSHOTS, StreamlitApp, chronos_env, running_app
from tests.fakes.openai_server import FakeOpenAI
from tests.rag_eval_set import LECTURES, to_srt

pytestmark = pytest.mark.e2e

LOOM_ID = "fedcba9876543210fedcba9876543210"
TUPLES = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")
KEY_SENTENCE = "Because they cannot change, tuples can be used as dictionary keys."


def _import_tuples(app: StreamlitApp, folder: Path, extra_env: dict[str, str] | None = None) -> None:
    subtitle = folder / "tuples.srt"
    subtitle.write_bytes(to_srt(TUPLES))
    result = subprocess.run(
        [sys.executable, "-m", "chronos_data", "import", f"https://www.loom.com/share/{LOOM_ID}",
         "--subtitles", str(subtitle), "--title", TUPLES.title],
        cwd=ROOT, env={**chronos_env(app.data_dir), **(extra_env or {})}, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr


def _ask(page, app: StreamlitApp, question: str, screenshot: str):
    page.goto(f"{app.url}/assistant")
    box = page.get_by_placeholder("Ask a question about your videos")
    box.wait_for(timeout=90_000)
    box.fill(question)
    box.press("Enter")
    try:
        page.get_by_text("Sources (").first.wait_for(timeout=90_000)
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    return page.locator('[data-testid="stChatMessage"]').last


def test_offline_answer_cites_the_second_it_quotes(browser, tmp_path):
    with running_app(tmp_path) as app:
        _ask_offline(browser, app, tmp_path)


def _ask_offline(browser, app: StreamlitApp, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _import_tuples(app, tmp_path)
        answer = _ask(page, app, "Can a tuple be used as a dictionary key?", "assistant-offline.png")
        assert KEY_SENTENCE in answer.inner_text()
        second = TUPLES.captions.index(KEY_SENTENCE) * 5
        hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.href)")
        assert f"https://www.loom.com/share/{LOOM_ID}?t={second}" in hrefs, hrefs
        # The label is in the answer's footer, drawn after the sources panel _ask waited for.
        expect(answer).to_contain_text("Quoted from your videos", timeout=30_000)

        # The sources panel plays the cited moment inside the page.
        answer.get_by_text("Sources (").click()
        answer.get_by_role("button", name="Play").first.click()
        page.get_by_role("button", name="Close player").wait_for(timeout=30_000)
        frame = page.locator("iframe[src*='loom.com/embed']").first
        assert f"/embed/{LOOM_ID}?t=" in frame.get_attribute("src")
    finally:
        page.close()


def test_a_generated_answer_streams_in_with_citations(browser, tmp_path):
    with FakeOpenAI() as fake:
        env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url}
        with running_app(tmp_path, env) as app:
            _ask_generated(browser, app, tmp_path, env, fake)


def _ask_generated(browser, app: StreamlitApp, tmp_path: Path, env: dict[str, str], fake: FakeOpenAI) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _import_tuples(app, tmp_path, env)
        answer = _ask(page, app, "Can tuples be used as dictionary keys?", "assistant-generated.png")
        expect(answer).to_contain_text("gpt-4o-mini", timeout=30_000)  # the footer, after the sources panel
        text = answer.inner_text()
        assert "From the videos:" in text and "[1 · " in text and "gpt-4o-mini" in text
        hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.href)")
        assert any(href.startswith(f"https://www.loom.com/share/{LOOM_ID}") for href in hrefs), hrefs
        streamed = [r for r in fake.requests if r["path"].endswith("/chat/completions") and r["body"].get("stream")]
        assert len(streamed) == 1
    finally:
        page.close()
