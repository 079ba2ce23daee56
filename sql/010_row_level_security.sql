-- Row-level security: the seeds' Supabase policies (auth.uid()) translated to plain Postgres.
-- A transaction sees and changes only the rows of chronos.current_creator_id(). RLS is
-- FORCEd so even the tables' owner is held to the policies unless it is a superuser.
-- What each command may do follows the seeds: events are immutable (no UPDATE/DELETE), watch
-- sessions are permanent history (no DELETE), creators cannot delete themselves.

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'students', 'videos', 'video_chunks', 'courses', 'course_modules', 'module_lessons',
    'chat_sessions', 'chat_messages', 'video_analytics', 'video_analytics_events',
    'video_watch_sessions', 'usage_metrics', 'report_schedules'
  ] LOOP
    EXECUTE format('ALTER TABLE chronos.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE chronos.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY %I ON chronos.%I USING (creator_id = chronos.current_creator_id()) '
      'WITH CHECK (creator_id = chronos.current_creator_id())', t || '_tenant_isolation', t);
  END LOOP;
END
$$;

ALTER TABLE chronos.creators ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.creators FORCE ROW LEVEL SECURITY;
CREATE POLICY creators_read_own ON chronos.creators FOR SELECT
  USING (id = chronos.current_creator_id());
CREATE POLICY creators_update_own ON chronos.creators FOR UPDATE
  USING (id = chronos.current_creator_id()) WITH CHECK (id = chronos.current_creator_id());
-- The seeds' "service role": the migrating user may manage creators (sign-up, sign-in).
CREATE POLICY creators_service_role ON chronos.creators TO CURRENT_USER USING (true) WITH CHECK (true);

-- Model registry: shared reference data, readable by all, changed only by migrations.
ALTER TABLE chronos.embedding_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY embedding_models_read ON chronos.embedding_models FOR SELECT USING (true);

GRANT SELECT, UPDATE ON chronos.creators TO chronos_app;
GRANT SELECT ON chronos.embedding_models, chronos.vector_index_stats, chronos.schema_migrations TO chronos_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
  chronos.students, chronos.videos, chronos.video_chunks, chronos.courses, chronos.course_modules,
  chronos.module_lessons, chronos.chat_sessions, chronos.chat_messages, chronos.report_schedules
  TO chronos_app;
-- Rollups are computed by the app for its creator (no separate service process), so it may
-- write them; deleting history is not offered.
GRANT SELECT, INSERT, UPDATE ON chronos.video_analytics, chronos.usage_metrics TO chronos_app;
GRANT SELECT, INSERT ON chronos.video_analytics_events TO chronos_app;
GRANT SELECT, INSERT, UPDATE ON chronos.video_watch_sessions TO chronos_app;

-- Sign-in bootstrap: before a transaction knows its creator it cannot see the creators table,
-- so finding or creating the workspace for an e-mail runs as the owner, and does only that.
CREATE FUNCTION chronos.ensure_creator(p_email text, p_name text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
DECLARE
  v_id uuid;
BEGIN
  IF p_email IS NULL OR btrim(p_email) = '' THEN
    RAISE EXCEPTION 'an e-mail address is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO chronos.creators (email, name)
  VALUES (btrim(p_email), nullif(btrim(p_name), ''))
  ON CONFLICT ((lower(email))) DO UPDATE SET last_login_at = now()
  RETURNING id INTO v_id;
  RETURN v_id;
END;
$$;
REVOKE ALL ON FUNCTION chronos.ensure_creator(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chronos.ensure_creator(text, text) TO chronos_app;
-- Only the owner may add models: it builds an index on video_chunks.
REVOKE ALL ON FUNCTION chronos.register_embedding_model(text, text, integer) FROM PUBLIC;
