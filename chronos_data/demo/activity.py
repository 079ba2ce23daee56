"""Simulated students: who watches which lesson when, how far, and what they rewatch.

Pure Python over a seeded ``random.Random``: the same seed and inputs give the same activity.
The shapes are the ones an analyst expects from a real course:
  * weekday and hour-of-day seasonality (lunch and evening peaks, quieter weekends);
  * drop-off along each video: an early bounce, a steady leak, and a steeper fall at the
    video's hard passage; about two thirds finish;
  * fewer students reach each later lesson (a funnel), diligent students go further;
  * rewinds around the hard passage, and some completed lessons watched again;
  * desktop, mobile and tablet, and where students came from.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..viewing.watching import COMPLETION_PERCENT, MILESTONES

__all__ = ["Lesson", "Session", "simulate"]

# Share of sessions by hour of day (UTC), from a lunch and an evening peak over a night trough.
_HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5.5, 7, 7.5, 6.5, 4.5, 2.5]
_WEEKDAY_WEIGHTS = [1.15, 1.2, 1.15, 1.05, 0.85, 0.6, 0.75]  # Monday first
_DEVICES = (("desktop", 0.58), ("mobile", 0.32), ("tablet", 0.10))
_REFERRERS = (("course_page", 0.68), ("direct_link", 0.14), ("search", 0.11), ("chat_reference", 0.07))
_EARLY_BOUNCE = 0.08  # leave within the first 30 seconds
_FINISH = 0.66  # reach 90 % or more, before lesson-order and device effects
_REWATCH = 0.12  # completed lessons watched again later
_LAUNCH_WAVE = 0.35  # share of students who enrol in the launch weeks


@dataclass(frozen=True)
class Lesson:
    """A lesson of a course in order: its video, length, and the hard passage (a share of it)."""

    course_id: uuid.UUID
    module_id: uuid.UUID
    video_id: uuid.UUID
    duration_seconds: int
    hard_spot: float | None  # 0..1: where students rewind and leave more (None: nowhere in particular)
    #: Below 1: this lesson, in this course, is finished less often (and left more at its hard spot).
    finish_factor: float = 1.0
    #: Above 1: more of the students who do not finish leave at the hard passage, and more rewind over it.
    difficulty: float = 1.0


@dataclass
class Session:
    id: uuid.UUID
    student_id: uuid.UUID
    lesson: Lesson
    start: datetime
    watch_seconds: int
    percent: int
    device: str
    referrer: str
    rewinds: list[tuple[int, int]] = field(default_factory=list)
    rewatch: bool = False

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.watch_seconds + 5)

    def events(self) -> Iterator[tuple[str, datetime, dict]]:
        """(type, time, metadata) of the session's events, as the player would have sent them."""
        base = {"session_id": str(self.id)}
        yield "video_started", self.start, {**base, "device": self.device, "referrer": self.referrer}
        if self.rewatch:
            yield "video_rewatched", self.start, {"rewatch_session_id": str(self.id)}
        pace = self.watch_seconds / max(self.percent, 1)  # seconds of watching per percent reached
        for milestone in MILESTONES:
            if milestone <= self.percent:
                yield ("video_progress", self.start + timedelta(seconds=pace * milestone),
                       {**base, "milestone": milestone, "percent_complete": milestone,
                        "watch_time_seconds": int(pace * milestone)})
        if self.percent >= COMPLETION_PERCENT:
            yield ("video_completed", self.start + timedelta(seconds=self.watch_seconds),
                   {**base, "percent_complete": self.percent, "watch_time_seconds": self.watch_seconds})


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([name for name, _ in weighted], weights=[w for _, w in weighted])[0]


def _moment(rng: random.Random, day: datetime) -> datetime:
    hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
    return day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))


