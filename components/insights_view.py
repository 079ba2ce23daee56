"""How an insight is shown: its sentence, the passage, the evidence, and the way to its moment."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from chronos_data.insights import Insight
from chronos_data.timecode import format_seconds
from components.layout import inert

__all__ = ["KIND_LABELS", "render_insight", "render_passages"]

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
        counts = _counts(insight)
        if counts:
            st.caption(" · ".join(counts))
        if examples := insight.evidence.get("example_questions") or insight.evidence.get("examples"):
            st.markdown("**Asked, for example:**\n" + "\n".join(f"- {inert(str(q))}" for q in examples[:5]))
        if nearest := insight.evidence.get("nearest_lessons"):
            st.caption("Nearest lessons: " + "; ".join(inert(_lesson_label(n)) for n in nearest[:3]))
        with st.container(horizontal=True):
            if insight.second is not None and insight.video_id is not None and on_open is not None:
                st.button(f"Play at {format_seconds(insight.second)}", key=f"{key}_open", icon=":material/play_circle:",
                          on_click=on_open, args=(insight,))
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


def _counts(insight: Insight) -> list[str]:
    return [f"{name.replace('_', ' ')}: {value:,}" if isinstance(value, int) else f"{name.replace('_', ' ')}: {value:.2g}"
            for name, value in insight.evidence.items()
            if isinstance(value, int | float) and not isinstance(value, bool)]


def _platform(url: str) -> str:
    return "YouTube" if "youtube" in url else "Loom" if "loom" in url else "its platform"


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
