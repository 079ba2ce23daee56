"""The confusion map: a pure function of ``insights.timeline.confusion_map``'s frame (no Streamlit)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from chronos_data.timecode import format_seconds

__all__ = ["confusion_figure", "time_ticks"]

_WATCHING, _REWATCH, _LEFT, _QUESTION = "#4f46e5", "rgba(245, 158, 11, 0.55)", "rgba(220, 38, 38, 0.55)", "#0f766e"


def confusion_figure(frame: pd.DataFrame) -> go.Figure:
    """Retention (the share still watching) over the video, with rewatches and drop-offs as bars per
    moment and each question asked there as a marker on the curve: where all three meet, it hurts."""
    minutes = frame["start_second"].map(format_seconds)
    still = frame["watching"] * 100  # the share of sessions still watching at the moment
    fig = go.Figure()
    fig.add_bar(x=frame["start_second"], y=frame["rewatch_share"] * 100, name="Rewatched here", yaxis="y2",
                marker_color=_REWATCH, customdata=minutes, hovertemplate="%{customdata}: %{y:.1f} % rewatch<extra></extra>")
    fig.add_bar(x=frame["start_second"], y=frame["left_share"] * 100, name="Left here", yaxis="y2",
                marker_color=_LEFT, customdata=minutes, hovertemplate="%{customdata}: %{y:.1f} % leave<extra></extra>")
    fig.add_scatter(x=frame["start_second"], y=still, name="Still watching", mode="lines",
                    line={"color": _WATCHING, "width": 2}, customdata=minutes,
                    hovertemplate="%{customdata}: %{y:.0f} % still watching<extra></extra>")
    asked = frame[frame["questions"] > 0]
    if not asked.empty:
        text = asked["example_questions"].map(lambda qs: "<br>".join(str(q)[:80] for q in list(qs)[:3]))
        fig.add_scatter(x=asked["start_second"], y=still[asked.index], mode="markers", name="Questions asked",
                        marker={"color": _QUESTION, "size": 8 + 4 * asked["questions"].clip(upper=6),
                                "symbol": "circle", "line": {"color": "white", "width": 1}},
                        customdata=list(zip(asked["start_second"].map(format_seconds), asked["questions"], text,
                                            strict=True)),
                        hovertemplate="%{customdata[0]}: %{customdata[1]} questions<br>%{customdata[2]}<extra></extra>")
    ticks = time_ticks(float(frame["end_second"].max()) if len(frame) else 0.0)
    top, step = _even_axis(float(max(frame["rewatch_share"].max(), frame["left_share"].max(), 0.0)) * 100)
    # The legend goes under the axis title: above the plot it sat under the toolbar.
    fig.update_layout(height=400, margin={"l": 10, "r": 10, "t": 10, "b": 10}, hovermode="closest",
                      legend={"orientation": "h", "y": -0.22, "yanchor": "top", "x": 0}, plot_bgcolor="white",
                      barmode="overlay",
                      xaxis={"title": "Moment in the video", "tickvals": list(ticks),
                             "ticktext": [format_seconds(s) for s in ticks], "showgrid": False},
                      yaxis={"title": "Still watching (%)", "range": [0, 105], "gridcolor": "#eef0f4"},
                      yaxis2={"title": "Rewatched / left here (% of viewings)", "overlaying": "y", "side": "right",
                              "showgrid": False, "range": [0, top], "tickmode": "linear", "tick0": 0, "dtick": step})
    return fig


def _even_axis(highest: float) -> tuple[float, float]:
    """A right-axis top and tick step in whole, even steps (0, 5, 10, 15 …, never 0, 5, 10, 15, 21, 26)."""
    for step in (1, 2, 5, 10, 20, 25, 50):
        if highest <= step * 5:
            return step * max(1, math.ceil(highest / step)), step
    return 100.0, 20.0


def time_ticks(duration: float, most: int = 10) -> list[int]:
    """Seconds for the time axis at a round step (15 s, 30 s, 1, 2, 5, 10 … minutes), at most ``most``
    of them: bucket starts gave 00:57, 01:55, 02:52."""
    for step in (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if duration / step <= most:
            return list(range(0, int(duration) + 1, step))
    return list(range(0, int(duration) + 1, 7200 * math.ceil(duration / 7200 / most)))