def _next_day(rng: random.Random, day: datetime, gap_days: float) -> datetime:
    """A day about ``gap_days`` after ``day``, nudged towards busy weekdays."""
    while True:
        candidate = day + timedelta(days=max(0, round(rng.expovariate(1 / gap_days)) if gap_days else 0))
        if rng.random() < _WEEKDAY_WEIGHTS[candidate.weekday()] / max(_WEEKDAY_WEIGHTS):
            return candidate
        day = candidate + timedelta(days=1)


def _stop_share(rng: random.Random, lesson: Lesson, order: int, device: str) -> float:
    """Where in the video the student stops, 0..1 (1: the end)."""
    finish = (_FINISH - 0.02 * order - (0.08 if device == "mobile" else 0.0)) * lesson.finish_factor
    if rng.random() < finish:
        return rng.uniform(0.92, 1.0)
    if rng.random() < _EARLY_BOUNCE / (1 - finish):
        return rng.uniform(0.0, min(1.0, 30 / lesson.duration_seconds))
    if lesson.hard_spot is not None and rng.random() < 0.35 * lesson.difficulty + (1 - lesson.finish_factor):
        return min(0.89, max(0.0, rng.gauss(lesson.hard_spot + 0.02, 0.03)))
    return rng.uniform(0.05, 0.89)


def simulate(
    rng: random.Random,
    courses: Sequence[Sequence[Lesson]],
    student_ids: Sequence[uuid.UUID],
    *,
    start: datetime,
    now: datetime,
) -> list[Session]:
    """Every watch session of ``student_ids`` over ``courses`` (lessons in order) from ``start`` to ``now``."""
    span_days = max(1, (now - start).days)
    sessions: list[Session] = []
    for student in student_ids:
        diligence = rng.betavariate(5, 2)  # how far this student tends to get
        device = _pick(rng, _DEVICES)
        enrolled = [c for c in courses if rng.random() < 0.75] or [rng.choice(list(courses))]
        for lessons in enrolled:
            # A launch brings a wave of students early on; after it they keep arriving steadily.
            offset = span_days * (0.3 * rng.betavariate(1.2, 3) if rng.random() < _LAUNCH_WAVE else rng.random())
            day = (start + timedelta(days=int(offset))).replace(hour=0, minute=0, second=0, microsecond=0)
            for order, lesson in enumerate(lessons):
                if order and rng.random() > 0.78 + 0.2 * diligence - 0.01 * order:
                    break
                day = _next_day(rng, day, gap_days=1.5 if order else 0)
                moment = _moment(rng, day)
                if moment >= now:
                    break
                session_device = device if rng.random() < 0.85 else _pick(rng, _DEVICES)
                share = _stop_share(rng, lesson, order, session_device)
                sessions.append(_session(rng, student, lesson, moment, share, session_device))
                if share >= 0.9 and rng.random() < _REWATCH:
                    again = _moment(rng, _next_day(rng, day, gap_days=4))
                    if again < now:
                        sessions.append(_session(rng, student, lesson, again, rng.uniform(0.3, 1.0), session_device,
                                                 rewatch=True))
    sessions.sort(key=lambda s: s.start)
    return sessions


def _session(rng: random.Random, student: uuid.UUID, lesson: Lesson, start: datetime, share: float, device: str,
             *, rewatch: bool = False) -> Session:
    duration = lesson.duration_seconds
    position = int(share * duration)
    rewinds: list[tuple[int, int]] = []
    hard = int(lesson.hard_spot * duration) if lesson.hard_spot is not None else None
    if hard is not None and position > hard and rng.random() < 0.3 * lesson.difficulty:  # lost there: back 20-60 s
        back = rng.randint(20, 60)
        rewinds.append((max(0, hard - back), hard + rng.randint(0, 15)))
    if rng.random() < 0.08 and position > 60:  # an ordinary rewind anywhere
        at = rng.randint(30, position)
        rewinds.append((max(0, at - rng.randint(10, 30)), at))
    extra = sum(end - begin for begin, end in rewinds)
    percent = min(100, math.floor(share * 100))
    return Session(uuid.uuid4(), student, lesson, start, position + extra, percent,
                   device, _pick(rng, _REFERRERS), rewinds, rewatch)
