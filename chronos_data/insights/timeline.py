"""Moments on a video's timeline: where learners ask, rewind and leave, and what is said there.

Two insights read the same per-moment picture of each video (``confusion_map``):

* **confusion**: a moment that students ask the assistant about, rewind over and leave at;
* **dropoff**: each significant dip (and rewatch spike) of a lesson's retention curve, labelled
  with the transcript passage at that second and a short topic label.

Sources, all scoped to the workspace's creator: the daily rollups' per-percent histograms of how
far sessions got and where they rewound (``video_analytics.metadata`` ``reached`` and
``rewound``, as ``dashboards.retention_curve`` reads them, never raw sessions); the assistant's
answers (each question is placed at the seconds its answer cited, ``chat_messages.
video_references``); the timed transcript (``videos.transcript_segments``, else the
``video_chunks`` at that second); and the course order for "lesson 4".

What counts as a dip: leaving beyond what is expected at that point of the video (a robust
residual). The expected loss at each percent is the video's own usual rate measured elsewhere in
it (per percent, or per learner still watching: whichever is more), raised where its peers (the
creator's other videos of half to double its length, as ``dashboards.typical_retention``
chooses them) all lose more than their own average. Leaving in the first half-minute (the intro
bounce) and after the completion mark (the end) is never a dip, and a dip must be both large (a
share of the learners, and a few of them) and unlikely to be chance (the exact Poisson tail of
what left there given what was expected, with a false-alarm budget shared by all of the video's
buckets), so a clean video yields nothing. Rewatch spikes are measured the same way against the video's usual
rewinding.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.stats import poisson

from ..db import Tenant
from ..timecode import format_seconds
from ..watching import COMPLETION_PERCENT
from .keyphrases import key_phrases
from .labels import model_label
from .model import Insight, Kind

if TYPE_CHECKING:
    from ..dashboards import Filters
    from ..rag.llm import ChatModel

__all__ = ["MAP_COLUMNS", "confusion_insights", "confusion_map", "dropoff_insights", "retention_moments"]


#: A bucket is at least this long: a question's cited second and a learner's stop rarely fall
#: in the same finer slot, and the rollups only know whole percents.
BUCKET_MIN_SECONDS = 10
#: At most this many buckets per video (2 % each): a curve that reads at a glance.
MAX_BUCKETS = 50
#: Leaving in the first half-minute is sampling the video (the dashboard's retention at 30 s), not
#: a reaction to what is said; capped so a short video keeps most of its curve.
INTRO_SECONDS = 30
INTRO_MAX_PERCENT = 25
#: Leaving after the completion mark is finishing (credits, outro), not dropping out.
END_PERCENT = COMPLETION_PERCENT
#: Fewer sessions than this make a curve of anecdotes: nothing is flagged on it.
MIN_SESSIONS = 10
#: A finding needs at least this many learners beyond the expected (fewer happen by chance on a
#: curve of a few dozen sessions) ...
MIN_EXCESS_SESSIONS = 5
#: ... and this share of the video's learners: lost at a dip, rewinding at a spike.
MIN_DIP_SHARE = 0.03
MIN_SPIKE_SHARE = 0.05
#: A bucket joins a candidate region at this Poisson z-score (a loose first pass) ...
Z_BUCKET = 2.0
#: ... and a region is reported only when chance explains it at most this often per video: the
#: exact Poisson tail of the region, Bonferroni-shared by the video's buckets. A z-score of 3 per
#: region flagged the demo's clean lecture in 9 of 60 draws (small counts have heavy tails and a
#: video has dozens of buckets); this flags it in 2 of 600, and every hard passage is still found
#: (as a dip, or as a rewatch spike where too few learners leave there to tell).
FALSE_ALARMS_PER_VIDEO = 0.005
#: A bucket's own typical rate is the video's mean over its other buckets, leaving out this many
#: on each side: a dip (spread over a few buckets) must not raise the bar it is measured by.
LEAVE_OUT_BUCKETS = 3
#: Peers needed before their median rate counts (one or two videos are not "typical").
MIN_PEERS = 3
#: A confusing moment is asked about by at least this many questions.
MIN_QUESTIONS = 2
#: Scores are multiplied by n / (n + this): a moment seen by 10 learners weighs less than one seen by 300.
CONFIDENCE_SESSIONS = 20
#: Findings kept per video and kind, most urgent first.
MAX_PER_VIDEO = 3
#: A rewatch spike and a dip this close are one moment (learners rewind, then give up a little later).
COINCIDE_SECONDS = 30
#: What is said "at" a second: the caption spoken then and those starting up to this long after it.
PASSAGE_AFTER_SECONDS = 15
PASSAGE_MAX_WORDS = 60
#: Words per document of the rest of the video, against which key phrases are weighed.
_DOCUMENT_WORDS = 40
_EXAMPLE_QUESTIONS = 3
_HISTOGRAM = 101  # the rollups' histograms: one count per percent, 0..100

MAP_COLUMNS = ["bucket", "start_second", "end_second", "percent", "sessions", "watching", "left", "expected_left",
               "left_share", "rewatch", "rewatch_share", "questions", "example_questions", "confusion_score"]

# The label prompt is one sentence; kept here rather than in rag/prompts, which belong to the assistant.
_LABEL_SYSTEM = ("You label moments of a video lecture for its creator. Given a transcript passage, reply with what "
                 "is being explained there, as a short noun phrase of at most eight words, lower case, no full stop, "
                 "nothing else.")


# ------------------------------------------------------------------------------------------------
# Reading: curves, questions, transcripts, course order
# ------------------------------------------------------------------------------------------------


@dataclass
class _Curve:
    """One video's viewing over the period: sessions by furthest percent, rewinds by percent."""

    video_id: uuid.UUID
    title: str
    duration: int
    reached: np.ndarray = field(default_factory=lambda: np.zeros(_HISTOGRAM))
    rewound: np.ndarray = field(default_factory=lambda: np.zeros(_HISTOGRAM))

    @property
    def sessions(self) -> int:
        return int(self.reached.sum())


