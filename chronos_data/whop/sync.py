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
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import courses as chronos_courses
from ..config import Settings
from ..db import Tenant
from ..errors import ValidationError
from ..event_batch import EventRow, append_events
from ..ingest.sources import parse_link
from . import crypto
from .client import PAGE_SIZE, WhopError, calling_whop, whop_client

__all__ = ["STEPS", "LessonMapping", "SyncProgress", "SyncSummary", "list_lessons", "sync", "sync_steps"]

log = logging.getLogger(__name__)

STEPS = ("members", "memberships", "courses", "completions")
#: Membership statuses that give access: still paying, trialing, set to cancel at the period's end,
#: or a finished one-time purchase. canceled, expired, unresolved and drafted do not.
ACTIVE_STATUSES = frozenset({"trialing", "active", "past_due", "canceling", "completed"})
#: Lesson types that carry a video (multi: a video with other content).
VIDEO_LESSONS = ("video", "multi")
#: The longest course, module and lesson title Chronos keeps (``_rows.require_text``).
TITLE_LENGTH = 500
#: Unmatched lessons named in a summary; the course mapping lists them all.
LEFT_OUT_SHOWN = 5
_LOOM_ID = re.compile(r"^[0-9a-f]{32}\Z")


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

    @property
    def text(self) -> str:
        made = ""
        if self.courses_made:
            made = f"; {_plural(self.courses_made, 'course')} made as a draft"
            if self.left_out:
                shown = ", ".join(self.left_out[:LEFT_OUT_SHOWN])
                more = len(self.left_out) - LEFT_OUT_SHOWN
                made += f" (left out until matched: {shown}{f' and {more} more' if more > 0 else ''})"
        done = (f"{_plural(self.members, 'member')}: {self.new_members} new, {self.cancelled} cancelled; "
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


def sync(t: Tenant, progress: Callable[[SyncProgress], None] | None = None, *,
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


def list_lessons(t: Tenant) -> list[LessonMapping]:
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


def _writer(t: Tenant, company: str) -> _Run:
    """The sync's writes without a Whop client: webhooks apply memberships and completions exactly
    as a sync does (``apply_memberships``, ``store_completions``)."""
    return _Run(t, None, "", company, _State(), lambda p: None)


class _Run:
    """One sync's walk through the steps, saving its place after every page."""

    def __init__(self, t: Tenant, client: Any, api_key: str, company: str, state: _State,
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
                           c.get("courses_made", 0), tuple(left_out))

    # -- paging ------------------------------------------------------------------------------------

    def _pages(self, doing: str, fetch: Callable[[str | None], Any], apply: Callable[[list[Any]], None]) -> None:
        """Read a list from the saved cursor on, applying and saving the place after each page."""
        while True:
            cursor = self.state.cursor
            with calling_whop(self.api_key, doing, self.company):
                page = fetch(cursor)
            apply(list(page.items or []))
            info = page.response.page_info
            self.state.cursor = info.end_cursor if info.has_next_page and info.end_cursor else None
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

    # -- members → students ---------------------------------------------------------------------

    def _members(self) -> None:
        self._pages("reading members",
                    lambda after: self.client.members.list(account_id=self.company, first=PAGE_SIZE, after=after),
                    self._apply_members)

    def _apply_members(self, members: list[Any]) -> None:
        for m in members:
            if m.access_level == "admin" or m.user is None:  # the company's team, not learners
                continue
            self._count("members")
            name = m.display_name or m.user.name or m.user.username
            found = self._student(m.user.id, m.email, name, m.last_accessed_at)
            if found is None:
                self._insert_student(m.user.id, m.email, name, m.last_accessed_at)

    def _student(self, user_id: str, email: str | None, name: str | None, last: str | None) -> Any:
        """Update the student with this Whop user id, or link the one with this e-mail; None if neither."""
        params = {**self.params, "user": user_id, "email": email, "name": name, "last": _time(last)}
        found = self.t.conn.execute(sa.text("""
            UPDATE students s SET name = coalesce(:name, s.name),
                   email = CASE WHEN s.email IS NULL AND CAST(:email AS text) IS NOT NULL AND NOT EXISTS (
                                  SELECT 1 FROM students o WHERE o.creator_id = s.creator_id
                                    AND lower(o.email) = lower(:email)) THEN :email ELSE s.email END,
                   last_active_at = greatest(s.last_active_at, CAST(:last AS timestamptz))
            WHERE s.creator_id = :creator AND s.whop_user_id = :user RETURNING s.id
        """), params).scalar_one_or_none()
        if found is None and email:
            found = self.t.conn.execute(sa.text("""
                UPDATE students s SET whop_user_id = :user, name = coalesce(s.name, :name),
                       last_active_at = greatest(s.last_active_at, CAST(:last AS timestamptz))
                WHERE s.creator_id = :creator AND s.whop_user_id IS NULL AND lower(s.email) = lower(:email)
                RETURNING s.id
            """), params).scalar_one_or_none()
        return found

    def _insert_student(self, user_id: str, email: str | None, name: str | None, last: str | None,
                        *, active: bool = True, count: bool = True) -> Any:
        params = {**self.params, "user": user_id, "email": email, "name": name, "last": _time(last),
                  "active": active}
        new = self.t.conn.execute(sa.text("""
            INSERT INTO students (creator_id, whop_user_id, email, name, last_active_at, is_active)
            VALUES (:creator, :user, :email, :name, :last, :active) ON CONFLICT DO NOTHING RETURNING id
        """), params).scalar_one_or_none()
        if new is None:  # the e-mail belongs to a student of another Whop user: keep theirs
            new = self.t.conn.execute(sa.text("""
                INSERT INTO students (creator_id, whop_user_id, name, last_active_at, is_active)
                VALUES (:creator, :user, :name, :last, :active) ON CONFLICT DO NOTHING RETURNING id
            """), params).scalar_one_or_none()
        if new is not None and count:
            self._count("new")
        return new

    # -- memberships → is_active ----------------------------------------------------------------

    def _memberships(self) -> None:
        self._pages("reading memberships",
                    lambda after: self.client.memberships.list(account_id=self.company, first=PAGE_SIZE, after=after),
                    self._apply_memberships)

    def _apply_memberships(self, memberships: list[Any]) -> None:
        for m in memberships:
            if m.account is not None and m.account.id == self.company and m.account.title:
                self.t.conn.execute(sa.text("UPDATE whop_connections SET company_title = :title "
                                            "WHERE creator_id = :creator"), {**self.params, "title": m.account.title})
            if not m.user_id:
                continue  # unclaimed: nobody to attach it to
            active = m.status in ACTIVE_STATUSES
            params = {**self.params, "user": m.user_id, "membership": m.id, "active": active}
            # An active membership wins; an ended one only ends the membership the student is known by,
            # so an old cancelled membership never turns off a student who renewed with a new one.
            was = self.t.conn.execute(sa.text("""
                UPDATE students s SET whop_membership_id = :membership, is_active = :active
                FROM (SELECT id, is_active FROM students WHERE creator_id = :creator AND whop_user_id = :user
                      FOR UPDATE) old
                WHERE s.id = old.id AND (CAST(:active AS boolean) OR s.whop_membership_id IS NULL
                                         OR s.whop_membership_id = :membership OR NOT s.is_active)
                RETURNING old.is_active
            """), params).all()
            if not was and not self.t.conn.execute(sa.text(
                    "SELECT 1 FROM students WHERE creator_id = :creator AND whop_user_id = :user"), params).first():
                # A membership whose member the members list did not show (yet): a student all the same.
                if self._insert_student(m.user_id, None, None, None, active=active) is not None:
                    self.t.conn.execute(sa.text("UPDATE students SET whop_membership_id = :membership "
                                                "WHERE creator_id = :creator AND whop_user_id = :user"), params)
                    self._count("members")
                    if not active:
                        self._count("cancelled")
            elif was and was[0].is_active and not active:
                self._count("cancelled")
            if not active:
                self._observe_end(m)

    def _observe_end(self, m: Any) -> None:
        """Keep the end of a membership as seen by a sync (its status, Whop's cancellation reason), as a
        webhook delivery keeps it: once per membership and status, for the churn analytics."""
        if not m.user_id:
            return
        detail = {"membership_id": m.id, "status": str(m.status), "cancellation_reason": m.cancellation_reason,
                  "canceled_at": m.canceled_at}
        self.t.conn.execute(sa.text("""
            INSERT INTO whop_deliveries (creator_id, delivery_id, event_type, student_id, detail)
            SELECT :creator, :delivery, 'membership.deactivated', s.id, CAST(:detail AS jsonb)
            FROM students s WHERE s.creator_id = :creator AND s.whop_user_id = :user AND s.whop_membership_id = :membership
            ON CONFLICT DO NOTHING
        """), {**self.params, "delivery": f"sync:{m.id}:{m.status}", "user": m.user_id, "membership": m.id,
               "detail": json.dumps(detail)})

    # -- courses → the lesson mapping -----------------------------------------------------------

    def _courses(self) -> None:
        self._pages("reading courses",
                    lambda after: self.client.courses.list(account_id=self.company, first=PAGE_SIZE, after=after),
                    self._apply_courses)
        # Courses gone from Whop leave the mapping; their lessons' videos stay in the library.
        self.t.conn.execute(sa.text("DELETE FROM whop_lessons WHERE creator_id = :creator "
                                    "AND NOT (whop_course_id = ANY(:seen))"), {**self.params, "seen": self.state.courses_seen})

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
            self.t.conn.execute(sa.text("DELETE FROM whop_lessons WHERE creator_id = :creator AND whop_course_id = :course "
                                        "AND NOT (whop_lesson_id = ANY(:seen))"),
                                {**self.params, "course": course.id, "seen": seen})
            self._build_course(course)
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
              -- Matched to another video since the sync put it in its course: that video joins the course.
              in_course = whop_lessons.in_course AND (whop_lessons.video_chosen
                                                      OR whop_lessons.video_id IS NOT DISTINCT FROM excluded.video_id)
            RETURNING video_id
        """), {**params, "video": video}).scalar_one()
        if video is not None:
            self.t.conn.execute(sa.text("UPDATE videos SET whop_lesson_id = :lesson WHERE creator_id = :creator "
                                        "AND id = :video AND whop_lesson_id IS DISTINCT FROM :lesson"),
                                {**params, "video": video})

    def _build_course(self, course: Any) -> None:
        """Make the Whop course a Chronos draft the first time; later only add new chapters and
        lessons matched since. A course or module the creator deleted is not made again."""
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
            ORDER BY chapter_order NULLS LAST, lesson_order NULLS LAST, whop_lesson_id
        """), params).all()
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

    def apply_memberships(self, memberships: list[Any]) -> None:
        self._apply_memberships(memberships)

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


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _number(text: Any) -> float | None:
    """Whop gives a course's position as a decimal string."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _time(text: str | datetime | None) -> datetime | None:
    """A time from Whop: some models parse it already, others keep the ISO text."""
    if isinstance(text, datetime) or not text:
        return text or None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
