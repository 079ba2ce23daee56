"""Insights: where in a course students get confused, and why they leave — what to fix first."""

import streamlit as st

from chronos_data import courses, dashboards, videos, workspace
from chronos_data.errors import ChronosError
from chronos_data.insights import KINDS, Insight
from components import layout, state
from components.assistant_view import render_moment_player
from components.demo_loader import render_demo_loader
from components.insights_data import confusion_frame, forget_insights, workspace_insights
from components.insights_view import KIND_LABELS, render_insight

state.require_router()

_PLAY = "insights_play"  # (video id, second) of the moment playing in the page

_EMPTY_TEXT = {
    "confusion": "No moment yet where questions, rewatches and drop-offs meet.",
    "dropoff": "No lesson loses learners at one moment more than its usual curve.",
    "content_gap": "Every question so far was answered from a lesson (or was marked done or dismissed).",
    "concept_order": "No lesson relies on a term that only a later lesson explains.",
    "course_split": "No video used in several courses works clearly better in one of them.",
}
_WHY = {
    "confusion": "Questions students asked the assistant, placed at the passages its answers cited, on top of "
                 "the retention curve with rewatches and drop-offs: a moment that is rewatched, asked about "
                 "and abandoned stands out.",
    "dropoff": "Each dip on a lesson's retention curve, with what is being said there.",
    "content_gap": "Questions the assistant could not answer, or answered weakly, grouped by similarity.",
    "concept_order": "Terms a lesson uses that are only explained in a later lesson of the course order.",
    "course_split": "A video used in several courses, its completion and retention compared by course.",
}


def _open(insight: Insight) -> None:
    st.session_state[_PLAY] = (insight.video_id, int(insight.second or 0))


def _player() -> None:
    moment = st.session_state.get(_PLAY)
    if not moment:
        return
    video_id, second = moment
    try:
        with state.tenant() as t:
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
            with state.tenant() as t:
                gaps.reopen_gap(t, insight.key)
            forget_insights()
            st.rerun()
        return
    for label, value, icon in (("Done", "done", ":material/task_alt:"), ("Dismiss", "dismissed", ":material/close:")):
        if st.button(label, key=f"insights_{value}_{insight.key}", icon=icon):
            with state.tenant() as t:
                gaps.mark_gap(t, insight.key, value)
            forget_insights()
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


st.title("Insights")
st.caption("Where students get confused and why they leave, from your transcripts, your course order, their "
           "viewing and their questions. Most urgent first.")
if flash := st.session_state.pop("insights_flash", None):
    st.success(flash, icon=":material/check_circle:")

with state.tenant() as t:
    course_list = courses.list_courses(t)
    has_signal = workspace.has_viewing(t) or workspace.has_rows(t, "chat_messages")
    as_of = dashboards.data_as_of(t)

if not course_list and not has_signal:
    layout.render_empty_state(
        "Nothing to learn from yet",
        "Insights need a course with lessons, learners' viewing and questions to the assistant. Build a course, "
        "share it, or look at the demo workspace to see every insight on sample data.",
        next_page="pages/courses.py", next_label="Build a course", icon=":material/school:")
    if not state.in_demo_workspace():
        render_demo_loader(key="insights_demo")
    st.stop()

titles = {None: "All courses", **{c.id: c.title for c in course_list}}
left, right = st.columns([3, 1], vertical_alignment="bottom")
course_id = left.selectbox("Course", list(titles), format_func=titles.get, key="insights_course")
show_decided = right.toggle("Show decided suggestions", key="insights_decided")

with st.spinner("Looking for patterns…"):
    found = workspace_insights(state.current_creator_id(state.get_database()), course_id, show_decided, str(as_of))

counts = {kind: sum(1 for i in found if i.kind == kind) for kind in KINDS}
st.markdown(" · ".join(f"**{KIND_LABELS[kind]}**: {counts[kind]}" for kind in KINDS))
_player()
tabs = st.tabs([f"{KIND_LABELS[kind]} ({counts[kind]})" for kind in KINDS])
for tab, kind in zip(tabs, KINDS, strict=True):
    with tab:
        st.caption(_WHY[kind])
        of_kind = [i for i in found if i.kind == kind]
        if kind == "confusion":
            _confusion_chart(of_kind)
        if not of_kind:
            st.info(_EMPTY_TEXT[kind], icon=":material/check_circle:")
        for n, insight in enumerate(of_kind):
            render_insight(insight, key=f"insights_{kind}_{n}", on_open=_open,
                           actions=_gap_actions if kind == "content_gap" else None)
