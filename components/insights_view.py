"""How an insight is shown: its sentence, the passage, the evidence in words (the raw numbers go to the
CSV and the command line's JSON), and the way to its moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import streamlit as st

from chronos_data.insights import Insight
from chronos_data.insights.gaps import MIN_QUESTIONS, GapTally
from chronos_data.timecode import format_seconds
from components.layout import inert, plural

__all__ = ["KIND_LABELS", "decision_line", "evidence_lines", "gap_empty_text", "render_insight", "render_passages"]

KIND_LABELS = {
    "confusion": "Confusion map",
    "dropoff": "Drop-offs",
    "content_gap": "Content gaps",
    "concept_order": "Concept order",
    "course_split": "One video, many courses",
}


def render_insight(insight: Insight, *, key: str, on_open: Callable[[Insight], None] | None = None,
                   actions: Callable[[Insight], None] | None = None) -> None:
    """One insight in a bordered box: the sentence first, then what is said there and the counts.

    ``on_open`` plays the moment inside the page; ``actions`` draws extra buttons (done, dismiss).
    """
    with st.container(border=True):
        st.markdown(f"**{inert(insight.title)}**")
        if where := " · ".join(part for part in (insight.course_title, insight.lesson or insight.video_title) if part):
            st.caption(inert(where))
        if insight.passage and insight.kind != "content_gap":  # a gap's passage is only the nearest one
            st.markdown(f"> {inert(_short(insight.passage))}")
        if insight.kind == "concept_order":
            render_passages(insight)
        if lines := evidence_lines(insight):
            st.caption("  \n".join(inert(line) for line in lines))
        if decision := decision_line(insight):
            st.badge(decision, icon=":material/task_alt:" if decision.startswith("Done") else ":material/close:",
                     color="green" if decision.startswith("Done") else "gray")
        if examples := insight.evidence.get("example_questions") or insight.evidence.get("examples"):
            st.markdown("**Asked, for example:**\n" + "\n".join(f"- {inert(str(q))}" for q in examples[:5]))
        if nearest := insight.evidence.get("nearest_lessons"):
            st.caption("Nearest lessons: " + "; ".join(inert(_lesson_label(n)) for n in nearest[:3]))
        with st.container(horizontal=True):
            if insight.second is not None and insight.video_id is not None and on_open is not None:
                # A content gap's moment is only the passage nearest its questions.
                nearest = "the nearest passage " if insight.kind == "content_gap" else ""
                st.button(f"Play {nearest}at {format_seconds(insight.second)}", key=f"{key}_open",
                          icon=":material/play_circle:", on_click=on_open, args=(insight,))
            if insight.url:
                st.link_button(f"Open on {_platform(insight.url)} at {format_seconds(insight.second or 0)}",
                               insight.url, icon=":material/open_in_new:")
            if actions is not None:
                actions(insight)


def render_passages(insight: Insight) -> None:
    """A concept-order finding's two passages side by side: where the term is used, where explained."""
    used, explained = insight.evidence.get("used"), insight.evidence.get("explained")
    if not (isinstance(used, dict) and isinstance(explained, dict)):
        return
    left, right = st.columns(2)
    for column, side, heading in ((left, used, "Used in"), (right, explained, "Explained in")):
        with column.container(border=True):
            number = f"Lesson {side['lesson_number']} · " if side.get("lesson_number") else ""
            where = f"{number}{side.get('lesson', '')} at {format_seconds(float(side.get('second') or 0))}"
            st.caption(f"{heading} {inert(where)}")
            st.markdown(inert(_short(str(side.get("text", "")))))


def _lesson_label(nearest: dict) -> str:
    number = f"lesson {nearest['lesson_number']} " if nearest.get("lesson_number") else ""
    course = f" ({nearest['course_title']})" if nearest.get("course_title") else ""
    return f"{number}{nearest.get('lesson') or nearest.get('video_title') or ''}{course}".strip()


def evidence_lines(insight: Insight) -> list[str]:
    """The numbers behind a finding as sentences a creator reads ("9 % of viewings (11 of 120) ended
    here; about 5 were expected to"). Viewings are sessions; students are people."""
    ev = insight.evidence
    lines = {"confusion": _confusion_lines, "dropoff": _dropoff_lines, "content_gap": _gap_lines,
             "concept_order": _order_lines, "course_split": _split_lines}[insight.kind](ev)
    return [line for line in lines if line]


