"""Pulling a Whop company into the workspace: members as students, courses and lessons as a
mapping to the library's videos and as draft Chronos courses, lesson completions as
``video_completed`` events in the course and module their lesson is in.

A sync walks four steps, each a paginated list: members, memberships, courses (each course's
chapters and lessons), completions (per course). After every page the step and the page's
cursor are written to the connection's ``sync_state``. When Whop fails a request (after the SDK's
retries) the sync stops there and returns an incomplete summary instead of raising, so the
caller's transaction keeps every page done and the next sync resumes from the saved cursor.

Everything is idempotent: students are found by their Whop user id (or linked by e-mail), never
deleted; lessons are upserted by their Whop id; each completion is stored once, by an
``import_key`` of its Whop interaction id.

Each Whop course becomes one Chronos course, once (``whop_courses``): a draft with a module per
chapter (``whop_chapters``) and a lesson per matched video lesson, in Whop's order. After that the
course is the creator's: later syncs only add chapters and lessons matched since (each lesson
once, ``whop_lessons.in_course``), never rename, reorder or remove anything.

This module walks the steps and keeps the place; the member steps are in ``sync_students``, the
courses step in ``sync_courses``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from ..config import Settings
from ..db import Workspace
from ..errors import ValidationError
from ..viewing.event_batch import EventRow, append_events
from . import crypto
from .client import PAGE_SIZE, WhopError, calling_whop, whop_client
from .sync_courses import VIDEO_LESSONS, CourseSteps
from .sync_students import StudentSteps, _time

__all__ = ["STEPS", "LessonMapping", "SyncProgress", "SyncSummary", "list_lessons", "sync", "sync_steps"]

log = logging.getLogger(__name__)

STEPS = ("members", "memberships", "courses", "completions")
#: Unmatched lessons named in a summary; the course mapping lists them all.
LEFT_OUT_SHOWN = 5


@dataclass(frozen=True)
class SyncProgress:
    step: str
    step_number: int  # 1-based, of len(STEPS)
    items: int  # read so far in this step
    text: str

    @property
    def fraction(self) -> float:
        return (self.step_number - 1) / len(STEPS)


@dataclass(frozen=True)
class SyncSummary:
    members: int = 0
    new_members: int = 0
    cancelled: int = 0
    courses: int = 0
    lessons_matched: int = 0
    lessons_unmatched: int = 0
    completions: int = 0  # video_completed events stored by this sync
    complete: bool = True
    stopped: str | None = None  # why it stopped early (then the next sync resumes)
    courses_made: int = 0  # Chronos draft courses this sync made from Whop courses
    #: Titles of the video lessons no library video matches: left out of the Chronos courses until
    #: they are matched (by hand, or by importing them), when the next sync adds them.
    left_out: tuple[str, ...] = ()
    #: Students whose new Whop e-mail another student of the workspace already has: they keep theirs.
    emails_kept: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        made = ""
        if self.courses_made:
            made = f"; {_plural(self.courses_made, 'course')} made as a draft"
            if self.left_out:
                made += f" (left out until matched: {_first_few(self.left_out)})"
        kept = ""
        if self.emails_kept:
            kept = (f" ({_plural(len(self.emails_kept), 'e-mail change')} not taken (the new address is another "
                    f"student's): {_first_few(self.emails_kept)})")
        done = (f"{_plural(self.members, 'member')}: {self.new_members} new, {self.cancelled} cancelled{kept}; "
                f"{_plural(self.courses, 'course')}, {_plural(self.lessons_matched, 'lesson')} matched, "
                f"{self.lessons_unmatched} unmatched{made}; {_plural(self.completions, 'completion')} imported")
        return done if self.complete else f"{done} so far. Stopped: {self.stopped} Sync again to resume."

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}


@dataclass(frozen=True)
class LessonMapping:
    """One Whop lesson next to the library video it was matched to (None: unmatched)."""

    whop_course_id: str
    course_title: str | None
    whop_chapter_id: str | None
    chapter_title: str | None
    whop_lesson_id: str
    title: str | None
    lesson_type: str
    source: str | None  # "youtube abc…", "loom …", "mux …": what the lesson plays
    video_id: Any
    video_title: str | None
    chosen: bool = False  # matched (or left unmatched) by hand: syncs keep it


@dataclass
class _State:
    step: str = STEPS[0]
    cursor: str | None = None
    course_index: int = 0  # completions: which course (of the mapping's, in order) is being read
    counts: dict[str, int] = field(default_factory=dict)
    courses_seen: list[str] = field(default_factory=list)
    lessons_seen: list[str] = field(default_factory=list)  # in any course listed so far
    emails_kept: list[str] = field(default_factory=list)


def sync(t: Workspace, progress: Callable[[SyncProgress], None] | None = None, *,
         settings: Settings | None = None) -> SyncSummary:
    """Bring the connected Whop company's members, courses and completions into the workspace.

    Resumes an unfinished sync where it stopped. ``progress`` is called after every page.

    Returns:
        What changed; ``complete`` False (with ``stopped``) when Whop failed a request and the
        sync stopped early: the caller commits, and the next sync goes on from there.

    Raises:
        ValidationError: the workspace is not connected to Whop, or its stored key cannot be read.
    """
    settings = settings or Settings.from_env()
    row = t.conn.execute(sa.text(
        "SELECT company_id, api_key_encrypted, sync_state FROM whop_connections WHERE creator_id = :creator "
        "FOR UPDATE"), {"creator": t.creator_id}).one_or_none()
    if row is None:
        raise ValidationError("This workspace is not connected to Whop; connect it in Settings → Whop first.")
    api_key = crypto.decrypt(settings, row.api_key_encrypted)
    state = _State(**row.sync_state) if row.sync_state else _State()
    if row.sync_state and "lessons_seen" not in row.sync_state and state.courses_seen:
        # Stopped by a version that did not keep the lessons seen: the courses it read kept exactly
        # their listed lessons (it cleaned up course by course), so those are the ones seen.
        state.lessons_seen = list(t.conn.execute(sa.text(
            "SELECT whop_lesson_id FROM whop_lessons WHERE creator_id = :creator AND whop_course_id = ANY(:seen)"),
            {"creator": t.creator_id, "seen": state.courses_seen}).scalars())
    if not row.sync_state:
        t.conn.execute(sa.text("UPDATE whop_connections SET sync_started_at = now() WHERE creator_id = :creator"),
                       {"creator": t.creator_id})
    try:
        with whop_client(settings, api_key) as client:
            run = _Run(t, client, api_key, row.company_id, state, progress or (lambda p: None))
            run.all_steps()
    except WhopError as exc:
        log.warning("Whop sync of workspace %s stopped at %s: %s", t.creator_id, state.step, exc)
        t.conn.execute(sa.text("UPDATE whop_connections SET last_error = :error WHERE creator_id = :creator"),
                       {"creator": t.creator_id, "error": str(exc)[:2000]})
        return run.summary(stopped=str(exc))
    summary = run.summary()
    t.conn.execute(sa.text("""
        UPDATE whop_connections SET sync_state = NULL, last_synced_at = now(), last_error = NULL,
               last_summary = CAST(:summary AS jsonb)
        WHERE creator_id = :creator
    """), {"creator": t.creator_id, "summary": json.dumps(summary.to_json())})
    return summary


def sync_steps() -> tuple[str, ...]:
    """The steps a sync walks, in order (what a progress bar counts)."""
    return STEPS


def list_lessons(t: Workspace) -> list[LessonMapping]:
    """The Whop lessons the last sync saw, in Whop's order, each with its matched video."""
    rows = t.conn.execute(sa.text("""
        SELECT l.whop_course_id, l.course_title, l.whop_chapter_id, l.chapter_title, l.whop_lesson_id, l.title,
               l.lesson_type, l.embed_type, l.embed_id, l.mux_asset_id, l.mux_playback_id, l.video_id,
               l.video_chosen, v.title AS video_title
        FROM whop_lessons l
        LEFT JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id
        WHERE l.creator_id = :creator
        ORDER BY l.course_order NULLS LAST, l.whop_course_id, l.chapter_order NULLS LAST, l.lesson_order NULLS LAST,
                 l.whop_lesson_id
    """), {"creator": t.creator_id})
    return [LessonMapping(r.whop_course_id, r.course_title, r.whop_chapter_id, r.chapter_title, r.whop_lesson_id,
                          r.title, r.lesson_type, _source(r), r.video_id, r.video_title, r.video_chosen)
            for r in rows]


