"""The Costs tab's sums of ``dashboards.cost_lines`` (no database)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from chronos_data.spending import spending


def _lines() -> pd.DataFrame:
    return pd.DataFrame([
        (date(2026, 1, 1), "transcription", "Git basics", "youtube · whisper_api", 2, 0.012),
        (date(2026, 1, 1), "transcription", "Rebase", "upload · whisper_api", 1, 0.05),
        (date(2026, 2, 1), "transcription", "Git basics", "youtube · captions", 3, 0.0),
        (date(2026, 1, 1), "assistant", None, "AI credits (1 per 1,000 model tokens)", 40, 0.0),
        (date(2026, 2, 1), "assistant", None, "AI credits (1 per 1,000 model tokens)", 2, 0.0),
    ], columns=["month", "kind", "video", "item", "count", "usd"])


def test_paid_transcription_and_credits_are_summed_apart():
    spent = spending(_lines())
    assert spent.usd == pytest.approx(0.062) and spent.credits == 42


def test_the_tables_sum_per_month_and_kind_per_item_and_per_video():
    spent = spending(_lines())
    assert spent.monthly.to_dict("records")[0] == {"month": date(2026, 1, 1), "kind": "assistant", "count": 40,
                                                   "usd": 0.0}
    assert len(spent.monthly) == 4
    assert "youtube · whisper api" in set(spent.by_item["item"])  # items read as words
    assert spent.per_video["video"].tolist() == ["Rebase", "Git basics"]  # most spent first; credits are no video
    assert spent.per_video["count"].tolist() == [1, 5]
    assert spent.lines["item"].str.contains("_").sum() == 0 and len(spent.lines) == 5
