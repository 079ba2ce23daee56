"""Workspace separation, the catalogue: what the schema and the data module offer, and how to call
each data function from one workspace with another workspace's ids.

Used by tests/db/test_workspace_separation.py. Everything here is found, not listed by hand, so a new
table, view, security-definer function or data function shows up as a test id of its own; only
the *expectation* for a new data function has to be written down in ``CASES`` (a function without
one fails ``test_every_data_function_has_a_separation_case``).

Test ids are known before any database exists (pytest collects before fixtures run), so tables,
views and security-definer functions are read from the migration files here and compared with the
live catalogue by the tests (a parse that missed something fails loudly there).
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib
import inspect
import io
import json
import math
import pkgutil
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

import chronos_data
from chronos_data.courses.moves import DraggedLayout, LessonStep, LessonToModule
from chronos_data.db import Database, Workspace
from chronos_data.errors import NotFound, StaleEdit, ValidationError
from chronos_data.whop.webhooks import WebhookRejected

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

# ------------------------------------------------------------------------------------------------
# The schema, as the migration files create it
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaObjects:
    workspace_tables: tuple[str, ...]  # tables of schema chronos with a creator_id column
    other_tables: tuple[str, ...]  # the rest (creators, shared reference data)
    views: tuple[str, ...]  # views and materialized views of schema chronos
    definer_functions: tuple[str, ...]  # SECURITY DEFINER functions of schema chronos


_CREATE_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?chronos\.(\w+)\s*\((.*?)\n\);", re.I | re.S)
_ADD_CREATOR = re.compile(r"ALTER\s+TABLE\s+(?:ONLY\s+)?chronos\.(\w+)\s+ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                          r"creator_id\b", re.I)
_DROP_TABLE = re.compile(r"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?chronos\.(\w+)", re.I)
_RENAME_TABLE = re.compile(r"ALTER\s+TABLE\s+chronos\.(\w+)\s+RENAME\s+TO\s+(\w+)", re.I)
_CREATE_VIEW = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:MATERIALIZED\s+)?VIEW\s+chronos\.(\w+)", re.I)
_DROP_VIEW = re.compile(r"DROP\s+(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+EXISTS\s+)?chronos\.(\w+)", re.I)
_CREATE_FUNCTION = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+chronos\.(\w+)\s*\((.*?)\bAS\s+\$", re.I | re.S)
_DROP_FUNCTION = re.compile(r"DROP\s+FUNCTION\s+(?:IF\s+EXISTS\s+)?chronos\.(\w+)", re.I)


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def parse_migrations(directory: Path = SQL_DIR) -> SchemaObjects:
    """Tables, views and security-definer functions the migrations leave in schema chronos."""
    tables: dict[str, bool] = {}  # name -> has creator_id
    views: set[str] = set()
    definers: set[str] = set()
    for path in sorted(directory.glob("*.sql")):
        sql = _strip_comments(path.read_text())
        # (position, what, name, detail): applied in the order the statements appear.
        events: list[tuple[int, str, str, Any]] = []
        events += [(m.start(), "table", m.group(1), re.search(r"^\s*creator_id\s", m.group(2), re.M) is not None)
                   for m in _CREATE_TABLE.finditer(sql)]
        events += [(m.start(), "table", m.group(1), True) for m in _ADD_CREATOR.finditer(sql)]
        events += [(m.start(), "drop_table", m.group(1), None) for m in _DROP_TABLE.finditer(sql)]
        events += [(m.start(), "rename_table", m.group(1), m.group(2)) for m in _RENAME_TABLE.finditer(sql)]
        events += [(m.start(), "view", m.group(1), None) for m in _CREATE_VIEW.finditer(sql)]
        events += [(m.start(), "drop_view", m.group(1), None) for m in _DROP_VIEW.finditer(sql)]
        events += [(m.start(), "function", m.group(1), re.search(r"\bSECURITY\s+DEFINER\b", m.group(2), re.I) is not None)
                   for m in _CREATE_FUNCTION.finditer(sql)]
        events += [(m.start(), "drop_function", m.group(1), None) for m in _DROP_FUNCTION.finditer(sql)]
        for _, what, name, detail in sorted(events, key=lambda e: e[0]):
            if what == "table":
                tables[name] = detail or tables.get(name, False)
            elif what == "drop_table":
                tables.pop(name, None)
            elif what == "rename_table":
                tables[detail] = tables.pop(name, False)
            elif what == "view":
                views.add(name)
            elif what == "drop_view":
                views.discard(name)
            elif what == "function" and detail:
                definers.add(name)
            else:  # an invoker function, or a dropped one
                definers.discard(name)
    return SchemaObjects(
        workspace_tables=tuple(sorted(n for n, has in tables.items() if has)),
        other_tables=tuple(sorted(n for n, has in tables.items() if not has)),
        views=tuple(sorted(views)),
        definer_functions=tuple(sorted(definers)),
    )


# ------------------------------------------------------------------------------------------------
# The data module's functions
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFunction:
    name: str  # qualified without "chronos_data.", e.g. "videos.get_video" or "rag.answer.Assistant.ask"
    func: Callable[..., Any]


def _is(annotation: Any, cls: type) -> bool:
    return annotation is cls or (isinstance(annotation, str) and annotation.split(".")[-1] == cls.__name__)


def _modules() -> Iterator[Any]:
    for info in pkgutil.walk_packages(chronos_data.__path__, "chronos_data."):
        if info.name.endswith("__main__"):
            continue
        yield importlib.import_module(info.name)


def data_functions() -> list[DataFunction]:
    """Every public function of chronos_data whose first parameter is a Workspace, every public one
    that takes a Database and a creator id, and every public method that takes either."""
    found: dict[str, DataFunction] = {}
    for module in _modules():
        prefix = module.__name__.removeprefix("chronos_data.")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                params = list(inspect.signature(obj).parameters.values())
                if params and (_is(params[0].annotation, Workspace) or (
                        _is(params[0].annotation, Database) and any(p.name == "creator_id" for p in params))):
                    found[f"{prefix}.{name}"] = DataFunction(f"{prefix}.{name}", obj)
            elif inspect.isclass(obj):
                for method_name, method in vars(obj).items():
                    if method_name.startswith("_") or not inspect.isfunction(method):
                        continue
                    params = list(inspect.signature(method).parameters.values())[1:]
                    if any(_is(p.annotation, Workspace) or p.name == "creator_id" for p in params):
                        qualified = f"{prefix}.{name}.{method_name}"
                        found[qualified] = DataFunction(qualified, method)
    return sorted(found.values(), key=lambda f: f.name)


def resolve(name: str) -> Callable[..., Any]:
    """The function (or unbound method) ``name`` names, imported when first needed."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module("chronos_data." + ".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise LookupError(name)


# ------------------------------------------------------------------------------------------------
# What a call sees, and what it is given
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ids:
    """Representative ids of one workspace (creator B's are passed to A's calls)."""

    creator: uuid.UUID
    email: str
    marker: str  # a word found only in this workspace's titles, texts and e-mails
    video: uuid.UUID  # completed, a lesson of ``module``
    chunk: uuid.UUID  # a chunk of ``video``
    course: uuid.UUID
    module: uuid.UUID
    lesson: uuid.UUID
    student: uuid.UUID  # has watch sessions
    student_email: str
    watch_session: uuid.UUID  # a closed session of ``student``
    open_session: uuid.UUID  # a session still open (no end)
    student_chat: uuid.UUID  # a student's conversation (read-only to the creator)
    own_chat: uuid.UUID  # the creator's own conversation
    question: uuid.UUID  # a user message of ``own_chat``
    answer: uuid.UUID  # an assistant message of ``own_chat``
    report: uuid.UUID
    storage_path: str  # ``video``'s file
    video_title: str
    teammate: uuid.UUID | None = None
    gap_key: str | None = None  # a content-gap suggestion this workspace decided on (dismissed)
    pending_video: uuid.UUID | None = None  # queued for import (B only: nothing processes it)
    pending_youtube_id: str | None = None