def decision_line(insight: Insight) -> str | None:
    """"Done on 3 Dec 2026" or "Dismissed on …" for a decided suggestion; None while it is open."""
    state, when = insight.evidence.get("state"), insight.evidence.get("decided_at")
    if state not in ("done", "dismissed"):
        return None
    verb = "Done" if state == "done" else "Dismissed"
    return f"{verb} on {_day(when)}" if when else verb


def gap_empty_text(tally: GapTally, *, course_chosen: bool, decided_shown: bool) -> str:
    """Why the content-gap list is empty, told truthfully from the workspace's questions: none went
    unanswered, or they are too few on one subject, or their suggestions were decided."""
    missed = tally.unanswered + tally.weak
    if tally.asked == 0:
        return "No questions to the assistant yet; unanswered ones will be grouped here."
    if missed == 0:
        covered = (f" ({plural(tally.not_found, 'question')} found no passage when asked; the videos cover "
                   f"{'it' if tally.not_found == 1 else 'them'} now)") if tally.not_found else ""
        return f"All {plural(tally.asked, 'question')} so far were answered from a lesson{covered}."
    parts = []
    if tally.unanswered:
        parts.append(f"{plural(tally.unanswered, 'question')} found no answer in any lesson")
    if tally.weak:
        parts.append(f"{plural(tally.weak, 'question')} {'was' if tally.weak == 1 else 'were'} answered "
                     "only weakly")
    said = " and ".join(parts)
    where = "In the whole workspace, " if course_chosen else ""
    if tally.suggestions == 0:
        return (f"{where}{said}, but no subject was asked about often enough to suggest a lesson (a suggestion "
                f"needs {MIN_QUESTIONS} questions on one subject). The Assistant page's question log lists them.")
    if tally.decided == tally.suggestions and not decided_shown:
        which = "the suggestion they form is" if tally.suggestions == 1 else "all the suggestions they form are"
        return (f"{where}{said}; {which} marked done or dismissed. Switch on “Show decided suggestions” to see "
                f"{'it' if tally.suggestions == 1 else 'them'}.")
    if course_chosen:
        return (f"No suggestion is near this course's lessons. In the whole workspace, {said}: choose All "
                "courses to see the suggestions they form.")
    return f"{said}; none of them forms an open suggestion."


def _confusion_lines(ev: dict[str, Any]) -> list[str | None]:
    asked, students, yours, about_video = (ev.get("questions") or 0, ev.get("student_questions") or 0,
                                           ev.get("creator_questions") or 0, ev.get("video_questions") or 0)
    who = f" ({students} from students, {yours} yours)" if students and yours else ""
    of_video = f", of {about_video} asked about this video" if about_video > asked else ""
    return [f"{plural(asked, 'question')} to the assistant cite this moment{who}{of_video}.",
            _rewound(ev.get("rewatch_sessions"), ev.get("sessions")),
            _ended(ev.get("left_sessions"), ev.get("sessions"), ev.get("expected_left"), "here")]


def _dropoff_lines(ev: dict[str, Any]) -> list[str | None]:
    n = ev.get("sessions")
    window = ev.get("window_seconds") or []
    where = (f"between {_time(window[0])} and {_time(window[1])}" if len(window) == 2 else "here")
    rewound = _rewound(ev.get("rewatch_sessions"), n)
    if rewound and ev.get("rewatch_excess_share") is not None and n:
        usual = max(0, round(ev["rewatch_sessions"] - ev["rewatch_excess_share"] * n))
        rewound = rewound[:-1] + f"; about {usual} would at an ordinary moment of this video."
    watching = ev.get("watching")
    return [_ended(ev.get("left_sessions"), n, ev.get("expected_left"), where), rewound,
            f"{_share(watching)} of viewings were still watching when it starts." if watching is not None else None]


