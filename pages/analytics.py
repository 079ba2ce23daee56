"""Analytics: how students watch, where they stop, and what it costs."""

import uuid
from datetime import UTC, date, datetime

import pandas as pd
import streamlit as st

from chronos_data import page_data, periods, spending
from chronos_data.errors import ChronosError
from chronos_data.spreadsheet import csv_bytes
from chronos_data.viewing import dashboards, event_import, rollups
from components import charts, figures, layout, state
from components.analytics_data import Queries, refresh_rollups
from components.demo_loader import render_demo_loader
from components.insights_data import moment_insights, retention_moments
from components.kpi_cards import render_kpi_cards
from components.selection import clear_pick, render_pickable_table
from components.video_library import format_timestamp
from components.whop_churn import render_whop_churn

state.require_router()

TABS = ["Trends", "Retention", "Courses", "Videos", "Audience", "Costs"]
_VIDEO_PICK, _STUDENT_PICK, _SLICE = "analytics_video_pick", "analytics_student_pick", "analytics_slice"
_URL = "query-params"  # filters, granularity and tab live in the URL: a reload or a shared link keeps the view


def _download(frame: pd.DataFrame, name: str, key: str) -> None:
    # Written when clicked, not on every rerun of the page.
    st.download_button("Download CSV", lambda: csv_bytes(frame), f"chronos-{name}.csv",
                       "text/csv", key=key, icon=":material/download:", on_click="ignore")


def _filters(course_list, library, first_day: date) -> tuple[dashboards.Filters, str]:
    today = datetime.now(UTC).date()
    # Before the first render of the Period box its value is only in the URL.
    custom = st.session_state.get("analytics_period", st.query_params.get("analytics_period")) == periods.CUSTOM
    # A custom range adds a Dates field: two rows then, so every field keeps a readable width.
    columns = st.columns([1, 1.4, 1.2]) + st.columns(2) if custom else st.columns([1.1, 1.3, 1.3, 1.5])
    period, when, right, far = (columns[0], columns[2], columns[3], columns[4]) if custom else columns
    choices = list(periods.PERIODS)
    preset = period.selectbox("Period", choices, index=choices.index(periods.DEFAULT_PERIOD), key="analytics_period",
                              bind=_URL)
    picked = ()
    if preset == periods.CUSTOM:
        picked = (columns[1] if custom else when).date_input(
            "Dates", value=periods.custom_default(today), max_value=today, key="analytics_dates", bind=_URL)
    start, end = periods.period_range(preset, today, first_day, picked if isinstance(picked, tuple) else ())
    with when:
        granularity = st.segmented_control("Granularity", list(periods.GRANULARITIES), default="day",
                                           key="analytics_granularity", bind=_URL) or "day"
    # Ids as text: they are what the URL holds.
    titles = {str(c.id): c.title for c in course_list}
    course = right.selectbox("Course", [None, *titles], format_func=lambda c: "All courses" if c is None
                             else titles[c], key="analytics_course", bind=_URL)
    names = {str(v.id): v.title for v in library}
    chosen = far.multiselect("Videos", list(names), format_func=names.get, key="analytics_videos",
                             placeholder="All videos", bind=_URL)
    try:
        return dashboards.Filters(start, end, uuid.UUID(course) if course else None,
                                  tuple(uuid.UUID(v) for v in chosen) or None), granularity
    except ChronosError as exc:
        st.error(str(exc))
        st.stop()


def _slice_filter(pick: dict) -> None:
    """The chart slice the page is filtered to, with its Clear control."""
    note, clear = st.columns([5, 1], vertical_alignment="center")
    note.markdown(f":material/filter_alt: Filtered to **{layout.inert(pick['label'])}**")
    clear.button("Clear", key=f"analytics_slice_clear_{pick['chart']}", icon=":material/close:",
                 on_click=_clear_slice)


def _clear_slice() -> None:
    pick = st.session_state.pop(_SLICE, None)
    if pick:  # a new chart widget: its highlighted point goes with the filter
        st.session_state[f"analytics_chart_round_{pick['chart']}"] = _round(pick["chart"]) + 1


