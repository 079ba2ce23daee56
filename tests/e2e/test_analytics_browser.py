"""Analytics in the browser: the demo workspace's charts, and a real viewing in the student preview
player that shows up in them."""

from __future__ import annotations

import json
import subprocess
import sys
from calendar import monthrange
from datetime import datetime

import pytest

from tests.e2e.conftest import ROOT, SCREENSHOTS, StreamlitApp, chronos_env, running_app
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

CLIP_SECONDS = 12
SRT = "1\n00:00:00,000 --> 00:00:05,000\nA test pattern for the preview.\n\n" \
      "2\n00:00:06,000 --> 00:00:11,000\nIt plays for twelve seconds.\n"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("analytics")) as instance:
        yield instance


def _cli(app: StreamlitApp, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "chronos_data", *args], cwd=ROOT, env=chronos_env(app.data_dir),
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_load_the_demo_workspace_and_see_every_chart(autoplay_browser, app):
    page = autoplay_browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(app.url)
        page.get_by_role("button", name="Load demo workspace").click(timeout=90_000)
        page.get_by_text("Demo workspace ready").wait_for(timeout=180_000)
        _shot(page, "overview-demo.png")
        page.get_by_role("link", name="Analytics").first.click()
        page.get_by_text("data as of").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        _shot(page, "analytics-trends.png")
        for tab in ("Retention", "Courses", "Videos", "Audience", "Costs"):
            page.get_by_role("tab", name=tab).click()
            # The tab is drawn when its panel shows a chart or says why it has none.
            _visible(page, ".js-plotly-plot, [data-testid=stAlert], [data-testid=stCaptionContainer]").first.wait_for(
                timeout=30_000)
            _shot(page, f"analytics-{tab.lower()}.png")
        # Every tab's charts are drawn once the run the last click started has finished.
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=90_000)
        wait_until(lambda: page.locator(".js-plotly-plot").count() >= 5, timeout=60, what="the charts of every tab",
                   pause=lambda seconds: page.wait_for_timeout(seconds * 1000), poll=0.25,
                   explain=lambda: f"{page.locator('.js-plotly-plot').count()} charts")
        assert page.locator('[data-testid="stException"]').count() == 0 and errors == []
        page.get_by_role("button", name="Back to my workspace").click()
        page.get_by_text("Local workspace").wait_for(timeout=30_000)
    finally:
        page.close()


