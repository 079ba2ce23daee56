"""Course outlines: a course's structure as JSON (to copy it to another workspace) or Markdown
(to read or share), and importing such a JSON outline as a new draft course.

An outline names videos, it does not carry them: importing matches each lesson to a video of
the importing workspace, by YouTube id first, then by exact title (ignoring case).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from . import courses
from ._rows import unstorable
from .courses import CourseOutline, Lesson
from .courses.lessons import _add_new_lessons, _NewLesson
from .courses.model import _lesson_minutes
from .db import Workspace
from .errors import ValidationError
from .ingest.sources import all_sources, is_youtube_id, key_of, moment_url, source_for

__all__ = ["FORMAT", "OutlineImport", "export_outline", "import_outline", "outline_markdown"]

log = logging.getLogger(__name__)

FORMAT = "chronos.course/1"
_MAX_TITLE = 500  # the same limit as titles typed on the page
#: Outlines are hand-edited at times; a few thousand lessons is far beyond any real course.
_MAX_LESSONS = 5000
#: A lesson's estimate in minutes (69 days); a course's total is a 32-bit sum of them all.
_MAX_MINUTES = 100_000


@dataclass(frozen=True)
class OutlineImport:
    """What an import did: the new draft course, how many lessons found their video, and the
    titles of the lessons left out because no video of the workspace matched."""

    course_id: uuid.UUID
    matched: int
    unmatched: list[str]
    title: str = ""  # the new course's title: the outline's, or "<title> (imported)" when that is taken


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def export_outline(t: Workspace, course_id: uuid.UUID) -> dict[str, Any]:
    """The course as a JSON-able ``chronos.course/1`` outline. Raises NotFound."""
    outline = courses.course_outline(t, course_id)
    urls = _video_urls(t, outline)
    return {
        "format": FORMAT,
        "title": outline.course.title,
        "description": outline.course.description,
        "modules": [
            {
                "title": entry.module.title,
                "description": entry.module.description,
                "lessons": [
                    {
                        "title": lesson.title,
                        "description": lesson.description,
                        "is_required": lesson.is_required,
                        "estimated_duration_minutes": lesson.estimated_duration_minutes,
                        "video": {
                            "title": lesson.video_title,
                            "source_type": lesson.source_type,
                            "youtube_video_id": lesson.youtube_video_id,
                            "url": urls.get(lesson.video_id),
                        },
                    }
                    for lesson in entry.lessons
                ],
            }
            for entry in outline.modules
        ],
    }


def outline_markdown(t: Workspace, course_id: uuid.UUID) -> str:
    """The course as a readable Markdown outline: title, description, one heading per module,
    numbered lessons with durations, required/optional marks and video links. Raises NotFound."""
    outline = courses.course_outline(t, course_id)
    urls = _video_urls(t, outline)
    course = outline.course
    lesson_count = sum(len(entry.lessons) for entry in outline.modules)
    lines = [f"# {_md(course.title)}", ""]
    if course.description:
        lines += [_md(course.description), ""]
    lines += [
        f"_{_plural(len(outline.modules), 'module')} · {_plural(lesson_count, 'lesson')} · "
        f"{_minutes(outline.total_minutes)}_",
        "",
    ]
    for number, entry in enumerate(outline.modules, start=1):
        lines += [f"## Module {number}: {_md(entry.module.title)}", ""]
        if entry.module.description:
            lines += [_md(entry.module.description), ""]
        if not entry.lessons:
            lines += ["_No lessons yet._", ""]
            continue
        for lesson in entry.lessons:
            lines.append(_lesson_line(lesson, urls.get(lesson.video_id)))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _lesson_line(lesson: Lesson, url: str | None) -> str:
    parts = [f"{lesson.lesson_order}. **{_md(lesson.title)}**"]
    minutes = _lesson_minutes(lesson)
    parts.append(_minutes(minutes) if minutes else "length unknown")
    parts.append("required" if lesson.is_required else "optional")
    if url:
        source = source_for(lesson.source_type)
        parts.append(f"[{f'Watch on {source.label}' if source.links_to_moments else 'Watch'}](<{url}>)")
    if lesson.health:
        parts.append(f"⚠ {lesson.health}")
    line = " · ".join(parts)
    if lesson.description:
        line += f"\n   {_md(lesson.description)}"
    return line


def _video_urls(t: Workspace, outline: CourseOutline) -> dict[uuid.UUID, str]:
    """Each lesson video's link: its page on its platform (YouTube, Loom), else its stored URL."""
    video_ids = [lesson.video_id for entry in outline.modules for lesson in entry.lessons]
    if not video_ids:
        return {}
    keys = ", ".join(sorted({source.key_column for source in all_sources()}))  # column names from the registry
    rows = t.conn.execute(
        sa.text(f"SELECT id, url, source_type, {keys} FROM videos "
                "WHERE creator_id = :creator AND id = ANY(CAST(:ids AS uuid[]))"),
        {"creator": t.creator_id, "ids": video_ids},
    )
    urls: dict[uuid.UUID, str] = {}
    for row in rows:
        if page := moment_url(row.source_type, key_of(row), 0):
            urls[row.id] = page
        elif row.url and str(row.url).lower().startswith(("https://", "http://")):
            urls[row.id] = row.url
    return urls


