"""Plotly figure builders for the Analytics page: pure functions of DataFrames (no Streamlit)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from chronos_data.periods import bucket_label
from chronos_data.timecode import format_seconds

__all__ = ["WEEKDAYS", "breakdown_figure", "cost_figure", "count_step", "funnel_figure", "heatmap_figure", "human_label",
           "heatmap_grid", "retention_figure", "trend_figure"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ACCENT, _SECOND, _MUTED = "#4f46e5", "#f59e0b", "rgba(79, 70, 229, 0.15)"
# Labelled ticks on a week or month axis: more would overlap at 1280 px.
_MAX_PERIOD_TICKS = 12
# Up to two decimals, trailing zeros dropped: 0.5, 1.25, 12 (never 0.589 or 0.00407).
_HOURS_FORMAT = ",.2~f"
_HOVER_FORMAT = {"day": "%a %d %b %Y", "week": "Week of %d %b %Y", "month": "%B %Y"}


def _layout(fig: go.Figure, *, height: int = 340, legend: bool = True) -> go.Figure:
    # The legend sits under the plot: above it, it covered annotations and the modebar.
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 70 if legend else 10},
                      hovermode="x unified", plot_bgcolor="white", showlegend=legend,
                      legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0})
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="#eef0f4", rangemode="tozero")
    return fig


def count_step(maximum: float, ticks: int = 5) -> int:
    """A whole-number tick step (1, 2, 5, 10, 20, 50 …) giving about ``ticks`` ticks up to ``maximum``."""
    raw = max(float(maximum), 1.0) / ticks
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next((m * power for m in (1, 2, 5, 10) if m * power >= raw), 10 * power)
    return max(1, int(step))


def human_label(key: object) -> str:
    """A stored key as people read it: ``course_page`` -> ``Course page``."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _period_ticks(periods: pd.Series, granularity: str) -> dict:
    """Ticks at the bars themselves (a week or month bar's date is its first day), thinned to fit."""
    days = [pd.Timestamp(p).date() for p in periods]
    every = max(1, math.ceil(len(days) / _MAX_PERIOD_TICKS))
    shown = days[::every]
    return {"tickmode": "array", "tickvals": [d.isoformat() for d in shown],
            "ticktext": [bucket_label(d, granularity, short=True) for d in shown]}


def trend_figure(frame: pd.DataFrame, granularity: str) -> go.Figure:
    """Views as bars and watch hours as a line over ``period`` (click a bar to drill into it)."""
    periods = [pd.Timestamp(p).date().isoformat() for p in frame["period"]]
    fig = go.Figure()
    fig.add_bar(x=periods, y=frame["views"], name="Views", marker_color=_ACCENT,
                hovertemplate="%{y:,} views<extra></extra>")
    fig.add_scatter(x=periods, y=frame["watch_hours"], name="Watch hours", yaxis="y2", mode="lines+markers",
                    line={"color": _SECOND, "width": 2}, hovertemplate="%{y:,.2~f} h<extra></extra>")
    xaxis: dict = {"type": "date", "hoverformat": _HOVER_FORMAT[granularity]}
    if granularity != "day" and len(frame):
        xaxis.update(_period_ticks(frame["period"], granularity))
    top = float(frame["views"].max()) if len(frame) else 0
    # Each axis gets its own ticks: synchronised to the views' grid, the hours read 0.589, 1.179 …
    fig.update_layout(xaxis=xaxis,
                      yaxis={"title": "Views", "tickmode": "linear", "tick0": 0, "dtick": count_step(top),
                             "tickformat": ",d"},
                      yaxis2={"title": "Watch hours", "overlaying": "y", "side": "right", "showgrid": False,
                              "rangemode": "tozero", "tickmode": "auto", "nticks": 6,
                              "tickformat": _HOURS_FORMAT})
    return _layout(fig)