def _round(chart: str) -> int:
    return st.session_state.get(f"analytics_chart_round_{chart}", 0)


def _chart_key(chart: str) -> str:
    return f"analytics_{chart}_{_round(chart)}"


def _slice_videos(q: Queries, f: dashboards.Filters, pick: dict) -> None:
    videos_then = q.slice_videos(f, **pick["query"])
    if videos_then.empty:
        st.caption("No sessions in this slice for the chosen period.")
        return
    st.dataframe(videos_then.drop(columns=["video_id"]), hide_index=True, width="stretch",
                 column_config={"title": "Video", "sessions": st.column_config.NumberColumn("Sessions", format="%d"),
                                "watch_hours": st.column_config.NumberColumn("Watch hours", format="%.2f")})


def _points(key: str) -> list[dict]:
    event = st.session_state.get(key)
    return list(event["selection"]["points"]) if event and event.get("selection") else []


def _trends(q: Queries, f: dashboards.Filters, granularity: str) -> None:
    frame = q.views_over_time(f, granularity)
    # A clicked bar belongs to one axis: a new period or granularity starts without one (its date
    # could lie outside the new range).
    event = st.plotly_chart(figures.figure("trend_figure", frame, granularity), width="stretch",
                            key=f"analytics_trend_{granularity}_{f.start}_{f.end}", on_select="rerun",
                            selection_mode="points")
    picked = [p["x"] for p in (event.selection.points if event and event.selection else []) if "x" in p]
    first, last = (periods.bucket(date.fromisoformat(str(picked[0])[:10]), granularity, f.start, f.end) if picked
                   else (f.end, f.start))
    if first <= last:
        span = "" if granularity == "day" else f" ({first:%d %b} – {last:%d %b %Y})"
        st.markdown(f"**Videos watched in {periods.bucket_label(first, granularity)}**{span}")
        top = q.top_videos(dashboards.Filters(first, last, f.course_id, f.video_ids))
        st.dataframe(top[top["views"] > 0][["title", "views", "watch_hours", "completion_rate"]], hide_index=True,
                     width="stretch", column_config=_VIDEO_COLUMNS)
    else:
        st.caption("Click a bar to see which videos were watched then.")
    _download(frame, "views-over-time", "analytics_trend_csv")
    _heatmap(q, f)


def _zone() -> tuple[int, str]:
    """The browser's offset from UTC (minutes east) and its zone's name; UTC when unknown."""
    offset = st.context.timezone_offset
    if offset is None:
        return 0, "UTC"
    return -int(offset), st.context.timezone or f"UTC{-offset / 60:+g}"


def _heatmap(q: Queries, f: dashboards.Filters) -> None:
    offset, zone = _zone()
    grid = charts.heatmap_grid(q.engagement_heatmap(f, offset))
    st.markdown(f"**When students watch** (sessions by weekday and hour, {zone} time)")
    key = _chart_key("heatmap")
    st.plotly_chart(figures.figure("heatmap_figure", grid, zone), key=key, width="stretch",
                    on_select=lambda: _pick_heatmap(key, offset, zone), selection_mode="points")
    rounded = ", rounded to the hour" if offset % 60 else ""
    st.caption("Click a cell to see which videos were watched then. Days and hours are in your browser's time "
               f"zone ({zone}), by its current offset from UTC{rounded}.")
    pick = st.session_state.get(_SLICE)
    if pick and pick["chart"] == "heatmap":
        _slice_filter(pick)
        _slice_videos(q, f, pick)
    _download(grid.assign(weekday=grid["weekday"].map(lambda d: charts.WEEKDAYS[d - 1]), time_zone=zone),
              "sessions-by-hour", "analytics_heatmap_csv")