@dataclass
class Ctx:
    """What a case's call gets: the caller's transaction (None for Database-level functions),
    the caller's own ids (None for an empty workspace) and B's ids."""

    t: Workspace | None
    creator: uuid.UUID
    me: Ids | None
    b: Ids
    db: Database
    embedder: Any
    settings: Any
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def filters(self, **kwargs: Any):
        from chronos_data.viewing.dashboards import Filters

        return Filters(self.today - timedelta(days=400), self.today, **kwargs)


#: What "cannot reach B" means for a call:
#:   refused  it raises one of ``raises`` (NotFound, ValidationError, a constraint error ...);
#:   empty    it returns nothing: an empty list, zero counts, None (for any caller);
#:   own      it reads the caller's own workspace: nothing of B (and nothing at all for an empty one);
#:   new      it creates something in the caller's own workspace: its result holds nothing of B;
#:   shared   it returns data shared by every workspace (the embedding models): nothing of B.
KINDS = ("refused", "empty", "own", "new", "shared")


@dataclass(frozen=True)
class Case:
    call: Callable[[Ctx, Callable[..., Any]], Any]
    kind: str
    variant: str
    raises: tuple[type[BaseException], ...] = ()
    #: An extra assertion on the result, for every caller: returns True when it holds.
    check: Callable[[Any, Ctx], bool] | None = None
    #: What "nothing" looks like in an empty workspace, when not the generic emptiness.
    nothing: Callable[[Any, Ctx], bool] | None = None
    needs_own: bool = False  # the call uses the caller's own ids (not run for an empty workspace)
    empty_only: bool = False  # only meaningful in an empty workspace (not run for A)
    #: The part of the result to search for traces of another workspace, when the result repeats
    #: what the call was given (an error list naming the id or title it could not find).
    scan: Callable[[Any], Any] | None = None
    commit: bool = True  # False: run in a transaction that is rolled back (it would spoil A's data)
    database: bool = False  # the function takes the Database and opens its own transactions

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


def refused(variant: str, call, *raises: type[BaseException], **kw: Any) -> Case:
    return Case(call, "refused", variant, raises=raises, **kw)


def empty(variant: str, call, **kw: Any) -> Case:
    return Case(call, "empty", variant, **kw)


def own(variant: str, call, **kw: Any) -> Case:
    return Case(call, "own", variant, **kw)


def new(variant: str, call, **kw: Any) -> Case:
    return Case(call, "new", variant, **kw)


def shared(variant: str, call, **kw: Any) -> Case:
    return Case(call, "shared", variant, **kw)


DB_ERROR = DBAPIError  # a constraint (composite foreign key, row-level security) refused the write
_PLAYER_EVENT = {"kind": "progress", "viewing": "intruder", "position": 5, "watched": 5, "duration": 600,
                 "played": [[0, 5]]}


def _video_form(source_type: str, **fields: Any):
    from chronos_data.ingest.adding import VideoForm

    return VideoForm(source_type, **fields)


def _chosen(name: str, data: bytes) -> io.BytesIO:
    """A file chosen in a form (Streamlit's UploadedFile is a BytesIO with a name and a size)."""
    chosen = io.BytesIO(data)
    chosen.name, chosen.size = name, len(data)  # type: ignore[attr-defined]
    return chosen


def _player_viewing(viewing: str, session: uuid.UUID):
    from chronos_data.viewing.watching import PlayerViewing

    return PlayerViewing(viewing, session)

# ------------------------------------------------------------------------------------------------
# Results: traces of another workspace, and emptiness
# ------------------------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def foreign_traces(value: Any, uuids: set[uuid.UUID], markers: tuple[str, ...]) -> list[str]:
    """Where ``value`` (records, lists, dicts, DataFrames, strings ...) holds one of ``uuids`` or
    contains one of ``markers``."""
    found: list[str] = []
    visiting: set[int] = set()  # the containers on the current path (a cycle stops there)
    lowered = tuple(m.lower() for m in markers)

    def visit(v: Any, path: str) -> None:
        if isinstance(v, uuid.UUID):
            if v in uuids:
                found.append(f"{path}: id {v}")
            return
        if isinstance(v, str):
            text = v.lower()
            found.extend(f"{path}: text with '{m}'" for m in lowered if m in text)
            found.extend(f"{path}: id {u} in text" for u in map(uuid.UUID, _UUID.findall(v)) if u in uuids)
            return
        if v is None or isinstance(v, (bool, int, float, Decimal, date, datetime, timedelta, bytes)):
            return
        if id(v) in visiting:
            return
        visiting.add(id(v))
        try:
            visit_container(v, path)
        finally:
            visiting.discard(id(v))

    def visit_container(v: Any, path: str) -> None:
        if isinstance(v, pd.DataFrame):
            visit(list(v.columns), f"{path}.columns")
            for i, row in enumerate(v.itertuples(index=False)):
                visit(list(row), f"{path}[{i}]")
        elif isinstance(v, pd.Series):
            visit(list(v), path)
        elif isinstance(v, np.ndarray):
            if v.dtype == object:
                visit(list(v), path)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            for f in dataclasses.fields(v):
                visit(getattr(v, f.name), f"{path}.{f.name}")
        elif isinstance(v, dict):
            for k, item in v.items():
                visit(k, f"{path}[key]")
                visit(item, f"{path}[{k!r}]")
        elif isinstance(v, (list, tuple, set, frozenset)):
            for i, item in enumerate(v):
                visit(item, f"{path}[{i}]")
        elif hasattr(v, "_mapping"):  # a SQLAlchemy Row
            visit(dict(v._mapping), path)

    visit(value, "result")
    return found


