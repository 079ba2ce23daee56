"""Moments on a video's timeline: where students ask, rewind and leave, and what is said there.

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
it (per percent, or per student still watching: whichever is more), raised where its peers (the
creator's other videos of half to double its length, as ``dashboards.typical_retention``
chooses them) all lose more than their own average. Leaving in the first half-minute (the intro
bounce) and after the completion mark (the end) is never a dip, and a dip must be both large (a
share of the students, and a few of them) and unlikely to be chance (the exact Poisson tail of
what left there given what was expected, with a false-alarm budget shared by all of the video's
buckets), so a clean video yields nothing. Rewatch spikes are measured the same way against the video's usual
rewinding.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..db import Workspace
from ..timecode import format_seconds
from .curves import (
    COINCIDE_SECONDS,
    HISTOGRAM,
    INTRO_SECONDS,
    MAX_PER_VIDEO,
    MIN_SESSIONS,
    Curve,
    Question,
    Region,
    Timeline,
    build_timeline,
)
from .model import Insight, Kind
from .moments import (
    MAP_COLUMNS,
    confusion_scores,
    dropoff_score,
    example_questions,
    leaving_second,
    map_frame,
    moment_second,
    most_asked_moment,
    most_cited,
    questions_by_video,
)
from .passages import Passage, passage_at, passage_label
from .timeline_data import Place, cited_questions, course_places, load_curves, load_transcripts

if TYPE_CHECKING:
    from ..rag.llm import ChatModel
    from ..viewing.dashboards import Filters

__all__ = ["MAP_COLUMNS", "confusion_insights", "confusion_map", "dropoff_insights", "retention_moments"]


def confusion_map(t: Workspace, video_id: uuid.UUID, f: Filters | None = None) -> pd.DataFrame:
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
    curves = load_curves(t, start, end)
    curve = curves.get(video_id)
    if curve is None:
        return pd.DataFrame(columns=MAP_COLUMNS)
    questions = cited_questions(t, list(curves), start, end)
    own = [q for q in questions if q.video_id == video_id]
    return map_frame(build_timeline(curve, curves, own), most_asked_moment(curves, questions))


@dataclass(frozen=True)
class _Scope:
    curves: dict[uuid.UUID, Curve]
    videos: list[uuid.UUID]
    places: dict[uuid.UUID, list[Place]]
    course_id: uuid.UUID | None


def _scope(t: Workspace, course_id: uuid.UUID | None, start: date | None = None, end: date | None = None) -> _Scope:
    places = course_places(t, course_id)
    curves = load_curves(t, start, end)
    if course_id is None:
        videos = sorted(curves, key=lambda v: (curves[v].title, str(v)))
    else:
        videos = [v for v in sorted(places, key=lambda v: (places[v][0].number, str(v))) if v in curves]
    return _Scope(curves, videos, places, course_id)


def _context(scope: _Scope, video_id: uuid.UUID) -> tuple[str, Place | None, list[dict[str, Any]]]:
    """How a title names the video ("lesson 4", or its title when it is in no course or in
    several), the place it names, and every course it is in (evidence)."""
    places = scope.places.get(video_id, [])
    title = scope.curves[video_id].title
    if len(places) == 1:
        return f"lesson {places[0].number}", places[0], [p.to_json() for p in places]
    return f"“{title}”", None, [p.to_json() for p in places]


def _insight(kind: Kind, scope: _Scope, video_id: uuid.UUID, title: str, score: float, second: float,
             passage: Passage | None, evidence: dict[str, Any], key: str) -> Insight:
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


def confusion_insights(t: Workspace, course_id: uuid.UUID | None = None, *, start: date | None = None,
                       end: date | None = None) -> list[Insight]:
    """Moments that students ask the assistant about and that students also rewind over or leave
    at, most confusing first (kind "confusion"; at most three per video).

    A moment needs at least two questions whose answers cite it, and rewinds or drop-off beyond
    the video's usual within one bucket of it. ``second`` is the second the questions' answers
    cite most there; ``passage`` the captions at it; ``evidence`` the counts, example questions
    and which courses the video is in. ``score`` (0..1) is explained in ``confusion_scores``.
    ``start`` and ``end`` limit the viewing and the questions to those days (UTC); all time when None.
    """
    scope = _scope(t, course_id, start, end)
    questions = cited_questions(t, scope.videos, start, end)
    by_video = questions_by_video(questions)
    most_asked = most_asked_moment(scope.curves, questions)
    found: list[tuple[uuid.UUID, int, float, dict[str, Any], Timeline]] = []
    for video_id in scope.videos:
        if video_id not in by_video:
            continue
        tl = build_timeline(scope.curves[video_id], scope.curves, by_video[video_id])
        scores, details = confusion_scores(tl, most_asked)
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
    transcripts = load_transcripts(t, [v for v, *_ in found])
    insights = []
    for video_id, b, score, detail, tl in found:
        asked: dict[uuid.UUID, Question] = detail["asked"]
        second = most_cited(asked.values())
        passage = passage_at(transcripts.get(video_id), second)
        if passage is None:  # no transcript stored: what the answers quoted
            snippet = next((q.snippet for q in asked.values() if round(q.second) == second and q.snippet), None)
            passage = Passage(snippet, second, second, [], "") if snippet else None
        label, source, phrases = passage_label(passage, None)
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
        title = f"Students are confused in {where} at {format_seconds(second)}{about}: " + ", ".join(parts)
        examples = example_questions(list(asked.values()))
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


def dropoff_insights(t: Workspace, course_id: uuid.UUID | None = None, *, chat_model: ChatModel | None = None,
                     start: date | None = None, end: date | None = None) -> list[Insight]:
    """Each significant dip of each lesson's retention curve, and each rewatch spike that no dip
    explains, labelled with what is said there (kind "dropoff"), most students lost first.

    Title: "32 % of viewings of lesson 4 end at 06:10, while explaining <label>" (the share of the
    video's sessions that stopped within the dip, the lesson's number in course order); the label
    is the passage's key phrases, or the one line ``chat_model`` writes when given (key phrases
    again if it fails). A rewatch spike within 30 s of a dip is reported with it. ``score`` (0..1):
    the share of students lost beyond the expected (plus half the share rewinding beyond the usual),
    times n / (n + 20).
    """
    scope = _scope(t, course_id, start, end)
    asked = questions_by_video(cited_questions(t, scope.videos, start, end))
    found: list[tuple[uuid.UUID, Timeline, Region, Region | None]] = []
    for video_id in scope.videos:
        curve = scope.curves[video_id]
        if curve.sessions < MIN_SESSIONS:
            continue
        tl = build_timeline(curve, scope.curves, asked.get(video_id, ()))
        near = max(COINCIDE_SECONDS, float(tl.ends[0] - tl.starts[0]))
        spikes = list(tl.spikes)
        moments: list[tuple[Region, Region | None]] = []
        for dip in tl.dips:
            joined = [s for s in spikes if tl.starts[s.first] - near <= tl.ends[dip.last]
                      and tl.starts[dip.first] <= tl.ends[s.last] + near]
            for s in joined:
                spikes.remove(s)
            moments.append((dip, max(joined, key=lambda s: s.excess) if joined else None))
        moments += [(s, None) for s in spikes]
        n = curve.sessions
        rank = sorted(moments, key=lambda m: -dropoff_score(tl, *m, n=n))[:MAX_PER_VIDEO]
        found += [(video_id, tl, region, spike) for region, spike in rank]
    transcripts = load_transcripts(t, [v for v, *_ in found])
    insights = []
    for video_id, tl, region, spike in found:
        is_dip = region.kind == "dip"
        n = tl.sessions
        second = moment_second(tl, region)
        passage = passage_at(transcripts.get(video_id), second)
        label, source, phrases = passage_label(passage, chat_model)
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
        key = f"dropoff:{video_id}:{'dip' if is_dip else 'rewatch'}:{leaving_second(tl, region)}"
        insights.append(_insight("dropoff", scope, video_id, title, dropoff_score(tl, region, spike, n=n), second,
                                 passage, evidence, key))
    insights.sort(key=lambda i: (-i.score, i.video_title or "", i.second or 0))
    return insights


def retention_moments(t: Workspace, video_id: uuid.UUID, start: date | None = None, end: date | None = None,
                      course_id: uuid.UUID | None = None) -> dict[str, Any]:
    """What the Analytics page marks on one video's retention chart for the days ``start``..``end``
    (all time when None) and, with ``course_id``, the viewing in that course: the share still
    watching at 0:30, and where students leave and rewind as the drop-off insight finds and places
    them, so the chart and the Insights page name the same seconds.

    Returns ``{"at_30s": share or None, "drops": [{"second", "percent", "lost"}], "spikes":
    [{"second", "percent", "rewatching"}]}``, most students first; ``lost`` is the share of the
    video's sessions that ended within the dip, ``rewatching`` the share that rewound over the
    spike's peak. No dips or spikes below MIN_SESSIONS sessions; nothing at all for a video of
    another workspace, of unknown length or not watched.
    """
    curves = load_curves(t, start, end, course_id)
    curve = curves.get(video_id)
    if curve is None or not curve.sessions:
        return {"at_30s": None, "drops": [], "spikes": []}
    tl = build_timeline(curve, curves, cited_questions(t, [video_id], start, end))
    n, duration = curve.sessions, curve.duration
    still = np.cumsum(curve.reached[::-1])[::-1]
    at_30 = next((p for p in range(HISTOGRAM) if round(p * duration / 100) >= INTRO_SECONDS), None)

    def place(region: Region, share_name: str) -> dict[str, Any]:
        second = moment_second(tl, region)
        return {"second": second, "percent": min(100, round(second * 100 / duration)),
                share_name: round(region.amount / n, 4)}

    return {"at_30s": float(still[at_30] / n) if at_30 is not None else None,
            "drops": [place(r, "lost") for r in sorted(tl.dips, key=lambda r: -r.amount)],
            "spikes": [place(r, "rewatching") for r in sorted(tl.spikes, key=lambda r: -r.amount)]}
