"""What the courses package reads and returns: courses, modules, lessons, a course's outline and
its pre-publish checklist, and the messages its refusals carry."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Course", "CourseOutline", "Lesson", "Module", "ModuleOutline", "PublishProblem"]

MODULE_STALE = (
    "This module was changed in another tab — here is the current version; nothing of yours was saved, "
    "so make your change again if it is still needed."
)
COURSE_STALE = (
    "This course was changed in another tab — here is the current version; nothing of yours was saved, "
    "so make your change again if it is still needed."
)
COURSE_LIST_STALE = (
    "Your course list was changed in another tab — here is the current version; nothing of yours was saved, "
    "so make your change again if it is still needed."
)
CHECKLIST_STALE = (
    "This course changed since its checklist was drawn (in another tab, or a video's import moved on) — here "
    "is the current version; nothing was published, so look at the checklist again."
)
DUPLICATE_LESSON = "This video is already a lesson in this module; a module holds each video once."
NO_LESSONS = (
    "A course needs at least one lesson before it can be published; add a video to one of its modules."
)
_COURSE_NOT_FOUND = "That course is not in this workspace."
_MODULE_NOT_FOUND = "That module is not in this workspace."
_LESSON_NOT_FOUND = "That lesson is not in this workspace."
#: Statuses in which a video is still on its way through the import pipeline.
_IN_PROGRESS = {"pending", "uploading", "transcribing", "processing", "embedding"}
_HEALTH = {"video_deleted": "video deleted", "video_failed": "video failed to import",
           "video_processing": "video still processing"}


@dataclass(frozen=True)
class Course:
    id: uuid.UUID
    title: str
    description: str | None
    thumbnail_url: str | None
    is_published: bool
    display_order: int
    published_at: datetime | None  # the FIRST publish: kept when unpublished and re-published
    created_at: datetime
    is_deleted: bool
    revision: int
    module_count: int
    lesson_count: int
    total_minutes: int


@dataclass(frozen=True)
class Module:
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    description: str | None
    display_order: int
    revision: int


@dataclass(frozen=True)
class Lesson:
    id: uuid.UUID
    module_id: uuid.UUID
    video_id: uuid.UUID
    lesson_order: int
    title: str
    description: str | None
    is_required: bool
    estimated_duration_minutes: int | None
    video_title: str
    video_status: str
    video_is_deleted: bool
    video_duration_seconds: int | None
    source_type: str
    youtube_video_id: str | None
    embed_id: str | None
    storage_path: str | None = None  # an uploaded video's file
    mux_playback_id: str | None = None  # a Mux video's (the player needs every source's key column)

    @property
    def problem_kind(self) -> str | None:
        """None when a student can watch the lesson; else ``video_deleted``, ``video_failed`` or
        ``video_processing``."""
        if self.video_is_deleted:
            return "video_deleted"
        if self.video_status == "failed":
            return "video_failed"
        if self.video_status in _IN_PROGRESS:
            return "video_processing"
        return None

    @property
    def health(self) -> str | None:
        """None when a student can watch the lesson; else a short phrase saying why not."""
        return _HEALTH.get(self.problem_kind)


@dataclass(frozen=True)
class ModuleOutline:
    module: Module
    lessons: list[Lesson]


@dataclass(frozen=True)
class CourseOutline:
    course: Course
    modules: list[ModuleOutline]

    @property
    def total_minutes(self) -> int:
        """Minutes of all lessons: the lesson's estimate, else its video's length rounded up."""
        return sum(_lesson_minutes(lesson) for entry in self.modules for lesson in entry.lessons)

    @property
    def checklist(self) -> list[PublishProblem]:
        """Everything a student would trip over, in course order: broken lessons, empty modules,
        and a course without any lesson."""
        found: list[PublishProblem] = []
        for number, entry in enumerate(self.modules, start=1):
            module = entry.module
            if not entry.lessons:
                found.append(PublishProblem("empty_module", f"Module {number} ('{module.title}') has no lessons yet.",
                                            module.id))
            for lesson in entry.lessons:
                if kind := lesson.problem_kind:
                    found.append(PublishProblem(kind, f"Lesson '{lesson.title}' (Module {number}): {lesson.health}",
                                                module.id, lesson.id, lesson.video_id))
        if not any(entry.lessons for entry in self.modules):
            found.insert(0, PublishProblem("no_lessons", NO_LESSONS))
        return found


@dataclass(frozen=True)
class PublishProblem:
    """One item of a course's pre-publish checklist, with the ids a page needs to link to its fix.

    ``kind`` is one of ``no_lessons`` (blocks publishing), ``empty_module``, ``video_deleted``,
    ``video_failed``, ``video_processing``.
    """

    kind: str
    message: str
    module_id: uuid.UUID | None = None
    lesson_id: uuid.UUID | None = None
    video_id: uuid.UUID | None = None

    @property
    def blocks(self) -> bool:
        """Whether even "publish anyway" is refused (a course with nothing to watch)."""
        return self.kind == "no_lessons"


def _lesson_minutes(lesson: Lesson) -> int:
    if lesson.estimated_duration_minutes:
        return lesson.estimated_duration_minutes
    if lesson.video_duration_seconds:
        return math.ceil(lesson.video_duration_seconds / 60)
    return 0
