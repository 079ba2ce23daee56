"""Analytics → Whop members: members next to other viewers, who cancelled after which moment and why,
and which lessons were the last watched before cancellations. Shown once Whop is connected."""

from __future__ import annotations

import streamlit as st

from chronos_data import whop
from chronos_data.whop import churn
from components import state

__all__ = ["render_whop_churn"]


def render_whop_churn() -> None:
    with state.workspace() as t:
        if whop.status(t) is None:
            return
        groups = churn.member_viewers(t)
        churned = churn.churned_members(t)
        by_lesson = churn.churn_by_lesson(t)
    st.subheader("Whop members")
    st.dataframe(groups.rename(columns={"group": "Who", "students": "Students", "viewers": "Watched something",
                                        "completions": "Completions"}), hide_index=True, width="stretch")
    if churned.empty:
        st.caption("No Whop member has cancelled.")
        return
    st.markdown("**Members who cancelled**, with the last moment they watched and the reason Whop gave")
    st.dataframe(churned[["student", "story", "reason"]].rename(
        columns={"student": "Member", "story": "What happened", "reason": "Reason given"}),
        hide_index=True, width="stretch")
    if not by_lesson.empty:
        st.markdown("**Last lesson watched before cancelling**: the share of all who cancelled")
        st.dataframe(by_lesson[["video_title", "churners", "share"]].rename(
            columns={"video_title": "Video", "churners": "Cancelled after it", "share": "Share"}),
            hide_index=True, width="stretch",
            column_config={"Share": st.column_config.ProgressColumn("Share", format="percent", min_value=0.0,
                                                                     max_value=1.0)})