def _histogram(values: Any) -> np.ndarray:
    array = np.zeros(_HISTOGRAM)
    if isinstance(values, list):
        numbers = [v if isinstance(v, (int, float)) else 0 for v in values[:_HISTOGRAM]]
        array[: len(numbers)] = numbers
    return array


def _load_curves(t: Tenant, start: date | None, end: date | None, course_id: uuid.UUID | None = None
                 ) -> dict[uuid.UUID, _Curve]:
    """Every live video of known length with its histograms summed over the period (the sums are
    taken here: unpacking the jsonb arrays in SQL costs more, see dashboards.typical_retention);
    with ``course_id``, only the viewing done in that course (as the Analytics page's course filter
    counts it, ``viewing_days``)."""
    curves = {row.id: _Curve(row.id, row.title, int(row.duration_seconds)) for row in t.conn.execute(
        sa.text("SELECT id, title, duration_seconds FROM videos "
                "WHERE creator_id = :creator AND NOT is_deleted AND duration_seconds > 0"),
        {"creator": t.creator_id})}
    period = """AND (CAST(:start AS date) IS NULL OR a.date >= CAST(:start AS date))
                AND (CAST(:end AS date) IS NULL OR a.date <= CAST(:end AS date))"""
    query = (f"""SELECT a.video_id, a.shape -> 'reached' AS reached, a.shape -> 'rewound' AS rewound
                 FROM viewing_days a WHERE a.creator_id = :creator AND a.course_id = :course
                   AND a.shape ? 'reached' {period}""" if course_id is not None else
             f"""SELECT a.video_id, a.metadata -> 'reached' AS reached, a.metadata -> 'rewound' AS rewound
                 FROM video_analytics a WHERE a.creator_id = :creator AND a.metadata ? 'reached' {period}""")
    rows = t.conn.execute(sa.text(query), {"creator": t.creator_id, "start": start, "end": end, "course": course_id})
    for row in rows:
        curve = curves.get(row.video_id)
        if curve is not None:
            curve.reached += _histogram(row.reached)
            curve.rewound += _histogram(row.rewound)
    return curves


@dataclass(frozen=True)
class _Question:
    id: uuid.UUID
    text: str
    by_student: bool
    video_id: uuid.UUID
    second: float
    snippet: str | None


def _questions(t: Tenant, video_ids: Sequence[uuid.UUID], start: date | None, end: date | None
               ) -> list[_Question]:
    """Each question (students' and the creator's) at each second its answer cited in these videos.

    The answer is the assistant message that cites; its question is the user message just before
    it in the same conversation. Conversations in the trash are left out.
    """
    if not video_ids:
        return []
    rows = t.conn.execute(sa.text(r"""
        SELECT q.id, q.content, s.student_id IS NOT NULL AS by_student, (r ->> 'video_id')::uuid AS video_id,
               (r ->> 'start_seconds')::float8 AS second, r ->> 'snippet' AS snippet
        FROM chat_messages a
        JOIN chat_sessions s ON s.id = a.session_id AND s.creator_id = a.creator_id AND s.deleted_at IS NULL
        CROSS JOIN LATERAL jsonb_array_elements(
          CASE WHEN jsonb_typeof(a.video_references) = 'array' THEN a.video_references ELSE '[]' END) r
        JOIN LATERAL (
          SELECT m.id, m.content FROM chat_messages m
          WHERE m.creator_id = a.creator_id AND m.session_id = a.session_id AND m.role = 'user'
            AND (m.created_at, m.id) < (a.created_at, a.id)
          ORDER BY m.created_at DESC, m.id DESC LIMIT 1
        ) q ON true
        WHERE a.creator_id = :creator AND a.role = 'assistant'
          AND jsonb_typeof(r) = 'object' AND r ->> 'video_id' = ANY (CAST(:videos AS text[]))
          AND r ->> 'start_seconds' ~ '^\d{1,9}(\.\d+)?$'
          AND (CAST(:start AS date) IS NULL OR a.created_at >= CAST(:start AS timestamp) AT TIME ZONE 'UTC')
          AND (CAST(:end AS date) IS NULL
               OR a.created_at < (CAST(:end AS timestamp) + interval '1 day') AT TIME ZONE 'UTC')
    """), {"creator": t.creator_id, "videos": [str(v) for v in video_ids], "start": start, "end": end})
    return [_Question(row.id, row.content, row.by_student, row.video_id, float(row.second), row.snippet)
            for row in rows]


@dataclass(frozen=True)
class _Transcript:
    segments: list[tuple[float, float, str]]  # the timed captions, when stored
    chunks: list[tuple[int, int, str]]  # (start, end, text) of the search chunks, the fallback


def _transcripts(t: Tenant, video_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, _Transcript]:
    if not video_ids:
        return {}
    ids = list(set(video_ids))
    segments: dict[uuid.UUID, list[tuple[float, float, str]]] = {}
    for row in t.conn.execute(sa.text("SELECT id, transcript_segments FROM videos WHERE creator_id = :creator "
                                      "AND id = ANY (CAST(:ids AS uuid[]))"), {"creator": t.creator_id, "ids": ids}):
        parsed = []
        for item in row.transcript_segments if isinstance(row.transcript_segments, list) else []:
            if isinstance(item, list) and len(item) >= 3:
                try:
                    parsed.append((float(item[0]), float(item[1]), str(item[2])))
                except (TypeError, ValueError):
                    continue
        segments[row.id] = sorted(parsed)
    chunks: dict[uuid.UUID, list[tuple[int, int, str]]] = {}
    missing = [v for v in ids if not segments.get(v)]
    if missing:
        for row in t.conn.execute(sa.text(
                "SELECT video_id, coalesce(start_time_seconds, 0) AS s, coalesce(end_time_seconds, start_time_seconds, 0)"
                " AS e, chunk_text FROM video_chunks WHERE creator_id = :creator AND video_id = ANY (CAST(:ids AS uuid[]))"
                " ORDER BY video_id, chunk_index"), {"creator": t.creator_id, "ids": missing}):
            chunks.setdefault(row.video_id, []).append((int(row.s), int(row.e), row.chunk_text))
    return {v: _Transcript(segments.get(v, []), chunks.get(v, [])) for v in ids}


