"""What a workspace spent in a period, summed the ways the Analytics page's Costs tab shows it.

Pure: it adds up ``dashboards.cost_lines`` (one row per month, kind, video and item), so the
page, a CSV and a test read the same totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["ASSISTANT", "Spending", "spending"]

#: The kind of the AI-credit lines: counted in credits, never in US$.
ASSISTANT = "assistant"
_SUMS = ["count", "usd"]


@dataclass(frozen=True)
class Spending:
    """Paid transcription in US$, AI credits used, and the lines summed per month and kind, per kind
    and item, and per video (paid lines only, most spent first)."""

    usd: float
    credits: int
    lines: pd.DataFrame  # as given, items readable ("whisper_api" -> "whisper api")
    monthly: pd.DataFrame  # month, kind, count, usd
    by_item: pd.DataFrame  # kind, item, count, usd
    per_video: pd.DataFrame  # video, count, usd


def spending(lines: pd.DataFrame) -> Spending:
    """The Costs tab's totals and tables from ``dashboards.cost_lines``."""
    lines = lines.assign(item=lines["item"].str.replace("_", " "))
    paid = lines[lines["kind"] != ASSISTANT]
    return Spending(
        usd=float(paid["usd"].sum()),
        credits=int(lines.loc[lines["kind"] == ASSISTANT, "count"].sum()),
        lines=lines,
        monthly=lines.groupby(["month", "kind"], as_index=False)[_SUMS].sum(),
        by_item=lines.groupby(["kind", "item"], as_index=False)[_SUMS].sum(),
        per_video=paid.groupby("video", as_index=False)[_SUMS].sum().sort_values("usd", ascending=False),
    )
