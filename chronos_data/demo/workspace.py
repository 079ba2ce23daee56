"""The demo workspace: a creator with ten lectures, two courses, students and months of activity.

A fresh install has no students; the demo is how anyone first sees the analytics. Everything is
written by the project itself (the lectures, the students, their viewing and their questions),
deterministically for a given seed relative to the day it is loaded. Sessions are bulk-loaded
with COPY into a temporary table, then inserted under row-level security; events go through the
same batch path as any other feed (``event_batch.append_events``).
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from .. import courses, creators
from ..db import Database, Workspace
from ..embeddings import Embedder
from ..errors import ValidationError
from ..ingest import pipeline
from ..viewing import rollups
from ..viewing.event_batch import EventRow, append_events
from ..viewing.watching import COMPLETION_PERCENT
from .activity import Lesson, Session, simulate
from .lectures import LECTURES, to_srt

__all__ = ["DEMO_EMAIL", "DemoResult", "load_demo", "remove_demo"]

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@chronos.localhost"
SECONDS_PER_CAPTION = 24  # stretches the lectures' captions into 10-minute videos
_EVENTS_PER_STUDENT = 38  # measured average of the simulation (1.64M events from 42,735 students)
_MAX_STUDENTS = 2_000_000

# Two courses; "Git branches and merging" is a lesson of both (one video, many courses).
COURSES = {
    "Python and SQL foundations": {
        "Python data structures": ["Python lists in depth", "Python tuples and immutability"],
        "Working with databases": ["SQL joins explained", "SQL indexes and query plans"],
        "Version control": ["Git branches and merging", "Undoing mistakes in git"],
    },
    "Shipping web apps": {
        "HTTP essentials": ["HTTP caching headers", "HTTP cookies and sessions"],
        "Containers": ["Docker images and containers", "Docker volumes and networking"],
        "Working as a team": ["Git branches and merging"],
    },
}
# Where in each lecture students struggle (a share of the video): rewinds and drop-offs cluster there.
# One lecture has none: the insights must find nothing there.
HARD_SPOTS: dict[str, float | None] = {
    "Python lists in depth": 0.68, "Python tuples and immutability": None, "SQL joins explained": 0.55,
    "SQL indexes and query plans": 0.5, "Git branches and merging": 0.6, "Undoing mistakes in git": 0.35,
    "HTTP caching headers": 0.4, "HTTP cookies and sessions": 0.42, "Docker images and containers": 0.2,
    "Docker volumes and networking": 0.6,
}
# Planted for the insights (one video, many courses): the same lecture is finished far less often
# in one course than in the other.
SPLIT_FINISH = {("Shipping web apps", "Git branches and merging"): 0.5}
# Planted for the insights (confusion map): students ask about the passage at a lecture's hard spot,
# the one they rewind over and leave at ("SQL joins explained" at 55 %: NOT IN and nulls).
CONFUSING_PASSAGE = "SQL joins explained"
#: Its hard passage is harder than the others': more students leave and rewind there (every lecture but
#: one has a hard passage; this one must stand out on every draw).
CONFUSING_DIFFICULTY = 1.5
CONFUSED_QUESTIONS = (
    "Why does my NOT IN query return no rows at all?",
    "NOT IN with a subquery gives an empty result even though some customers have no orders, why?",
    "How can a single null make NOT IN return nothing?",
    "Should I use NOT EXISTS instead of NOT IN when the subquery has nulls?",
)
# Planted for the insights (content gaps): several students ask, in their own words, about a topic no
# lecture covers.
UNCOVERED_QUESTIONS = (
    "How do I deploy my app to Kubernetes?", "What is Kubernetes used for?", "How do Kubernetes deployments work?",
    "Can you explain deploying to Kubernetes?", "What do I need to put my application on Kubernetes?",
)
# What students ask the assistant: most are covered by a lecture, a few by none (content gaps).
STUDENT_QUESTIONS = (
    "Why do all my function calls share the same default list?", "How do I copy a list of lists?",
    "Can a tuple be a dictionary key?", "How do I swap two variables?",
    "Why does my left join act like an inner join?", "How do I find customers without orders?",
    "Does column order matter in a composite index?", "How do I see real query timings?",
    "How do I squash commits into one?", "How do I undo a pushed commit?", "Can I recover after reset --hard?",
    "What does 304 Not Modified mean?", "How do ETag and If-None-Match work?",
    "What is the difference between SameSite Strict and Lax?", "How do I keep users logged in?",
    "Why does my Docker build reinstall packages every time?", "How do containers find each other?",
    "How do I deploy containers to Kubernetes?", "How do I write a recursive CTE?",
    "How do I set up CI for my repository?",
)


@dataclass(frozen=True)
class DemoResult:
    creator_id: uuid.UUID
    email: str
    videos: int
    courses: int
    students: int
    sessions: int
    events: int
    questions: int
    seconds: float


def remove_demo(db: Database, email: str = DEMO_EMAIL) -> bool:
    """Delete a demo workspace and everything in it (as the owner: events are immutable to the app)."""
    if not email.endswith("@chronos.localhost") or not email.startswith("demo"):
        raise ValidationError("Only a demo workspace (demo…@chronos.localhost) can be removed this way.")
    with db.owner() as conn:
        return conn.execute(sa.text("DELETE FROM chronos.creators WHERE lower(email) = lower(:email)"),
                            {"email": email}).rowcount > 0


def load_demo(
    db: Database,
    embedder: Embedder,
    *,
    seed: int = 7,
    students: int = 300,
    days: int = 90,
    events: int | None = None,
    email: str = DEMO_EMAIL,
    on_progress: Callable[[float, str], None] | None = None,
    now: datetime | None = None,
) -> DemoResult:
    """Create (or re-create) the demo workspace and return what it holds.

    Args:
        students: students to simulate; ``events`` raises it to reach about that many events.
        days: how far back the activity starts.
        events: a target number of events, for benchmarks (millions load in a minute or two).
        now: the moment the activity ends (tests load the same demo as of other days); the present by default.
    """
    if not 1 <= days <= 3650 or students < 1:
        raise ValidationError("A demo needs at least one student and between 1 and 3,650 days.")
    if events is not None:
        students = max(students, min(_MAX_STUDENTS, round(events / _EVENTS_PER_STUDENT)))
    started = time.perf_counter()
    progress = on_progress or (lambda share, step: None)
    rng = random.Random(seed)
    remove_demo(db, email)
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email, "Demo creator")

    progress(0.05, "Indexing the lecture transcripts")
    video_ids = _import_lectures(db, creator, embedder)
    with db.workspace(creator) as t:
        course_lessons = _build_courses(t, video_ids)
        durations = dict(t.conn.execute(sa.text("SELECT id, duration_seconds FROM videos WHERE creator_id = :c"),
                                        {"c": creator}).all())
        progress(0.3, "Enrolling students")
        student_ids = _add_students(t, students)
    lessons = [[Lesson(c, m, v, int(durations[v]), HARD_SPOTS[title], SPLIT_FINISH.get((course_title, title), 1.0),
                       CONFUSING_DIFFICULTY if title == CONFUSING_PASSAGE else 1.0)
                for c, m, v, title in course]
               for course_title, course in zip(COURSES, course_lessons, strict=True)]
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    progress(0.4, "Simulating viewing")
    sessions = simulate(rng, lessons, student_ids, start=now - timedelta(days=days), now=now)
    progress(0.6, "Writing sessions and events")
    if events is not None and _owner_is_superuser(db):
        event_count = _bulk_load_activity(db, creator, sessions)
    else:
        with db.workspace(creator) as t:
            event_count = _copy_activity(t, sessions)
    with db.workspace(creator) as t:
        _mark_last_active(t)
        questions = _ask_questions(t, rng, embedder, student_ids, now, days)
        progress(0.9, "Rolling up daily metrics")
        rollups.rollup(t)
    progress(1.0, "Done")
    return DemoResult(creator, email, len(video_ids), len(COURSES), len(student_ids), len(sessions), event_count,
                      questions, time.perf_counter() - started)


def _import_lectures(db: Database, creator: uuid.UUID, embedder: Embedder) -> dict[str, uuid.UUID]:
    ids = {}
    for lecture in LECTURES:
        slug = lecture.title.lower().replace(" ", "-")
        with db.workspace(creator) as t:
            ids[lecture.title] = pipeline.add_subtitled_video(
                t, source_type="upload", source=f"demo/{slug}.mp4",
                subtitle_bytes=to_srt(lecture, SECONDS_PER_CAPTION), subtitle_filename=f"{slug}.srt",
                title=lecture.title)
        status = pipeline.process_video(db, creator, ids[lecture.title], embedder)
        if status != "completed":
            raise ValidationError(f"The demo lecture '{lecture.title}' could not be indexed ({status}).")
    return ids


def _build_courses(t: Workspace, video_ids: dict[str, uuid.UUID]) -> list[list[tuple]]:
    built = []
    for title, modules in COURSES.items():
        course_id = courses.create_course(t, title, "A demo course made by Chronos from its own sample lectures.")
        lessons = []
        for module_title, lectures in modules.items():
            module_id = courses.create_module(t, course_id, module_title)
            courses.add_lessons(t, module_id, [video_ids[name] for name in lectures])
            lessons += [(course_id, module_id, video_ids[name], name) for name in lectures]
        courses.publish_course(t, course_id)
        built.append(lessons)
    return built


def _add_students(t: Workspace, count: int) -> list[uuid.UUID]:
    # Random ids, not seeded ones: two demo workspaces from one seed share a database.
    ids = [uuid.uuid4() for _ in range(count)]
    _copy(t, "students", ("id", "creator_id", "email", "name"),
          ((sid, t.creator_id, f"student{i + 1:06d}@demo.chronos.localhost", f"Student {i + 1}")
           for i, sid in enumerate(ids)))
    return ids


_SESSION_COLUMNS = ("id", "creator_id", "video_id", "student_id", "session_start", "session_end",
                    "watch_time_seconds", "percent_complete", "completed", "device_type", "referrer_type", "metadata")
_EVENT_COLUMNS = ("event_type", "video_id", "creator_id", "student_id", "course_id", "module_id", "metadata",
                  "timestamp")


def _session_rows(creator: uuid.UUID, sessions: list[Session]):
    for s in sessions:
        yield (s.id, creator, s.lesson.video_id, s.student_id, s.start, s.end, s.watch_seconds, s.percent,
               s.percent >= COMPLETION_PERCENT, s.device, s.referrer,
               json.dumps({"course_id": str(s.lesson.course_id), "module_id": str(s.lesson.module_id),
                           "rewinds": [list(r) for r in s.rewinds]}))


def _event_rows(creator: uuid.UUID, sessions: list[Session], counter: list[int]):
    for s in sessions:
        for event_type, at, metadata in s.events():
            counter[0] += 1
            yield (event_type, s.lesson.video_id, creator, s.student_id, s.lesson.course_id, s.lesson.module_id,
                   json.dumps(metadata), at)


def _copy_activity(t: Workspace, sessions: list[Session]) -> int:
    """Sessions through a staging table and events through the data module's batch path, both
    checked by row-level security and every constraint; returns the events stored."""
    _copy(t, "video_watch_sessions", _SESSION_COLUMNS, _session_rows(t.creator_id, sessions))
    return append_events(t, (EventRow(event_type, s.lesson.video_id, at, student_id=s.student_id,
                                      course_id=s.lesson.course_id, module_id=s.lesson.module_id, metadata=metadata)
                             for s in sessions for event_type, at, metadata in s.events()))


def _owner_is_superuser(db: Database) -> bool:
    with db.owner() as conn:
        return bool(conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar())


def _bulk_load_activity(db: Database, creator: uuid.UUID, sessions: list[Session]) -> int:
    """Millions of rows for benchmarks: COPY straight into the tables as the (superuser) owner with
    triggers and foreign-key checks off for this transaction (the rows reference what this module
    just created). About 4x faster than the checked path; the data is the same."""
    counter = [0]
    with db.owner() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        cursor = conn.connection.driver_connection.cursor()
        for table, columns, rows in (
                ("video_watch_sessions", _SESSION_COLUMNS, _session_rows(creator, sessions)),
                ("video_analytics_events", _EVENT_COLUMNS, _event_rows(creator, sessions, counter))):
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f"COPY chronos.{table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    return counter[0]


def _mark_last_active(t: Workspace) -> None:
    t.conn.execute(sa.text("UPDATE students s SET last_active_at = a.last FROM (SELECT student_id, max(session_end) "
                           "AS last FROM video_watch_sessions WHERE creator_id = :c GROUP BY 1) a "
                           "WHERE s.creator_id = :c AND s.id = a.student_id"), {"c": t.creator_id})


def _copy(t: Workspace, table: str, columns: tuple[str, ...], rows) -> None:
    """COPY ``rows`` into ``table`` through a temporary table: COPY FROM refuses tables with
    row-level security, INSERT ... SELECT does not (and checks every row against the policy)."""
    names = ", ".join(f'"{c}"' for c in columns)
    staging = f"demo_{table}"
    t.conn.execute(sa.text(f"CREATE TEMP TABLE {staging} (LIKE chronos.{table} INCLUDING DEFAULTS) ON COMMIT DROP"))
    cursor = t.conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    t.conn.execute(sa.text(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging}"))


def _times_asked(rng: random.Random, question: str) -> int:
    """How many students ask ``question``: each uncovered one once (a gap is many questions, not
    one repeated), the planted confusing passage's by four to six students each (so its moment is
    the most asked, whatever the draw: other lectures' hard passages draw up to a dozen
    questions too), any other one to four times."""
    if question in UNCOVERED_QUESTIONS:
        return 1
    if question in CONFUSED_QUESTIONS:
        return rng.randint(4, 6)
    return rng.randint(1, 4)


def _ask_questions(t: Workspace, rng: random.Random, embedder: Embedder, student_ids: list[uuid.UUID],
                   now: datetime, days: int) -> int:
    """Students' conversations with the assistant, answered offline from the lectures as the
    Assistant page answers them: quoted sentences, each cited at the second it is spoken."""
    from ..rag import retrieve
    from ..rag.citations import from_source
    from ..rag.extractive import extract_answer
    from ..rag.prompting import NOT_FOUND

    confusing = t.conn.execute(sa.text("SELECT id, duration_seconds FROM videos WHERE creator_id = :c AND title = :title"),
                               {"c": t.creator_id, "title": CONFUSING_PASSAGE}).one()
    hard_second = int(HARD_SPOTS[CONFUSING_PASSAGE] * confusing.duration_seconds)
    segments = {row.id: [(float(a), float(b), str(text)) for a, b, text in row.transcript_segments or []]
                for row in t.conn.execute(sa.text("SELECT id, transcript_segments FROM videos WHERE creator_id = :c"),
                                          {"c": t.creator_id})}
    asked = 0
    for question in STUDENT_QUESTIONS + CONFUSED_QUESTIONS + UNCOVERED_QUESTIONS:
        vector = embedder.embed([question])[0]
        sources, _ = retrieve(t, question, embedder, query_vector=vector)
        if question in CONFUSED_QUESTIONS:  # the answer cites the hard passage itself
            sources = [s for s in sources if s.video_id == confusing.id][:1]
            citations = [from_source(1, s, start_seconds=hard_second) for s in sources]
            answer = " ".join(f"“{c.snippet}” [{c.number}]" for c in citations) or NOT_FOUND
        else:
            extracted = extract_answer(question, vector, sources, embedder, segments)
            citations, answer = extracted.citations, extracted.text or NOT_FOUND
        for _ in range(_times_asked(rng, question)):
            student = rng.choice(student_ids)
            at = now - timedelta(days=rng.uniform(0, days), hours=rng.uniform(0, 6))
            session_id = t.conn.execute(
                sa.text("INSERT INTO chat_sessions (creator_id, student_id, title, created_at, last_message_at) "
                        "VALUES (:c, :s, :title, :at, :at) RETURNING id"),
                {"c": t.creator_id, "s": student, "title": question[:60], "at": at}).scalar_one()
            t.conn.execute(
                sa.text("INSERT INTO chat_messages (creator_id, session_id, role, content, video_references, model, "
                        "token_count, latency_ms, metadata, created_at) VALUES "
                        "(:c, :s, 'user', :q, '[]', NULL, NULL, NULL, '{}', :at), "
                        "(:c, :s, 'assistant', :a, CAST(:refs AS jsonb), 'extractive', 0, :ms, "
                        "CAST(:meta AS jsonb), :later)"),
                {"c": t.creator_id, "s": session_id, "q": question, "a": answer, "at": at,
                 "later": at + timedelta(seconds=2), "ms": rng.randint(80, 400),
                 "refs": json.dumps([c.to_json() for c in citations]),
                 "meta": json.dumps({"found": bool(citations)})})
            asked += 1
    return asked
