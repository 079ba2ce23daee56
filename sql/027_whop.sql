-- Whop: a creator's connection to their Whop company, and what a sync brought from it
-- (chronos_data/whop). Members land in students (whop_user_id, whop_membership_id), completions in
-- video_analytics_events (once each, by the index on metadata->>'import_key'); these tables hold
-- the rest.
--
-- The connection holds the company's API key, encrypted by the app (Fernet, with CHRONOS_SECRET_KEY
-- or the data folder's key file): the database never sees it in clear text. It is access data and
-- is left out of backups (chronos_data/backup.py SECRET_TABLES): a restored workspace connects anew.
CREATE TABLE chronos.whop_connections (
  creator_id        uuid PRIMARY KEY REFERENCES chronos.creators (id) ON DELETE CASCADE,
  company_id        text NOT NULL CHECK (company_id ~ '^biz_[A-Za-z0-9]+$'),
  -- What Whop calls the company, read when connecting, so a person can tell which one it is.
  company_title     text CHECK (company_title IS NULL OR length(company_title) <= 500),
  api_key_encrypted bytea NOT NULL,
  -- The signing secret of the company's webhook to Chronos (Whop shows it once, ws_…), encrypted
  -- like the key; NULL until the creator sets up the webhook: every delivery is refused until then.
  webhook_secret_encrypted bytea,
  connected_at      timestamptz NOT NULL DEFAULT now(),
  -- Where an unfinished sync stopped: its step, the step's page cursor and the counts so far, so
  -- the next sync resumes there instead of starting over. NULL when the last sync finished.
  sync_state        jsonb,
  sync_started_at   timestamptz,
  last_synced_at    timestamptz,
  last_summary      jsonb,
  -- Why the last sync stopped early (Whop's answer, in words; never the key).
  last_error        text CHECK (last_error IS NULL OR length(last_error) <= 2000),
  -- One workspace per Whop company, as creators.whop_company_id: two workspaces syncing the same
  -- members would each think they own them.
  CONSTRAINT whop_connections_company UNIQUE (company_id)
);

ALTER TABLE chronos.whop_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.whop_connections FORCE ROW LEVEL SECURITY;
CREATE POLICY whop_connections_tenant_isolation ON chronos.whop_connections
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON chronos.whop_connections TO chronos_app;
-- The analyst reads every table the app reads (018_workspace_members.sql) and writes none.
GRANT SELECT ON chronos.whop_connections TO chronos_analyst;

-- Whop's courses, chapters and lessons as the last sync saw them, each lesson with the library
-- video it was matched to (by its YouTube or Loom embed, or its Mux asset). A lesson without a
-- match keeps video_id NULL: the Whop page lists it for import.
CREATE TABLE chronos.whop_lessons (
  creator_id      uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  whop_lesson_id  text NOT NULL,
  whop_course_id  text NOT NULL,
  course_title    text,
  course_order    double precision,
  whop_chapter_id text,
  chapter_title   text,
  chapter_order   double precision,
  lesson_order    double precision,
  title           text,
  lesson_type     text NOT NULL,
  embed_type      text,
  embed_id        text,
  mux_asset_id    text,
  mux_playback_id text,
  video_id        uuid,
  -- The creator chose video_id (or chose none) by hand: a sync keeps that choice.
  video_chosen    boolean NOT NULL DEFAULT false,
  synced_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (creator_id, whop_lesson_id),
  -- A deleted video leaves the lesson unmatched rather than taking the lesson with it.
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE SET NULL (video_id)
);
CREATE INDEX idx_whop_lessons_course ON chronos.whop_lessons (creator_id, whop_course_id);
CREATE INDEX idx_whop_lessons_video ON chronos.whop_lessons (creator_id, video_id) WHERE video_id IS NOT NULL;

ALTER TABLE chronos.whop_lessons ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.whop_lessons FORCE ROW LEVEL SECURITY;
CREATE POLICY whop_lessons_tenant_isolation ON chronos.whop_lessons
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON chronos.whop_lessons TO chronos_app;
GRANT SELECT ON chronos.whop_lessons TO chronos_analyst;

-- Webhook deliveries applied to the workspace (chronos_data/whop/webhooks.py), by Whop's delivery
-- id: a re-delivery finds its id here and changes nothing. A membership event keeps the student it
-- changed and what Whop said (status, cancellation reason) for the churn analytics.
CREATE TABLE chronos.whop_deliveries (
  creator_id  uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  delivery_id text NOT NULL CHECK (length(delivery_id) BETWEEN 1 AND 200),
  event_type  text NOT NULL CHECK (length(event_type) <= 200),
  received_at timestamptz NOT NULL DEFAULT now(),
  student_id  uuid,
  detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (creator_id, delivery_id),
  FOREIGN KEY (student_id, creator_id) REFERENCES chronos.students (id, creator_id) ON DELETE SET NULL (student_id)
);
CREATE INDEX idx_whop_deliveries_student ON chronos.whop_deliveries (creator_id, student_id, received_at)
  WHERE student_id IS NOT NULL;

ALTER TABLE chronos.whop_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.whop_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY whop_deliveries_tenant_isolation ON chronos.whop_deliveries
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
-- Deliveries are history: kept, never edited.
GRANT SELECT, INSERT ON chronos.whop_deliveries TO chronos_app;
GRANT SELECT ON chronos.whop_deliveries TO chronos_analyst;
