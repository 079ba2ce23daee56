"""Analytics: how students watch, where they stop, and what it costs."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import streamlit as st

from chronos_data import courses, dashboards, event_import, rollups, videos, workspace
from chronos_data.errors import ChronosError
from components import figures, layout, state
from components.analytics_data import Queries, refresh_rollups
from components.demo_loader import render_demo_loader
from components.insights_data import moment_insights
from components.video_library import format_timestamp

state.require_router()

PRESETS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Last 365 days": 365, "All time": None,
           "Custom range": -1}


def _download(frame: pd.DataFrame, name: str, key: str) -> None:
    # Written when clicked, not on every rerun of the page.
    st.download_button("Download CSV", lambda: frame.to_csv(index=False).encode(), f"chronos-{name}.csv",
                       "text/csv", key=key, icon=":material/download:", on_click="ignore")


def _filters(course_list, library, first_day: date) -> tuple[dashboards.Filters, str]:
    today = datetime.now(UTC).date()
    left, middle, right, far = st.columns([1.1, 1.3, 1.3, 1.5])
    preset = left.selectbox("Period", list(PRESETS), index=1, key="analytics_period")
    days = PRESETS[preset]
    if days == -1:
        picked = middle.date_input("Dates", value=(today - timedelta(days=29), today), max_value=today,
                                   key="analytics_dates")
        start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (today, today)
    else:
        start = first_day if days is None else today - timedelta(days=days - 1)
        end = today
    with middle if days != -1 else left:
        granularity = st.segmented_control("Granularity", list(dashboards.GRANULARITIES), default="day",
                                           key="analytics_granularity") or "day"
    titles = {c.id: c.title for c in course_list}
    course_id = right.selectbox("Course", [None, *titles], format_func=lambda c: "All courses" if c is None
                                else titles[c], key="analytics_course")
    names = {v.id: v.title for v in library}
    chosen = far.multiselect("Videos", list(names), format_func=names.get, key="analytics_videos",
                             placeholder="All videos")
    try:
        return dashboards.Filters(start, end, course_id, tuple(chosen) or None), granularity
    except ChronosError as exc:
        st.error(str(exc))
        st.stop()


def _kpis(table: pd.DataFrame) -> None:
    for column, row in zip(st.columns(len(table)), table.itertuples(), strict=True):
        delta = None if pd.isna(row.change_percent) else f"{row.change_percent:+.0f}%"
        precise = "rate" in row.metric or "hours" in row.metric or "daily" in row.metric
        column.metric(row.metric, f"{row.value:,.1f}" if precise else f"{row.value:,.0f}", delta,
                      help=f"{row.help} Previous period: {row.previous:,.1f}")


def _trends(q: Queries, f: dashboards.Filters, granularity: str) -> None:
    frame = q.views_over_time(f, granularity)
    event = st.plotly_chart(figures.figure("trend_figure", frame, granularity), key="analytics_trend",
                            on_select="rerun", selection_mode="points", width="stretch")
    picked = [p["x"] for p in (event.selection.points if event and event.selection else []) if "x" in p]
    if picked:
        day = date.fromisoformat(str(picked[0])[:10])
        span = {"day": 1, "week": 7, "month": 31}[granularity]
        period = dashboards.Filters(day, min(day + timedelta(days=span - 1), f.end), f.course_id, f.video_ids)
        st.markdown(f"**Videos watched in the {granularity} of {day:%d %b %Y}**")
        top = q.top_videos(period)
        st.dataframe(top[top["views"] > 0][["title", "views", "watch_hours", "completion_rate"]], hide_index=True,
                     width="stretch")
    else:
        st.caption("Click a bar to see which videos were watched then.")
    _download(frame, "views-over-time", "analytics_trend_csv")
    st.markdown("**When learners watch** (sessions by weekday and hour, UTC)")
    st.plotly_chart(figures.figure("heatmap_figure", q.engagement_heatmap(f)), key="analytics_heatmap",
                    width="stretch")


def _retention(q: Queries, f: dashboards.Filters, library) -> None:
    names = {v.id: v.title for v in library}
    if not names:
        st.caption("No videos yet.")
        return
    left, right = st.columns(2)
    video_id = left.selectbox("Video", list(names), format_func=names.get, key="analytics_retention_video")
    other = right.selectbox("Compare with", [None, *[v for v in names if v != video_id]],
                            format_func=lambda v: "No comparison" if v is None else names[v],
                            key="analytics_retention_compare")
    curve = q.retention_curve(video_id, f)
    if not curve["sessions"].max():
        st.info("Nobody watched this video in the chosen period.", icon=":material/visibility_off:")
        return
    moments = dashboards.key_moments(curve)
    band = q.typical_retention(video_id, f)
    compare = q.retention_curve(other, f) if other else None
    st.plotly_chart(figures.figure("retention_figure", curve, title=names[video_id], band=band, compare=compare,
                                            compare_title=names.get(other), moments=moments),
                    key="analytics_retention", width="stretch")
    facts = [f"**{int(curve['sessions'].max()):,} sessions**"]
    if moments["at_30s"] is not None:
        facts.append(f"**{moments['at_30s']:.0%}** still watching at 0:30")
    facts += [f"steep drop at **{format_timestamp(d['second'])}** (−{d['lost']:.0%} of viewers over the next 5 %)"
              for d in moments["drops"]]
    facts += [f"rewatched around **{format_timestamp(s['second'])}** ({s['rewatching']:.0%} of sessions)"
              for s in moments["spikes"]]
    st.markdown(" · ".join(facts))
    _explained(q, video_id)
    _download(curve, "retention", "analytics_retention_csv")


def _explained(q: Queries, video_id) -> None:
    """What is being said where learners leave, rewind and ask (from the Insights page)."""
    moments = [i for i in moment_insights(q.creator_id, q.as_of) if i.video_id == video_id]
    if not moments:
        return
    with st.container(border=True):
        st.markdown("**What is being said at these moments**")
        st.markdown("\n".join(f"- {layout.inert(i.title)}" for i in moments))
        st.page_link("pages/insights.py", label="Open Insights", icon=":material/lightbulb:")


def _courses(q: Queries, f: dashboards.Filters, course_list) -> None:
    if not course_list:
        st.caption("No courses yet: build one on the Courses page to see its funnel.")
        return
    titles = {c.id: c.title for c in course_list}
    course_id = f.course_id or st.selectbox("Course", list(titles), format_func=titles.get,
                                            key="analytics_funnel_course")
    funnel = q.course_funnel(course_id, f)
    st.plotly_chart(figures.figure("funnel_figure", funnel), key="analytics_funnel", width="stretch")
    st.dataframe(funnel.drop(columns=["video_id", "module_id"]), hide_index=True, width="stretch",
                 column_config={"position": "#", "module": "Module", "lesson": "Lesson", "started": "Started",
                                "completed": "Completed",
                                "completion_rate": st.column_config.NumberColumn("Completion %", format="%.1f")})
    _download(funnel, "funnel", "analytics_funnel_csv")

    st.markdown("**Learners at risk** (not finished; inactive 14 days, or stalled on an unfinished lesson for 7)")
    risk = q.at_risk_learners(course_id)
    if risk.empty:
        st.caption("Nobody is at risk in this course.")
        return
    if len(risk) == dashboards.AT_RISK_LIMIT:
        st.caption(f"The {dashboards.AT_RISK_LIMIT:,} most recently lapsed learners (the ones a nudge can still "
                   "bring back); the CSV holds the same list.")
    event = st.dataframe(risk.drop(columns=["student_id"]), hide_index=True, width="stretch",
                         on_select="rerun", selection_mode="single-row", key="analytics_risk")
    _download(risk, "at-risk", "analytics_risk_csv")
    rows = event.selection.rows if event and event.selection else []
    if rows:
        learner = risk.iloc[rows[0]]
        st.markdown(f"**{layout.inert(str(learner['email']))}** through *{layout.inert(titles[course_id])}*")
        st.dataframe(q.student_progress(course_id, learner["student_id"]), hide_index=True,
                     width="stretch")
    else:
        st.caption("Select a learner to see their progress lesson by lesson.")


def _videos(q: Queries, f: dashboards.Filters) -> None:
    top = q.top_videos(f)
    event = st.dataframe(
        top.drop(columns=["video_id", "duration_seconds"]), hide_index=True, width="stretch",
        on_select="rerun", selection_mode="single-row", key="analytics_top_videos",
        column_config={
            "title": "Video", "views": "Views", "watch_hours": "Watch hours",
            "completion_rate": st.column_config.ProgressColumn("Completion %", min_value=0, max_value=100,
                                                               format="%.0f%%"),
            "rewatch_rate": st.column_config.NumberColumn("Rewatch %", help=dashboards.FORMULAS["Rewatch %"]),
            "repeat_view_rate": st.column_config.NumberColumn("Repeat views %",
                                                              help=dashboards.FORMULAS["Repeat views %"]),
            "ai_interactions": "AI answers citing it",
            "engagement_score": st.column_config.ProgressColumn("Engagement", min_value=0, max_value=100,
                                                                format="%.0f", help=dashboards.FORMULAS[
                                                                    "Engagement score"]),
            "daily_views": st.column_config.LineChartColumn("Views per day"),
        })
    _download(top.drop(columns=["daily_views"]), "videos", "analytics_videos_csv")
    rows = event.selection.rows if event and event.selection else []
    if not rows:
        st.caption("Select a video to see its retention.")
        return
    video = top.iloc[rows[0]]
    curve = q.retention_curve(video["video_id"], f)
    st.plotly_chart(figures.figure("retention_figure", curve, title=video["title"],
                                   moments=dashboards.key_moments(curve)),
                    key="analytics_video_drill", width="stretch")


def _audience(q: Queries, f: dashboards.Filters) -> None:
    left, right = st.columns(2)
    for column, by, title in ((left, "device", "Devices"), (right, "referrer", "Where learners came from")):
        frame = q.breakdown(f, by)
        with column:
            st.markdown(f"**{title}**")
            if frame.empty:
                st.caption("No sessions in this period.")
                continue
            st.plotly_chart(figures.figure("breakdown_figure", frame, by), key=f"analytics_{by}", width="stretch")
            st.dataframe(frame, hide_index=True, width="stretch")
            _download(frame, by, f"analytics_{by}_csv")


def _costs(q: Queries, f: dashboards.Filters) -> None:
    frame = q.costs(f)
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"usd": st.column_config.NumberColumn("US$", format="$%.4f")})
    st.caption("Transcription is free for captions and subtitle files; Whisper transcription is charged per "
               "minute. Assistant answers written by a model use AI credits.")
    _download(frame, "costs", "analytics_costs_csv")


def _import_history() -> None:
    with st.expander("Import viewing history from another platform", icon=":material/upload_file:"):
        st.caption("A CSV or JSON Lines file with the columns type (an event type or session), video (its id, "
                   "YouTube id or exact title), student_email and timestamp; optionally end, percent_complete, "
                   "watch_time_seconds, device_type and referrer_type. Importing the same file twice adds nothing.")
        upload = st.file_uploader("Events file", type=["csv", "jsonl", "ndjson"], key="analytics_import_file")
        if upload is None or not st.button("Import", key="analytics_import", icon=":material/upload:"):
            return
        try:
            with state.tenant() as t:
                report = event_import.import_events(t, upload.getvalue(), upload.name)
                rollups.rollup(t)
        except ChronosError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        st.success(f"{report.kept:,} rows imported, {report.duplicates:,} already there, "
                   f"{report.rejected_count:,} rejected; {layout.plural(report.students_added, 'new learner')}.",
                   icon=":material/check_circle:")
        if report.rejected:
            st.dataframe(pd.DataFrame(report.rejected, columns=["Line", "What is wrong"]), hide_index=True,
                         width="stretch")


st.title("Analytics")

with state.tenant() as t:
    viewing = workspace.has_viewing(t)
if viewing:
    refresh_rollups(state.current_creator_id(state.get_database()))  # days not rolled up yet, and today
with state.tenant() as t:
    course_list = courses.list_courses(t)
    library = videos.list_videos(t)
    as_of = dashboards.data_as_of(t)

if not viewing:
    layout.render_empty_state(
        "No viewing data yet",
        "Charts of views, watch time, retention, completion funnels and engagement appear here once "
        "students watch your lessons. To explore them now, load the demo workspace.",
        next_page="pages/courses.py",
        next_label="Build a course for students to watch",
        icon=":material/school:",
    )
    if not state.in_demo_workspace():
        render_demo_loader(key="analytics_demo")
    _import_history()
    st.stop()

with state.tenant() as t:
    first_day = dashboards.first_activity_day(t) or datetime.now(UTC).date()
filters, granularity = _filters(course_list, library, first_day)
header, formulas = st.columns([4, 1], vertical_alignment="center")
header.caption(f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} (UTC days), compared with the "
               f"{filters.days} days before · data as of {as_of:%d %b %Y %H:%M} UTC" if as_of else "")
with formulas.popover("Formulas", icon=":material/function:"):
    for name, text in dashboards.FORMULAS.items():
        st.markdown(f"**{name}**: {text}")

q = Queries(state.current_creator_id(state.get_database()), as_of)
_kpis(q.kpis(filters))
trends, retention, course_tab, video_tab, audience, cost = st.tabs(
    ["Trends", "Retention", "Courses", "Videos", "Audience", "Costs"])
with trends:
    _trends(q, filters, granularity)
with retention:
    _retention(q, filters, library)
with course_tab:
    _courses(q, filters, course_list)
with video_tab:
    _videos(q, filters)
with audience:
    _audience(q, filters)
with cost:
    _costs(q, filters)
_import_history()
