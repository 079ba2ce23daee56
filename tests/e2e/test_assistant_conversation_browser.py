"""A conversation with the assistant in the browser (offline, the local model): a question, a follow-up
that names a new subject, an elliptical follow-up, and a citation played at the quoted second.

The two lessons are imported with `python -m chronos_data import` against the running app's data folder.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, SCREENSHOTS, StreamlitApp, chronos_env, running_app
from tests.rag_eval_set import CAPTION_SECONDS, LECTURES, to_srt

pytestmark = pytest.mark.e2e

JOINS = next(lecture for lecture in LECTURES if lecture.title == "SQL joins explained")
TUPLES = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")
LOOM = {JOINS.title: "aaaabbbbccccddddeeeeffff00001111", TUPLES.title: "1111000022223333444455556666aaaa"}
_QUOTE = re.compile(r"“(.+?)”")
_WAIT = 90_000  # ms: the first question loads the local model in the app


def _import(app: StreamlitApp, folder: Path, lecture) -> None:
    subtitle = folder / f"{LOOM[lecture.title]}.srt"
    subtitle.write_bytes(to_srt(lecture))
    result = subprocess.run(
        [sys.executable, "-m", "chronos_data", "import", f"https://www.loom.com/share/{LOOM[lecture.title]}",
         "--subtitles", str(subtitle), "--title", lecture.title],
        cwd=ROOT, env=chronos_env(app.data_dir), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr


def _ask(page, question: str, answers_before: int):
    """Type ``question``; return the answer once it is drawn as stored (with its sources panel)."""
    box = page.get_by_placeholder("Ask a question about your videos")
    box.wait_for(timeout=_WAIT)
    box.fill(question)
    box.press("Enter")
    expect(page.get_by_text("Sources (")).to_have_count(answers_before + 1, timeout=_WAIT)
    assert page.locator('[data-testid="stException"]').count() == 0
    messages = page.locator('[data-testid="stChatMessage"]')
    expect(messages).to_have_count(2 * (answers_before + 1), timeout=_WAIT)
    return messages.last


def _cited_looms(answer) -> set[str]:
    hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.href)")
    return {m[1] for href in hrefs if (m := re.match(r"https://www\.loom\.com/share/([0-9a-f]+)\?t=\d+", href))}


def test_a_conversation_follows_the_subject_and_plays_the_quoted_second(browser, tmp_path):
    with running_app(tmp_path) as app:
        _import(app, tmp_path, JOINS)
        _import(app, tmp_path, TUPLES)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            page.goto(f"{app.url}/assistant")
            first = _ask(page, "What is a left join?", 0)
            assert _cited_looms(first) == {LOOM[JOINS.title]}

            # A follow-up naming its own subject is answered from that subject's video only.
            second = _ask(page, "Is a tuple hashable?", 1)
            assert _cited_looms(second) == {LOOM[TUPLES.title]}
            assert "join" not in second.inner_text().lower()

            # "is it fast?" alone quotes the joins lesson ("indexes make these joins fast"); in this
            # conversation "it" is the tuple.
            third = _ask(page, "is it fast?", 2)
            assert _cited_looms(third) == {LOOM[TUPLES.title]}
            # The label is in the answer's footer, drawn after the sources panel _ask waited for.
            expect(third).to_contain_text("Quoted from your videos", timeout=30_000)

            # The first quote's link and the in-page player both start at the second it is spoken.
            quote = _QUOTE.search(third.inner_text())[1]
            second_quoted = TUPLES.captions.index(quote) * CAPTION_SECONDS
            link = third.locator("a").filter(has_text=re.compile(r"^\[1 · ")).first
            assert link.get_attribute("href") == f"https://www.loom.com/share/{LOOM[TUPLES.title]}?t={second_quoted}"
            third.get_by_text("Sources (").click()
            third.get_by_role("button", name="Play").first.click()
            page.get_by_role("button", name="Close player").wait_for(timeout=30_000)
            frame = page.locator("iframe[src*='loom.com/embed']").first
            expect(frame).to_have_attribute(
                "src", f"https://www.loom.com/embed/{LOOM[TUPLES.title]}?t={second_quoted}", timeout=30_000)
        finally:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "assistant-conversation.png"), full_page=True)
            page.close()
