"""Each platform's module on its own: its key column, its links, its moment and embed URLs (no database)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from chronos_data.errors import ValidationError
from chronos_data.ingest import sources
from chronos_data.ingest.sources.loom import LOOM
from chronos_data.ingest.sources.mux import MUX
from chronos_data.ingest.sources.upload import UPLOAD
from chronos_data.ingest.sources.youtube import YOUTUBE

YT = "dQw4w9WgXcQ"
LOOM_ID = "0123456789abcdef0123456789abcdef"
MUX_ID = "EcHgOK9coz5K4rjSwOkoE7Y7O01201YMIC200RI6lNxnhs"


def test_the_registry_holds_the_four_platforms_the_seeds_allow_in_their_key_columns():
    assert {s.name: s.key_column for s in sources.all_sources()} == {
        "youtube": "youtube_video_id", "loom": "embed_id", "mux": "mux_playback_id", "upload": "storage_path"}
    assert sources.source_for("loom") is LOOM
    with pytest.raises(ValidationError, match="'vimeo' is not a video source"):
        sources.source_for("vimeo")


def test_youtube_moments_embeds_and_thumbnails():
    assert YOUTUBE.parse_id(YT).id == YT and YOUTUBE.parse_id("too-short") is None
    assert sources.moment_url("youtube", YT, 90.7) == f"https://www.youtube.com/watch?v={YT}&t=90s"
    assert sources.moment_url("youtube", YT, 0) == f"https://www.youtube.com/watch?v={YT}"
    assert sources.embed_url("youtube", YT, 90) == f"https://www.youtube.com/watch?v={YT}"  # st.video starts it
    assert YOUTUBE.thumbnail_url(YT) == f"https://i.ytimg.com/vi/{YT}/hqdefault.jpg"
    assert sources.is_youtube_id(YT) and not sources.is_youtube_id(YT + "\n") and not sources.is_youtube_id(None)


def test_loom_links_moments_and_embeds():
    link = sources.parse_link(f"https://www.loom.com/embed/{LOOM_ID}?sid=x")
    assert (link.kind, link.id, link.url) == ("loom", LOOM_ID, f"https://www.loom.com/share/{LOOM_ID}")
    assert sources.moment_url("loom", LOOM_ID, 42) == f"https://www.loom.com/share/{LOOM_ID}?t=42"
    assert sources.moment_url("loom", LOOM_ID, 0) == f"https://www.loom.com/share/{LOOM_ID}"
    assert sources.embed_url("loom", LOOM_ID, 42) == f"https://www.loom.com/embed/{LOOM_ID}?t=42"
    with pytest.raises(ValidationError, match="no video id"):
        sources.parse_link("https://www.loom.com/share/not-an-id")


def test_mux_links_embed_at_the_second_and_have_no_moment_link():
    for text in (f"https://stream.mux.com/{MUX_ID}.m3u8", f"https://player.mux.com/{MUX_ID}"):
        link = sources.parse_link(text)
        assert (link.kind, link.id, link.url) == ("mux", MUX_ID, f"https://stream.mux.com/{MUX_ID}.m3u8")
    assert sources.embed_url("mux", MUX_ID, 42) == f"https://player.mux.com/{MUX_ID}?start-time=42"
    assert sources.moment_url("mux", MUX_ID, 42) is None and not MUX.links_to_moments
    with pytest.raises(ValidationError, match="not a YouTube, Loom or Mux link"):
        sources.parse_link("https://stream.mux.com/short.m3u8")


def test_an_upload_is_a_stored_file_of_this_workspace_played_by_the_app():
    creator = uuid.uuid4()
    path = f"uploads/{creator}/abc/lecture.mp4"
    assert UPLOAD.parse_source(path, creator).id == path
    with pytest.raises(ValidationError, match="not one of this workspace's uploads"):
        UPLOAD.parse_source(f"uploads/{uuid.uuid4()}/abc/lecture.mp4", creator)
    assert UPLOAD.player == "file" and UPLOAD.tracking == "file"
    assert sources.moment_url("upload", path, 5) is None and sources.embed_url("upload", path, 5) is None


def test_only_an_upload_needs_its_media_and_is_transcribed_where_the_app_has_an_openai_key():
    from chronos_data.config import Settings

    with_key, without_key = Settings.from_env({"OPENAI_API_KEY": "sk-test"}), Settings.from_env({})
    assert UPLOAD.needs_media and UPLOAD.can_transcribe(with_key) and not UPLOAD.can_transcribe(without_key)
    for linked in (YOUTUBE, LOOM, MUX):
        assert not linked.needs_media and not linked.can_transcribe(with_key)


def test_a_linked_source_refuses_another_platforms_link():
    with pytest.raises(ValidationError, match="not a Mux link"):
        MUX.parse_source(f"https://www.loom.com/share/{LOOM_ID}", uuid.uuid4())


def test_key_of_reads_the_key_column_of_any_row_and_unknown_sources_play_nothing():
    row = SimpleNamespace(source_type="mux", youtube_video_id=None, embed_id="other", mux_playback_id=MUX_ID)
    assert sources.key_of(row) == MUX_ID
    assert sources.key_of(SimpleNamespace(source_type="mux")) is None  # a lesson without the column
    assert sources.key_of(SimpleNamespace(source_type="betamax", embed_id="x")) is None
    assert sources.moment_url("betamax", "x", 1) is None and sources.embed_url("betamax", "x", 1) is None
    assert sources.moment_url("youtube", None, 1) is None
