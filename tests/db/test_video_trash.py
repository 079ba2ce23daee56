"""Restoring a video from the trash when the same YouTube video was added again since."""

from __future__ import annotations

import pytest

from chronos_data import courses, videos
from chronos_data.errors import ValidationError
from chronos_data.ingest import pipeline

LINK = "https://youtu.be/dQw4w9WgXcQ"


def _trashed_and_live(t):
    old = pipeline.add_youtube_video(t, LINK, title="Decorators (first import)")
    videos.soft_delete_video(t, old)
    new = pipeline.add_youtube_video(t, LINK, title="Decorators (again)")
    return old, new


def _live_ids(t):
    return {v.id for v in videos.list_videos(t)}


def test_restore_is_refused_with_a_message_naming_the_live_copy(t):
    old, new = _trashed_and_live(t)
    with pytest.raises(videos.LiveCopyExists) as refused:
        videos.restore_video(t, old)
    assert isinstance(refused.value, ValidationError)
    message = str(refused.value)
    assert message.startswith("'Decorators (first import)' cannot be restored as it is: the same YouTube "
                              "video is in your library as 'Decorators (again)' (added ")
    assert "replace the copy in the library with this one" in message and "delete this one for good" in message
    assert refused.value.live.id == new
    assert _live_ids(t) == {new}  # nothing changed


def test_replacing_trashes_the_live_copy_and_restores_the_old_one(t):
    old, new = _trashed_and_live(t)
    videos.restore_video(t, old, replace_live_copy=True)
    assert _live_ids(t) == {old}
    assert videos.get_video(t, new).is_deleted


def test_keeping_the_live_copy_deletes_the_trashed_one_and_hands_over_its_lessons(t):
    old, new = _trashed_and_live(t)
    other = videos.create_video(t, title="Closures", source_type="youtube", source_id="abcdefghijk")
    course = courses.create_course(t, "Python")
    plain, both = courses.create_module(t, course, "Week 1"), courses.create_module(t, course, "Week 2")
    old_lesson = courses.add_lesson(t, plain, old)
    courses.add_lesson(t, plain, other)
    courses.add_lesson(t, both, old)
    courses.add_lesson(t, both, other)
    courses.add_lesson(t, both, new)
    revision = courses.list_modules(t, course)[1].revision

    assert videos.delete_trashed_copy(t, old) == 1
    with pytest.raises(Exception, match="not in this workspace"):
        videos.get_video(t, old)
    week1 = courses.list_lessons(t, plain)
    assert [(x.id, x.video_id, x.lesson_order) for x in week1] == [(old_lesson, new, 1), (week1[1].id, other, 2)]
    # Week 2 already played the live copy: the old copy's lesson goes and the rest close up.
    assert [(x.video_id, x.lesson_order) for x in courses.list_lessons(t, both)] == [(other, 1), (new, 2)]
    assert courses.list_modules(t, course)[1].revision > revision
    assert _live_ids(t) == {new, other}


def test_a_video_without_a_live_copy_restores_and_cannot_be_deleted_for_good(t):
    old = pipeline.add_youtube_video(t, LINK, title="Decorators")
    videos.soft_delete_video(t, old)
    with pytest.raises(ValidationError, match="only such a copy can be deleted for good"):
        videos.delete_trashed_copy(t, old)
    videos.restore_video(t, old)
    assert _live_ids(t) == {old}
