"""How a KPI card reads: its value with enough precision, and its change against the previous period."""

from __future__ import annotations

import math

__all__ = ["NEW_ABOVE_PERCENT", "change_text", "format_amount"]

#: Above this rise the previous period was next to empty: "+16200 %" says less than "new".
NEW_ABOVE_PERCENT = 1000


def format_amount(value: float, *, percent: bool = False) -> str:
    """``1234.5`` -> ``1,234``; ``47.23`` -> ``47.2``; ``0.0043`` -> ``0.0043`` (never ``0.0`` for
    something that is not zero): at least two significant digits below 10."""
    suffix = "%" if percent else ""
    if value == 0 or not math.isfinite(value):
        return f"0{suffix}"
    size = abs(value)
    if size >= 100 or float(value).is_integer():
        return f"{value:,.0f}{suffix}"
    if size >= 1:
        return f"{value:,.1f}{suffix}"
    decimals = 1 - math.floor(math.log10(size))  # two significant digits
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".") + suffix


def change_text(value: float, previous: float) -> tuple[str | None, str]:
    """The delta shown under a KPI and its colour mode for ``st.metric``.

    Returns:
        (text, delta_color): no delta when both periods are empty; "new" when the previous period had
        nothing (or almost nothing) to compare with; "±0%" without colour when nothing changed.
    """
    if not previous:
        return (None, "off") if not value else ("new", "off")
    change = (value - previous) / previous * 100
    if change > NEW_ABOVE_PERCENT:
        return "new", "off"
    if round(change) == 0:
        return "±0%", "off"
    return f"{change:+.0f}%", "normal"
