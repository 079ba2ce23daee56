"""Adding a platform is one module plus its ``register`` call: nothing else in Chronos changes.

The module below is the whole of a (fake) Vimeo source; once registered, links are recognised,
moments and embeds are built, and the one moment player plays it, all through the registry.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data.errors import ValidationError
from chronos_data.ingest import sources
from chronos_data.ingest.sources import Link, VideoSource


# ---------------------------------------------------------------- the whole new module
class Vimeo(VideoSource):
    name = "vimeo"
    label = "Vimeo"
    link_label = "Vimeo link"
    key_column = "embed_id"  # the seeds' generic embed columns
    embed_type = "vimeo"
    hosts = frozenset({"vimeo.com", "www.vimeo.com", "player.vimeo.com"})
    links_to_moments = True

    def parse_url(self, url: Any, raw: str) -> Link:
        number = next((part for part in url.path.split("/") if re.fullmatch(r"\d{6,12}", part)), None)
        if number is None:
            raise ValidationError("That Vimeo link has no video number; copy the video's link.")
        return Link("vimeo", number, f"https://vimeo.com/{number}")

    def moment_url(self, key: str, seconds: int) -> str:
        return f"https://vimeo.com/{key}" + (f"#t={seconds}s" if seconds else "")

    def embed_url(self, key: str, seconds: int) -> str:
        return f"https://player.vimeo.com/video/{quote(key)}#t={seconds}s"
# ---------------------------------------------------------------- end of the module


@pytest.fixture
def vimeo():
    source = sources.register(Vimeo())
    yield source
    sources.unregister("vimeo")


def test_a_registered_source_is_recognised_linked_and_embedded(vimeo):
    link = sources.parse_link("https://vimeo.com/76979871?share=copy")
    assert (link.kind, link.id, link.url) == ("vimeo", "76979871", "https://vimeo.com/76979871")
    assert sources.parse_link("player.vimeo.com/video/76979871").id == "76979871"
    assert sources.source_for("vimeo") is vimeo
    assert sources.moment_url("vimeo", "76979871", 42.5) == "https://vimeo.com/76979871#t=42s"
    assert sources.embed_url("vimeo", "76979871", 42) == "https://player.vimeo.com/video/76979871#t=42s"
    assert sources.key_of(type("Row", (), {"source_type": "vimeo", "embed_id": "76979871"})()) == "76979871"
    with pytest.raises(ValidationError, match="not a YouTube, Loom, Mux or Vimeo link"):
        sources.parse_link("https://example.com/video")
    with pytest.raises(ValidationError, match="no video number"):
        sources.parse_link("https://vimeo.com/channels")


def test_before_registering_it_chronos_does_not_know_the_platform():
    with pytest.raises(ValidationError, match="not a YouTube, Loom or Mux link"):
        sources.parse_link("https://vimeo.com/76979871")
    assert sources.moment_url("vimeo", "76979871", 42) is None


def _play(second: int) -> None:
    import uuid
    from datetime import UTC, datetime

    from chronos_data.videos import Video
    from components.moment_player import render_moment_player

    now = datetime.now(UTC)
    render_moment_player(Video(
        id=uuid.uuid4(), title="A lesson", description=None, url=None, source_type="vimeo", status="completed",
        error_message=None, duration_seconds=600, thumbnail_url=None, youtube_video_id=None, mux_playback_id=None,
        embed_id="76979871", storage_path=None, transcript_language="en", transcript_is_generated=False,
        transcript_method="subtitle_file", progress=1.0, attempts=0, is_deleted=False, created_at=now,
        updated_at=now), second)


def test_the_one_moment_player_plays_a_registered_source(vimeo):
    at = AppTest.from_function(_play, args=(42,)).run()
    assert not at.exception and not at.info
    assert [frame.proto.src for frame in at.get("iframe")] == ["https://player.vimeo.com/video/76979871#t=42s"]


def test_an_unregistered_source_has_no_player():
    at = AppTest.from_function(_play, args=(42,)).run()
    assert not at.exception and not at.get("iframe")
    assert any("no player link" in info.value for info in at.info)
