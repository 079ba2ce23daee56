"""A video's retention curve cut into buckets, and where it dips or is rewound more than usual.

Pure numpy over the rollups' per-percent histograms (``Curve``): no database. ``build_timeline``
gives one video's buckets (leaving observed and expected, rewinding, the questions placed there)
and the significant dips and rewatch spikes, as ``timeline``'s module docstring describes them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import poisson

from ..viewing.watching import COMPLETION_PERCENT

__all__ = ["HISTOGRAM", "Curve", "Question", "Region", "Timeline", "bucket_of", "bucket_width", "build_timeline",
           "dip_regions", "hazard", "histogram", "mean_elsewhere", "spike_regions", "unlikely"]


#: A bucket is at least this long: a question's cited second and a student's stop rarely fall
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
#: A finding needs at least this many students beyond the expected (fewer happen by chance on a
#: curve of a few dozen sessions) ...
MIN_EXCESS_SESSIONS = 5
#: ... and this share of the video's students: lost at a dip, rewinding at a spike.
MIN_DIP_SHARE = 0.03
MIN_SPIKE_SHARE = 0.05
#: A bucket joins a candidate region at this Poisson z-score (a loose first pass) ...
Z_BUCKET = 2.0
#: ... and a region is reported only when chance explains it at most this often per video: the
#: exact Poisson tail of the region, Bonferroni-shared by the video's buckets. A z-score of 3 per
#: region flagged the demo's clean lecture in 9 of 60 draws (small counts have heavy tails and a
#: video has dozens of buckets); this flags it in 2 of 600, and every hard passage is still found
#: (as a dip, or as a rewatch spike where too few students leave there to tell).
FALSE_ALARMS_PER_VIDEO = 0.005
#: A bucket's own typical rate is the video's mean over its other buckets, leaving out this many
#: on each side: a dip (spread over a few buckets) must not raise the bar it is measured by.
LEAVE_OUT_BUCKETS = 3
#: Peers needed before their median rate counts (one or two videos are not "typical").
MIN_PEERS = 3
#: A confusing moment is asked about by at least this many questions.
MIN_QUESTIONS = 2
#: Scores are multiplied by n / (n + this): a moment seen by 10 students weighs less than one seen by 300.
CONFIDENCE_SESSIONS = 20
#: Findings kept per video and kind, most urgent first.
MAX_PER_VIDEO = 3
#: A rewatch spike and a dip this close are one moment (students rewind, then give up a little later).
COINCIDE_SECONDS = 30
HISTOGRAM = 101  # the rollups' histograms: one count per percent, 0..100


@dataclass
class Curve:
    """One video's viewing over the period: sessions by furthest percent, rewinds by percent."""

    video_id: uuid.UUID
    title: str
    duration: int
    reached: np.ndarray = field(default_factory=lambda: np.zeros(HISTOGRAM))
    rewound: np.ndarray = field(default_factory=lambda: np.zeros(HISTOGRAM))

    @property
    def sessions(self) -> int:
        return int(self.reached.sum())


def histogram(values: Any) -> np.ndarray:
    array = np.zeros(HISTOGRAM)
    if isinstance(values, list):
        numbers = [v if isinstance(v, (int, float)) else 0 for v in values[:HISTOGRAM]]
        array[: len(numbers)] = numbers
    return array


@dataclass(frozen=True)
class Question:
    id: uuid.UUID
    text: str
    by_student: bool
    video_id: uuid.UUID
    second: float
    snippet: str | None



def bucket_width(duration: int) -> int:
    """Percents per bucket: at least BUCKET_MIN_SECONDS long, at most MAX_BUCKETS buckets."""
    return max(math.ceil(100 / MAX_BUCKETS), math.ceil(BUCKET_MIN_SECONDS * 100 / duration))


