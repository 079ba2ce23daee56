"""Whop churn analytics: members vs other viewers, who cancelled after which moment, and why."""

from __future__ import annotations

import json

import sqlalchemy as sa

from chronos_data import students
from chronos_data.whop import churn


def _watch(t, user: str, video, start: str, played: list[list[float]]) -> None:
    t.conn.execute(sa.text("""
        INSERT INTO video_watch_sessions (creator_id, student_id, video_id, session_start, session_end, metadata)
        SELECT :c, s.id, :v, CAST(:start AS timestamptz), CAST(:start AS timestamptz) + interval '10 minutes',
               CAST(:meta AS jsonb)
        FROM students s WHERE s.creator_id = :c AND s.whop_user_id = :u
    """), {"c": t.creator_id, "v": video, "u": user, "start": start, "meta": json.dumps({"played": played})})


def test_a_cancelled_member_s_last_moment_and_reason(t, synced):
    _, library = synced
    _watch(t, "user_2", library["mux"], "2026-10-20T09:00:00Z", [[0, 600]])
    _watch(t, "user_2", library["yt"], "2026-10-29T09:00:00Z", [[0, 120.5], [200, 252.9]])
    churned = churn.churned_members(t)
    assert len(churned) == 1
    row = churned.iloc[0]
    assert row["reason"] == "Too expensive" and row["video_id"] == library["yt"]
    assert row["story"] == "cancelled 3 days after stopping at 04:12 of Commits"
    by_lesson = churn.churn_by_lesson(t)
    assert by_lesson[["video_title", "churners", "share"]].to_dict("records") == [
        {"video_title": "Commits", "churners": 1, "share": 1.0}]


def test_members_next_to_other_viewers(t, synced):
    _, library = synced
    students.create_student(t, "walk-in@example.com")
    _watch(t, "user_1", library["yt"], "2026-11-10T09:00:00Z", [[0, 30]])
    groups = churn.member_viewers(t).set_index("group")
    assert groups.loc["Active Whop members"].to_dict() == {"students": 2, "viewers": 2, "completions": 2}
    assert groups.loc["Cancelled Whop members"].to_dict() == {"students": 1, "viewers": 0, "completions": 0}
    assert groups.loc["Not Whop members"].to_dict() == {"students": 1, "viewers": 0, "completions": 0}


def test_a_member_who_cancelled_without_watching_says_so(t, synced):
    row = churn.churned_members(t).iloc[0]
    assert row["story"] == "cancelled on 2026-11-01, without watching anything"
    assert churn.churn_by_lesson(t).empty