def _md(text: str) -> str:
    """``text`` on one line with Markdown's active characters escaped, so a title stays a title."""
    flat = " ".join(str(text).split())
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", flat)


def _minutes(minutes: int) -> str:
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LessonSpec:
    title: str
    description: str | None
    is_required: bool
    minutes: int | None
    youtube_video_id: str | None
    video_title: str | None
    video_uuid: uuid.UUID | None = None  # legacy video_ids may hold this workspace's own ids
    legacy: bool = False  # from video_ids: the lesson takes its matched video's title


@dataclass(frozen=True)
class _ModuleSpec:
    title: str
    description: str | None
    lessons: list[_LessonSpec]


def import_outline(t: Workspace, data: dict[str, Any] | bytes | str) -> OutlineImport:
    """Create a draft course from an outline (a dict, or its JSON text or bytes); returns what
    was matched.

    Lessons whose video is not in this workspace are left out and listed in ``unmatched``. A title
    a course of the workspace (in the trash too) already has gets " (imported)", then
    " (imported 2)" …, so the list never shows two identical entries.
    Modules may use the original product's deprecated ``video_ids`` (YouTube ids or titles)
    instead of ``lessons``.

    Raises:
        ValidationError: the outline is not valid JSON or not a course outline; the message
            names the place of the problem, e.g. "modules[1].lessons[0] has no title".
    """
    title, description, modules = _parse(_load(data))
    course_title = _untaken_title(t, title)
    course_id = courses.create_course(t, course_title, description)
    matched = 0
    unmatched: list[str] = []
    for module in modules:
        module_id = courses.create_module(t, course_id, module.title, module.description)
        items: list[_NewLesson] = []
        used: set[uuid.UUID] = set()
        for lesson in module.lessons:
            video_id = _match_video(t, lesson)
            if video_id is None:
                unmatched.append(lesson.title)
                continue
            if video_id in used:  # a module holds a video once; a second mention adds nothing
                log.info("outline lesson %r repeats a video of its module; skipped", lesson.title)
                continue
            used.add(video_id)
            title = None if lesson.legacy else lesson.title
            items.append(_NewLesson(video_id, title, lesson.description, lesson.is_required, lesson.minutes))
        matched += len(_add_new_lessons(t, module_id, items))
    return OutlineImport(course_id, matched, unmatched, course_title)


def _untaken_title(t: Workspace, title: str) -> str:
    taken = {course.title.strip().casefold() for course in courses.list_courses(t, include_deleted=True)}
    candidate, number = title, 1
    while candidate.strip().casefold() in taken:
        candidate = f"{title} (imported)" if number == 1 else f"{title} (imported {number})"
        number += 1
    return candidate


def _load(data: dict[str, Any] | bytes | str) -> Any:
    if isinstance(data, dict):
        return data
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError("The outline is not UTF-8 text; export it from Chronos again.") from exc
    if not isinstance(data, str):
        raise ValidationError("The outline must be JSON text or a dictionary; export it from Chronos again.")
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"The outline is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "fix it or export it from Chronos again."
        ) from exc


def _parse(outline: Any) -> tuple[str, str | None, list[_ModuleSpec]]:
    """Check an outline's shape; returns (title, description, modules)."""
    if not isinstance(outline, dict):
        raise ValidationError("The outline is not a JSON object with a title and modules; export it from Chronos again.")
    fmt = outline.get("format")
    if fmt is not None and fmt != FORMAT:
        raise ValidationError(f"The outline's format is {_shown(fmt)}, which Chronos cannot read; use a {FORMAT} outline.")
    title = _title(outline.get("title"), "The outline")
    description = _optional_text(outline.get("description"), "description")
    raw_modules = outline.get("modules", [])
    if not isinstance(raw_modules, list):
        raise ValidationError("modules is not a list; write the modules as a JSON list [...].")
    modules: list[_ModuleSpec] = []
    count = 0
    for m, raw in enumerate(raw_modules):
        path = f"modules[{m}]"
        if not isinstance(raw, dict):
            raise ValidationError(f"{path} is not an object; write each module as {{\"title\": ..., \"lessons\": [...]}}.")
        module_title = _title(raw.get("title"), path)
        module_description = _optional_text(raw.get("description"), f"{path}.description")
        if "lessons" in raw or "video_ids" not in raw:
            lessons = _lessons(raw.get("lessons", []), path)
        else:
            lessons = _legacy_lessons(raw["video_ids"], path)
        count += len(lessons)
        if count > _MAX_LESSONS:
            raise ValidationError(f"The outline has more than {_MAX_LESSONS} lessons; split it into several courses.")
        modules.append(_ModuleSpec(module_title, module_description, lessons))
    return title, description, modules


