"""What the insights were computed from, as one string: a cache keyed by it recomputes on the next
page load after a question is asked, a suggestion decided, a course or video changed or viewing
rolled up (instead of showing old findings until a timer runs out)."""

from __future__ import annotations

import sqlalchemy as sa

from ..db import Workspace

__all__ = ["data_version"]

# Counts with the latest times: an added row moves a time, a removed one (a deleted conversation,
# a reopened suggestion, a lesson taken out) lowers a count. Every part is one index-backed look-up.
_VERSION = sa.text("""
SELECT concat_ws(' | ',
  (SELECT count(*) || ' ' || coalesce(max(created_at)::text, '-') FROM chat_messages WHERE creator_id = :c),
  (SELECT count(*) FILTER (WHERE deleted_at IS NULL) || ' ' || coalesce(max(updated_at)::text, '-')
     FROM chat_sessions WHERE creator_id = :c),
  (SELECT count(*) || ' ' || coalesce(max(decided_at)::text, '-') FROM content_gap_states WHERE creator_id = :c),
  (SELECT count(*) || ' ' || coalesce(max(updated_at)::text, '-') FROM videos WHERE creator_id = :c),
  (SELECT count(*) || ' ' || coalesce(max(updated_at)::text, '-') FROM courses WHERE creator_id = :c),
  (SELECT count(*) || ' ' || coalesce(max(updated_at)::text, '-') FROM course_modules WHERE creator_id = :c),
  (SELECT count(*) || ' ' || coalesce(max(updated_at)::text, '-') FROM module_lessons WHERE creator_id = :c),
  (SELECT coalesce(max(updated_at)::text, '-') FROM video_analytics WHERE creator_id = :c),
  (SELECT coalesce(max(rolled_at)::text, '-') FROM rollup_days WHERE creator_id = :c))
""")


def data_version(t: Workspace) -> str:
    """A string that changes whenever anything an insight reads changes in this workspace."""
    return t.conn.execute(_VERSION, {"c": t.creator_id}).scalar_one()