def _gap_lines(ev: dict[str, Any]) -> list[str | None]:
    asked, distinct, students = ev.get("questions") or 0, ev.get("distinct_questions") or 0, ev.get("students") or 0
    wordings = (" (one question, asked again)" if distinct == 1 < asked
                else f" ({distinct} different wordings)" if 1 < distinct < asked else "")
    askers = f"from {plural(students, 'student')}" if students else "asked by you or your team"
    when = ""
    if ev.get("first_asked") and ev.get("last_asked"):
        first, last = _day(ev["first_asked"]), _day(ev["last_asked"])
        when = f", on {first}" if first == last else f", from {first} to {last}"
    not_found = ev.get("not_found") or 0
    if not_found >= asked:
        answered = "The assistant found no passage for any of them."
    elif not_found:
        answered = f"The assistant found no passage for {not_found} of them and answered the rest weakly."
    else:
        answered = "No passage of the videos matches them well: the closest ones are about something else."
    words = ev.get("words_not_in_transcripts") or []
    return [f"{plural(asked, 'question')}{wordings} {askers}{when}.", answered,
            f"No transcript contains: {', '.join(str(w) for w in words[:8])}." if words else None]


def _order_lines(ev: dict[str, Any]) -> list[str | None]:
    uses, apart = ev.get("uses_before_explanation") or 0, ev.get("lessons_apart") or 0
    lessons = ev.get("lessons_using_it_before") or []
    where = f" (lessons {', '.join(str(n) for n in lessons)})" if len(lessons) > 1 else ""
    return [f"'{ev.get('term', '')}' comes up {plural(uses, 'time')}{where} before the lesson that explains it, "
            f"{plural(apart, 'lesson')} later."]


def _split_lines(ev: dict[str, Any]) -> list[str | None]:
    by_id = {str(c.get("course_id")): c for c in ev.get("courses") or [] if isinstance(c, dict)}
    better, worse = by_id.get(str(ev.get("better_course_id"))), by_id.get(str(ev.get("worse_course_id")))
    lines: list[str | None] = []
    if better and worse:
        lines.append(f"In {better['course_title']}, {_rate(better)} of {plural(better['students'], 'student')} "
                     f"completed it; in {worse['course_title']}, {_rate(worse)} of {worse['students']:,}.")
    p_value = ev.get("p_value")
    if p_value is not None:
        lines.append(f"A gap of {ev.get('difference_points', 0):.0f} points this large {_chance(float(p_value))}.")
    low_high = ev.get("diverges_between_percent") or []
    if ev.get("diverges_at") and len(low_high) == 2:
        lines.append(f"Their students part ways around {ev['diverges_at']} ({low_high[0]:.0f}–{low_high[1]:.0f} % "
                     "into the video).")
    return lines


def _rewound(count: int | None, sessions: int | None) -> str | None:
    if not count or not sessions:
        return None
    return f"{_share(count / sessions)} of viewings ({count:,} of {sessions:,}) rewound over it."


def _ended(count: int | None, sessions: int | None, expected: float | None, where: str) -> str | None:
    if not count or not sessions:
        return None
    line = f"{_share(count / sessions)} of viewings ({count:,} of {sessions:,}) ended {where}"
    if expected is None:
        return line + "."
    about = round(float(expected))
    return line + (f"; about {about:,} were expected to." if about else "; almost none were expected to.")


def _chance(p_value: float) -> str:
    """How often chance alone would give the gap, in words (the p value of the two-proportion test)."""
    for limit, words in ((0.001, "1 in 1,000"), (0.01, "1 in 100"), (0.05, "1 in 20")):
        if p_value < limit:
            return f"would come from chance less than {words} times"
    return f"could come from chance about {round(p_value * 100)} times in 100"


def _rate(course: dict[str, Any]) -> str:
    rate = course.get("completion_rate")
    return "–" if rate is None else f"{rate:.0f} %"


def _share(share: float) -> str:
    """A share as a percent a reader can trust: "<1 %" rather than a misleading "0 %"."""
    percent = 100 * float(share)
    return "<1 %" if 0 < percent < 0.5 else f"{round(percent)} %"


def _time(second: Any) -> str:
    return format_seconds(float(second))


def _day(iso: str) -> str:
    when = datetime.fromisoformat(str(iso))
    return f"{when.day} {when:%b %Y}"


def _platform(url: str) -> str:
    return "YouTube" if "youtube" in url else "Loom" if "loom" in url else "its platform"


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