def _lessons(raw_lessons: Any, module_path: str) -> list[_LessonSpec]:
    if not isinstance(raw_lessons, list):
        raise ValidationError(f"{module_path}.lessons is not a list; write the lessons as a JSON list [...].")
    lessons = []
    for i, raw in enumerate(raw_lessons):
        path = f"{module_path}.lessons[{i}]"
        if not isinstance(raw, dict):
            raise ValidationError(f"{path} is not an object; write each lesson as {{\"title\": ..., \"video\": {{...}}}}.")
        title = _title(raw.get("title"), path)
        required = raw.get("is_required", True)
        if not isinstance(required, bool):
            raise ValidationError(f"{path}.is_required is {_shown(required)}; write true or false.")
        minutes = raw.get("estimated_duration_minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)
                                    or not 0 < minutes <= _MAX_MINUTES):
            raise ValidationError(
                f"{path}.estimated_duration_minutes is {_shown(minutes)}; write a whole number of minutes "
                f"from 1 to {_MAX_MINUTES:,} or null."
            )
        video = raw.get("video") or {}
        if not isinstance(video, dict):
            raise ValidationError(f"{path}.video is not an object; write it as {{\"title\": ..., \"youtube_video_id\": ...}}.")
        youtube_id = video.get("youtube_video_id")
        if youtube_id is not None and not (isinstance(youtube_id, str) and is_youtube_id(youtube_id.strip())):
            raise ValidationError(f"{path}.video.youtube_video_id is {_shown(youtube_id)}, which is not a YouTube video id "
                                  "(11 letters, digits, - or _); fix it or leave it out.")
        video_title = video.get("title")
        if video_title is not None and not isinstance(video_title, str):
            raise ValidationError(f"{path}.video.title is not text; write the video's title in quotes.")
        if video_title is not None and (problem := unstorable(video_title)):
            raise ValidationError(f"{path}.video.title contains {problem}; remove it and import the outline again.")
        lessons.append(_LessonSpec(
            title=title,
            description=_optional_text(raw.get("description"), f"{path}.description"),
            is_required=required,
            minutes=minutes,
            youtube_video_id=youtube_id.strip() if youtube_id else None,
            video_title=(video_title or "").strip() or title,
        ))
    return lessons


def _legacy_lessons(video_ids: Any, module_path: str) -> list[_LessonSpec]:
    """The original product's ``course_modules.video_ids``: each entry a YouTube id, a title, or
    (for an outline of this very workspace) a video's id."""
    if not isinstance(video_ids, list):
        raise ValidationError(f"{module_path}.video_ids is not a list; write it as a JSON list of YouTube ids or titles.")
    lessons = []
    for i, entry in enumerate(video_ids):
        if not isinstance(entry, str) or not entry.strip():
            raise ValidationError(f"{module_path}.video_ids[{i}] is not a YouTube id or title; write it as text.")
        if problem := unstorable(entry):
            raise ValidationError(f"{module_path}.video_ids[{i}] contains {problem}; remove it and import the "
                                  "outline again.")
        text = entry.strip()
        video_uuid = _as_uuid(text)
        lessons.append(_LessonSpec(
            title=text, description=None, is_required=True, minutes=None,
            youtube_video_id=text if is_youtube_id(text) else None,
            video_title=text, video_uuid=video_uuid, legacy=True,
        ))
    return lessons


def _title(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{path} has no title; give it a title and import the outline again.")
    if len(value.strip()) > _MAX_TITLE:
        raise ValidationError(f"{path} has a title of {len(value.strip())} characters; keep it under {_MAX_TITLE}.")
    if problem := unstorable(value):
        raise ValidationError(f"{path} has a title that contains {problem}; remove it and import the outline again.")
    return value.strip()


def _shown(value: Any) -> str:
    """A value from the outline as a message quotes it: its JSON-like repr, at most 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _optional_text(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{path} is not text; write it in quotes or leave it out.")
    if problem := unstorable(value):
        raise ValidationError(f"{path} contains {problem}; remove it and import the outline again.")
    return value.strip() or None


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _match_video(t: Workspace, lesson: _LessonSpec) -> uuid.UUID | None:
    """The workspace video a lesson names: by id (legacy), YouTube id, then title ignoring case.
    Videos in the trash are not matched; among equal titles a completed, newer video wins."""
    row = t.conn.execute(
        sa.text(
            "SELECT id FROM videos WHERE creator_id = :creator AND NOT is_deleted AND ("
            "  id = CAST(:uuid AS uuid) OR youtube_video_id = :youtube OR lower(title) = lower(:title)) "
            "ORDER BY (id = CAST(:uuid AS uuid)) IS TRUE DESC, (youtube_video_id = :youtube) IS TRUE DESC, "
            "  status = 'completed' DESC, created_at DESC LIMIT 1"
        ),
        {"creator": t.creator_id, "uuid": lesson.video_uuid, "youtube": lesson.youtube_video_id,
         "title": lesson.video_title},
    ).scalar_one_or_none()
    return row