def retention_figure(curve: pd.DataFrame, *, title: str, band: pd.DataFrame | None = None,
                     compare: pd.DataFrame | None = None, compare_title: str | None = None,
                     moments: dict | None = None) -> go.Figure:
    """Share of viewers still watching at each point, rewatches, the typical band, key moments."""
    fig = go.Figure()
    if band is not None and not band.empty and band["videos"].max() > 0:
        fig.add_scatter(x=band["percent"], y=band["high"] * 100, mode="lines", line={"width": 0}, showlegend=False,
                        hoverinfo="skip")
        fig.add_scatter(x=band["percent"], y=band["low"] * 100, mode="lines", line={"width": 0}, fill="tonexty",
                        fillcolor=_MUTED, name="Typical for similar-length videos", hoverinfo="skip")
    at = [format_seconds(s) for s in curve["second"]]
    fig.add_scatter(x=curve["percent"], y=curve["watching"] * 100, name=f"{title}: still watching",
                    line={"color": _ACCENT, "width": 3}, customdata=at,
                    hovertemplate="%{y:.0f}% still watching at %{customdata}<extra></extra>")
    fig.add_bar(x=curve["percent"], y=curve["rewatching"] * 100, name="Watched again", marker_color=_SECOND,
                opacity=0.6, customdata=at, hovertemplate="%{y:.0f}% rewatched %{customdata}<extra></extra>")
    if compare is not None and not compare.empty:
        fig.add_scatter(x=compare["percent"], y=compare["watching"] * 100, name=f"{compare_title}: still watching",
                        line={"color": "#10b981", "width": 2, "dash": "dash"},
                        customdata=[format_seconds(s) for s in compare["second"]],
                        hovertemplate="%{y:.0f}% still watching at %{customdata}<extra></extra>")
    for drop in (moments or {}).get("drops", []):
        fig.add_vline(x=drop["percent"], line={"color": "#dc2626", "dash": "dot"},
                      annotation_text=f"−{drop['lost'] * 100:.0f} pts at {format_seconds(drop['second'])}",
                      annotation_position="top")
    for spike in (moments or {}).get("spikes", []):
        fig.add_annotation(x=spike["percent"], y=spike["rewatching"] * 100, text="rewatched", showarrow=True,
                           arrowhead=2, ay=-30)
    fig.update_layout(xaxis={"title": "Point in the video (%)", "range": [0, 100], "ticksuffix": "%"},
                      yaxis={"title": "Viewers (%)", "range": [0, 105], "ticksuffix": "%"},
                      hoverlabel={"namelength": -1})
    return _layout(fig, height=400)


def funnel_figure(frame: pd.DataFrame) -> go.Figure:
    """Students starting and completing each lesson of a course, in course order (click a lesson
    to filter the page to it: each bar carries its video's id)."""
    labels = [f"{p}. {lesson}" for p, lesson in zip(frame["position"], frame["lesson"], strict=True)]
    ids = frame["video_id"].astype(str)
    fig = go.Figure()
    # Each bar carries its count: a lesson with few students reads as a number, not as a sliver
    # (a completion imported from Whop has no start, so its lesson shows 0 started, 1 completed).
    fig.add_bar(y=labels, x=frame["started"], name="Started", orientation="h", marker_color=_ACCENT,
                customdata=ids, hovertemplate="%{x:,} students started<extra></extra>",
                texttemplate="%{x:,}", textposition="outside", cliponaxis=False)
    fig.add_bar(y=labels, x=frame["completed"], name="Completed (≥ 90 %)", orientation="h", marker_color=_SECOND,
                customdata=ids, hovertemplate="%{x:,} completed<extra></extra>",
                texttemplate="%{x:,}", textposition="outside", cliponaxis=False)
    top = float(frame["started"].max()) if len(frame) else 0
    fig.update_layout(barmode="group", yaxis={"autorange": "reversed"},
                      xaxis={"title": "Students", "tickmode": "linear", "tick0": 0, "dtick": count_step(top),
                             "tickformat": ",d"},
                      hovermode="y unified")
    return _layout(fig, height=max(300, 48 * len(frame) + 90))