def bucket_of(second: float, duration: int) -> int:
    width = bucket_width(duration)
    percent = min(99, max(0, int(second * 100 // duration)))
    return min(math.ceil(100 / width) - 1, percent // width)


def mean_elsewhere(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
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


def hazard(reached: np.ndarray) -> np.ndarray:
    """Per percent: the share of the sessions still watching there that stop there."""
    still = np.cumsum(reached[::-1])[::-1]
    return np.divide(reached, still, out=np.zeros(HISTOGRAM), where=still > 0)


@dataclass(frozen=True)
class Region:
    kind: str  # "dip" or "spike"
    first: int  # buckets, inclusive
    last: int
    peak: int
    amount: float  # sessions: that left in the region (dip), or rewinding at its peak (spike)
    expected: float
    excess: float  # sessions beyond the expected


@dataclass
class Timeline:
    """One video's buckets: leaving (observed and expected), rewinding and questions."""

    curve: Curve
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
    questions: list[list[Question]]
    dips: list[Region]
    spikes: list[Region]

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
        return bucket_of(second, self.curve.duration)


def peer_shape(curve: Curve, curves: dict[uuid.UUID, Curve], bucket: np.ndarray, inside: np.ndarray,
                count: int) -> np.ndarray:
    """Per percent: how much more than their own average the creator's other videos of half to
    double this one's length (the peers ``dashboards.typical_retention`` compares with) lose there,
    as the median over them, at least 1; ones with fewer than MIN_PEERS peers.

    Only the shape is taken from peers: a video that keeps its students better than the others
    overall must still show its own dips. Each peer's rate is pooled over three of this video's
    buckets: per-percent rates of a few hundred sessions are mostly noise.
    """
    peers = [c for c in curves.values()
             if c.video_id != curve.video_id and c.sessions >= MIN_SESSIONS
             and curve.duration / 2 <= c.duration <= curve.duration * 2]
    if len(peers) < MIN_PEERS:
        return np.ones(HISTOGRAM)
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


def build_timeline(curve: Curve, curves: dict[uuid.UUID, Curve], questions: Sequence[Question]) -> Timeline:
    d, reached = curve.duration, curve.reached
    width = bucket_width(d)
    count = math.ceil(100 / width)
    bucket = np.minimum(np.arange(HISTOGRAM), 99) // width  # percent 100 joins the last bucket
    percents = np.arange(count) * width
    starts = percents * d / 100
    ends = np.minimum((percents + width) * d / 100, d)
    n = curve.sessions
    still = np.cumsum(reached[::-1])[::-1]
    intro = min(math.ceil(INTRO_SECONDS * 100 / d), INTRO_MAX_PERCENT)
    inside = (np.arange(HISTOGRAM) >= intro) & (np.arange(HISTOGRAM) < END_PERCENT)

    # Expected stopping per percent: the video's own usual stopping elsewhere (per percent, or per
    # student still watching, whichever is more), raised where its peers all lose more than usual.
    rate = np.bincount(bucket[inside], weights=reached[inside], minlength=count)
    span = np.bincount(bucket[inside], minlength=count).astype(float)
    used = span > 0
    own_rate = mean_elsewhere(rate, span)[bucket]
    own_hazard = mean_elsewhere(np.bincount(bucket[inside], weights=hazard(reached)[inside], minlength=count),
                                 span)[bucket]
    shape = peer_shape(curve, curves, bucket, inside, count)
    expected_percent = np.maximum(own_rate, own_hazard * still) * shape
    left = np.bincount(bucket, weights=reached, minlength=count)
    expected = np.bincount(bucket[inside], weights=expected_percent[inside], minlength=count)
    interior = used
    watching = still[np.minimum(percents, 100)] / n if n else np.zeros(count)

    rewatch = np.zeros(count)
    np.maximum.at(rewatch, bucket, curve.rewound)
    rewatch_base = mean_elsewhere(rewatch, np.ones(count))

    placed: list[list[Question]] = [[] for _ in range(count)]
    timeline = Timeline(curve, width, starts, ends, percents, watching, left, rate, expected, interior, rewatch,
                         rewatch_base, placed, [], [])
    seen: set[tuple[uuid.UUID, int]] = set()
    for q in questions:
        b = timeline.bucket_of(q.second)
        if (q.id, b) not in seen:  # a question whose answer cites one moment twice counts once there
            seen.add((q.id, b))
            placed[b].append(q)

    if n >= MIN_SESSIONS:
        dip_excess = np.where(interior, rate - expected, 0.0)
        timeline.dips = dip_regions(dip_excess, expected, rate, interior,
                                     min_excess=max(MIN_EXCESS_SESSIONS, MIN_DIP_SHARE * n))
        timeline.spikes = spike_regions(rewatch - rewatch_base, rewatch_base, rewatch,
                                         min_excess=max(MIN_EXCESS_SESSIONS, MIN_SPIKE_SHARE * n))
    return timeline


def runs(candidate: np.ndarray) -> list[tuple[int, int]]:
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


def latest_peak(values: np.ndarray, first: int, last: int) -> int:
    part = values[first:last + 1]
    return last - int(np.argmax(part[::-1]))


def dip_regions(excess: np.ndarray, expected: np.ndarray, left: np.ndarray, allowed: np.ndarray, *,
                 min_excess: float) -> list[Region]:
    """Runs of buckets losing more students than expected, unlikely by chance; kept when the run's
    total excess is large enough and its Poisson tail within the false-alarm budget.

    A bucket joins a run when it and its two neighbours together lose more than expected with a z
    of Z_BUCKET: students leave over a stretch after a hard passage, not all in one bucket. The run
    is then trimmed to the buckets that lost more than expected themselves.
    """
    window = np.convolve(np.where(allowed, excess, 0.0), np.ones(3), mode="same")
    base = np.convolve(np.where(allowed, expected, 0.0), np.ones(3), mode="same")
    candidate = allowed & (window >= Z_BUCKET * np.sqrt(base + 1))
    found = []
    for first, last in runs(candidate):
        while first <= last and excess[first] <= 0:
            first += 1
        while last >= first and excess[last] <= 0:
            last -= 1
        if first > last:
            continue
        run = slice(first, last + 1)
        total, expect = float(excess[run].sum()), float(expected[run].sum())
        observed = float(left[run].sum())
        if total >= min_excess and unlikely(observed, expect, tests=int(allowed.sum())):
            found.append(Region("dip", first, last, latest_peak(excess, first, last), observed, expect, total))
    return found


def unlikely(observed: float, expected: float, *, tests: int) -> bool:
    """Whether ``observed`` sessions or more, where ``expected`` were, is rarer by chance than
    the false-alarm budget allows for one of ``tests`` places looked at."""
    return float(poisson.sf(math.ceil(observed) - 1, max(expected, 0.5))) <= FALSE_ALARMS_PER_VIDEO / max(tests, 1)


def spike_regions(excess: np.ndarray, base: np.ndarray, rewatch: np.ndarray, *, min_excess: float
                   ) -> list[Region]:
    """Runs of buckets rewound over by more sessions than the video's usual, unlikely by chance.
    A rewound span is the same students in each of its buckets, so a run is measured at its peak
    (the later one on a tie: a rewatched span ends where students jumped back from)."""
    found = []
    for first, last in runs(excess >= Z_BUCKET * np.sqrt(base + 1)):
        peak = latest_peak(excess, first, last)
        if excess[peak] >= min_excess and unlikely(rewatch[peak], base[peak], tests=len(rewatch)):
            found.append(Region("spike", first, last, peak, float(rewatch[peak]), float(base[peak]),
                                 float(excess[peak])))
    return found
