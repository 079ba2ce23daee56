"""The sync's courses step: each Whop course's lessons mapped to the library's videos, and the course
made a Chronos draft once (a module per chapter, a lesson per matched video lesson); later syncs only
add what was matched since."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from .. import courses as chronos_courses
from ..errors import ValidationError
from ..ingest.sources import parse_link
from .client import PAGE_SIZE, calling_whop

#: Lesson types that carry a video (multi: a video with other content).
VIDEO_LESSONS = ("video", "multi")
#: The longest course, module and lesson title Chronos keeps (``_rows.require_text``).
TITLE_LENGTH = 500
_LOOM_ID = re.compile(r"^[0-9a-f]{32}\Z")


class CourseSteps:
    """The courses step of a sync (``sync._Run``)."""

    # -- courses → the lesson mapping -----------------------------------------------------------

    def _courses(self) -> None:
        self._pages("reading courses",
                    lambda after: self.client.courses.list(account_id=self.company, first=PAGE_SIZE, after=after),
                    self._apply_courses)
        # Lessons no course listed in this sync (removed, or their course deleted) leave the mapping;
        # their videos stay in the library. Not course by course: a lesson moved to a course read
        # later would lose the video the creator chose for it before the new course re-added it.
        self.t.conn.execute(sa.text("DELETE FROM whop_lessons WHERE creator_id = :creator "
                                    "AND NOT (whop_lesson_id = ANY(:seen))"), {**self.params, "seen": self.state.lessons_seen})

    def _apply_courses(self, courses: list[Any]) -> None:
        for item in courses:
            with calling_whop(self.api_key, f"reading course {item.id}", self.company):
                course = self.client.courses.retrieve(item.id)
            seen: list[str] = []
            for chapter in sorted(course.chapters or [], key=lambda c: c.order):
                for lesson in sorted(chapter.lessons or [], key=lambda x: x.order):
                    detail = None
                    if lesson.lesson_type in VIDEO_LESSONS:
                        with calling_whop(self.api_key, f"reading lesson {lesson.id}", self.company):
                            detail = self.client.course_lessons.retrieve(lesson.id)
                    self._upsert_lesson(course, chapter, lesson, detail)
                    seen.append(lesson.id)
            self.state.lessons_seen.extend(seen)
            self._build_course(course, seen)
            if course.id not in self.state.courses_seen:
                self.state.courses_seen.append(course.id)
                self._count("courses")

    def _upsert_lesson(self, course: Any, chapter: Any, lesson: Any, detail: Any) -> None:
        embed_type = embed_id = asset = playback = None
        if detail is not None:
            embed_type, embed_id = _embed(detail.embed_type, detail.embed_id)
            if detail.video_asset is not None:
                asset, playback = detail.video_asset.asset_id, detail.video_asset.playback_id
        params = {**self.params, "lesson": lesson.id, "course": course.id, "course_title": course.title,
                  "course_order": _number(course.order), "chapter": chapter.id, "chapter_title": chapter.title,
                  "chapter_order": chapter.order, "lesson_order": lesson.order, "title": lesson.title,
                  "type": str(lesson.lesson_type), "embed_type": embed_type, "embed_id": embed_id,
                  "asset": asset, "playback": playback}
        video = self.t.conn.execute(sa.text("""
            SELECT v.id FROM videos v
            WHERE v.creator_id = :creator AND NOT v.is_deleted AND (
                  (CAST(:embed_type AS text) = 'youtube' AND v.youtube_video_id = :embed_id)
               OR (CAST(:embed_type AS text) = 'loom' AND v.source_type = 'loom' AND v.embed_id = :embed_id)
               OR (CAST(:asset AS text) IS NOT NULL AND v.mux_asset_id = :asset)
               OR (CAST(:playback AS text) IS NOT NULL AND v.mux_playback_id = :playback))
            ORDER BY v.whop_lesson_id = :lesson DESC NULLS LAST, v.created_at, v.id LIMIT 1
        """), params).scalar_one_or_none()
        video = self.t.conn.execute(sa.text("""
            INSERT INTO whop_lessons (creator_id, whop_lesson_id, whop_course_id, course_title, course_order,
                                      whop_chapter_id, chapter_title, chapter_order, lesson_order, title, lesson_type,
                                      embed_type, embed_id, mux_asset_id, mux_playback_id, video_id)
            VALUES (:creator, :lesson, :course, :course_title, :course_order, :chapter, :chapter_title,
                    :chapter_order, :lesson_order, :title, :type, :embed_type, :embed_id, :asset, :playback, :video)
            ON CONFLICT (creator_id, whop_lesson_id) DO UPDATE SET
              whop_course_id = excluded.whop_course_id, course_title = excluded.course_title,
              course_order = excluded.course_order, whop_chapter_id = excluded.whop_chapter_id,
              chapter_title = excluded.chapter_title, chapter_order = excluded.chapter_order,
              lesson_order = excluded.lesson_order, title = excluded.title, lesson_type = excluded.lesson_type,
              embed_type = excluded.embed_type, embed_id = excluded.embed_id, mux_asset_id = excluded.mux_asset_id,
              mux_playback_id = excluded.mux_playback_id, synced_at = now(),
              video_id = CASE WHEN whop_lessons.video_chosen THEN whop_lessons.video_id ELSE excluded.video_id END,
              -- Matched to another video since the sync put it in its course, or moved to another Whop
              -- course: it joins the course (the one it left keeps its lesson: that course is the creator's).
              in_course = whop_lessons.in_course AND whop_lessons.whop_course_id = excluded.whop_course_id
                          AND (whop_lessons.video_chosen OR whop_lessons.video_id IS NOT DISTINCT FROM excluded.video_id)
            RETURNING video_id
        """), {**params, "video": video}).scalar_one()
        if video is not None:
            self.t.conn.execute(sa.text("UPDATE videos SET whop_lesson_id = :lesson WHERE creator_id = :creator "
                                        "AND id = :video AND whop_lesson_id IS DISTINCT FROM :lesson"),
                                {**params, "video": video})

    def _build_course(self, course: Any, lessons: list[str]) -> None:
        """Make the Whop course a Chronos draft the first time; later only add new chapters and
        lessons matched since (of ``lessons``, the ones Whop lists in it now). A course or module
        the creator deleted is not made again."""
        params = {**self.params, "course": course.id}
        row = self.t.conn.execute(sa.text(
            "SELECT w.course_id, c.is_deleted FROM whop_courses w LEFT JOIN courses c "
            "ON c.id = w.course_id AND c.creator_id = w.creator_id "
            "WHERE w.creator_id = :creator AND w.whop_course_id = :course FOR UPDATE OF w"), params).one_or_none()
        if row is None:
            course_id = chronos_courses.create_course(self.t, _title(course.title, f"Whop course {course.id}"))
            self.t.conn.execute(sa.text("INSERT INTO whop_courses (creator_id, whop_course_id, course_id) "
                                        "VALUES (:creator, :course, :chronos)"), {**params, "chronos": course_id})
            self._count("courses_made")
        elif row.course_id is None or row.is_deleted:
            return
        else:
            course_id = row.course_id
        modules = dict(self.t.conn.execute(sa.text(
            "SELECT whop_chapter_id, module_id FROM whop_chapters WHERE creator_id = :creator "
            "AND whop_course_id = :course"), params).all())
        for n, chapter in enumerate(sorted(course.chapters or [], key=lambda c: c.order), start=1):
            if chapter.id not in modules:
                modules[chapter.id] = chronos_courses.create_module(self.t, course_id,
                                                                    _title(chapter.title, f"Chapter {n}"))
                self.t.conn.execute(sa.text(
                    "INSERT INTO whop_chapters (creator_id, whop_chapter_id, whop_course_id, module_id) "
                    "VALUES (:creator, :chapter, :course, :module)"),
                    {**params, "chapter": chapter.id, "module": modules[chapter.id]})
        new = self.t.conn.execute(sa.text("""
            SELECT whop_lesson_id, whop_chapter_id, title, video_id FROM whop_lessons
            WHERE creator_id = :creator AND whop_course_id = :course AND video_id IS NOT NULL AND NOT in_course
              AND whop_lesson_id = ANY(:lessons)
            ORDER BY chapter_order NULLS LAST, lesson_order NULLS LAST, whop_lesson_id
        """), {**params, "lessons": lessons}).all()
        for lesson in new:
            module = modules.get(lesson.whop_chapter_id)
            if module is None:  # the creator deleted the chapter's module
                continue
            present = self.t.conn.execute(sa.text(
                "SELECT 1 FROM module_lessons WHERE creator_id = :creator AND module_id = :module AND video_id = :video"),
                {**params, "module": module, "video": lesson.video_id}).first()
            if present is None:  # two Whop lessons of one chapter playing one video make one lesson
                chronos_courses.add_lesson(self.t, module, lesson.video_id,
                                           title=lesson.title and _title(lesson.title, lesson.whop_lesson_id))
            self.t.conn.execute(sa.text("UPDATE whop_lessons SET in_course = true WHERE creator_id = :creator "
                                        "AND whop_lesson_id = :lesson"), {**params, "lesson": lesson.whop_lesson_id})


def _embed(embed_type: Any, embed_id: str | None) -> tuple[str | None, str | None]:
    """The embed as the library stores it: a YouTube video id or a Loom id, even when Whop holds a link."""
    if not embed_type or not embed_id:
        return None, None
    kind, raw = str(embed_type), embed_id.strip()
    if kind == "loom" and _LOOM_ID.match(raw):
        return kind, raw
    try:
        link = parse_link(raw)
    except ValidationError:
        return kind, raw
    if kind == "youtube" and link.kind == "youtube_video":
        return kind, link.id
    if kind == "loom" and link.kind == "loom":
        return kind, link.id
    return kind, raw


def _title(text: str | None, fallback: str) -> str:
    """A Whop title as a Chronos title: trimmed to what Chronos stores, never blank."""
    return (text or "").strip()[:TITLE_LENGTH] or fallback


def _number(text: Any) -> float | None:
    """Whop gives a course's position as a decimal string."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
