"""The row of KPI cards (Overview and Analytics): short labels, values with enough precision, and
changes that say "new" or "±0%" instead of misleading percentages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.metrics import change_text, format_amount

__all__ = ["KPI_LABELS", "render_kpi_cards"]

# Short enough for six cards at 1280 px; the full name, formula and previous value are in each card's help.
KPI_LABELS = {"Views": "Views", "Unique viewers": "Unique viewers", "Watch time (hours)": "Watch hours",
              "Completion rate (%)": "Completion", "Active students (daily)": "Active per day",
              "AI questions": "AI questions"}


def render_kpi_cards(table: pd.DataFrame) -> None:
    """One card per row of ``page_data.kpis`` (metric, value, previous, help, unit)."""
    for column, row in zip(st.columns(len(table)), table.itertuples(), strict=True):
        label = KPI_LABELS.get(row.metric, row.metric)
        percent = row.unit == "percent"
        delta, colour = change_text(float(row.value), float(row.previous))
        column.metric(label, format_amount(float(row.value), percent=percent), delta, delta_color=colour,
                      delta_arrow="off" if delta == "±0%" else "auto",
                      help=f"{row.metric}: {row.help} Previous period: "
                           f"{format_amount(float(row.previous), percent=percent)}.")