def heatmap_grid(frame: pd.DataFrame) -> pd.DataFrame:
    """Sessions by weekday (1 = Monday) and hour with every one of the 7 × 24 cells present (0 where
    nobody watched), so the heatmap draws whole weeks."""
    grid = pd.DataFrame({"weekday": [d for d in range(1, 8) for _ in range(24)],
                         "hour": [h for _ in range(7) for h in range(24)], "sessions": 0})
    for row in frame.itertuples():
        grid.at[(int(row.weekday) - 1) * 24 + int(row.hour), "sessions"] += int(row.sessions)
    return grid


def heatmap_figure(frame: pd.DataFrame, zone: str = "UTC") -> go.Figure:
    """Sessions by weekday and hour in ``zone`` (``frame`` from ``heatmap_grid``); click a cell to filter.

    Drawn as square markers rather than a ``go.Heatmap``: plotly selects points of scatter traces
    only, so only these cells can be clicked through Streamlit's ``on_select``.
    """
    hours = [f"{h:02d}:00" for h in frame["hour"]]
    days = [WEEKDAYS[d - 1] for d in frame["weekday"]]
    fig = go.Figure(go.Scatter(
        x=hours, y=days, mode="markers", customdata=frame["sessions"],
        marker={"symbol": "square", "size": 22, "color": frame["sessions"], "colorscale": "Purples",
                "cmin": 0, "line": {"width": 0},
                "colorbar": {"title": {"text": "Sessions"}, "tickformat": ",d", "thickness": 14}},
        hovertemplate="%{y} %{x} (" + zone + ") · %{customdata:,} sessions<extra></extra>"))
    fig.update_layout(xaxis={"title": f"Hour of day ({zone})", "type": "category", "dtick": 2,
                             "categoryorder": "array", "categoryarray": [f"{h:02d}:00" for h in range(24)]},
                      yaxis={"type": "category", "categoryorder": "array", "categoryarray": list(WEEKDAYS),
                             "autorange": "reversed"})
    _layout(fig, height=330, legend=False)
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(showgrid=False)
    return fig


def breakdown_figure(frame: pd.DataFrame, by: str) -> go.Figure:
    """Share of sessions by device or referrer as bars (click one to filter; each carries its key).

    Bars rather than a donut: plotly pie slices cannot be selected, so a donut could not filter.
    """
    labels = [human_label(k) for k in frame[by]]
    share = frame["sessions"] / max(int(frame["sessions"].sum()), 1)
    fig = go.Figure(go.Bar(y=labels, x=share, orientation="h", marker_color=_ACCENT,
                           customdata=list(frame[by].astype(str)), text=[f"{v:.0%}" for v in share],
                           textposition="auto", hovertext=[f"{n:,} sessions" for n in frame["sessions"]],
                           hovertemplate="%{y}: %{hovertext} (%{x:.0%})<extra></extra>"))
    fig.update_layout(xaxis={"tickformat": ".0%", "range": [0, 1], "dtick": 0.25, "title": "Share of sessions"},
                      yaxis={"autorange": "reversed"})
    # One height for every breakdown, so side-by-side charts (and the tables under them) line up.
    _layout(fig, height=max(260, 40 * len(frame) + 90), legend=False)
    fig.update_layout(hovermode="closest")
    return fig


def cost_figure(frame: pd.DataFrame) -> go.Figure:
    """US$ per month, stacked by kind of cost (``frame``: month, kind, usd)."""
    fig = go.Figure()
    for kind, part in frame.groupby("kind", sort=True):
        fig.add_bar(x=[pd.Timestamp(m).date().isoformat() for m in part["month"]], y=part["usd"],
                    name=human_label(kind), hovertemplate="$%{y:,.4~f}<extra>" + human_label(kind) + "</extra>")
    months = sorted({pd.Timestamp(m).date() for m in frame["month"]})
    fig.update_layout(barmode="stack", yaxis={"title": "US$", "tickformat": "$,.2~f"},
                      xaxis={"type": "date", "hoverformat": "%B %Y", "tickmode": "array",
                             "tickvals": [m.isoformat() for m in months],
                             "ticktext": [f"{m:%b %Y}" for m in months]})
    return _layout(fig, height=300)

