-- Recording viewing and rolling it up: once-only events, re-importable event files, and which
-- days of a workspace are already in the daily rollups.

-- One video_started and one video_completed per watch session, and each progress milestone
-- (10/25/50/75/90 %) once per session: a player that reports the same moment twice, or a
-- retried request, cannot inflate views or completions. Writers insert with ON CONFLICT DO
-- NOTHING on this index.
CREATE UNIQUE INDEX idx_video_analytics_events_once_per_session ON chronos.video_analytics_events
  (creator_id, (metadata ->> 'session_id'), event_type, (coalesce(metadata ->> 'milestone', '')))
  WHERE metadata ? 'session_id' AND event_type IN ('video_started', 'video_progress', 'video_completed');

-- Imported events carry the key of their source row: importing the same file again adds nothing.
CREATE UNIQUE INDEX idx_video_analytics_events_import_key ON chronos.video_analytics_events
  (creator_id, (metadata ->> 'import_key')) WHERE metadata ? 'import_key';
CREATE UNIQUE INDEX idx_video_watch_sessions_import_key ON chronos.video_watch_sessions
  (creator_id, (metadata ->> 'import_key')) WHERE metadata ? 'import_key';

-- Days whose rollups are final. A past day is rolled up once; today is recomputed on every run
-- (it is still happening). Importing events into a past day marks it stale, so the next run
-- recomputes it. A run looks for new activity only after the last final day, so opening a
-- dashboard never rescans a large workspace's whole history.
CREATE TABLE chronos.rollup_days (
  creator_id uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  date       date NOT NULL,
  rolled_at  timestamptz NOT NULL DEFAULT now(),
  stale      boolean NOT NULL DEFAULT false,
  PRIMARY KEY (creator_id, date)
);
CREATE INDEX idx_rollup_days_stale ON chronos.rollup_days (creator_id, date) WHERE stale;
ALTER TABLE chronos.rollup_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.rollup_days FORCE ROW LEVEL SECURITY;
CREATE POLICY rollup_days_tenant_isolation ON chronos.rollup_days
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON chronos.rollup_days TO chronos_app;

-- Watch sessions by day for the rollup and the heatmap (creator, start time) already exist:
-- idx_video_watch_sessions_start. Events by day: idx_video_analytics_events_event_type.
