"""One copy of a Loom or Mux link in a library, as for YouTube: a second add names the first."""

from __future__ import annotations

import pytest

from chronos_data import videos
from chronos_data.ingest import pipeline

SRT = b"1\n00:00:00,000 --> 00:00:04,000\nLoops repeat work until a condition changes.\n"
LINKS = {"loom": "https://www.loom.com/share/0123456789abcdef0123456789abcdef",
         "mux": "https://stream.mux.com/a1B2c3D4e5F6g7H8i9J0k1L2.m3u8"}


def _add(t, source_type: str, title: str):
    return pipeline.add_subtitled_video(t, source_type=source_type, source=LINKS[source_type], subtitle_bytes=SRT,
                                        subtitle_filename="talk.srt", title=title)


@pytest.mark.parametrize("source_type", ["loom", "mux"])
def test_the_same_link_twice_is_refused_with_the_copy_in_the_library(t, source_type):
    first = _add(t, source_type, "Kick-off")
    with pytest.raises(pipeline.DuplicateVideo, match="'Kick-off' is already in your library") as refused:
        _add(t, source_type, "Kick-off again")
    assert refused.value.video_id == first
    assert [v.id for v in videos.list_videos(t)] == [first]


def test_a_link_whose_copy_is_in_the_trash_can_be_added_again(t):
    first = _add(t, "loom", "Kick-off")
    videos.soft_delete_video(t, first)
    second = _add(t, "loom", "Kick-off, take two")
    assert second != first and [v.id for v in videos.list_videos(t)] == [second]
