"""Plotly figure builders for the Analytics page: pure functions of DataFrames (no Streamlit)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["WEEKDAYS", "breakdown_figure", "funnel_figure", "heatmap_figure", "retention_figure", "trend_figure"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ACCENT, _SECOND, _MUTED = "#4f46e5", "#f59e0b", "rgba(79, 70, 229, 0.15)"


def _layout(fig: go.Figure, *, height: int = 340) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.12, "x": 0}, plot_bgcolor="white")
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="#eef0f4", rangemode="tozero")
    return fig


def trend_figure(frame: pd.DataFrame, granularity: str) -> go.Figure:
    """Views as bars and watch hours as a line over ``period`` (click a bar to drill into it)."""
    fig = go.Figure()
    fig.add_bar(x=frame["period"], y=frame["views"], name="Views", marker_color=_ACCENT,
                hovertemplate="%{y:,} views<extra></extra>")
    fig.add_scatter(x=frame["period"], y=frame["watch_hours"], name="Watch hours", yaxis="y2", mode="lines+markers",
                    line={"color": _SECOND, "width": 2}, hovertemplate="%{y:,.1f} h<extra></extra>")
    fig.update_layout(yaxis={"title": "Views"}, xaxis={"title": granularity.title()},
                      yaxis2={"title": "Watch hours", "overlaying": "y", "side": "right", "showgrid": False,
                              "rangemode": "tozero"})
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
    fig.add_scatter(x=curve["percent"], y=curve["watching"] * 100, name=f"{title}: still watching",
                    line={"color": _ACCENT, "width": 3}, customdata=curve["second"],
                    hovertemplate="%{y:.0f}% still watching at %{customdata}s<extra></extra>")
    fig.add_bar(x=curve["percent"], y=curve["rewatching"] * 100, name="Watched again", marker_color=_SECOND,
                opacity=0.6, hovertemplate="%{y:.0f}% rewatched this point<extra></extra>")
    if compare is not None and not compare.empty:
        fig.add_scatter(x=compare["percent"], y=compare["watching"] * 100, name=f"{compare_title}: still watching",
                        line={"color": "#10b981", "width": 2, "dash": "dash"})
    for drop in (moments or {}).get("drops", []):
        fig.add_vline(x=drop["percent"], line={"color": "#dc2626", "dash": "dot"},
                      annotation_text=f"−{drop['lost'] * 100:.0f} pts", annotation_position="top")
    for spike in (moments or {}).get("spikes", []):
        fig.add_annotation(x=spike["percent"], y=spike["rewatching"] * 100, text="rewatched", showarrow=True,
                           arrowhead=2, ay=-30)
    fig.update_layout(xaxis={"title": "Point in the video (%)", "range": [0, 100]},
                      yaxis={"title": "Viewers (%)", "range": [0, 105]})
    return _layout(fig, height=380)


def funnel_figure(frame: pd.DataFrame) -> go.Figure:
    """Learners starting and completing each lesson of a course, in course order."""
    labels = [f"{p}. {lesson}" for p, lesson in zip(frame["position"], frame["lesson"], strict=True)]
    fig = go.Figure()
    fig.add_bar(y=labels, x=frame["started"], name="Started", orientation="h", marker_color=_ACCENT,
                customdata=frame["video_id"].astype(str), hovertemplate="%{x:,} learners started<extra></extra>")
    fig.add_bar(y=labels, x=frame["completed"], name="Completed (≥ 90 %)", orientation="h", marker_color=_SECOND,
                hovertemplate="%{x:,} completed<extra></extra>")
    fig.update_layout(barmode="group", yaxis={"autorange": "reversed"}, xaxis={"title": "Learners"},
                      hovermode="y unified")
    return _layout(fig, height=max(280, 48 * len(frame)))


def heatmap_figure(frame: pd.DataFrame) -> go.Figure:
    """Sessions by weekday and hour (UTC), every cell present."""
    grid = pd.DataFrame(0, index=range(1, 8), columns=range(24))
    for row in frame.itertuples():
        grid.at[row.weekday, row.hour] = row.sessions
    fig = go.Figure(go.Heatmap(z=grid.values, x=[f"{h:02d}" for h in range(24)], y=list(WEEKDAYS),
                               colorscale="Purples", hovertemplate="%{y} %{x}:00 · %{z} sessions<extra></extra>"))
    fig.update_layout(xaxis={"title": "Hour (UTC)"}, yaxis={"autorange": "reversed"})
    return _layout(fig, height=300)


def breakdown_figure(frame: pd.DataFrame, by: str) -> go.Figure:
    """A donut of sessions by device or referrer."""
    labels = frame[by].str.replace("_", " ").str.capitalize()
    fig = go.Figure(go.Pie(labels=labels, values=frame["sessions"], hole=0.55, sort=False,
                           hovertemplate="%{label}: %{value:,} sessions (%{percent})<extra></extra>"))
    fig.update_layout(showlegend=True)
    return _layout(fig, height=280)