def _pick_heatmap(key: str, offset: int, zone: str) -> None:
    points = [p for p in _points(key) if "x" in p and "y" in p]
    if not points:
        st.session_state.pop(_SLICE, None)
        return
    day, hour = charts.WEEKDAYS.index(points[0]["y"]) + 1, int(str(points[0]["x"])[:2])
    weekday, utc_hour = periods.utc_weekday_hour(day, hour, offset)
    st.session_state[_SLICE] = {"chart": "heatmap", "label": f"{points[0]['y']} {hour:02d}:00–{hour:02d}:59 ({zone})",
                                "query": {"weekday": weekday, "hour": utc_hour}}


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
    moments = _moments(q, video_id, f)
    band = q.typical_retention(video_id, f)
    compare = q.retention_curve(other, f) if other else None
    st.plotly_chart(figures.figure("retention_figure", curve, title=names[video_id], band=band, compare=compare,
                                            compare_title=names.get(other), moments=moments),
                    key="analytics_retention", width="stretch")
    _facts(curve, moments)
    _explained(q, video_id, f)
    _download(curve, "retention", "analytics_retention_csv")


def _facts(curve: pd.DataFrame, moments: dict) -> None:
    facts = [f"**{int(curve['sessions'].max()):,} sessions**"]
    if moments["at_30s"] is not None:
        facts.append(f"**{moments['at_30s']:.0%}** still watching at 0:30")
    facts += [f"drop-off at **{format_timestamp(d['second'])}** ({d['lost']:.0%} of sessions end there)"
              for d in moments["drops"]]
    facts += [f"rewatched around **{format_timestamp(s['second'])}** ({s['rewatching']:.0%} of sessions)"
              for s in moments["spikes"]]
    st.markdown(" · ".join(facts))


def _moments(q: Queries, video_id, f: dashboards.Filters) -> dict:
    return retention_moments(q.creator_id, video_id, f.start, f.end, f.course_id, q.as_of)


def _explained(q: Queries, video_id, f: dashboards.Filters) -> None:
    """What is being said where students leave, rewind and ask in the chosen days (from the Insights page)."""
    moments = [i for i in moment_insights(q.creator_id, q.as_of, f.start, f.end) if i.video_id == video_id]
    if not moments:
        return
    with st.container(border=True):
        st.markdown("**What is being said at these moments**")
        st.markdown("\n".join(f"- {layout.inert(i.title)}" for i in moments))
        st.page_link("pages/insights.py", label="Open Insights", icon=":material/lightbulb:")


_VIDEO_COLUMNS = {
    "title": "Video", "views": st.column_config.NumberColumn("Views", format="%d"),
    "watch_hours": st.column_config.NumberColumn("Watch hours", format="%.2f"),
    "completion_rate": st.column_config.NumberColumn("Completion %", format="%.1f"),
}
_FUNNEL_COLUMNS = {"position": "#", "module": "Module", "lesson": "Lesson", "started": "Started",
                   "completed": "Completed",
                   "completion_rate": st.column_config.NumberColumn("Completion %", format="%.1f")}
_RISK_COLUMNS = {"email": "Student", "last_seen": st.column_config.DatetimeColumn("Last seen", format="D MMM YYYY"),
                 "lessons_completed": "Lessons done", "lessons": "Lessons", "last_lesson": "Last lesson",
                 "inactive_days": "Days inactive", "reason": "Why at risk"}
_PROGRESS_COLUMNS = {"position": "#", "module": "Module", "lesson": "Lesson",
                     "best_percent": st.column_config.ProgressColumn("Furthest point", min_value=0, max_value=100,
                                                                     format="%d%%"),
                     "watch_time": "Watch time", "completed": "Completed",
                     "last_watched": st.column_config.DatetimeColumn("Last watched", format="D MMM YYYY HH:mm"),
                     "sessions": "Sessions"}


