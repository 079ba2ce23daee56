"""Insights: where in a course students get confused, and why they leave — what to fix first."""

import uuid

import streamlit as st

from chronos_data import page_data, videos
from chronos_data.errors import ChronosError
from chronos_data.insights import KINDS, Insight
from chronos_data.spreadsheet import csv_bytes
from components import layout, state
from components.demo_loader import render_demo_loader
from components.insights_data import confusion_frame, insights_table, question_tally, workspace_insights
from components.insights_view import KIND_LABELS, gap_empty_text, render_insight
from components.moment_player import render_moment_player

state.require_router()

_PLAY = "insights_play"  # (finding key, video id, second) of the moment playing under its card
_KIND = "insights_kind"  # the kind shown: a widget key and the query parameter that shares it
_COURSE = "insights_course"  # the course filter: a widget key and a query parameter (the course's id)

_EMPTY_TEXT = {
    "confusion": "No moment yet where questions, rewatches and drop-offs meet.",
    "dropoff": "No lesson loses viewers at one moment more than its usual curve.",
    "concept_order": "No lesson relies on a term that only a later lesson explains.",
    "course_split": "No video used in several courses works clearly better in one of them.",
}
_WHY = {
    "confusion": "Questions students asked the assistant, placed at the passages its answers cited, on top of "
                 "the retention curve with rewatches and drop-offs: a moment that is rewatched, asked about "
                 "and abandoned stands out. A viewing is one session of watching; one student may have several.",
    "dropoff": "Each dip on a lesson's retention curve, with what is being said there. A viewing is one session "
               "of watching; one student may have several.",
    "content_gap": "Questions the assistant could not answer, or answered weakly, grouped by similarity.",
    "concept_order": "Terms a lesson uses that are only explained in a later lesson of the course order.",
    "course_split": "A video used in several courses, its completion and retention compared by course.",
}


def _from_url(key: str, valid: dict[str, object]) -> None:
    """Start a widget from its query parameter (a shared link, a reload) when the visitor has not chosen."""
    if key not in st.session_state and (raw := st.query_params.get(key)) in valid:
        st.session_state[key] = valid[raw]


def _to_url(key: str, value: str | None) -> None:
    if value is None:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def _open(insight: Insight) -> None:
    st.session_state[_PLAY] = (insight.key, insight.video_id, int(insight.second or 0))


def _player(insight: Insight) -> None:
    """The moment under its finding's card, while it is the one playing."""
    playing = st.session_state.get(_PLAY)
    if not playing or playing[0] != insight.key:
        return
    _, video_id, second = playing
    try:
        with state.workspace() as t:
            video = videos.get_video(t, video_id)
    except ChronosError:
        st.session_state.pop(_PLAY, None)
        return
    with st.container(border=True):
        render_moment_player(video, second)
        st.button("Close player", key="insights_close_player", icon=":material/close:",
                  on_click=lambda: st.session_state.pop(_PLAY, None))


def _gap_actions(insight: Insight) -> None:
    if not state.can_edit() or insight.key is None:
        return
    from chronos_data.insights import gaps

    if insight.evidence.get("state") in ("done", "dismissed"):
        if st.button("Reopen", key=f"insights_reopen_{insight.key}", icon=":material/undo:"):
            with state.workspace() as t:
                gaps.reopen_gap(t, insight.key)
            st.rerun()
        return
    for label, value, icon in (("Done", "done", ":material/task_alt:"), ("Dismiss", "dismissed", ":material/close:")):
        if st.button(label, key=f"insights_{value}_{insight.key}", icon=icon):
            examples = insight.evidence.get("examples") or [None]
            with state.workspace() as t:
                gaps.mark_gap(t, insight.key, value, title=insight.title, example=examples[0])
            st.session_state["insights_flash"] = (f"Suggestion marked {value}; it is hidden now "
                                                  "(show decided suggestions to reopen it).")
            st.rerun()


def _confusion_chart(found: list[Insight]) -> None:
    moments = [i for i in found if i.video_id is not None]
    if not moments:
        return
    titles = {i.video_id: i.video_title or "Video" for i in moments}
    video_id = st.selectbox("Confusion map of", list(titles), format_func=titles.get, key="insights_map_video")
    frame = confusion_frame(state.current_creator_id(state.get_database()), video_id)
    if not frame.empty:
        from components.insight_figures import confusion_figure

        st.plotly_chart(confusion_figure(frame), key="insights_map_chart")


def _empty(kind: str, creator_id: uuid.UUID, version: str, *, course_chosen: bool, decided_shown: bool) -> None:
    if kind == "content_gap":
        text = gap_empty_text(question_tally(creator_id, version), course_chosen=course_chosen,
                              decided_shown=decided_shown)
    else:
        text = _EMPTY_TEXT[kind]
    st.info(text, icon=":material/info:")


st.title("Insights")
st.caption("Where students get confused and why they leave, from your transcripts, your course order, their "
           "viewing and their questions. Most urgent first.")
if flash := st.session_state.pop("insights_flash", None):
    st.success(flash, icon=":material/check_circle:")

with state.workspace() as t:
    page = page_data.insights_page(t)
course_list, version = page.courses, page.version

if not course_list and not page.has_signal:
    layout.render_empty_state(
        "Nothing to learn from yet",
        "Insights need a course with lessons, students' viewing and questions to the assistant. Build a course, "
        "share it, or look at the demo workspace to see every insight on sample data.",
        next_page="pages/courses.py", next_label="Build a course", icon=":material/school:")
    if not state.in_demo_workspace():
        render_demo_loader(key="insights_demo")
    st.stop()

titles = {None: "All courses", **{c.id: c.title for c in course_list}}
_from_url(_COURSE, {str(c.id): c.id for c in course_list})
_from_url(_KIND, {kind: kind for kind in KINDS})
left, middle, right = st.columns([2.6, 1.7, 1], vertical_alignment="bottom")
course_id = left.selectbox("Course", list(titles), format_func=titles.get, key=_COURSE)
show_decided = middle.toggle("Show decided suggestions", key="insights_decided")
creator_id = state.current_creator_id(state.get_database())

with st.spinner("Looking for patterns…"):
    found = workspace_insights(creator_id, course_id, show_decided, version)

right.download_button("Download CSV", csv_bytes(insights_table(found)),
                      file_name="insights.csv", mime="text/csv", key="insights_csv", icon=":material/download:",
                      on_click="ignore", help="Every finding of this filter, one row each, with the numbers behind it.")
counts = {kind: sum(1 for i in found if i.kind == kind) for kind in KINDS}
st.session_state.setdefault(_KIND, KINDS[0])
kind = st.segmented_control("Findings", KINDS, format_func=lambda k: f"{KIND_LABELS[k]} ({counts[k]})",
                            key=_KIND, required=True, label_visibility="collapsed") or KINDS[0]
_to_url(_COURSE, str(course_id) if course_id else None)
_to_url(_KIND, kind if kind != KINDS[0] else None)

st.caption(_WHY[kind])
of_kind = [i for i in found if i.kind == kind]
if kind == "confusion":
    _confusion_chart(of_kind)
if not of_kind:
    _empty(kind, creator_id, version, course_chosen=course_id is not None, decided_shown=show_decided)
for insight in of_kind:
    render_insight(insight, key=f"insights_{insight.key}", on_open=_open,
                   actions=_gap_actions if kind == "content_gap" else None)
    _player(insight)
