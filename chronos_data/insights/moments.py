"""Scoring and placing the moments of a video's timeline: confusion scores, the per-bucket map,
which second a finding names and how urgent a drop-off is. Pure functions of ``curves.Timeline``."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .curves import CONFIDENCE_SESSIONS, MIN_QUESTIONS, Curve, Question, Region, Timeline, bucket_of

__all__ = ["MAP_COLUMNS", "questions_by_video", "confusion_scores", "dropoff_score", "example_questions", "leaving_second",
           "map_frame", "moment_second", "most_asked_moment", "most_cited"]

EXAMPLE_QUESTIONS = 3

MAP_COLUMNS = ["bucket", "start_second", "end_second", "percent", "sessions", "watching", "left", "expected_left",
               "left_share", "rewatch", "rewatch_share", "questions", "example_questions", "confusion_score"]



def most_asked_moment(curves: dict[uuid.UUID, Curve], questions: Sequence[Question]) -> int:
    """The most distinct questions cited at one moment (a bucket and its neighbours, as
    ``confusion_scores`` counts them) of any of these videos; at least 1."""
    near: dict[tuple[uuid.UUID, int], set[uuid.UUID]] = {}
    for q in questions:
        curve = curves.get(q.video_id)
        if curve is None:
            continue
        b = bucket_of(q.second, curve.duration)
        for w in (b - 1, b, b + 1):
            near.setdefault((q.video_id, w), set()).add(q.id)
    return max((len(ids) for ids in near.values()), default=1)


def confusion_scores(tl: Timeline, most_asked: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Per bucket, with its neighbours (students rewind before a moment and leave just after it):
    the mean of three shares, each between 0 and 1:

      questions  the questions whose answers cite this moment, as a share of ``most_asked``, the
                 most cited at any moment of the videos compared (a share of the video's own
                 questions made two questions on a rarely asked video outrank twelve on another);
      rewinds    share of its students who rewind over it beyond the video's usual;
      drop-off   share of its students who leave here beyond the expected;

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


def map_frame(tl: Timeline, most_asked: int) -> pd.DataFrame:
    scores, _ = confusion_scores(tl, most_asked)
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
        "example_questions": [example_questions(b) for b in tl.questions],
        "confusion_score": np.round(scores, 4),
    }, columns=MAP_COLUMNS)


def example_questions(questions: Sequence[Question]) -> list[str]:
    """Up to three distinct questions, the most asked first (then as first asked)."""
    counts = Counter(" ".join(q.text.split()) for q in questions)
    return [text for text, _ in counts.most_common(EXAMPLE_QUESTIONS)]


def questions_by_video(questions: Sequence[Question]) -> dict[uuid.UUID, list[Question]]:
    by_video: dict[uuid.UUID, list[Question]] = {}
    for q in questions:
        by_video.setdefault(q.video_id, []).append(q)
    return by_video


def most_cited(questions: Iterable[Question]) -> int:
    """The second the answers to these questions cite most (the earliest on a tie)."""
    seconds = Counter(round(q.second) for q in questions)
    return min(seconds, key=lambda s: (-seconds[s], s))


def moment_second(tl: Timeline, region: Region) -> int:
    """The second a finding names. Where students ask about the region (at least MIN_QUESTIONS
    questions whose answers cite it or a bucket next to it), the second those answers cite most,
    so a drop-off, a rewatch spike and a confusion finding of one moment name the same second.
    Else, for a dip, the start of its buckets weighted by the students lost beyond the expected in
    each (steadier than the single largest bucket when students leave over a stretch); for a
    rewatch spike, the start of its peak bucket."""
    near = range(max(0, region.first - 1), min(len(tl.starts), region.last + 2))
    asked = {q.id: q for b in near for q in tl.questions[b]}
    if len(asked) >= MIN_QUESTIONS:
        return most_cited(asked.values())
    return leaving_second(tl, region)


def leaving_second(tl: Timeline, region: Region) -> int:
    """Where the viewing alone places a region (also its key: a new question moves the second a
    finding names, not which finding it is)."""
    if region.kind == "dip":
        run = slice(region.first, region.last + 1)
        weights = np.maximum(tl.inside_left[run] - tl.expected[run], 0)
        if weights.sum() > 0:
            centre = float((tl.starts[run] * weights).sum() / weights.sum())
            return round(float(tl.starts[tl.bucket_of(centre)]))
    return round(float(tl.starts[region.peak]))


def dropoff_score(tl: Timeline, region: Region, spike: Region | None, *, n: int) -> float:
    confidence = n / (n + CONFIDENCE_SESSIONS)
    if region.kind == "dip":
        lost = region.excess / n + (0.5 * spike.excess / n if spike else 0.0)
    else:
        lost = 0.5 * region.excess / n
    return min(1.0, lost) * confidence