def _source(r: Any) -> str | None:
    if r.embed_type and r.embed_id:
        return f"{r.embed_type} {r.embed_id}"
    if r.mux_asset_id or r.mux_playback_id:
        return f"mux {r.mux_asset_id or r.mux_playback_id}"
    return None


def _writer(t: Workspace, company: str) -> _Run:
    """The sync's writes without a Whop client: webhooks apply memberships and completions exactly
    as a sync does (``apply_memberships``, ``store_completions``)."""
    return _Run(t, None, "", company, _State(), lambda p: None)


class _Run(StudentSteps, CourseSteps):
    """One sync's walk through the steps, saving its place after every page."""

    def __init__(self, t: Workspace, client: Any, api_key: str, company: str, state: _State,
                 progress: Callable[[SyncProgress], None]) -> None:
        self.t, self.client, self.api_key, self.company = t, client, api_key, company
        self.state, self.progress = state, progress
        self.counts = state.counts
        self.params = {"creator": t.creator_id}

    def all_steps(self) -> None:
        for step in STEPS[STEPS.index(self.state.step):]:
            if step != self.state.step:
                self.state.step, self.state.cursor, self.state.course_index = step, None, 0
                self._save()
            getattr(self, f"_{step}")()

    def summary(self, stopped: str | None = None) -> SyncSummary:
        matched, unmatched, left_out = self.t.conn.execute(sa.text("""
            SELECT count(*) FILTER (WHERE video_id IS NOT NULL), count(*) FILTER (WHERE video_id IS NULL),
                   coalesce(array_agg(coalesce(title, whop_lesson_id)
                                      ORDER BY course_order NULLS LAST, whop_course_id, chapter_order NULLS LAST,
                                               lesson_order NULLS LAST, whop_lesson_id)
                            FILTER (WHERE video_id IS NULL), '{}')
            FROM whop_lessons WHERE creator_id = :creator AND lesson_type = ANY(:video_types)
        """), {**self.params, "video_types": list(VIDEO_LESSONS)}).one()
        c = self.counts
        return SyncSummary(c.get("members", 0), c.get("new", 0), c.get("cancelled", 0), c.get("courses", 0),
                           matched, unmatched, c.get("completions", 0), stopped is None, stopped,
                           c.get("courses_made", 0), tuple(left_out), tuple(self.state.emails_kept))

    # -- paging ------------------------------------------------------------------------------------

    def _pages(self, doing: str, fetch: Callable[[str | None], Any], apply: Callable[[list[Any]], None]) -> None:
        """Read a list from the saved cursor on, applying and saving the place after each page."""
        asked: set[str | None] = set()
        while True:
            cursor = self.state.cursor
            asked.add(cursor)
            with calling_whop(self.api_key, doing, self.company):
                page = fetch(cursor)
            apply(list(page.items or []))
            info = page.response.page_info
            self.state.cursor = info.end_cursor if info.has_next_page and info.end_cursor else None
            if self.state.cursor is not None and self.state.cursor in asked:
                # A page pointing back at one already read would be fetched forever.
                self.state.cursor = cursor
                raise WhopError(f"Whop's list did not move on while {doing} (it sent a page already read); "
                                "sync again later, and if this repeats, tell Whop's support.")
            self.counts[f"read_{self.state.step}"] = self.counts.get(f"read_{self.state.step}", 0) + len(page.items or [])
            self._save()
            read = self.counts[f"read_{self.state.step}"]
            self.progress(SyncProgress(self.state.step, STEPS.index(self.state.step) + 1, read,
                                       f"{doing}: {read} read"))
            if self.state.cursor is None:
                return

    def _save(self) -> None:
        self.t.conn.execute(sa.text("UPDATE whop_connections SET sync_state = CAST(:state AS jsonb) "
                                    "WHERE creator_id = :creator"),
                            {**self.params, "state": json.dumps(asdict(self.state))})

    def _count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    # -- completions → video_completed events ---------------------------------------------------

    def _completions(self) -> None:
        courses = list(self.t.conn.execute(sa.text(
            "SELECT DISTINCT whop_course_id FROM whop_lessons WHERE creator_id = :creator ORDER BY 1"),
            self.params).scalars())
        while self.state.course_index < len(courses):
            course = courses[self.state.course_index]
            self._pages(f"reading completions of course {course}",
                        lambda after, course=course: self.client.course_lesson_interactions.list(
                            course_id=course, completed=True, first=PAGE_SIZE, after=after),
                        self._apply_completions)
            self.state.course_index += 1
            self._save()

    def apply_memberships(self, memberships: list[Any]) -> int:
        """Apply ``memberships``; returns how many were older than a state already applied (skipped)."""
        return self._apply_memberships(memberships)

    def store_completions(self, interactions: list[Any]) -> int:
        """Store ``interactions``' completions of matched lessons; returns how many were new."""
        before = self.counts.get("completions", 0)
        self._apply_completions(interactions)
        return self.counts.get("completions", 0) - before

    def _apply_completions(self, interactions: list[Any]) -> None:
        lessons = {i.lesson.id for i in interactions if i.completed}
        # The Chronos lesson the Whop lesson became: in its chapter's module, or wherever the creator
        # moved it within the course; outside any course when the course has no lesson of the video.
        places = {r.whop_lesson_id: r for r in self.t.conn.execute(sa.text("""
            SELECT l.whop_lesson_id, l.video_id, p.course_id, p.module_id
            FROM whop_lessons l
            LEFT JOIN whop_courses wc ON wc.creator_id = l.creator_id AND wc.whop_course_id = l.whop_course_id
            LEFT JOIN whop_chapters wm ON wm.creator_id = l.creator_id AND wm.whop_chapter_id = l.whop_chapter_id
            LEFT JOIN LATERAL (
              SELECT m.course_id, m.id AS module_id
              FROM module_lessons x
              JOIN course_modules m ON m.id = x.module_id AND m.creator_id = x.creator_id
              JOIN courses c ON c.id = m.course_id AND c.creator_id = m.creator_id AND NOT c.is_deleted
              WHERE x.creator_id = l.creator_id AND m.course_id = wc.course_id AND x.video_id = l.video_id
              ORDER BY m.id = wm.module_id DESC NULLS LAST, m.display_order, x.lesson_order LIMIT 1) p ON true
            WHERE l.creator_id = :creator AND l.whop_lesson_id = ANY(:lessons) AND l.video_id IS NOT NULL
        """), {**self.params, "lessons": list(lessons)})}
        events = []
        for i in interactions:
            place = places.get(i.lesson.id)
            if not i.completed or place is None:
                continue  # an unmatched lesson's completion is imported by the sync after it is matched
            student = self.t.conn.execute(sa.text(
                "SELECT id FROM students WHERE creator_id = :creator AND whop_user_id = :user"),
                {**self.params, "user": i.user.id}).scalar_one_or_none()
            if student is None:  # a former member the members list no longer shows
                student = self._insert_student(i.user.id, None, i.user.name or i.user.username, None,
                                               active=False, count=False)
            events.append(EventRow("video_completed", place.video_id, timestamp=_time(i.created_at), student_id=student,
                                   course_id=place.course_id, module_id=place.module_id,
                                   metadata={"import_key": f"whop:completion:{i.id}", "source": "whop",
                                             "whop_lesson_id": i.lesson.id, "percent_complete": 100}))
        if events:
            self._count("completions", append_events(self.t, events))


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _first_few(names: tuple[str, ...]) -> str:
    """The first ``LEFT_OUT_SHOWN`` names, and how many more."""
    more = len(names) - LEFT_OUT_SHOWN
    return ", ".join(names[:LEFT_OUT_SHOWN]) + (f" and {more} more" if more > 0 else "")