def _courses(q: Queries, f: dashboards.Filters, course_list) -> None:
    if not course_list:
        st.caption("No courses yet: build one on the Courses page to see its funnel.")
        return
    titles = {c.id: c.title for c in course_list}
    course_id = f.course_id or st.selectbox("Course", list(titles), format_func=titles.get,
                                            key="analytics_funnel_course")
    funnel = q.course_funnel(course_id, f)
    key = _chart_key("funnel")
    lessons = dict(zip(funnel["video_id"].astype(str), funnel["lesson"], strict=True))
    st.plotly_chart(figures.figure("funnel_figure", funnel), key=key, width="stretch",
                    on_select=lambda: _pick_lesson(key, lessons), selection_mode="points")
    chosen = st.session_state.get("analytics_videos") or []
    if len(chosen) == 1 and chosen[0] in lessons:
        _lesson_filter(lessons[chosen[0]])
    else:
        st.caption("Click a lesson's bar to filter the whole page to it.")
    st.dataframe(funnel.drop(columns=["video_id", "module_id"]), hide_index=True, width="stretch",
                 column_config=_FUNNEL_COLUMNS)
    _download(funnel, "funnel", "analytics_funnel_csv")
    _at_risk(q, course_id, titles[course_id])
    _lookup(q, course_id, titles[course_id])


def _pick_lesson(key: str, lessons: dict[str, str]) -> None:
    ids = [str(p["customdata"]) for p in _points(key) if str(p.get("customdata")) in lessons]
    if ids:  # the Videos filter is the page's one video filter: setting it filters every card and chart
        st.session_state["analytics_videos"] = ids[:1]


def _lesson_filter(lesson: str) -> None:
    note, clear = st.columns([5, 1], vertical_alignment="center")
    note.markdown(f":material/filter_alt: Filtered to **{layout.inert(lesson)}**")
    clear.button("Clear", key="analytics_lesson_clear", icon=":material/close:", on_click=_clear_lesson)


def _clear_lesson() -> None:
    st.session_state["analytics_videos"] = []
    st.session_state["analytics_chart_round_funnel"] = _round("funnel") + 1


def _progress(q: Queries, course_id, student_id) -> None:
    progress = q.student_progress(course_id, student_id)
    progress = progress.assign(watch_time=progress["watch_seconds"].map(format_timestamp)).drop(
        columns=["watch_seconds"])
    st.dataframe(progress, hide_index=True, width="stretch", column_config=_PROGRESS_COLUMNS,
                 column_order=list(_PROGRESS_COLUMNS), placeholder="not yet")


def _at_risk(q: Queries, course_id, course_title: str) -> None:
    st.markdown("**Students at risk** (not finished; inactive 14 days, or stalled on an unfinished lesson for 7)")
    risk = q.at_risk_students(course_id)
    if risk.empty:
        st.caption("Nobody is at risk in this course.")
        return
    if len(risk) == dashboards.AT_RISK_LIMIT:
        st.caption(f"The {dashboards.AT_RISK_LIMIT:,} most recently lapsed students (the ones a nudge can still "
                   "bring back); the CSV holds the same list.")
    picked, shown = render_pickable_table(risk, id_column="student_id", key=f"analytics_risk_{course_id}",
                                          pick_key=_STUDENT_PICK, column_config=_RISK_COLUMNS)
    _download(risk, "at-risk", "analytics_risk_csv")
    if picked is None:
        st.caption("Select a student to see their progress lesson by lesson.")
    elif not shown:
        st.info("The student you selected is not in this course's at-risk list; select another, or look them up "
                "by e-mail below.", icon=":material/person_off:")
    else:
        student = risk.loc[risk["student_id"].astype(str) == str(picked)].iloc[0]
        st.markdown(f"**{layout.inert(str(student['email']))}** through *{layout.inert(course_title)}*")
        _progress(q, course_id, picked)


def _lookup(q: Queries, course_id, course_title: str) -> None:
    email = st.text_input("Look up any student by e-mail", key="analytics_student_email",
                          placeholder="student@example.com", icon=":material/search:")
    if not email.strip():
        return
    student_id = q.find_student(email)
    if student_id is None:
        st.info(f"No student with the address {layout.inert(email.strip())} in this workspace.",
                icon=":material/person_off:")
        return
    st.markdown(f"**{layout.inert(email.strip())}** through *{layout.inert(course_title)}*")
    _progress(q, course_id, student_id)


