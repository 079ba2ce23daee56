"""The KPI cards format a value by its metric's unit, which the data gives, not by how a label reads
(no database: the cards are drawn from a table as ``page_data.kpis`` returns it)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _cards() -> None:
    import pandas as pd

    from components.kpi_cards import render_kpi_cards

    render_kpi_cards(pd.DataFrame({
        # A label without "%" that is a percentage, and one with "%" that is not.
        "metric": ["Completion", "Questions (% growth tracked)"], "value": [47.25, 12.0], "previous": [40.0, 10.0],
        "help": ["Completions ÷ views × 100.", "Questions asked."], "unit": ["percent", "number"]}))


def test_a_percentage_shows_its_sign_whatever_its_label_says():
    at = AppTest.from_function(_cards).run()
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert values == {"Completion": "47.2%", "Questions (% growth tracked)": "12"}