def is_nothing(value: Any) -> bool:
    """Emptiness as an empty workspace shows it: None, zero, False, empty collections, records
    and DataFrames whose numbers are all zero (labels such as metric names and dates aside)."""
    if value is None or value is False:
        return True
    if isinstance(value, (int, float, Decimal, np.integer, np.floating)):
        return value == 0 or (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value == ""
    if isinstance(value, pd.DataFrame):
        for column in value.columns:
            series = value[column]
            if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
                if not (series.fillna(0) == 0).all():
                    return False
            elif not all(isinstance(x, (str, date, pd.Timestamp)) or is_nothing(x) for x in series):
                return False  # labels (names, days) aside, every cell must be empty
        return True
    if isinstance(value, np.ndarray):
        return bool((value == 0).all())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(is_nothing(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return all(is_nothing(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(is_nothing(v) for v in value)
    return False


# ------------------------------------------------------------------------------------------------
# The cases: how to call each data function under A with B's ids, and what "cannot reach B" means
# ------------------------------------------------------------------------------------------------

_MODEL = "all-MiniLM-L6-v2"
_QUESTION = "How do I undo a commit I already pushed?"


def _vector(c: Ctx) -> Any:
    return c.embedder.embed([_QUESTION])[0]


def _csv(*rows: str) -> bytes:
    return ("type,video,student_email,timestamp\n" + "\n".join(rows) + "\n").encode()


def _captions():
    from chronos_data.ingest.pipeline import CaptionOptions

    return CaptionOptions(("de",), "fr", True)


def _srt(text: str) -> bytes:
    return f"1\n00:00:00,000 --> 00:00:05,000\n{text}\n".encode()


def _assistant(c: Ctx):
    from chronos_data.rag.answer import Assistant

    return Assistant(c.db, c.embedder)


def _scope(**kw: Any):
    from chronos_data.rag.retrieve import Scope

    return Scope(**kw)


def _event(**kw: Any):
    from chronos_data.viewing.event_batch import EventRow

    return EventRow(**kw)


def _b_moment_texts(c: Ctx) -> list[str]:
    """Texts of B's video's moments (read with the owner's rights, as only a test may)."""
    from chronos_data.rag.moment_vectors import moment_texts

    with c.db.workspace(c.b.creator) as t:
        segments = t.conn.execute(sa.text("SELECT transcript_segments FROM videos WHERE id = :v"),
                                  {"v": c.b.video}).scalar_one()
    return moment_texts([(float(a), float(b), str(text)) for a, b, text in segments or []], [])


def _transcript():
    from chronos_data.ingest.segments import Segment, Transcript

    return Transcript([Segment(0.0, 2.0, "intruder transcript")])


def _chunk(index: int):
    from chronos_data.chunks import NewChunk

    return NewChunk(index, "an intruder's chunk", 0, 5, [1.0] + [0.0] * 383)


def _no_progress(frame: pd.DataFrame, _c: Ctx) -> bool:
    return frame.empty or bool((frame["sessions"] == 0).all() and (frame["best_percent"] == 0).all())


def _no_video_kpis(frame: pd.DataFrame, _c: Ctx) -> bool:
    per_video = frame[frame["metric"].isin(["Views", "Unique viewers", "Watch time (hours)", "Completion rate (%)"])]
    return len(per_video) == 4 and bool((per_video["value"] == 0).all() and (per_video["previous"] == 0).all())


def _curve_is_flat(frame: pd.DataFrame, _c: Ctx) -> bool:
    return bool((frame["sessions"] == 0).all() and (frame["watching"] == 0).all() and (frame["rewatching"] == 0).all())


def _is_callers(result: Any, c: Ctx) -> bool:
    return result.id == c.creator


def _lesson_ids(c: Ctx) -> list[uuid.UUID]:
    from chronos_data import courses

    return [lesson.id for lesson in courses.list_lessons(c.t, c.me.module)]


def _queued_none(result: Any, _c: Ctx) -> bool:
    return all(q.video_id is None for q in result)


CASES: dict[str, list[Case]] = {
    # --- analytics -----------------------------------------------------------------------------
    "viewing.analytics.track_event": [
        refused("b_video", lambda c, f: f(c.t, "video_started", c.b.video), DB_ERROR),
        refused("b_student", lambda c, f: f(c.t, "video_started", c.me.video, student_id=c.b.student),
                DB_ERROR, needs_own=True),
        refused("b_course", lambda c, f: f(c.t, "video_started", c.me.video, course_id=c.b.course,
                                             module_id=c.b.module), DB_ERROR, needs_own=True),
    ],
    # --- chat ----------------------------------------------------------------------------------
    "chat.create_session": [
        refused("b_student", lambda c, f: f(c.t, "intruder", student_id=c.b.student), DB_ERROR),
        # Stored in the caller's own row as given (no foreign key on an array): nothing of B is read.
        # Rolled back, like every case that copies B's values into A's rows: A's later reads would
        # rightly return them.
        new("b_context_videos", lambda c, f: f(c.t, "intruder", context_video_ids=[c.b.video]), commit=False),
    ],
    "chat.add_message": [
        refused("b_own_chat", lambda c, f: f(c.t, c.b.own_chat, "user", "intruder"), NotFound),
        refused("b_student_chat", lambda c, f: f(c.t, c.b.student_chat, "assistant", "intruder"), NotFound),
    ],
    "chat.list_sessions": [
        own("all", lambda c, f: f(c.t)),
        own("students", lambda c, f: f(c.t, whose="students")),
        own("trash", lambda c, f: f(c.t, trash=True)),
    ],
    "chat.get_session": [refused("b_chat", lambda c, f: f(c.t, c.b.own_chat), NotFound)],
    "chat.rename_session": [refused("b_chat", lambda c, f: f(c.t, c.b.own_chat, "intruder"), NotFound)],
    "chat.delete_session": [refused("b_chat", lambda c, f: f(c.t, c.b.own_chat), NotFound)],
    "chat.restore_session": [refused("b_chat", lambda c, f: f(c.t, c.b.own_chat), NotFound)],
    "chat.set_session_scope": [
        refused("b_chat", lambda c, f: f(c.t, c.b.own_chat, context_video_ids=[c.b.video]), NotFound)],
    "chat.list_messages": [
        empty("b_own_chat", lambda c, f: f(c.t, c.b.own_chat)),
        empty("b_student_chat", lambda c, f: f(c.t, c.b.student_chat)),
    ],
    "chat.set_feedback": [refused("b_answer", lambda c, f: f(c.t, c.b.answer, -1), NotFound)],
    "chat.questions_today": [own("count", lambda c, f: f(c.t))],
    "chat.count_questions": [own("count", lambda c, f: f(c.t), nothing=lambda r, c: r == 0)],
    "chat.check_daily_cap": [own("basic", lambda c, f: f(c.t, "basic"), nothing=lambda r, c: r == 200)],
    "chat.question_log": [own("all", lambda c, f: f(c.t))],
    # --- chunks --------------------------------------------------------------------------------
    "chunks.list_embedding_models": [shared("models", lambda c, f: f(c.t))],
    "chunks.count_by_model": [own("counts", lambda c, f: f(c.t))],
    "chunks.insert_chunks": [
        refused("b_video_taken_index", lambda c, f: f(c.t, c.b.video, [_chunk(0)], embedding_model=_MODEL), DB_ERROR),
        refused("b_video_new_index", lambda c, f: f(c.t, c.b.video, [_chunk(99_999)], embedding_model=_MODEL),
                DB_ERROR),
    ],
    "chunks.list_chunks": [empty("b_video", lambda c, f: f(c.t, c.b.video))],
    # --- courses -------------------------------------------------------------------------------
    "courses.catalog.create_course": [new("own", lambda c, f: f(c.t, "Intruder course"))],
    "courses.catalog.get_course": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "courses.catalog.list_courses": [
        own("live", lambda c, f: f(c.t)),
        own("with_trash", lambda c, f: f(c.t, include_deleted=True)),
        own("trash", lambda c, f: f(c.t, only_deleted=True)),
    ],
    "courses.catalog.update_course": [
        refused("b_course", lambda c, f: f(c.t, c.b.course, title="pwned"), NotFound),
        refused("b_course_no_change", lambda c, f: f(c.t, c.b.course), NotFound),
    ],
    "courses.catalog.move_course": [
        refused("b_course", lambda c, f: f(c.t, c.b.course, 1), NotFound),
        # The caller's own list with B's course put in it: refused as stale or not found, never moved.
        refused("b_course_in_order", lambda c, f: f(c.t, c.b.course, 1, expected_order=[c.b.course]),
                NotFound, StaleEdit),
    ],
    "courses.catalog.duplicate_course": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "courses.catalog.delete_course": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "courses.catalog.restore_course": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "courses.publishing.publish_checklist": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "courses.publishing.publish_course": [
        refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound),
        refused("b_course_anyway", lambda c, f: f(c.t, c.b.course, expected_revision=1, accepted=()), NotFound),
    ],
    "courses.publishing.publish_anyway": [
        refused("b_course", lambda c, f: f(c.t, c.b.course, anyway=False), NotFound),
        refused("b_course_anyway", lambda c, f: f(c.t, c.b.course, anyway=True, expected_revision=1), NotFound),
    ],
    "courses.publishing.unpublish_course": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "courses.modules.create_module": [refused("b_course", lambda c, f: f(c.t, c.b.course, "intruder"), NotFound)],
    "courses.modules.list_modules": [empty("b_course", lambda c, f: f(c.t, c.b.course))],
    "courses.modules.update_module": [refused("b_module", lambda c, f: f(c.t, c.b.module, title="pwned"), NotFound)],
    "courses.modules.move_module": [refused("b_module", lambda c, f: f(c.t, c.b.module, 1), NotFound)],
    "courses.modules.delete_module": [refused("b_module", lambda c, f: f(c.t, c.b.module), NotFound)],
    "courses.lessons.add_lesson": [
        refused("b_module_b_video", lambda c, f: f(c.t, c.b.module, c.b.video), NotFound),
        refused("own_module_b_video", lambda c, f: f(c.t, c.me.module, c.b.video), NotFound, needs_own=True),
        refused("b_module_own_video", lambda c, f: f(c.t, c.b.module, c.me.video), NotFound, needs_own=True),
    ],
    "courses.lessons.add_lessons": [
        refused("b_module", lambda c, f: f(c.t, c.b.module, [c.b.video]), NotFound),
        refused("own_module_b_video", lambda c, f: f(c.t, c.me.module, [c.b.video]), NotFound, needs_own=True),
    ],
    "courses.lessons.list_lessons": [empty("b_module", lambda c, f: f(c.t, c.b.module))],
    "courses.lessons.update_lesson": [refused("b_lesson", lambda c, f: f(c.t, c.b.lesson, title="pwned"), NotFound)],
    "courses.ordering.reorder_lessons": [
        refused("b_module", lambda c, f: f(c.t, c.b.module, [c.b.lesson]), NotFound),
        refused("own_module_with_b_lesson", lambda c, f: f(c.t, c.me.module, [*_lesson_ids(c), c.b.lesson]),
                ValidationError, needs_own=True),
    ],
    "courses.ordering.move_lesson": [refused("b_lesson", lambda c, f: f(c.t, c.b.lesson, 1), NotFound)],
    "courses.ordering.move_lesson_to_module": [
        refused("b_lesson", lambda c, f: f(c.t, c.b.lesson, c.b.module), NotFound),
        refused("b_lesson_to_own_module", lambda c, f: f(c.t, c.b.lesson, c.me.module), NotFound, needs_own=True),
        refused("own_lesson_to_b_module", lambda c, f: f(c.t, c.me.lesson, c.b.module, position=1), NotFound,
                needs_own=True),
    ],
    "courses.lessons.remove_lesson": [refused("b_lesson", lambda c, f: f(c.t, c.b.lesson), NotFound)],
    "courses.lessons.swap_lesson_video": [
        refused("b_videos", lambda c, f: f(c.t, c.b.video, c.b.video), NotFound),
        refused("own_to_b_video", lambda c, f: f(c.t, c.me.video, c.b.video), NotFound, needs_own=True),
    ],
    "courses.ordering.arrange_lessons": [
        refused("b_course", lambda c, f: f(c.t, c.b.course, {c.b.module: [c.b.lesson]}, {}), NotFound),
        refused("own_course_b_module", lambda c, f: f(c.t, c.me.course, {c.b.module: [c.b.lesson]}, {}),
                NotFound, needs_own=True),
    ],
    "courses.outline.course_outline": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    # --- creators ------------------------------------------------------------------------------
    "creators.get_creator": [own("self", lambda c, f: f(c.t), check=_is_callers, nothing=_is_callers)],
    # --- dashboards ----------------------------------------------------------------------------
    "viewing.dashboards.filters.Filters.params": [
        own("self", lambda c, f: f(c.filters(course_id=c.b.course), c.t),
            check=lambda r, c: r["creator"] == c.creator, nothing=lambda r, c: r["creator"] == c.creator,
            scan=lambda r: {k: v for k, v in r.items() if k not in ("course", "videos")})],
    "viewing.dashboards.viewing.kpis": [
        own("all", lambda c, f: f(c.t, c.filters())),
        # Active students and questions are the workspace's own, whatever videos are chosen.
        own("b_course", lambda c, f: f(c.t, c.filters(course_id=c.b.course)), check=_no_video_kpis),
        own("b_videos", lambda c, f: f(c.t, c.filters(video_ids=(c.b.video,))), check=_no_video_kpis),
    ],
    "viewing.dashboards.viewing.views_over_time": [
        own("all", lambda c, f: f(c.t, c.filters(), "week")),
        empty("b_videos", lambda c, f: f(c.t, c.filters(video_ids=(c.b.video,)), "day")),
    ],
    "viewing.dashboards.viewing.retention_curve": [
        empty("b_video", lambda c, f: f(c.t, c.b.video, c.filters()), nothing=lambda r, c: _curve_is_flat(r, c),
              check=_curve_is_flat)],
    "viewing.dashboards.viewing.typical_retention": [empty("b_video", lambda c, f: f(c.t, c.b.video, c.filters()))],
    "viewing.dashboards.viewing.course_funnel": [empty("b_course", lambda c, f: f(c.t, c.b.course, c.filters()))],
    "viewing.dashboards.viewing.engagement_heatmap": [
        own("all", lambda c, f: f(c.t, c.filters())),
        empty("b_course", lambda c, f: f(c.t, c.filters(course_id=c.b.course))),
    ],
    "viewing.dashboards.viewing.top_videos": [
        own("all", lambda c, f: f(c.t, c.filters())),
        empty("b_videos", lambda c, f: f(c.t, c.filters(video_ids=(c.b.video,)))),
    ],
    "viewing.dashboards.viewing.breakdown": [
        own("device", lambda c, f: f(c.t, c.filters(), "device")),
        empty("b_videos", lambda c, f: f(c.t, c.filters(video_ids=(c.b.video,)), "referrer")),
    ],
    "viewing.dashboards.learning.student_progress": [
        empty("b_course_b_student", lambda c, f: f(c.t, c.b.course, c.b.student)),
        own("own_course_b_student", lambda c, f: f(c.t, c.me.course, c.b.student), check=_no_progress,
            needs_own=True),
    ],
    "viewing.dashboards.learning.at_risk_students": [empty("b_course", lambda c, f: f(c.t, c.b.course))],
    "viewing.dashboards.costs.costs": [own("all", lambda c, f: f(c.t, c.filters()))],
    "viewing.dashboards.costs.cost_lines": [own("all", lambda c, f: f(c.t, c.filters()))],
    "viewing.dashboards.viewing.slice_videos": [
        own("heatmap_cell", lambda c, f: f(c.t, c.filters(), weekday=1, hour=12)),
        empty("b_videos_device", lambda c, f: f(c.t, c.filters(video_ids=(c.b.video,)), device="desktop")),
    ],
    # B's student's address finds nobody (or the caller's own student of that address, never B's).
    "viewing.dashboards.learning.find_student": [own("b_student_email", lambda c, f: f(c.t, c.b.student_email),
                                    check=lambda r, c: r != c.b.student, nothing=lambda r, c: r is None)],
    "viewing.dashboards.viewing.data_as_of": [own("latest", lambda c, f: f(c.t))],
    "viewing.dashboards.viewing.first_activity_day": [own("first", lambda c, f: f(c.t))],
    "viewing.dashboards.learning.lesson_stats": [empty("b_course", lambda c, f: f(c.t, c.b.course))],
    # --- event_batch, event_import -------------------------------------------------------------
    "viewing.event_batch.append_events": [
        refused("b_video", lambda c, f: f(c.t, [_event(event_type="video_started", video_id=c.b.video)]),
                ValidationError),
        refused("b_student", lambda c, f: f(c.t, [_event(event_type="video_started", video_id=c.me.video,
                                                         student_id=c.b.student)]), ValidationError, needs_own=True),
        refused("b_course", lambda c, f: f(c.t, [_event(event_type="video_started", video_id=c.me.video,
                                                        course_id=c.b.course)]), ValidationError, needs_own=True),
        refused("b_module", lambda c, f: f(c.t, [_event(event_type="video_started", video_id=c.me.video,
                                                        module_id=c.b.module)]), ValidationError, needs_own=True),
    ],
    "viewing.event_import.import_events": [
        own("b_video_by_id_and_title", lambda c, f: f(c.t, _csv(
            f"video_started,{c.b.video},someone@example.com,2026-01-05T10:00:00Z",
            f"video_started,{c.b.video_title},someone@example.com,2026-01-05T10:00:00Z"), "history.csv"),
            check=lambda r, c: r.kept == 0 and r.rejected_count == 2, nothing=lambda r, c: r.kept == 0,
            scan=lambda r: (r.kept, r.duplicates, r.students_added))],
    # --- ingest --------------------------------------------------------------------------------
    "ingest.imports.queue_imports": [
        own("b_storage_path", lambda c, f: f(c.t, c.settings, [_import_request(c.b.storage_path)]),
            check=_queued_none, nothing=_queued_none)],
    "ingest.queueing.add_youtube_video": [
        # The same public YouTube video as B's queued one: a video of the caller's own, never B's row
        # (a DuplicateVideo naming B's video would give B's id away).
        new("b_youtube_id", lambda c, f: f(c.t, f"https://youtu.be/{c.b.pending_youtube_id}"),
            check=lambda r, c: r != c.b.pending_video)],
    "ingest.queueing.add_subtitled_video": [
        new("loom", lambda c, f: f(c.t, source_type="loom", source="https://www.loom.com/share/" + "ab" * 16,
                                   subtitle_bytes=_srt("hello"), subtitle_filename="x.srt", title="Intruder loom"))],
    "ingest.queueing.add_upload_to_transcribe": [
        new("own_path", lambda c, f: f(c.t, storage_path=f"uploads/{c.creator}/0/own.mp4", title="Intruder upload",
                                       file_size_bytes=10))],
    # The Videos page's Add: an upload is kept in the caller's own uploads folder, a link queued as the caller's.
    "ingest.adding.add_video": [
        new("upload", lambda c, f: f(c.db, c.creator, c.settings, _video_form(
            "upload", title="Intruder upload", media=_chosen("own.mp4", b"\x00" * 64), subtitle=_chosen("x.srt", _srt("hello")))),
            database=True),
        new("loom", lambda c, f: f(c.db, c.creator, c.settings, _video_form(
            "loom", title="Intruder loom", link="https://www.loom.com/share/" + uuid.uuid4().hex,
            subtitle=_chosen("x.srt", _srt("hello")))), database=True),
    ],
    "ingest.queueing.retry_video": [
        refused("b_video", lambda c, f: f(c.t, c.b.video), NotFound),
        refused("b_queued_video", lambda c, f: f(c.t, c.b.pending_video, refetch=True), NotFound),
        refused("b_queued_video_captions", lambda c, f: f(c.t, c.b.pending_video, captions=_captions()), NotFound),
    ],
    "ingest.queueing.attach_subtitles": [
        refused("b_video", lambda c, f: f(c.t, c.b.video, subtitle_bytes=_srt("hello"), subtitle_filename="x.srt"),
                NotFound),
        refused("b_queued_video", lambda c, f: f(c.t, c.b.pending_video, subtitle_bytes=_srt("hello"),
                                                 subtitle_filename="x.srt"), NotFound),
    ],
    "ingest.queueing.caption_options": [refused("b_queued_video", lambda c, f: f(c.t, c.b.pending_video), NotFound)],
    # B's queued video keeps its claim (nothing happens to another workspace's row).
    "ingest.lease.release_claim": [empty("b_queued_video", lambda c, f: f(c.t, c.b.pending_video))],
    "ingest.lease.release": [
        own("b_queued_video", lambda c, f: f(c.db, c.creator, c.b.pending_video), database=True)],
    # An UPDATE filtered by the caller's workspace: B's video keeps its transcript.
    "ingest.transcripts.store_transcript": [
        own("b_video", lambda c, f: f(c.t, c.b.video, _transcript()))],
    "ingest.queueing.requeue_for_embedding": [own("all", lambda c, f: f(c.t), commit=False)],
    "ingest.pipeline.process_video": [
        own("b_queued_video", lambda c, f: f(c.db, c.creator, c.b.pending_video, c.embedder), database=True,
            check=lambda r, c: r == "failed", nothing=lambda r, c: r == "failed"),
        own("b_completed_video", lambda c, f: f(c.db, c.creator, c.b.video, c.embedder), database=True,
            check=lambda r, c: r == "failed", nothing=lambda r, c: r == "failed"),
    ],
    "ingest.pipeline.embed_moments": [
        refused("b_completed_video", lambda c, f: f(c.db, c.creator, c.b.video, c.embedder), NotFound,
                database=True)],
    "ingest.worker.claim_next": [
        own("own_queue", lambda c, f: f(c.db, creator_id=c.creator), database=True,
            check=lambda r, c: r is None or r[0] == c.creator)],
    "ingest.worker.run_until_done": [
        own("b_queued_video", lambda c, f: f(c.db, c.creator, c.embedder, [c.b.pending_video], timeout=1.0),
            database=True)],
    # --- students, lesson moves, outlines ------------------------------------------------------
    "viewing.student_sets.bitmap_bits": [own("bits", lambda c, f: f(c.t), nothing=lambda r, c: r == 8)],
    "viewing.student_sets.roll_days": [own("today", lambda c, f: f(c.t, [c.today]))],
    "courses.moves.save_lesson_move": [
        refused("b_course", lambda c, f: f(c.t, c.b.course, LessonStep(c.b.lesson, 1)), NotFound),
        refused("own_course_b_lesson", lambda c, f: f(c.t, c.me.course, LessonStep(c.b.lesson, 1)), NotFound,
                needs_own=True),
        refused("own_lesson_to_b_module", lambda c, f: f(c.t, c.me.course, LessonToModule(c.me.lesson, c.b.module)),
                NotFound, needs_own=True),
        refused("own_course_b_module_dragged",
                lambda c, f: f(c.t, c.me.course, DraggedLayout({c.b.module: [c.b.lesson]}, {})), NotFound,
                needs_own=True),
    ],
    "outlines.export_outline": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "outlines.outline_markdown": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "outlines.import_outline": [
        new("b_videos", lambda c, f: f(c.t, {
            "format": "chronos.course/1", "title": "Intruder outline",
            "modules": [{"title": "M", "lessons": [
                {"title": "By B's title", "video": {"title": c.b.video_title}},
                {"title": "By B's YouTube id", "video": {"youtube_video_id": c.b.pending_youtube_id}}]},
                {"title": "Legacy", "video_ids": [str(c.b.video)]}]}),
            check=lambda r, c: r.matched == 0, scan=lambda r: (r.course_id, r.matched))],
    # --- rag -----------------------------------------------------------------------------------
    "rag.retrieve.scope_video_ids": [
        refused("b_course", lambda c, f: f(c.t, _scope(course_id=c.b.course)), NotFound),
        # Chosen videos pass through as given; the search filters them by creator.
        own("b_videos", lambda c, f: f(c.t, _scope(video_ids=(c.b.video,))), scan=lambda r: None,
            check=lambda r, c: r == [c.b.video], nothing=lambda r, c: r == [c.b.video]),
        empty("own_course_b_videos", lambda c, f: f(c.t, _scope(course_id=c.me.course, video_ids=(c.b.video,))),
              needs_own=True),
    ],
    "rag.retrieve.relevance_floor": [shared("model", lambda c, f: f(c.t, _MODEL))],
    # B's own word is counted in none of the caller's passages (the result names the word: not scanned).
    "rag.retrieve.document_frequencies": [
        own("b_marker", lambda c, f: f(c.t, [c.b.marker], _MODEL), scan=lambda r: None,
            check=lambda r, c: r[0][c.b.marker] == 0)],
    "rag.retrieve.retrieve": [
        own("all", lambda c, f: f(c.t, _QUESTION, c.embedder)),
        empty("b_videos", lambda c, f: f(c.t, _QUESTION, c.embedder, scope=_scope(video_ids=(c.b.video,)))),
        refused("b_course", lambda c, f: f(c.t, _QUESTION, c.embedder, scope=_scope(course_id=c.b.course)), NotFound),
        own("b_marker", lambda c, f: f(c.t, c.b.marker, c.embedder)),
    ],
    # B's video's pieces are not read, and none can be stored under it (its composite key refuses).
    "rag.moment_vectors.read_moment_vectors": [
        empty("b_video", lambda c, f: f(c.t, [c.b.video], _b_moment_texts(c), _MODEL))],
    "rag.moment_vectors.store_moment_vectors": [
        refused("b_video", lambda c, f: f(c.t, c.b.video, {"an intruder's sentence": [1.0] + [0.0] * 383}, _MODEL),
                DB_ERROR),
        # "replace" deletes only the caller's rows: B's are unchanged (checked after every call).
        own("b_video_replace", lambda c, f: f(c.t, c.b.video, {}, _MODEL, replace=True),
            nothing=lambda r, c: r == 0, check=lambda r, c: r == 0)],
    "rag.search.hybrid_search": [
        own("all", lambda c, f: f(c.t, _QUESTION, _vector(c), embedding_model=_MODEL, dimensions=384, limit=50)),
        empty("b_videos", lambda c, f: f(c.t, _QUESTION, _vector(c), embedding_model=_MODEL, dimensions=384,
                                         video_ids=[c.b.video])),
        empty("b_marker_keyword", lambda c, f: f(c.t, c.b.marker, _vector(c), embedding_model=_MODEL, dimensions=384,
                                                 mode="keyword")),
    ],
    "rag.answer.Assistant.start": [
        refused("b_chat", lambda c, f: f(_assistant(c), c.creator, _QUESTION, session_id=c.b.own_chat), NotFound,
                database=True),
        refused("b_student_chat", lambda c, f: f(_assistant(c), c.creator, _QUESTION, session_id=c.b.student_chat),
                NotFound, database=True),
        refused("b_course", lambda c, f: f(_assistant(c), c.creator, _QUESTION, scope=_scope(course_id=c.b.course)),
                NotFound, database=True),
    ],
    "rag.answer.Assistant.ask": [
        new("all", lambda c, f: f(_assistant(c), c.creator, _QUESTION), database=True),
        # Another workspace's videos are refused before anything is stored (not searched and not found).
        refused("b_videos", lambda c, f: f(_assistant(c), c.creator, _QUESTION, scope=_scope(video_ids=(c.b.video,))),
                NotFound, database=True),
        new("b_marker", lambda c, f: f(_assistant(c), c.creator, f"What is {c.b.marker}?"), database=True,
            scan=lambda r: (r.text, r.citations, r.found, r.session_id)),
    ],
    # --- rollups -------------------------------------------------------------------------------
    "viewing.rollups.pending_days": [own("all", lambda c, f: f(c.t), nothing=lambda r, c: r == [c.today])],
    "viewing.rollups.mark_days_stale": [own("today", lambda c, f: f(c.t, [c.today]))],
    "viewing.rollups.rollup": [
        own("pending", lambda c, f: f(c.t),
            nothing=lambda r, c: r.video_rows == 0 and r.usage_rows == 0 and r.days == [c.today])],
    # --- students ------------------------------------------------------------------------------
    "students.create_student": [
        new("b_student_email", lambda c, f: f(c.t, c.b.student_email), check=lambda r, c: r != c.b.student,
            commit=False)],
    "students.list_students": [own("all", lambda c, f: f(c.t))],
    "students.ensure_student": [
        new("b_student_email", lambda c, f: f(c.t, c.b.student_email), check=lambda r, c: r != c.b.student,
            commit=False)],
    # --- whop ----------------------------------------------------------------------------------
    # Both workspaces hold a connection whose key is not readable under the test's secret: no call
    # reaches Whop, and B's company never appears in A's results.
    "whop.connection.connect": [refused("blank_key", lambda c, f: f(c.t, "", "biz_intruder"), ValidationError)],
    "whop.connection.status": [own("status", lambda c, f: f(c.t))],
    "whop.connection.disconnect": [own("own", lambda c, f: f(c.t), commit=False)],
    "whop.sync.sync": [refused("own", lambda c, f: f(c.t, settings=c.settings), ValidationError)],
    "whop.sync.list_lessons": [own("all", lambda c, f: f(c.t))],
    "whop.churn.member_viewers": [own("all", lambda c, f: f(c.t))],
    "whop.churn.churned_members": [own("all", lambda c, f: f(c.t))],
    "whop.churn.churn_by_lesson": [own("all", lambda c, f: f(c.t))],
    "whop.mapping.set_lesson_video": [
        refused("b_video", lambda c, f: f(c.t, "lesn_intruder", c.b.video), NotFound)],
    # Each workspace's one lesson is matched: nothing to import, and nothing of B's is read.
    "whop.mapping.import_unmatched_lessons": [own("own", lambda c, f: f(c.t))],
    # Neither workspace has a webhook secret: every delivery is refused before anything is read.
    "whop.webhooks.receive_delivery": [
        refused("unsigned", lambda c, f: f(c.t, b"{}", {}, settings=c.settings), WebhookRejected)],
    "whop.webhooks.set_webhook_secret": [
        refused("blank", lambda c, f: f(c.t, "", settings=c.settings), ValidationError)],
    # --- usage ---------------------------------------------------------------------------------
    "viewing.usage.add_usage": [own("today", lambda c, f: f(c.t, videos_uploaded=1))],
    # --- videos --------------------------------------------------------------------------------
    "videos.create_video": [
        new("b_youtube_id", lambda c, f: f(c.t, title="Intruder", source_type="youtube",
                                           source_id=c.b.pending_youtube_id),
            check=lambda r, c: r != c.b.pending_video)],
    "videos.get_video": [refused("b_video", lambda c, f: f(c.t, c.b.video), NotFound)],
    "videos.list_videos": [
        own("with_trash", lambda c, f: f(c.t, include_deleted=True)),
        empty("b_marker", lambda c, f: f(c.t, include_deleted=True, query=c.b.marker)),
        empty("b_title", lambda c, f: f(c.t, query=c.b.video_title)),
    ],
    "videos.video_details": [refused("b_video", lambda c, f: f(c.t, c.b.video), NotFound)],
    "videos.set_status": [refused("b_video", lambda c, f: f(c.t, c.b.video, "failed", "pwned"), NotFound)],
    "videos.soft_delete_video": [refused("b_video", lambda c, f: f(c.t, c.b.video), NotFound)],
    "videos.restore_video": [
        refused("b_video", lambda c, f: f(c.t, c.b.video), NotFound),
        refused("b_video_replacing", lambda c, f: f(c.t, c.b.video, replace_live_copy=True), NotFound),
    ],
    "videos.delete_trashed_copy": [refused("b_video", lambda c, f: f(c.t, c.b.video), NotFound)],
    # --- watching ------------------------------------------------------------------------------
    "viewing.watching.start_viewing": [
        refused("b_video", lambda c, f: f(c.t, c.b.video, c.b.student), NotFound),
        refused("b_student", lambda c, f: f(c.t, c.me.video, c.b.student), NotFound, needs_own=True),
        refused("b_course", lambda c, f: f(c.t, c.me.video, c.me.student, course_id=c.b.course, module_id=c.b.module),
                NotFound, needs_own=True),
    ],
    "viewing.watching.report_progress": [
        refused("b_session", lambda c, f: f(c.t, c.b.watch_session, position_seconds=600, watched_seconds=600),
                NotFound)],
    "viewing.watching.report_rewind": [
        refused("b_session", lambda c, f: f(c.t, c.b.watch_session, from_seconds=20, to_seconds=10), NotFound)],
    "viewing.watching.end_viewing": [refused("b_session", lambda c, f: f(c.t, c.b.open_session), NotFound)],
    "viewing.watching.record_player_event": [
        refused("b_video", lambda c, f: f(c.t, _PLAYER_EVENT, None, video_id=c.b.video, student_id=c.b.student),
                NotFound),
        # B's session in the page state: left open, and the event opens a session of the caller's own.
        new("b_session", lambda c, f: f(c.t, _PLAYER_EVENT, _player_viewing("before", c.b.open_session),
                                        video_id=c.me.video, student_id=c.me.student), needs_own=True,
            check=lambda r, c: r.session_id != c.b.open_session),
    ],
    "viewing.watching.session_summary": [refused("b_session", lambda c, f: f(c.t, c.b.watch_session), NotFound)],
    "viewing.watching.video_progress": [empty("b_student", lambda c, f: f(c.t, c.b.student, c.b.video))],
    # --- workspace -----------------------------------------------------------------------------
    "workspace.row_counts": [own("all", lambda c, f: f(c.t)), own("live", lambda c, f: f(c.t, live=True))],
    "workspace.has_rows": [own("videos", lambda c, f: f(c.t, "videos"))],
    "workspace.has_viewing": [own("viewing", lambda c, f: f(c.t))],
    "workspace.has_questions": [own("questions", lambda c, f: f(c.t))],
    "workspace.has_transcripts": [own("transcripts", lambda c, f: f(c.t))],
    # --- page_data: what each page reads on load ----------------------------------------------
    "page_data.analytics_page": [own("all", lambda c, f: f(c.t), nothing=lambda r, c: (
        not r.viewing and not r.courses and not r.videos and r.as_of is None))],
    "page_data.kpis": [own("all", lambda c, f: f(c.t, c.filters()))],
    "page_data.overview_page": [own("all", lambda c, f: f(c.t), nothing=lambda r, c: (
        r.videos == r.courses == r.students == r.conversations == 0 and not r.viewing and r.as_of is None))],
    "page_data.insights_page": [own("all", lambda c, f: f(c.t), nothing=lambda r, c: not r.courses
                                    and not r.has_signal)],
    "page_data.assistant_page": [own("all", lambda c, f: f(c.t))],
    # Another workspace's course or video, asked for by id (a stale tab, an edited URL), is never shown.
    "page_data.courses_page": [
        own("all", lambda c, f: f(c.t, None), nothing=lambda r, c: not r.courses and r.outline is None),
        own("b_course", lambda c, f: f(c.t, c.b.course), nothing=lambda r, c: not r.courses and r.outline is None,
            check=lambda r, c: r.outline is None or r.outline.course.id != c.b.course),
        own("trash", lambda c, f: f(c.t, None, show_trash=True), nothing=lambda r, c: not r.courses and not r.trash),
    ],
    "page_data.videos_page": [
        own("b_video", lambda c, f: f(c.t, c.b.video), nothing=lambda r, c: not r.has_videos and r.details is None,
            check=lambda r, c: r.details is None),
        own("b_link", lambda c, f: f(c.t, None, str(c.b.video)),
            nothing=lambda r, c: not r.has_videos and r.details is None, check=lambda r, c: r.linked is None),
    ],
    "page_data.question_log": [own("all", lambda c, f: f(c.t))],
    # --- backup --------------------------------------------------------------------------------
    "backup.export.export_workspace": [
        own("file", lambda c, f: _export(c, f), nothing=lambda r, c: r[0].total_rows == 0)],
    "backup.restore.ensure_empty": [
        refused("own_data", lambda c, f: f(c.t), ValidationError, needs_own=True),
        empty("others_data", lambda c, f: f(c.t), empty_only=True),
    ],
    "backup.restore.restore_workspace": [
        # A file naming B's student (not in the file, so not given a fresh id) is refused whole.
        refused("b_student_in_file", lambda c, f: f(c.t, _backup(c, {"chat_sessions": [
            {"id": str(uuid.uuid4()), "student_id": str(c.b.student), "title": "intruder"}]})),
            ValidationError),
        # B's own ids in the file are only names: every row gets a fresh id in the caller's workspace.
        new("b_ids_in_file", lambda c, f: f(c.t, _backup(c, {
            "videos": [{"id": str(c.b.video), "title": "Copied", "source_type": "loom", "embed_id": "x" * 32,
                        "status": "completed"}],
            "video_chunks": [{"id": str(c.b.chunk), "video_id": str(c.b.video), "chunk_index": 0,
                              "chunk_text": "copied"}]})),
            empty_only=True, check=lambda r, c: r.total_rows == 2),
    ],
    # The restore a user asks for (Settings page, CLI): the same refusals, then a rollup of its own days.
    "backup.restore.restore_backup": [
        refused("own_data", lambda c, f: f(c.db, c.creator, _backup(c, {})), ValidationError, needs_own=True,
                database=True),
        refused("b_student_in_file", lambda c, f: f(c.db, c.creator, _backup(c, {"chat_sessions": [
            {"id": str(uuid.uuid4()), "student_id": str(c.b.student), "title": "intruder"}]})),
            ValidationError, database=True),
        new("b_ids_in_file", lambda c, f: f(c.db, c.creator, _backup(c, {
            "videos": [{"id": str(c.b.video), "title": "Copied", "source_type": "loom", "embed_id": "x" * 32,
                        "status": "completed"}]})),
            empty_only=True, database=True, check=lambda r, c: r.total_rows == 1 and r.creator_id == c.creator),
    ],
    # --- insights: the content-gap inbox ---------------------------------------------------------
    "insights.gaps.content_gaps": [
        own("all", lambda c, f: f(c.t, c.embedder, include_decided=True)),
        refused("b_course", lambda c, f: f(c.t, c.embedder, c.b.course), NotFound),
    ],
    # B's key is only a name: the decision is the caller's own (rolled back, as it copies B's value).
    "insights.gaps.mark_gap": [new("b_key", lambda c, f: f(c.t, c.b.gap_key, "done"), commit=False)],
    "insights.gaps.reopen_gap": [refused("b_key", lambda c, f: f(c.t, c.b.gap_key), NotFound)],
    # What the inbox reads: the caller's own questions, chunks, lessons and decisions only.
    "insights.gap_data.asked_questions": [own("all", lambda c, f: f(c.t))],
    "insights.gap_data.checked_model": [shared("model", lambda c, f: f(c.t, c.embedder))],
    "insights.gap_data.nearest_chunks": [
        own("all", lambda c, f: f(c.t, np.asarray([_vector(c)], dtype=np.float64), c.embedder.model,
                                  c.embedder.dimensions, k=3))],
    # B's words are not "known" to A: the flags say whether A's own transcripts hold them.
    "insights.gap_data.content_words": [
        own("b_marker", lambda c, f: f(c.t, [c.b.marker]), scan=lambda r: None,  # it repeats the word given
            check=lambda r, c: not any(known for words in r.values() for _, _, known in words),
            nothing=lambda r, c: not any(known for words in r.values() for _, _, known in words))],
    "insights.gap_data.live_course": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "insights.gap_data.video_lessons": [empty("b_video", lambda c, f: f(c.t, {c.b.video}))],
    "insights.gap_data.gap_decisions": [own("all", lambda c, f: f(c.t))],
    # --- access (teammates) --------------------------------------------------------------------
    # --- insights ------------------------------------------------------------------------------
    "insights.all_insights": [own("all", lambda c, f: f(c.t, c.embedder)),
                              refused("b_course", lambda c, f: f(c.t, c.embedder, course_id=c.b.course), NotFound)],
    "insights.gaps.gap_tally": [own("all", lambda c, f: f(c.t, c.embedder))],
    "insights.version.data_version": [own("all", lambda c, f: f(c.t), nothing=lambda r, c: isinstance(r, str))],
    "insights.timeline.confusion_map": [empty("b_video", lambda c, f: f(c.t, c.b.video, c.filters()))],
    "insights.timeline.retention_moments": [
        empty("b_video", lambda c, f: f(c.t, c.b.video)),
        empty("b_course", lambda c, f: f(c.t, c.me.video, course_id=c.b.course), needs_own=True)],
    "insights.timeline.confusion_insights": [own("all", lambda c, f: f(c.t)),
                                             empty("b_course", lambda c, f: f(c.t, c.b.course))],
    "insights.timeline.dropoff_insights": [own("all", lambda c, f: f(c.t)),
                                           empty("b_course", lambda c, f: f(c.t, c.b.course))],
    # What the timeline insights read: B's videos and courses are not found (own curves carry no B viewing).
    "insights.timeline_data.load_curves": [own("all", lambda c, f: f(c.t, None, None)),
                                           own("b_course", lambda c, f: f(c.t, None, None, c.b.course))],
    "insights.timeline_data.cited_questions": [empty("b_video", lambda c, f: f(c.t, [c.b.video], None, None))],
    "insights.timeline_data.load_transcripts": [empty("b_video", lambda c, f: f(c.t, [c.b.video]))],
    "insights.timeline_data.course_places": [own("all", lambda c, f: f(c.t, None)),
                                             empty("b_course", lambda c, f: f(c.t, c.b.course))],
    "insights.concepts.concept_order": [refused("b_course", lambda c, f: f(c.t, c.b.course), NotFound)],
    "insights.concepts.check_order": [
        refused("b_course", lambda c, f: f(c.t, c.b.course, [c.b.lesson]), NotFound),
        refused("own_course_with_b_lesson", lambda c, f: f(c.t, c.me.course, [c.b.lesson]), ValidationError,
                needs_own=True)],
    "insights.splits.course_splits": [own("all", lambda c, f: f(c.t)), empty("b_video", lambda c, f: f(c.t, c.b.video))],
    "insights.splits.video_by_course": [empty("b_video", lambda c, f: f(c.t, c.b.video, c.filters()))],
    "insights.splits.multi_course_videos": [own("all", lambda c, f: f(c.t)),
                                            empty("b_video", lambda c, f: f(c.t, c.b.video))],
    "viewing.event_import.video_lookup": [own("all", lambda c, f: f(c.t))],
    # --- collector write keys ---------------------------------------------------------------------
    # B's key names (the name of its key, and a name only B uses) are only names in A's workspace.
    "collector.keys.create_key": [new("b_name", lambda c, f: f(c.t, f"Site {c.b.marker}"), commit=False,
                                      scan=lambda r: r.write_key.id)],
    "collector.keys.list_keys": [own("all", lambda c, f: f(c.t, include_revoked=True))],
    "collector.keys.revoke_key": [empty("b_name", lambda c, f: f(c.t, f"Site {c.b.marker}"))],
    "access.list_teammates": [own("all", lambda c, f: f(c.t, include_removed=True))],
    "access.add_teammate": [new("b_owner_email", lambda c, f: f(c.t, c.b.email))],
    "access.remove_teammate": [refused("b_teammate", lambda c, f: f(c.t, c.b.teammate), NotFound)],
    "access.restore_teammate": [refused("b_teammate", lambda c, f: f(c.t, c.b.teammate), NotFound)],
}


def _export(c: Ctx, f) -> tuple[Any, str]:
    out = io.BytesIO()
    summary = f(c.t, out)
    return summary, gzip.decompress(out.getvalue()).decode()


def _backup(c: Ctx, tables: dict[str, list[dict[str, Any]]]) -> bytes:
    """A hand-made backup file (chronos_data.backup's format) holding ``tables``' rows."""
    header = {"format": "chronos.workspace-backup", "version": 1, "schema_version": "001_extensions.sql",
              "creator": {"id": str(c.b.creator), "email": "intruder@example.com", "name": None, "settings": {}},
              "tables": [{"name": name, "columns": sorted({k for row in rows for k in row})}
                         for name, rows in tables.items()]}
    lines = [json.dumps(header)]
    lines += [json.dumps({"table": name, "row": row}) for name, rows in tables.items() for row in rows]
    lines.append(json.dumps({"end": True, "rows": {name: len(rows) for name, rows in tables.items()}}))
    return gzip.compress(("\n".join(lines) + "\n").encode())


def _import_request(source: str):
    from chronos_data.ingest.imports import ImportRequest

    return ImportRequest(source=source)


#: Functions that take a creator id but are the trusted entry points that name one, or that serve
#: every workspace by design; each with the reason.
_PLATFORM = ("reads no table: the creator id only names whose uploads folder a path must be in "
             "(uploads.check_storage_path; another workspace's file: tests/unit/test_video_sources.py)")
EXEMPT: dict[str, str] = {
    **{f"ingest.sources.{name}": _PLATFORM for name in (
        "registry.VideoSource.fetch_transcript", "registry.VideoSource.parse_source", "upload.Upload.fetch_transcript",
        "upload.Upload.parse_source", "youtube.YouTube.fetch_transcript")},
    "db.Database.workspace": "the entry point that names the transaction's creator (what every case runs in)",
    "db.lock_wait_limit": "reads no table: it sets the transaction's lock_timeout and turns a lock wait that ran "
                          "out into the caller's busy error (both callers' 503: tests/collector/test_service.py, "
                          "tests/collector/test_whop_route.py)",
    "collector.writer.Writer.submit": "an entry point that names the transaction's creator, as db.Database.workspace: "
                                      "the collector takes it from write_key_owner for the request's key (a key "
                                      "of another workspace writes nothing into this one: "
                                      "tests/collector/test_service.py)",
    "media_server.MediaServer.path_for": "reads no table: it hands out a token for a storage path only after "
                                         "uploads.check_storage_path accepts it as the creator's own (another "
                                         "workspace's file, forged and expired tokens: tests/unit/test_media_server.py)",
}


def case_params() -> list[tuple[str, Case]]:
    """(function name, case) for every case, in a stable order."""
    return [(name, case) for name in sorted(CASES) for case in CASES[name]]