@dataclass(frozen=True)
class _Place:
    """Where a video sits in a course: its lesson number in course order."""

    course_id: uuid.UUID
    course_title: str
    number: int
    lesson_title: str

    def to_json(self) -> dict[str, Any]:
        return {"course_id": str(self.course_id), "course_title": self.course_title, "lesson_number": self.number,
                "lesson": self.lesson_title}


def _places(t: Tenant, course_id: uuid.UUID | None) -> dict[uuid.UUID, list[_Place]]:
    """Each video's lessons: in ``course_id``, or in every live course (first course first).

    Lessons are numbered through the whole course, modules in order, as the course outline lists them.
    """
    rows = t.conn.execute(sa.text("""
        SELECT c.id AS course_id, c.title AS course_title, l.video_id, coalesce(l.title, v.title) AS lesson_title,
               row_number() OVER (PARTITION BY c.id ORDER BY m.display_order, m.created_at, m.id,
                                                             l.lesson_order, l.created_at, l.id) AS number
        FROM module_lessons l
        JOIN course_modules m ON m.id = l.module_id AND m.creator_id = l.creator_id
        JOIN courses c ON c.id = m.course_id AND c.creator_id = l.creator_id
        JOIN videos v ON v.id = l.video_id AND v.creator_id = l.creator_id
        WHERE l.creator_id = :creator
          AND (CASE WHEN CAST(:course AS uuid) IS NULL THEN NOT c.is_deleted ELSE c.id = CAST(:course AS uuid) END)
        ORDER BY c.display_order, c.created_at, c.id, number
    """), {"creator": t.creator_id, "course": course_id})
    places: dict[uuid.UUID, list[_Place]] = {}
    for row in rows:
        here = places.setdefault(row.video_id, [])
        if not any(p.course_id == row.course_id for p in here):  # a video twice in a course: its first lesson
            here.append(_Place(row.course_id, row.course_title, int(row.number), row.lesson_title))
    return places


# ------------------------------------------------------------------------------------------------
# The per-moment picture of one video
# ------------------------------------------------------------------------------------------------


def _bucket_width(duration: int) -> int:
    """Percents per bucket: at least BUCKET_MIN_SECONDS long, at most MAX_BUCKETS buckets."""
    return max(math.ceil(100 / MAX_BUCKETS), math.ceil(BUCKET_MIN_SECONDS * 100 / duration))


