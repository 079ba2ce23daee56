"""The course mapping, edited: a creator matches a Whop lesson to a library video by hand (a sync
keeps that choice), or imports the unmatched YouTube lessons into the library."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from ..db import Workspace
from ..errors import ChronosError, NotFound
from ..ingest.pipeline import DuplicateVideo, add_youtube_video

__all__ = ["LessonImports", "import_unmatched_lessons", "set_lesson_video"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LessonImports:
    queued: list[str]  # titles of lessons whose video was queued for import (and matched)
    needs_subtitles: list[str]  # Loom and Mux lessons: import them with their subtitle file
    failed: list[str]  # "title: why"


def set_lesson_video(t: Workspace, whop_lesson_id: str, video_id: uuid.UUID | None) -> None:
    """Match a Whop lesson to ``video_id`` (None: to no video); later syncs keep this choice, and
    the next one adds a newly matched video to the lesson's Chronos course.

    Raises:
        NotFound: the lesson or the video is not this workspace's.
    """
    params = {"creator": t.creator_id, "lesson": whop_lesson_id, "video": video_id}
    if video_id is not None and t.conn.execute(sa.text(
            "SELECT 1 FROM videos WHERE creator_id = :creator AND id = :video AND NOT is_deleted"), params).first() is None:
        raise NotFound("That video is not in this workspace's library.")
    old = t.conn.execute(sa.text("""
        UPDATE whop_lessons l SET video_id = :video, video_chosen = true,
               -- Another video: the next sync adds it to the lesson's Chronos course.
               in_course = l.in_course AND l.video_id IS NOT DISTINCT FROM CAST(:video AS uuid)
        FROM (SELECT whop_lesson_id, video_id FROM whop_lessons WHERE creator_id = :creator
              AND whop_lesson_id = :lesson FOR UPDATE) old
        WHERE l.creator_id = :creator AND l.whop_lesson_id = old.whop_lesson_id
        RETURNING old.video_id
    """), params).one_or_none()
    if old is None:
        raise NotFound(f"Whop lesson {whop_lesson_id} is not in this workspace's course mapping; sync first.")
    t.conn.execute(sa.text("UPDATE videos SET whop_lesson_id = NULL WHERE creator_id = :creator AND id = :old "
                           "AND whop_lesson_id = :lesson"), {**params, "old": old.video_id})
    if video_id is not None:
        t.conn.execute(sa.text("UPDATE videos SET whop_lesson_id = :lesson WHERE creator_id = :creator AND id = :video"),
                       params)


def import_unmatched_lessons(t: Workspace) -> LessonImports:
    """Queue the unmatched YouTube lessons' videos for import and match each lesson to its new video.

    Loom and Mux lessons are listed instead: Chronos imports those with a subtitle file.
    """
    rows = t.conn.execute(sa.text("""
        SELECT whop_lesson_id, title, embed_type, embed_id FROM whop_lessons
        WHERE creator_id = :creator AND video_id IS NULL AND NOT video_chosen
          AND (embed_id IS NOT NULL OR mux_asset_id IS NOT NULL OR mux_playback_id IS NOT NULL)
        ORDER BY course_order NULLS LAST, whop_course_id, chapter_order NULLS LAST, lesson_order NULLS LAST,
                 whop_lesson_id
    """), {"creator": t.creator_id}).all()
    queued: list[str] = []
    needs: list[str] = []
    failed: list[str] = []
    for row in rows:
        title = row.title or row.whop_lesson_id
        if row.embed_type != "youtube":
            needs.append(title)
            continue
        try:
            with t.conn.begin_nested():  # one refused link rolls back only itself
                try:
                    video = add_youtube_video(t, row.embed_id, title=row.title)
                except DuplicateVideo as exc:  # a trashed or re-added copy: match that one
                    video = exc.video_id
                t.conn.execute(sa.text("UPDATE whop_lessons SET video_id = :video WHERE creator_id = :creator "
                                       "AND whop_lesson_id = :lesson"),
                               {"creator": t.creator_id, "video": video, "lesson": row.whop_lesson_id})
                t.conn.execute(sa.text("UPDATE videos SET whop_lesson_id = :lesson WHERE creator_id = :creator "
                                       "AND id = :video"),
                               {"creator": t.creator_id, "video": video, "lesson": row.whop_lesson_id})
        except ChronosError as exc:
            failed.append(f"{title}: {exc}")
        else:
            queued.append(title)
    log.info("queued %d Whop lessons for import in workspace %s", len(queued), t.creator_id)
    return LessonImports(queued, needs, failed)