def _videos(q: Queries, f: dashboards.Filters, library) -> None:
    top = q.top_videos(f)
    picked, shown = render_pickable_table(
        top.drop(columns=["duration_seconds"]), id_column="video_id", key="analytics_top_videos",
        pick_key=_VIDEO_PICK,
        column_config={
            **_VIDEO_COLUMNS,
            "completion_rate": st.column_config.ProgressColumn("Completion %", min_value=0, max_value=100,
                                                               format="%.0f%%"),
            "rewatch_rate": st.column_config.NumberColumn("Rewatch %", format="%.1f", help=dashboards.FORMULAS["Rewatch %"]),
            "repeat_view_rate": st.column_config.NumberColumn("Repeat views %", format="%.1f",
                                                              help=dashboards.FORMULAS["Repeat views %"]),
            "ai_interactions": "AI answers citing it",
            "engagement_score": st.column_config.ProgressColumn("Engagement", min_value=0, max_value=100,
                                                                format="%.0f", help=dashboards.FORMULAS[
                                                                    "Engagement score"]),
            "daily_views": st.column_config.LineChartColumn("Views per day"),
        })
    _download(top.drop(columns=["daily_views"]), "videos", "analytics_videos_csv")
    if picked is None:
        st.caption("Select a video to see its retention.")
        return
    title = next((v.title for v in library if str(v.id) == str(picked)), "The video you selected")
    if not shown:
        st.info(f"**{layout.inert(title)}** is not among the videos of the current filters, so its retention is "
                "not shown; clear the selection or widen the filters.", icon=":material/filter_alt_off:")
        st.button("Clear selection", key="analytics_video_pick_clear", on_click=clear_pick, args=(_VIDEO_PICK,))
        return
    curve = q.retention_curve(picked, f)
    st.markdown(f"**Retention of {layout.inert(title)}**")
    if not curve["sessions"].max():
        st.info("Nobody watched this video in the chosen period.", icon=":material/visibility_off:")
        return
    st.plotly_chart(figures.figure("retention_figure", curve, title=title, moments=_moments(q, picked, f)),
                    key="analytics_video_drill", width="stretch")


def _audience(q: Queries, f: dashboards.Filters) -> None:
    left, right = st.columns(2)
    for column, by, title in ((left, "device", "Devices"), (right, "referrer", "Where students came from")):
        frame = q.breakdown(f, by)
        with column:
            st.markdown(f"**{title}**")
            if frame.empty:
                st.caption("No sessions in this period.")
                continue
            key = _chart_key(by)
            st.plotly_chart(figures.figure("breakdown_figure", frame, by), key=key, width="stretch",
                            on_select=lambda key=key, by=by: _pick_slice(key, by), selection_mode="points")
            st.dataframe(frame.assign(**{by: frame[by].map(charts.human_label)}), hide_index=True, width="stretch",
                         column_config={by: by.title(), "sessions": "Sessions",
                                        "watch_hours": st.column_config.NumberColumn("Watch hours", format="%.2f"),
                                        "sessions_completed": st.column_config.NumberColumn(
                                            "Sessions completed %", format="%.1f")})
            _download(frame, by, f"analytics_{by}_csv")
    pick = st.session_state.get(_SLICE)
    if pick and pick["chart"] in ("device", "referrer"):
        _slice_filter(pick)
        _slice_videos(q, f, pick)
    else:
        st.caption("Click a bar to see which videos were watched on that device or from that source.")


def _pick_slice(key: str, by: str) -> None:
    points = _points(key)
    value = next((p.get("customdata") or p.get("label") for p in points), None)
    if isinstance(value, list):
        value = value[0]
    if value is None:
        st.session_state.pop(_SLICE, None)
        return
    words = {"device": "sessions on {}", "referrer": "sessions coming from {}"}[by]
    st.session_state[_SLICE] = {"chart": by, "label": words.format(charts.human_label(value).lower()),
                                "query": {by: str(value)}}