def _bucket(second: float, duration: int) -> int:
    width = _bucket_width(duration)
    percent = min(99, max(0, int(second * 100 // duration)))
    return min(math.ceil(100 / width) - 1, percent // width)


def _most_asked(curves: dict[uuid.UUID, _Curve], questions: Sequence[_Question]) -> int:
    """The most distinct questions cited at one moment (a bucket and its neighbours, as
    ``_confusion_scores`` counts them) of any of these videos; at least 1."""
    near: dict[tuple[uuid.UUID, int], set[uuid.UUID]] = {}
    for q in questions:
        curve = curves.get(q.video_id)
        if curve is None:
            continue
        b = _bucket(q.second, curve.duration)
        for w in (b - 1, b, b + 1):
            near.setdefault((q.video_id, w), set()).add(q.id)
    return max((len(ids) for ids in near.values()), default=1)


def _mean_elsewhere(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per bucket: the weighted mean of ``values`` over the buckets more than LEAVE_OUT_BUCKETS away
    (all of them when none is that far)."""
    count = len(values)
    out = np.zeros(count)
    for b in range(count):
        far = np.abs(np.arange(count) - b) > LEAVE_OUT_BUCKETS
        if not (far & (weights > 0)).any():
            far = np.ones(count, dtype=bool)
        total = weights[far].sum()
        out[b] = values[far].sum() / total if total else 0.0
    return out


def _hazard(reached: np.ndarray) -> np.ndarray:
    """Per percent: the share of the sessions still watching there that stop there."""
    still = np.cumsum(reached[::-1])[::-1]
    return np.divide(reached, still, out=np.zeros(_HISTOGRAM), where=still > 0)


@dataclass(frozen=True)
class _Region:
    kind: str  # "dip" or "spike"
    first: int  # buckets, inclusive
    last: int
    peak: int
    amount: float  # sessions: that left in the region (dip), or rewinding at its peak (spike)
    expected: float
    excess: float  # sessions beyond the expected


@dataclass
class _Timeline:
    """One video's buckets: leaving (observed and expected), rewinding and questions."""

    curve: _Curve
    width: int  # percents per bucket
    starts: np.ndarray  # seconds
    ends: np.ndarray
    percents: np.ndarray  # first percent of each bucket
    watching: np.ndarray  # share of sessions still watching at the bucket's start
    left: np.ndarray  # sessions whose furthest point is in the bucket
    inside_left: np.ndarray  # the same, counting only the bucket's percents past the intro and before the end
    expected: np.ndarray  # sessions expected to stop there (those percents only)
    interior: np.ndarray  # bool: the bucket has percents past the intro and before the end
    rewatch: np.ndarray  # most sessions rewinding over one of the bucket's percents
    rewatch_base: np.ndarray  # the video's usual rewinding elsewhere
    questions: list[list[_Question]]
    dips: list[_Region]
    spikes: list[_Region]

    @property
    def sessions(self) -> int:
        return self.curve.sessions

    @property
    def excess_left(self) -> np.ndarray:
        return np.where(self.interior, np.maximum(self.inside_left - self.expected, 0), 0.0)

    @property
    def excess_rewatch(self) -> np.ndarray:
        return np.maximum(self.rewatch - self.rewatch_base, 0.0)

    def bucket_of(self, second: float) -> int:
        return _bucket(second, self.curve.duration)


def _peer_shape(curve: _Curve, curves: dict[uuid.UUID, _Curve], bucket: np.ndarray, inside: np.ndarray,
                count: int) -> np.ndarray:
    """Per percent: how much more than their own average the creator's other videos of half to
    double this one's length (the peers ``dashboards.typical_retention`` compares with) lose there,
    as the median over them, at least 1; ones with fewer than MIN_PEERS peers.

    Only the shape is taken from peers: a video that keeps its learners better than the others
    overall must still show its own dips. Each peer's rate is pooled over three of this video's
    buckets: per-percent rates of a few hundred sessions are mostly noise.
    """
    peers = [c for c in curves.values()
             if c.video_id != curve.video_id and c.sessions >= MIN_SESSIONS
             and curve.duration / 2 <= c.duration <= curve.duration * 2]
    if len(peers) < MIN_PEERS:
        return np.ones(_HISTOGRAM)
    shapes = []
    for peer in peers:
        still = np.cumsum(peer.reached[::-1])[::-1]
        stopped = np.convolve(np.bincount(bucket[inside], weights=peer.reached[inside], minlength=count),
                              np.ones(3), mode="same")
        watching = np.convolve(np.bincount(bucket[inside], weights=still[inside], minlength=count),
                               np.ones(3), mode="same")
        rate = np.divide(stopped, watching, out=np.zeros(count), where=watching > 0)
        average = stopped.sum() / watching.sum() if watching.sum() else 0.0
        shapes.append(rate / average if average else np.ones(count))
    return np.maximum(np.median(np.vstack(shapes), axis=0), 1.0)[bucket]


def _timeline(curve: _Curve, curves: dict[uuid.UUID, _Curve], questions: Sequence[_Question]) -> _Timeline:
    d, reached = curve.duration, curve.reached
    width = _bucket_width(d)
    count = math.ceil(100 / width)
    bucket = np.minimum(np.arange(_HISTOGRAM), 99) // width  # percent 100 joins the last bucket
    percents = np.arange(count) * width
    starts = percents * d / 100
    ends = np.minimum((percents + width) * d / 100, d)
    n = curve.sessions
    still = np.cumsum(reached[::-1])[::-1]
    intro = min(math.ceil(INTRO_SECONDS * 100 / d), INTRO_MAX_PERCENT)
    inside = (np.arange(_HISTOGRAM) >= intro) & (np.arange(_HISTOGRAM) < END_PERCENT)

    # Expected stopping per percent: the video's own usual stopping elsewhere (per percent, or per
    # learner still watching, whichever is more), raised where its peers all lose more than usual.
    rate = np.bincount(bucket[inside], weights=reached[inside], minlength=count)
    span = np.bincount(bucket[inside], minlength=count).astype(float)
    used = span > 0
    own_rate = _mean_elsewhere(rate, span)[bucket]
    own_hazard = _mean_elsewhere(np.bincount(bucket[inside], weights=_hazard(reached)[inside], minlength=count),
                                 span)[bucket]
    shape = _peer_shape(curve, curves, bucket, inside, count)
    expected_percent = np.maximum(own_rate, own_hazard * still) * shape
    left = np.bincount(bucket, weights=reached, minlength=count)
    expected = np.bincount(bucket[inside], weights=expected_percent[inside], minlength=count)
    interior = used
    watching = still[np.minimum(percents, 100)] / n if n else np.zeros(count)

    rewatch = np.zeros(count)
    np.maximum.at(rewatch, bucket, curve.rewound)
    rewatch_base = _mean_elsewhere(rewatch, np.ones(count))

    placed: list[list[_Question]] = [[] for _ in range(count)]
    timeline = _Timeline(curve, width, starts, ends, percents, watching, left, rate, expected, interior, rewatch,
                         rewatch_base, placed, [], [])
    seen: set[tuple[uuid.UUID, int]] = set()
    for q in questions:
        b = timeline.bucket_of(q.second)
        if (q.id, b) not in seen:  # a question whose answer cites one moment twice counts once there
            seen.add((q.id, b))
            placed[b].append(q)

    if n >= MIN_SESSIONS:
        dip_excess = np.where(interior, rate - expected, 0.0)
        timeline.dips = _dip_regions(dip_excess, expected, rate, interior,
                                     min_excess=max(MIN_EXCESS_SESSIONS, MIN_DIP_SHARE * n))
        timeline.spikes = _spike_regions(rewatch - rewatch_base, rewatch_base, rewatch,
                                         min_excess=max(MIN_EXCESS_SESSIONS, MIN_SPIKE_SHARE * n))
    return timeline


def _runs(candidate: np.ndarray) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    b = 0
    while b < len(candidate):
        if candidate[b]:
            first = b
            while b + 1 < len(candidate) and candidate[b + 1]:
                b += 1
            runs.append((first, b))
        b += 1
    return runs


def _latest_peak(values: np.ndarray, first: int, last: int) -> int:
    part = values[first:last + 1]
    return last - int(np.argmax(part[::-1]))


def _dip_regions(excess: np.ndarray, expected: np.ndarray, left: np.ndarray, allowed: np.ndarray, *,
                 min_excess: float) -> list[_Region]:
    """Runs of buckets losing more learners than expected, unlikely by chance; kept when the run's
    total excess is large enough and its Poisson tail within the false-alarm budget.

    A bucket joins a run when it and its two neighbours together lose more than expected with a z
    of Z_BUCKET: learners leave over a stretch after a hard passage, not all in one bucket. The run
    is then trimmed to the buckets that lost more than expected themselves.
    """
    window = np.convolve(np.where(allowed, excess, 0.0), np.ones(3), mode="same")
    base = np.convolve(np.where(allowed, expected, 0.0), np.ones(3), mode="same")
    candidate = allowed & (window >= Z_BUCKET * np.sqrt(base + 1))
    found = []
    for first, last in _runs(candidate):
        while first <= last and excess[first] <= 0:
            first += 1
        while last >= first and excess[last] <= 0:
            last -= 1
        if first > last:
            continue
        run = slice(first, last + 1)
        total, expect = float(excess[run].sum()), float(expected[run].sum())
        observed = float(left[run].sum())
        if total >= min_excess and _unlikely(observed, expect, tests=int(allowed.sum())):
            found.append(_Region("dip", first, last, _latest_peak(excess, first, last), observed, expect, total))
    return found


def _unlikely(observed: float, expected: float, *, tests: int) -> bool:
    """Whether ``observed`` sessions or more, where ``expected`` were, is rarer by chance than
    the false-alarm budget allows for one of ``tests`` places looked at."""
    return float(poisson.sf(math.ceil(observed) - 1, max(expected, 0.5))) <= FALSE_ALARMS_PER_VIDEO / max(tests, 1)


def _spike_regions(excess: np.ndarray, base: np.ndarray, rewatch: np.ndarray, *, min_excess: float
                   ) -> list[_Region]:
    """Runs of buckets rewound over by more sessions than the video's usual, unlikely by chance.
    A rewound span is the same learners in each of its buckets, so a run is measured at its peak
    (the later one on a tie: a rewatched span ends where learners jumped back from)."""
    found = []
    for first, last in _runs(excess >= Z_BUCKET * np.sqrt(base + 1)):
        peak = _latest_peak(excess, first, last)
        if excess[peak] >= min_excess and _unlikely(rewatch[peak], base[peak], tests=len(rewatch)):
            found.append(_Region("spike", first, last, peak, float(rewatch[peak]), float(base[peak]),
                                 float(excess[peak])))
    return found


def _confusion_scores(tl: _Timeline, most_asked: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Per bucket, with its neighbours (learners rewind before a moment and leave just after it):
    the mean of three shares, each between 0 and 1:

      questions  the questions whose answers cite this moment, as a share of ``most_asked``, the
                 most cited at any moment of the videos compared (a share of the video's own
                 questions made two questions on a rarely asked video outrank twelve on another);
      rewinds    share of its learners who rewind over it beyond the video's usual;
      drop-off   share of its learners who leave here beyond the expected;

    times the share of the three signals that are clearly present (two questions; a rewatch spike
    or a dip as ``dropoff_insights`` finds them), times n / (n + 20) for n sessions. 0..1.
    Returns the scores and, per bucket, the numbers behind them."""
    count, n = len(tl.starts), tl.sessions
    excess_left, excess_rewatch = tl.excess_left, tl.excess_rewatch
    scores = np.zeros(count)
    details: list[dict[str, Any]] = []
    for b in range(count):
        window = range(max(0, b - 1), min(count, b + 2))
        asked = {q.id: q for w in window for q in tl.questions[w]}
        rewinds = max(float(excess_rewatch[w]) for w in window)
        lost = sum(float(excess_left[w]) for w in window)
        q_share = min(1.0, len(asked) / max(most_asked, 1))
        r_share = rewinds / n if n else 0.0
        d_share = lost / n if n else 0.0
        # Rewinds and drop-off count as present where the drop-off insight finds a spike or a dip.
        present = {
            "questions": len(asked) >= MIN_QUESTIONS,
            "rewinds": any(r.first <= w <= r.last for r in tl.spikes for w in window),
            "drop-off": any(r.first <= w <= r.last for r in tl.dips for w in window),
        }
        signals = sum(present.values())
        scores[b] = (q_share + r_share + d_share) / 3 * signals / 3 * n / (n + CONFIDENCE_SESSIONS)
        details.append({"asked": asked, "rewinds": rewinds, "lost": lost, "present": present,
                        "q_share": q_share, "r_share": r_share, "d_share": d_share, "window": window})
    return scores, details


def _frame(tl: _Timeline, most_asked: int) -> pd.DataFrame:
    scores, _ = _confusion_scores(tl, most_asked)
    n = tl.sessions
    return pd.DataFrame({
        "bucket": np.arange(len(tl.starts)),
        "start_second": np.round(tl.starts, 1),
        "end_second": np.round(tl.ends, 1),
        "percent": tl.percents,
        "sessions": n,
        "watching": tl.watching,
        "left": tl.left.astype(int),
        "expected_left": np.where(tl.interior, np.round(tl.expected, 2), np.nan),
        "left_share": tl.left / n if n else np.zeros(len(tl.starts)),
        "rewatch": tl.rewatch.astype(int),
        "rewatch_share": tl.rewatch / n if n else np.zeros(len(tl.starts)),
        "questions": [len(b) for b in tl.questions],
        "example_questions": [_examples(b) for b in tl.questions],
        "confusion_score": np.round(scores, 4),
    }, columns=MAP_COLUMNS)


def _examples(questions: Sequence[_Question]) -> list[str]:
    """Up to three distinct questions, the most asked first (then as first asked)."""
    counts = Counter(" ".join(q.text.split()) for q in questions)
    return [text for text, _ in counts.most_common(_EXAMPLE_QUESTIONS)]


# ------------------------------------------------------------------------------------------------
# What is said there
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Passage:
    text: str
    start: float
    end: float
    others: list[str]  # the rest of the video, in pieces: what key phrases are weighed against
    around: str  # the captions just before and after it: they help name it


def _passage(transcript: _Transcript | None, second: float) -> _Passage | None:
    """The captions at ``second`` (the one spoken then and the next few seconds), else the part of
    the chunk at that second (words placed evenly over its span)."""
    if transcript is None:
        return None
    if transcript.segments:
        segments = transcript.segments
        at = max([i for i, s in enumerate(segments) if s[0] <= second] or [0])
        near = [i for i, (a, b, _) in enumerate(segments)
                if b > second and a <= second + PASSAGE_AFTER_SECONDS] or [at]
        chosen = sorted(set(near) | {at})
        while len(chosen) > 1 and sum(len(segments[i][2].split()) for i in chosen) > PASSAGE_MAX_WORDS:
            chosen.remove(max(chosen, key=lambda i: (abs(segments[i][0] - second), i)))
        around = [i for i in (chosen[0] - 1, chosen[-1] + 1) if 0 <= i < len(segments)]
        others = _documents([s[2] for i, s in enumerate(segments) if i not in chosen and i not in around])
        return _Passage(" ".join(" ".join(segments[i][2].split()) for i in chosen),
                        segments[chosen[0]][0], segments[chosen[-1]][1], others,
                        " ".join(" ".join(segments[i][2].split()) for i in around))
    if transcript.chunks:
        chunks = transcript.chunks
        index = min(range(len(chunks)), key=lambda i: (not chunks[i][0] <= second <= chunks[i][1],
                                                        abs((chunks[i][0] + chunks[i][1]) / 2 - second), i))
        start, end, text = chunks[index]
        words = text.split()
        share = (second - start) / (end - start) if end > start else 0.0
        middle = int(min(max(share, 0.0), 1.0) * len(words))
        first = max(0, middle - PASSAGE_MAX_WORDS // 3)
        piece = " ".join(words[first:first + PASSAGE_MAX_WORDS])
        return _Passage(piece, float(start), float(end), [c[2] for i, c in enumerate(chunks) if i != index], "")
    return None


def _documents(texts: Sequence[str]) -> list[str]:
    """Consecutive captions joined into pieces of about _DOCUMENT_WORDS words."""
    pieces: list[str] = []
    current: list[str] = []
    for text in texts:
        current.append(text)
        if sum(len(c.split()) for c in current) >= _DOCUMENT_WORDS:
            pieces.append(" ".join(current))
            current = []
    if current:
        pieces.append(" ".join(current))
    return pieces


def _label(passage: _Passage | None, chat_model: ChatModel | None) -> tuple[str, str, list[str]]:
    """(label, how it was made, key phrases): the model's one line when one is given and
    answers, else the passage's best key phrases."""
    if passage is None:
        return "", "none", []
    phrases = key_phrases(passage.text, passage.others, around=passage.around, top=3)
    if chat_model is not None and (line := model_label(chat_model, _LABEL_SYSTEM, passage.text)):
        return line, "model", phrases
    return ", ".join(phrases[:2]), "key_phrases", phrases


# ------------------------------------------------------------------------------------------------
# The public functions
# ------------------------------------------------------------------------------------------------


def confusion_map(t: Tenant, video_id: uuid.UUID, f: Filters | None = None) -> pd.DataFrame:
    """Per time bucket of a video: retention, leaving, rewinds and the questions asked there.

    Buckets are whole percents of the video, at least 10 s long and at most 50 of them. Columns
    (``MAP_COLUMNS``): ``watching`` the share of sessions still watching at the bucket's start;
    ``left`` sessions that stopped in it and ``expected_left`` how many were expected to (NaN in
    the intro and after the completion mark); ``rewatch`` the most sessions that rewound over one
    point of it; ``questions`` the questions whose answers cite a second in it, with up to three
    ``example_questions``; ``confusion_score`` as ``confusion_insights`` computes it (0..1).

    Args:
        f: the date range (its course and videos are ignored); all time when None.

    Returns an empty frame for a video that is not in this workspace or has no known length.
    """
    start, end = (f.start, f.end) if f is not None else (None, None)
    curves = _load_curves(t, start, end)
    curve = curves.get(video_id)
    if curve is None:
        return pd.DataFrame(columns=MAP_COLUMNS)
    questions = _questions(t, list(curves), start, end)
    own = [q for q in questions if q.video_id == video_id]
    return _frame(_timeline(curve, curves, own), _most_asked(curves, questions))


@dataclass(frozen=True)
class _Scope:
    curves: dict[uuid.UUID, _Curve]
    videos: list[uuid.UUID]
    places: dict[uuid.UUID, list[_Place]]
    course_id: uuid.UUID | None


def _scope(t: Tenant, course_id: uuid.UUID | None, start: date | None = None, end: date | None = None) -> _Scope:
    places = _places(t, course_id)
    curves = _load_curves(t, start, end)
    if course_id is None:
        videos = sorted(curves, key=lambda v: (curves[v].title, str(v)))
    else:
        videos = [v for v in sorted(places, key=lambda v: (places[v][0].number, str(v))) if v in curves]
    return _Scope(curves, videos, places, course_id)


def _context(scope: _Scope, video_id: uuid.UUID) -> tuple[str, _Place | None, list[dict[str, Any]]]:
    """How a title names the video ("lesson 4", or its title when it is in no course or in
    several), the place it names, and every course it is in (evidence)."""
    places = scope.places.get(video_id, [])
    title = scope.curves[video_id].title
    if len(places) == 1:
        return f"lesson {places[0].number}", places[0], [p.to_json() for p in places]
    return f"“{title}”", None, [p.to_json() for p in places]


def _insight(kind: Kind, scope: _Scope, video_id: uuid.UUID, title: str, score: float, second: float,
             passage: _Passage | None, evidence: dict[str, Any], key: str) -> Insight:
    _, place, courses = _context(scope, video_id)
    return Insight(kind=kind, title=title, score=round(float(score), 4), video_id=video_id,
                   video_title=scope.curves[video_id].title, second=float(second),
                   passage=passage.text if passage else None,
                   course_id=place.course_id if place else None, course_title=place.course_title if place else None,
                   lesson=place.lesson_title if place else None,
                   evidence={**evidence, "courses": courses,
                             "lesson_number": place.number if place else None,
                             "passage_seconds": [passage.start, passage.end] if passage else None},
                   key=key)


def _percent(share: float) -> str:
    return f"{round(100 * share)} %"


def confusion_insights(t: Tenant, course_id: uuid.UUID | None = None, *, start: date | None = None,
                       end: date | None = None) -> list[Insight]:
    """Moments that students ask the assistant about and that learners also rewind over or leave
    at, most confusing first (kind "confusion"; at most three per video).

    A moment needs at least two questions whose answers cite it, and rewinds or drop-off beyond
    the video's usual within one bucket of it. ``second`` is the second the questions' answers
    cite most there; ``passage`` the captions at it; ``evidence`` the counts, example questions
    and which courses the video is in. ``score`` (0..1) is explained in ``_confusion_scores``.
    ``start`` and ``end`` limit the viewing and the questions to those days (UTC); all time when None.
    """
    scope = _scope(t, course_id, start, end)
    questions = _questions(t, scope.videos, start, end)
    by_video = _by_video(questions)
    most_asked = _most_asked(scope.curves, questions)
    found: list[tuple[uuid.UUID, int, float, dict[str, Any], _Timeline]] = []
    for video_id in scope.videos:
        if video_id not in by_video:
            continue
        tl = _timeline(scope.curves[video_id], scope.curves, by_video[video_id])
        scores, details = _confusion_scores(tl, most_asked)
        chosen: list[int] = []
        for b in np.argsort(-scores, kind="stable"):
            detail = details[b]
            present = detail["present"]
            if scores[b] <= 0 or not present["questions"] or not (present["rewinds"] or present["drop-off"]):
                continue
            if any(abs(int(b) - c) <= 2 for c in chosen):  # one finding per moment
                continue
            chosen.append(int(b))
            found.append((video_id, int(b), float(scores[b]), detail, tl))
            if len(chosen) == MAX_PER_VIDEO:
                break
    transcripts = _transcripts(t, [v for v, *_ in found])
    insights = []
    for video_id, b, score, detail, tl in found:
        asked: dict[uuid.UUID, _Question] = detail["asked"]
        second = _most_cited(asked.values())
        passage = _passage(transcripts.get(video_id), second)
        if passage is None:  # no transcript stored: what the answers quoted
            snippet = next((q.snippet for q in asked.values() if round(q.second) == second and q.snippet), None)
            passage = _Passage(snippet, second, second, [], "") if snippet else None
        label, source, phrases = _label(passage, None)
        where, _, _ = _context(scope, video_id)
        n = tl.sessions
        window = detail["window"]
        rewinding = int(max(tl.rewatch[w] for w in window))
        leaving = int(sum(tl.inside_left[w] for w in window if tl.interior[w]))
        parts = [f"{len(asked)} questions cite it"]
        if detail["present"]["rewinds"]:
            parts.append(f"{_percent(rewinding / n)} of viewings rewind over it")
        if detail["present"]["drop-off"]:
            parts.append(f"{_percent(leaving / n)} end there")
        about = f" (“{label}”)" if label else ""
        title = f"Learners are confused in {where} at {format_seconds(second)}{about}: " + ", ".join(parts)
        examples = _examples(list(asked.values()))
        evidence = {
            "questions": len(asked), "student_questions": sum(q.by_student for q in asked.values()),
            "creator_questions": sum(not q.by_student for q in asked.values()),
            "video_questions": len({q.id for bucket in tl.questions for q in bucket}),
            "example_questions": examples,
            "rewatch_sessions": rewinding, "rewatch_share": round(rewinding / n, 4) if n else 0.0,
            "left_sessions": leaving, "left_share": round(leaving / n, 4) if n else 0.0,
            "expected_left": round(float(sum(tl.expected[w] for w in window if tl.interior[w])), 2),
            "sessions": n,
            "signals": [name for name, on in detail["present"].items() if on],
            "shares": {"questions": round(detail["q_share"], 4), "rewinds": round(detail["r_share"], 4),
                       "drop-off": round(detail["d_share"], 4)},
            "window_seconds": [round(float(tl.starts[window[0]]), 1), round(float(tl.ends[window[-1]]), 1)],
            "label": label, "label_source": source, "key_phrases": phrases,
        }
        insights.append(_insight("confusion", scope, video_id, title, score, second, passage, evidence,
                                 f"confusion:{video_id}:{round(float(tl.starts[b]))}"))
    insights.sort(key=lambda i: (-i.score, i.video_title or "", i.second or 0))
    return insights


def dropoff_insights(t: Tenant, course_id: uuid.UUID | None = None, *, chat_model: ChatModel | None = None,
                     start: date | None = None, end: date | None = None) -> list[Insight]:
    """Each significant dip of each lesson's retention curve, and each rewatch spike that no dip
    explains, labelled with what is said there (kind "dropoff"), most learners lost first.

    Title: "32 % of viewings of lesson 4 end at 06:10, while explaining <label>" (the share of the
    video's sessions that stopped within the dip, the lesson's number in course order); the label
    is the passage's key phrases, or the one line ``chat_model`` writes when given (key phrases
    again if it fails). A rewatch spike within 30 s of a dip is reported with it. ``score`` (0..1):
    the share of learners lost beyond the expected (plus half the share rewinding beyond the usual),
    times n / (n + 20).
    """
    scope = _scope(t, course_id, start, end)
    asked = _by_video(_questions(t, scope.videos, start, end))
    found: list[tuple[uuid.UUID, _Timeline, _Region, _Region | None]] = []
    for video_id in scope.videos:
        curve = scope.curves[video_id]
        if curve.sessions < MIN_SESSIONS:
            continue
        tl = _timeline(curve, scope.curves, asked.get(video_id, ()))
        near = max(COINCIDE_SECONDS, float(tl.ends[0] - tl.starts[0]))
        spikes = list(tl.spikes)
        moments: list[tuple[_Region, _Region | None]] = []
        for dip in tl.dips:
            joined = [s for s in spikes if tl.starts[s.first] - near <= tl.ends[dip.last]
                      and tl.starts[dip.first] <= tl.ends[s.last] + near]
            for s in joined:
                spikes.remove(s)
            moments.append((dip, max(joined, key=lambda s: s.excess) if joined else None))
        moments += [(s, None) for s in spikes]
        n = curve.sessions
        rank = sorted(moments, key=lambda m: -_dropoff_score(tl, *m, n=n))[:MAX_PER_VIDEO]
        found += [(video_id, tl, region, spike) for region, spike in rank]
    transcripts = _transcripts(t, [v for v, *_ in found])
    insights = []
    for video_id, tl, region, spike in found:
        is_dip = region.kind == "dip"
        n = tl.sessions
        second = _moment_second(tl, region)
        passage = _passage(transcripts.get(video_id), second)
        label, source, phrases = _label(passage, chat_model)
        where, _, _ = _context(scope, video_id)
        explaining = f", while explaining {label}" if label else ""
        rewind = spike if is_dip else region
        if is_dip:
            title = f"{_percent(region.amount / n)} of viewings of {where} end at {format_seconds(second)}{explaining}"
            if rewind is not None:
                title += f" ({_percent(rewind.amount / n)} rewind over it first)"
        else:
            title = (f"{_percent(region.amount / n)} of viewings of {where} rewind over "
                     f"{format_seconds(second)}{explaining}")
        evidence = {
            "signal": "dip" if is_dip else "rewatch",
            "sessions": n,
            "left_sessions": int(round(region.amount)) if is_dip else None,
            "left_share": round(region.amount / n, 4) if is_dip else None,
            "expected_left": round(region.expected, 2) if is_dip else None,
            "excess_share": round(region.excess / n, 4) if is_dip else None,
            "rewatch_sessions": int(round(rewind.amount)) if rewind else None,
            "rewatch_share": round(rewind.amount / n, 4) if rewind else None,
            "rewatch_excess_share": round(rewind.excess / n, 4) if rewind else None,
            "window_seconds": [round(float(tl.starts[region.first]), 1), round(float(tl.ends[region.last]), 1)],
            "watching": round(float(tl.watching[region.first]), 4),
            "label": label, "label_source": source, "key_phrases": phrases,
        }
        key = f"dropoff:{video_id}:{'dip' if is_dip else 'rewatch'}:{_leaving_second(tl, region)}"
        insights.append(_insight("dropoff", scope, video_id, title, _dropoff_score(tl, region, spike, n=n), second,
                                 passage, evidence, key))
    insights.sort(key=lambda i: (-i.score, i.video_title or "", i.second or 0))
    return insights


def retention_moments(t: Tenant, video_id: uuid.UUID, start: date | None = None, end: date | None = None,
                      course_id: uuid.UUID | None = None) -> dict[str, Any]:
    """What the Analytics page marks on one video's retention chart for the days ``start``..``end``
    (all time when None) and, with ``course_id``, the viewing in that course: the share still
    watching at 0:30, and where learners leave and rewind as the drop-off insight finds and places
    them, so the chart and the Insights page name the same seconds.

    Returns ``{"at_30s": share or None, "drops": [{"second", "percent", "lost"}], "spikes":
    [{"second", "percent", "rewatching"}]}``, most learners first; ``lost`` is the share of the
    video's sessions that ended within the dip, ``rewatching`` the share that rewound over the
    spike's peak. No dips or spikes below MIN_SESSIONS sessions; nothing at all for a video of
    another workspace, of unknown length or not watched.
    """
    curves = _load_curves(t, start, end, course_id)
    curve = curves.get(video_id)
    if curve is None or not curve.sessions:
        return {"at_30s": None, "drops": [], "spikes": []}
    tl = _timeline(curve, curves, _questions(t, [video_id], start, end))
    n, duration = curve.sessions, curve.duration
    still = np.cumsum(curve.reached[::-1])[::-1]
    at_30 = next((p for p in range(_HISTOGRAM) if round(p * duration / 100) >= INTRO_SECONDS), None)

    def place(region: _Region, share_name: str) -> dict[str, Any]:
        second = _moment_second(tl, region)
        return {"second": second, "percent": min(100, round(second * 100 / duration)),
                share_name: round(region.amount / n, 4)}

    return {"at_30s": float(still[at_30] / n) if at_30 is not None else None,
            "drops": [place(r, "lost") for r in sorted(tl.dips, key=lambda r: -r.amount)],
            "spikes": [place(r, "rewatching") for r in sorted(tl.spikes, key=lambda r: -r.amount)]}


def _by_video(questions: Sequence[_Question]) -> dict[uuid.UUID, list[_Question]]:
    by_video: dict[uuid.UUID, list[_Question]] = {}
    for q in questions:
        by_video.setdefault(q.video_id, []).append(q)
    return by_video


def _most_cited(questions: Iterable[_Question]) -> int:
    """The second the answers to these questions cite most (the earliest on a tie)."""
    seconds = Counter(round(q.second) for q in questions)
    return min(seconds, key=lambda s: (-seconds[s], s))


def _moment_second(tl: _Timeline, region: _Region) -> int:
    """The second a finding names. Where students ask about the region (at least MIN_QUESTIONS
    questions whose answers cite it or a bucket next to it), the second those answers cite most,
    so a drop-off, a rewatch spike and a confusion finding of one moment name the same second.
    Else, for a dip, the start of its buckets weighted by the learners lost beyond the expected in
    each (steadier than the single largest bucket when learners leave over a stretch); for a
    rewatch spike, the start of its peak bucket."""
    near = range(max(0, region.first - 1), min(len(tl.starts), region.last + 2))
    asked = {q.id: q for b in near for q in tl.questions[b]}
    if len(asked) >= MIN_QUESTIONS:
        return _most_cited(asked.values())
    return _leaving_second(tl, region)


def _leaving_second(tl: _Timeline, region: _Region) -> int:
    """Where the viewing alone places a region (also its key: a new question moves the second a
    finding names, not which finding it is)."""
    if region.kind == "dip":
        run = slice(region.first, region.last + 1)
        weights = np.maximum(tl.inside_left[run] - tl.expected[run], 0)
        if weights.sum() > 0:
            centre = float((tl.starts[run] * weights).sum() / weights.sum())
            return round(float(tl.starts[tl.bucket_of(centre)]))
    return round(float(tl.starts[region.peak]))


def _dropoff_score(tl: _Timeline, region: _Region, spike: _Region | None, *, n: int) -> float:
    confidence = n / (n + CONFIDENCE_SESSIONS)
    if region.kind == "dip":
        lost = region.excess / n + (0.5 * spike.excess / n if spike else 0.0)
    else:
        lost = 0.5 * region.excess / n
    return min(1.0, lost) * confidence
