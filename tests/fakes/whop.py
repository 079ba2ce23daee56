"""A protocol-true Whop API on 127.0.0.1: the official ``whop-sdk`` talks to it (WHOP_BASE_URL).

It serves ``/api/v1/members``, ``/memberships``, ``/courses``, ``/courses/{id}``,
``/course_lessons/{id}`` and ``/course_lesson_interactions`` as Whop documents them: bearer keys,
cursor pagination (``first``/``after``, ``page_info.end_cursor`` and ``has_next_page``), JSON
shapes the SDK's models parse, and Whop's error body ``{"error": {"type", "message"}}``.

A key is good for one company: another key gets 401, another company 403. Faults on demand:
``fail_next(n, status, retry_after=None, path=None)`` answers the next ``n`` requests (to paths
ending in ``path``, or any) with that status; ``cut(path, after_pages)`` lets ``after_pages``
pages of a list through, then drops every further request to it until ``heal()``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import FakeHTTPServer, RecordedRequest, Reply

__all__ = ["FakeWhop", "WhopCourse", "WhopLesson", "WhopMember"]

_NOW = "2026-11-01T10:00:00Z"
_MONEY = {"amount": "0", "currency": "usd", "decimals": 2, "display_decimals": 2}


@dataclass
class WhopMember:
    user_id: str
    email: str | None
    name: str
    membership_id: str
    status: str = "active"  # the membership's: active, trialing, canceled, expired ...
    last_accessed_at: str | None = "2026-11-20T08:00:00Z"
    cancellation_reason: str | None = None
    updated_at: str = _NOW  # the membership's last change, as Whop reports it


@dataclass
class WhopLesson:
    id: str
    title: str
    lesson_type: str = "video"
    embed_type: str | None = None  # youtube, loom
    embed_id: str | None = None
    mux_asset_id: str | None = None
    mux_playback_id: str | None = None


@dataclass
class WhopCourse:
    id: str
    title: str
    chapters: list[tuple[str, str, list[WhopLesson]]]  # (chapter id, title, lessons)
    completions: list[tuple[str, str, str]] = field(default_factory=list)  # (interaction id, user id, lesson id)


class FakeWhop(FakeHTTPServer):
    thread_name = "fake-whop"

    def __init__(self, company: str, key: str, *, members: list[WhopMember], courses: list[WhopCourse],
                 company_title: str = "Fake Academy") -> None:
        super().__init__()
        self.company, self.key, self.company_title = company, key, company_title
        self.members, self.courses = members, courses
        self._faults: list[tuple[int, int, str | None, str | None]] = []  # (left, status, retry_after, path)
        self._cuts: dict[str, int] = {}
        self._stalled: set[str] = set()  # lists whose next page repeats the cursor it was asked for

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    def fail_next(self, n: int, status: int, *, retry_after: str | None = None, path: str | None = None) -> None:
        with self._lock:
            self._faults.append((n, status, retry_after, path))

    def cut(self, path: str, after_pages: int) -> None:
        with self._lock:
            self._cuts[path] = after_pages

    def stall(self, path: str) -> None:
        """From now on, every page of ``path`` says there is more, after the cursor it was asked for."""
        with self._lock:
            self._stalled.add(path)

    def heal(self) -> None:
        with self._lock:
            self._cuts.clear()
            self._stalled.clear()

    # -- serving ----------------------------------------------------------------------------------

    def _reply(self, request: RecordedRequest) -> Reply:
        path = request.path.removeprefix("/api/v1")
        fault = self._take_fault(path)
        if fault is not None:
            return fault
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return _error(401, "unauthorized", "The API key is invalid or has expired.")
        account = request.param("account_id")
        if account is not None and account != self.company:
            return _error(403, "forbidden", "You do not have permission to access this account.")
        with self._lock:
            cut = self._cuts.get(path)
            if cut is not None:
                if cut <= 0:
                    return Reply(0, drop_connection=True)
                self._cuts[path] = cut - 1
            stalled = path in self._stalled
        if stalled:
            after = request.param("after")
            return _json({"data": [], "page_info": {"end_cursor": after or "0", "has_next_page": True,
                                                    "has_previous_page": after is not None, "start_cursor": None}})
        if path == "/members":
            return self._page(request, [self._member(m) for m in self.members])
        if path == "/memberships":
            return self._page(request, [self._membership(m) for m in self.members])
        if path == "/courses":
            return self._page(request, [self._course_item(c) for c in self.courses])
        if m := re.fullmatch(r"/courses/([^/]+)", path):
            course = next((c for c in self.courses if c.id == m[1]), None)
            return _json(self._course(course)) if course else _error(404, "not_found", "Course not found.")
        if m := re.fullmatch(r"/course_lessons/([^/]+)", path):
            found = next((lesson for c in self.courses for _, _, lessons in c.chapters for lesson in lessons
                          if lesson.id == m[1]), None)
            return _json(self._lesson(found)) if found else _error(404, "not_found", "Lesson not found.")
        if path == "/course_lesson_interactions":
            course = next((c for c in self.courses if c.id == request.param("course_id")), None)
            rows = [self._interaction(course, *done) for done in course.completions] if course else []
            return self._page(request, rows)
        return _error(404, "not_found", f"No route {path}.")

    def _take_fault(self, path: str) -> Reply | None:
        with self._lock:
            for index, (left, status, retry_after, only) in enumerate(self._faults):
                if only is None or path.endswith(only):
                    if left <= 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = (left - 1, status, retry_after, only)
                    headers = {"Retry-After": retry_after} if retry_after is not None else {}
                    reply = _error(status, "rate_limited" if status == 429 else "server_error", "Try again later.")
                    reply.headers.update(headers)
                    return reply
        return None

    @staticmethod
    def _page(request: RecordedRequest, rows: list[dict[str, Any]]) -> Reply:
        first = int(request.param("first") or 20)
        start = int(request.param("after") or 0)
        chunk = rows[start:start + first]
        end = start + len(chunk)
        more = end < len(rows)
        return _json({"data": chunk, "page_info": {"end_cursor": str(end) if more else None, "has_next_page": more,
                                                   "has_previous_page": start > 0,
                                                   "start_cursor": str(start) if chunk else None}})

    # -- shapes -----------------------------------------------------------------------------------

    def _member(self, m: WhopMember) -> dict[str, Any]:
        return {"id": f"mber_{m.user_id.removeprefix('user_')}", "access_level": "customer" if m.status != "expired"
                else "no_access", "account_id": self.company, "created_at": _NOW, "display_name": m.name,
                "email": m.email, "joined_at": _NOW, "last_accessed_at": m.last_accessed_at,
                "status": "joined" if m.status not in {"canceled", "expired"} else "left", "token_balance": 0,
                "usd_total_spent": _MONEY,
                "user": {"id": m.user_id, "name": m.name, "username": m.name.lower().replace(" ", ""),
                         "profile_picture": {"url": "https://example.com/p.png"}}}

    def _membership(self, m: WhopMember) -> dict[str, Any]:
        return {"id": m.membership_id, "account": {"id": self.company, "route": "fake", "title": self.company_title},
                "cancel_at_period_end": False, "canceled_at": _NOW if m.status == "canceled" else None,
                "cancellation_reason": m.cancellation_reason, "created_at": _NOW, "initial_price": _MONEY,
                "member": {"access_level": "customer", "last_accessed_at": m.last_accessed_at},
                "member_id": f"mber_{m.user_id.removeprefix('user_')}", "metadata": {}, "plan_id": "plan_1",
                "product": {"id": "prod_1", "title": "Course access"}, "product_id": "prod_1", "status": m.status,
                "updated_at": m.updated_at, "user_id": m.user_id}

    def _course_item(self, c: WhopCourse) -> dict[str, Any]:
        lessons = sum(len(ls) for _, _, ls in c.chapters)
        return {"id": c.id, "title": c.title, "chapters_count": len(c.chapters), "completed_lessons_count": 0,
                "created_at": _NOW, "language": "en", "lesson_unlock_days": [], "order": str(self.courses.index(c)),
                "require_completing_lessons_in_order": False, "total_duration_seconds": 0,
                "total_lessons_count": lessons, "updated_at": _NOW, "visibility": "visible"}

    def _course(self, c: WhopCourse) -> dict[str, Any]:
        chapters = [{"id": cid, "title": title, "order": n,
                     "lessons": [{"id": lesson.id, "title": lesson.title, "lesson_type": lesson.lesson_type,
                                  "order": k, "thumbnail": None,
                                  "video_asset": {"duration_seconds": 60, "signed_playback_id": None,
                                                  "signed_thumbnail_playback_token": None}
                                  if lesson.mux_asset_id else None}
                                 for k, lesson in enumerate(lessons)]}
                    for n, (cid, title, lessons) in enumerate(c.chapters)]
        return {**self._course_item(c), "chapters": chapters}

    @staticmethod
    def _lesson(lesson: WhopLesson) -> dict[str, Any]:
        asset = None
        if lesson.mux_asset_id:
            asset = {"id": f"vid_{lesson.id}", "asset_id": lesson.mux_asset_id, "playback_id": lesson.mux_playback_id,
                     "audio_only": False, "created_at": _NOW, "updated_at": _NOW, "status": "ready",
                     "duration_seconds": 60}
        return {"id": lesson.id, "title": lesson.title, "lesson_type": lesson.lesson_type, "order": 0,
                "assessment_questions": [], "attachments": [], "created_at": _NOW, "visibility": "visible",
                "embed_type": lesson.embed_type, "embed_id": lesson.embed_id, "video_asset": asset}

    def _interaction(self, c: WhopCourse, interaction: str, user: str, lesson_id: str) -> dict[str, Any]:
        chapter = next(cid for cid, _, ls in c.chapters if any(x.id == lesson_id for x in ls))
        title = next(x.title for _, _, ls in c.chapters for x in ls if x.id == lesson_id)
        return {"id": interaction, "completed": True, "created_at": "2026-11-15T12:00:00Z",
                "lesson": {"id": lesson_id, "title": title, "chapter": {"id": chapter}},
                "user": {"id": user, "username": user.removeprefix("user_"), "name": None}}


def _json(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json")


def _error(status: int, kind: str, message: str) -> Reply:
    return _json({"error": {"type": kind, "message": message}}, status)