def _costs(q: Queries, f: dashboards.Filters) -> None:
    lines = q.cost_lines(f)
    if lines.empty:
        st.caption("No costs in this period.")
        return
    spent = spending.spending(lines)
    total, credits, monthly = spent.usd, spent.credits, spent.monthly
    first, second = st.columns(2)
    first.metric("Transcription (US$)", f"${total:,.4f}".rstrip("0").rstrip(".") if total else "$0")
    second.metric("AI credits", f"{credits:,}", help="One credit per 1,000 model tokens.")
    if total:
        st.plotly_chart(figures.figure("cost_figure", monthly), key="analytics_costs_chart", width="stretch")
    else:
        st.caption("Nothing was charged in this period (transcripts from captions and subtitle files are free).")
    money = st.column_config.NumberColumn("US$", format="$%.4f")
    by_month, by_kind = st.columns(2)
    with by_month:
        st.markdown("**Per month**")
        st.dataframe(monthly.assign(kind=monthly["kind"].map(charts.human_label)), hide_index=True, width="stretch",
                     column_config={"month": st.column_config.DateColumn("Month", format="MMM YYYY"),
                                    "kind": "Kind", "count": "Items", "usd": money})
    with by_kind:
        st.markdown("**Per kind**")
        kinds = spent.by_item
        st.dataframe(kinds.assign(kind=kinds["kind"].map(charts.human_label)), hide_index=True, width="stretch",
                     column_config={"kind": "Kind", "item": "What", "count": "Items", "usd": money})
    st.markdown("**Per video**")
    st.dataframe(spent.per_video, hide_index=True, width="stretch",
                 column_config={"video": "Video", "count": "Transcriptions", "usd": money})
    st.caption("Transcription is free for captions and subtitle files; Whisper transcription is charged per "
               "minute. Assistant answers written by a model use AI credits.")
    _download(spent.lines, "costs", "analytics_costs_csv")


def _import_history() -> None:
    with st.expander("Import viewing history from another platform", icon=":material/upload_file:"):
        st.caption("A CSV or JSON Lines file with the columns type (an event type or session), video (its id, "
                   "YouTube id or exact title), student_email and timestamp; optionally end, percent_complete, "
                   "watch_time_seconds, device_type and referrer_type. Importing the same file twice adds nothing.")
        upload = st.file_uploader("Events file", type=["csv", "jsonl", "ndjson"], key="analytics_import_file")
        if upload is None or not st.button("Import", key="analytics_import", icon=":material/upload:"):
            return
        try:
            with state.workspace() as t:
                report = event_import.import_events(t, upload.getvalue(), upload.name)
                rollups.rollup(t)
        except ChronosError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        st.success(f"{report.kept:,} rows imported, {report.duplicates:,} already there, "
                   f"{report.rejected_count:,} rejected; {layout.plural(report.students_added, 'new student')}.",
                   icon=":material/check_circle:")
        if report.rejected:
            st.dataframe(pd.DataFrame(report.rejected, columns=["Line", "What is wrong"]), hide_index=True,
                         width="stretch")


st.title("Analytics")

# Days not rolled up yet, and today (at most every ROLLUP_SECONDS): before the page reads "data as of".
refresh_rollups(state.current_creator_id(state.get_database()))
with state.workspace() as t:
    page = page_data.analytics_page(t)
course_list, library, as_of = page.courses, page.videos, page.as_of

if not page.viewing:
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
    render_whop_churn()  # members and cancellations are news before anyone has watched
    st.stop()

filters, granularity = _filters(course_list, library, page.first_day)
header, formulas = st.columns([4, 1], vertical_alignment="center")
header.caption(f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} (UTC days), compared with the "
               f"{filters.days} days before · data as of {as_of:%d %b %Y %H:%M} UTC" if as_of else "")
with formulas.popover("Formulas", icon=":material/function:"):
    for name, text in dashboards.FORMULAS.items():
        st.markdown(f"**{name}**: {text}")

q = Queries(state.current_creator_id(state.get_database()), as_of)
render_kpi_cards(q.kpis(filters))
trends, retention, course_tab, video_tab, audience, cost = st.tabs(TABS, key="analytics_tab", bind=_URL)
with trends:
    _trends(q, filters, granularity)
with retention:
    _retention(q, filters, library)
with course_tab:
    _courses(q, filters, course_list)
with video_tab:
    _videos(q, filters, library)
with audience:
    _audience(q, filters)
with cost:
    _costs(q, filters)
_import_history()
render_whop_churn()
