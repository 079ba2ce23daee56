"""The course mapping edited by hand, and unmatched YouTube lessons imported into the library."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from chronos_data import videos, whop
from chronos_data.errors import NotFound


def _mapping(t) -> dict[str, whop.LessonMapping]:
    return {m.whop_lesson_id: m for m in whop.list_lessons(t)}


def test_a_match_made_by_hand_survives_the_next_sync(t, synced):
    s, library = synced
    whop.set_lesson_video(t, "lesn_other", library["loom"])
    whop.set_lesson_video(t, "lesn_yt", None)  # the automatic match was wrong: no video
    whop.sync(t, settings=s)
    mapping = _mapping(t)
    assert (mapping["lesn_other"].video_id, mapping["lesn_other"].chosen) == (library["loom"], True)
    assert mapping["lesn_yt"].video_id is None and mapping["lesn_yt"].chosen
    assert mapping["lesn_mux"].video_id == library["mux"] and not mapping["lesn_mux"].chosen
    assert t.conn.execute(sa.text("SELECT whop_lesson_id FROM videos WHERE id = :v"),
                          {"v": library["yt"]}).scalar_one() is None


def test_a_lesson_cannot_be_matched_to_a_video_that_is_not_the_workspace_s(t, synced):
    with pytest.raises(NotFound, match="not in this workspace's library"):
        whop.set_lesson_video(t, "lesn_other", uuid.uuid4())
    with pytest.raises(NotFound, match="sync first"):
        whop.set_lesson_video(t, "lesn_unknown", None)


def test_unmatched_youtube_lessons_are_queued_for_import_and_matched(t, synced):
    s, library = synced
    videos.soft_delete_video(t, library["loom"])
    whop.sync(t, settings=s)  # the Loom lesson loses its match
    result = whop.import_unmatched_lessons(t)
    assert result.queued == ["Not in the library"] and result.needs_subtitles == ["Branches"] and not result.failed
    new = _mapping(t)["lesn_other"].video_id
    imported = videos.get_video(t, new)
    assert imported.title == "Not in the library" and imported.status == "pending"
    assert whop.import_unmatched_lessons(t).queued == []  # nothing left to import