def test_a_preview_viewing_is_recorded_and_charted(autoplay_browser, app, tmp_path):
    import imageio_ffmpeg

    clip = tmp_path / "pattern.webm"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=duration={CLIP_SECONDS}:size=320x240:rate=10", "-c:v", "libvpx", "-b:v", "150k",
                    str(clip)], check=True, timeout=120)
    subtitles = tmp_path / "pattern.srt"
    subtitles.write_text(SRT)
    _cli(app, "import", str(clip), "--subtitles", str(subtitles), "--title", "Test pattern")
    outline = tmp_path / "course.json"
    outline.write_text(json.dumps({"format": "chronos.course/1", "title": "Preview course", "modules": [
        {"title": "Only module", "lessons": [{"title": "Test pattern", "video": {"title": "Test pattern"}}]}]}))
    _cli(app, "course", "import", str(outline))

    page = autoplay_browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app.url}/preview")
        page.locator("video").wait_for(timeout=90_000)
        page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; return v.play(); }")
        page.get_by_text("completed").wait_for(timeout=(CLIP_SECONDS + 30) * 1000)
        summary = page.locator("p", has_text="This viewing:").first.inner_text()
        _shot(page, "student-preview.png")
        assert "milestones 10%, 25%, 50%, 75%, 90%" in summary

        page.goto(f"{app.url}/analytics")
        page.get_by_text("data as of").wait_for(timeout=60_000)
        def metric(label: str) -> str:
            card = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
            return card.locator('[data-testid="stMetricValue"]').inner_text().strip()

        assert metric("Views") == "1" and metric("Completion") == "100%"
        _shot(page, "analytics-after-preview.png")
    finally:
        page.close()


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The demo as the local workspace, so a reload or a shared link opens the same data."""
    with running_app(tmp_path_factory.mktemp("analytics-demo"),
                     extra_env={"CHRONOS_LOCAL_EMAIL": "demo@chronos.localhost"}) as instance:
        _cli(instance, "demo", "--students", "120", "--days", "45")
        yield instance


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(url)
    page.get_by_text("data as of").wait_for(timeout=120_000)
    return page


def _visible(page, selector: str):
    return page.locator(f"[role=tabpanel]:visible {selector}")


def _retention_title(page) -> str:
    return page.locator("p", has_text="Retention of").first.inner_text().removeprefix("Retention of ").strip()


def _choose(page, label: str, option: str, widget: str = "stSelectbox") -> None:
    page.locator(f"[data-testid={widget}]").filter(has_text=label).locator("input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_ticked_video_stays_on_its_id_and_a_shared_url_keeps_the_view(autoplay_browser, demo_app):
    page = _open(autoplay_browser, f"{demo_app.url}/analytics?analytics_tab=Videos")
    try:
        grid = _visible(page, "[data-testid=stDataFrame]").first
        grid.wait_for()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 16, box["y"] + 35 + 5 * 35 + 17)  # the checkbox of row 6
        page.get_by_text("Retention of").wait_for(timeout=60_000)
        ticked = _retention_title(page)

        _choose(page, "Period", "Last 7 days")
        page.wait_for_url("**analytics_period=Last+7+days**", timeout=60_000)
        page.locator("p", has_text=f"Retention of {ticked}").wait_for(timeout=60_000)  # not another video
        _shot(page, "analytics-pick-by-id.png")

        others = [t for t in ("Git branches and merging", "Docker volumes and networking",
                              "HTTP caching headers") if t != ticked][:2]
        for title in others:
            _choose(page, "Videos", title, "stMultiSelect")
            page.keyboard.press("Escape")
        page.get_by_text(f"{ticked} is not among the videos of the current filters").wait_for(timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0  # was an IndexError

        shared = page.url
        assert "analytics_videos=" in shared and "analytics_tab=Videos" in shared
        reloaded = _open(autoplay_browser, shared)
        try:
            reloaded.get_by_text("compared with the 7 days before").wait_for(timeout=60_000)
            for title in others:
                reloaded.locator("[data-testid=stMultiSelect]").get_by_text(title).wait_for(timeout=60_000)
            assert reloaded.get_by_role("tab", name="Videos").get_attribute("aria-selected") == "true"
        finally:
            reloaded.close()
    finally:
        page.close()


def test_clicking_a_chart_filters_to_it_and_clear_removes_it(autoplay_browser, demo_app):
    page = _open(autoplay_browser, f"{demo_app.url}/analytics?analytics_tab=Audience")
    try:
        chart = _visible(page, ".js-plotly-plot").first
        chart.locator("g.point path").first.wait_for(timeout=60_000)
        bar = chart.locator("g.point path").first.bounding_box()
        page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
        page.get_by_text("Filtered to sessions on").wait_for(timeout=60_000)
        _shot(page, "analytics-audience-filtered.png")
        page.get_by_role("button", name="Clear", exact=True).click()
        page.get_by_text("Click a bar to see which videos were watched on that device").wait_for(timeout=60_000)
        assert page.get_by_text("Filtered to sessions on").count() == 0

        page.get_by_role("tab", name="Trends").click()
        cells = _visible(page, ".js-plotly-plot").nth(1).locator("path.point")
        cells.first.wait_for(timeout=60_000)
        cell = cells.nth(2 * 24 + 18).bounding_box()  # Wednesday 18:00
        page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
        page.get_by_text("Filtered to Wed 18:00").wait_for(timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_a_month_bar_drills_into_exactly_that_month(autoplay_browser, demo_app):
    page = _open(autoplay_browser, f"{demo_app.url}/analytics?analytics_period=Last+90+days"
                                   "&analytics_granularity=month")
    try:
        bars = _visible(page, ".js-plotly-plot").first.locator("g.point path")
        bars.nth(1).wait_for(timeout=60_000)
        ticks = _visible(page, ".js-plotly-plot").first.locator("g.xtick text").all_text_contents()
        count = bars.count()
        assert len(ticks) == count  # one label per bar, under it
        bar = bars.nth(count - 2).bounding_box()  # the last whole month
        page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] - 4)
        heading = page.locator("p", has_text="Videos watched in").first
        heading.wait_for(timeout=60_000)
        text = heading.inner_text()
        month = datetime.strptime(text.split("Videos watched in ")[1].split(" (")[0], "%b %Y").date()
        last = month.replace(day=monthrange(month.year, month.month)[1])
        assert f"({month:%d %b} – {last:%d %b %Y})" in text  # not into the next month
        assert ticks[count - 2] == f"{month:%b %Y}"
        _shot(page, "analytics-month-drill.png")
    finally:
        page.close()
