"""What only Whop's data allows: members next to other viewers, and members who cancelled with the
last moment they watched and the reason Whop gave, per lesson (which content precedes cancellations).

A cancellation is known from a ``membership.deactivated`` webhook delivery or from a sync that saw the
membership ended (both kept in ``whop_deliveries``); the last moment watched is the end of the
furthest range played in the member's latest watch session.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from ..db import Workspace

__all__ = ["churn_by_lesson", "churned_members", "member_viewers"]

_CHURNED = """
WITH churned AS (
  SELECT s.id AS student_id, coalesce(s.name, s.email, s.whop_user_id) AS student,
         d.detail->>'cancellation_reason' AS reason,
         coalesce(CAST(d.detail->>'canceled_at' AS timestamptz), d.received_at) AS cancelled_at
  FROM students s
  LEFT JOIN LATERAL (
    SELECT x.detail, x.received_at FROM whop_deliveries x
    WHERE x.creator_id = s.creator_id AND x.student_id = s.id AND x.event_type = 'membership.deactivated'
    ORDER BY x.received_at DESC, x.delivery_id LIMIT 1) d ON true
  WHERE s.creator_id = :creator AND s.whop_user_id IS NOT NULL AND NOT s.is_active
),
last_watch AS (
  SELECT DISTINCT ON (w.student_id) w.student_id, w.video_id, coalesce(w.session_end, w.session_start) AS watched_at,
         (SELECT max(CAST(r->>1 AS double precision))
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.metadata->'played') = 'array'
                                         THEN w.metadata->'played' ELSE '[]'::jsonb END) r) AS second
  FROM video_watch_sessions w JOIN churned c ON c.student_id = w.student_id
  WHERE w.creator_id = :creator
  ORDER BY w.student_id, w.session_start DESC, w.id
)
"""


def member_viewers(t: Workspace) -> pd.DataFrame:
    """Students, viewers and completions of active Whop members, cancelled ones, and everyone else."""
    return pd.DataFrame(t.conn.execute(sa.text("""
        WITH grouped AS (
          SELECT s.id, CASE WHEN s.whop_user_id IS NULL THEN 'Not Whop members'
                            WHEN s.is_active THEN 'Active Whop members' ELSE 'Cancelled Whop members' END AS who
          FROM students s WHERE s.creator_id = :creator
        ),
        viewing AS (
          SELECT student_id, count(*) FILTER (WHERE event_type = 'video_completed') AS completions
          FROM video_analytics_events
          WHERE creator_id = :creator AND student_id IS NOT NULL AND event_type IN ('video_started', 'video_completed')
          GROUP BY student_id
          UNION ALL
          SELECT DISTINCT student_id, 0 FROM video_watch_sessions WHERE creator_id = :creator
        )
        SELECT g.who AS "group", count(DISTINCT g.id) AS students, count(DISTINCT v.student_id) AS viewers,
               coalesce(sum(v.completions), 0)::int AS completions
        FROM grouped g LEFT JOIN viewing v ON v.student_id = g.id
        GROUP BY g.who ORDER BY g.who
    """), {"creator": t.creator_id}).mappings().all(), columns=["group", "students", "viewers", "completions"])


def churned_members(t: Workspace) -> pd.DataFrame:
    """Each member who cancelled: when, Whop's reason, the last video and second they watched, the
    days between, and the sentence saying it ("cancelled 3 days after stopping at 04:12 of …")."""
    rows = t.conn.execute(sa.text(_CHURNED + """
        SELECT c.student_id, c.student, c.cancelled_at, c.reason, l.video_id, v.title AS video_title, l.second,
               l.watched_at
        FROM churned c
        LEFT JOIN last_watch l ON l.student_id = c.student_id
        LEFT JOIN videos v ON v.id = l.video_id AND v.creator_id = :creator
        ORDER BY c.cancelled_at DESC NULLS LAST, c.student
    """), {"creator": t.creator_id}).mappings().all()
    frame = pd.DataFrame(rows, columns=["student_id", "student", "cancelled_at", "reason", "video_id", "video_title",
                                        "second", "watched_at"])
    frame["story"] = [_story(r) for r in frame.itertuples()]
    return frame


def churn_by_lesson(t: Workspace) -> pd.DataFrame:
    """Per video: how many cancelled members watched it last, and their share of all who cancelled."""
    rows = t.conn.execute(sa.text(_CHURNED + """
        SELECT l.video_id, v.title AS video_title, count(*) AS churners,
               count(*)::float / (SELECT count(*) FROM churned) AS share
        FROM last_watch l JOIN videos v ON v.id = l.video_id AND v.creator_id = :creator
        GROUP BY l.video_id, v.title ORDER BY churners DESC, v.title
    """), {"creator": t.creator_id}).mappings().all()
    return pd.DataFrame(rows, columns=["video_id", "video_title", "churners", "share"])


def _story(r) -> str:
    when = "cancelled" if pd.isna(r.cancelled_at) else f"cancelled on {r.cancelled_at:%Y-%m-%d}"
    if r.video_id is None or pd.isna(r.video_id):
        return f"{when}, without watching anything"
    at = "" if r.second is None or pd.isna(r.second) else f"at {int(r.second) // 60:02d}:{int(r.second) % 60:02d} of "
    if not pd.isna(r.cancelled_at) and not pd.isna(r.watched_at):
        days = (r.cancelled_at - r.watched_at).days
        when = f"cancelled {days} day{'' if days == 1 else 's'} after stopping" if days >= 0 else f"{when}; stopped"
        return f"{when} {at}{r.video_title}"
    return f"{when}; last stopped {at}{r.video_title}"
