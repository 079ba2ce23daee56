-- Seeds: the two-tier analytics model. Tier 1 is raw: video_analytics_events (immutable) and
-- video_watch_sessions. Tier 2 is daily rollups: video_analytics and usage_metrics, one row per
-- (video, day) and (creator, day) so a rollup can be re-run with ON CONFLICT and change nothing.

CREATE TABLE chronos.video_analytics (
  id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  video_id                   uuid NOT NULL,
  creator_id                 uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  date                       date NOT NULL,
  views                      integer NOT NULL DEFAULT 0 CHECK (views >= 0),
  unique_viewers             integer NOT NULL DEFAULT 0 CHECK (unique_viewers >= 0),
  total_watch_time_seconds   bigint NOT NULL DEFAULT 0 CHECK (total_watch_time_seconds >= 0),
  average_watch_time_seconds integer CHECK (average_watch_time_seconds IS NULL OR average_watch_time_seconds >= 0),
  completion_rate            numeric(5, 2) CHECK (completion_rate IS NULL OR completion_rate BETWEEN 0 AND 100),
  ai_interactions            integer NOT NULL DEFAULT 0 CHECK (ai_interactions >= 0),
  metadata                   jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE CASCADE,
  CONSTRAINT video_analytics_video_date UNIQUE (video_id, date)
);
CREATE INDEX idx_video_analytics_video_id ON chronos.video_analytics (creator_id, video_id, date);
CREATE INDEX idx_video_analytics_date ON chronos.video_analytics (creator_id, date);
CREATE TRIGGER video_analytics_updated_at_trigger BEFORE UPDATE ON chronos.video_analytics
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();

CREATE TABLE chronos.video_analytics_events (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_type text NOT NULL CHECK (event_type IN (
               'video_imported', 'video_transcribed', 'video_embedded', 'video_added_to_course',
               'video_started', 'video_progress', 'video_completed', 'video_rewatched')),
  video_id   uuid NOT NULL,
  creator_id uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  student_id uuid,
  course_id  uuid,
  module_id  uuid,
  metadata   jsonb NOT NULL DEFAULT '{}'::jsonb,
  "timestamp" timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE CASCADE,
  FOREIGN KEY (student_id, creator_id) REFERENCES chronos.students (id, creator_id) ON DELETE CASCADE,
  -- SET NULL on the id column only (PostgreSQL 15+): creator_id must survive a deleted course.
  FOREIGN KEY (course_id, creator_id) REFERENCES chronos.courses (id, creator_id) ON DELETE SET NULL (course_id),
  FOREIGN KEY (module_id, creator_id) REFERENCES chronos.course_modules (id, creator_id) ON DELETE SET NULL (module_id)
);
-- Seeds named these idx_video_analytics_*, colliding with video_analytics' own index names.
CREATE INDEX idx_video_analytics_events_creator_id ON chronos.video_analytics_events (creator_id, "timestamp" DESC);
CREATE INDEX idx_video_analytics_events_video_id ON chronos.video_analytics_events (creator_id, video_id, "timestamp" DESC);
CREATE INDEX idx_video_analytics_events_event_type ON chronos.video_analytics_events (creator_id, event_type, "timestamp" DESC);
CREATE INDEX idx_video_analytics_events_student_events ON chronos.video_analytics_events
  (creator_id, student_id, video_id, event_type, "timestamp" DESC) WHERE student_id IS NOT NULL;
CREATE INDEX idx_video_analytics_events_course_events ON chronos.video_analytics_events
  (creator_id, course_id, event_type, "timestamp" DESC) WHERE course_id IS NOT NULL;
-- Events are appended in time order: a BRIN index serves cross-creator time scans (rollup jobs)
-- at a fraction of a B-tree's size and insert cost.
CREATE INDEX idx_video_analytics_events_timestamp ON chronos.video_analytics_events USING brin ("timestamp");
-- Foreign-key actions look rows up by these columns alone; without them a deleted video,
-- student or module would scan the whole event table.
CREATE INDEX idx_video_analytics_events_video_fk ON chronos.video_analytics_events (video_id);
CREATE INDEX idx_video_analytics_events_student_id ON chronos.video_analytics_events (student_id) WHERE student_id IS NOT NULL;
CREATE INDEX idx_video_analytics_events_module_fk ON chronos.video_analytics_events (module_id) WHERE module_id IS NOT NULL;
CREATE INDEX idx_video_analytics_events_course_fk ON chronos.video_analytics_events (course_id) WHERE course_id IS NOT NULL;

CREATE TABLE chronos.video_watch_sessions (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  video_id           uuid NOT NULL,
  student_id         uuid NOT NULL,
  creator_id         uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  session_start      timestamptz NOT NULL DEFAULT now(),
  session_end        timestamptz,
  watch_time_seconds integer NOT NULL DEFAULT 0 CHECK (watch_time_seconds >= 0),
  percent_complete   integer NOT NULL DEFAULT 0 CHECK (percent_complete >= 0 AND percent_complete <= 100),
  completed          boolean NOT NULL DEFAULT false,
  device_type        text CHECK (device_type IS NULL OR device_type IN ('desktop', 'mobile', 'tablet')),
  referrer_type      text CHECK (referrer_type IS NULL OR referrer_type IN
                       ('course_page', 'direct_link', 'search', 'chat_reference')),
  metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE CASCADE,
  FOREIGN KEY (student_id, creator_id) REFERENCES chronos.students (id, creator_id) ON DELETE CASCADE,
  CONSTRAINT video_watch_sessions_end_after_start CHECK (session_end IS NULL OR session_end >= session_start)
);
CREATE INDEX idx_video_watch_sessions_video_id ON chronos.video_watch_sessions (creator_id, video_id, session_start DESC);
CREATE INDEX idx_video_watch_sessions_student_id ON chronos.video_watch_sessions (student_id);
CREATE INDEX idx_video_watch_sessions_completed ON chronos.video_watch_sessions (creator_id, video_id) WHERE completed;
CREATE INDEX idx_video_watch_sessions_student_video ON chronos.video_watch_sessions
  (creator_id, student_id, video_id, session_start DESC);
CREATE INDEX idx_video_watch_sessions_start ON chronos.video_watch_sessions (creator_id, session_start DESC);
CREATE INDEX idx_video_watch_sessions_active ON chronos.video_watch_sessions (creator_id, session_start)
  WHERE session_end IS NULL;
CREATE INDEX idx_video_watch_sessions_video_fk ON chronos.video_watch_sessions (video_id);
CREATE TRIGGER video_watch_sessions_updated_at_trigger BEFORE UPDATE ON chronos.video_watch_sessions
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();

-- Seeds: a session is complete once 90 % of the video has been watched.
CREATE FUNCTION chronos.auto_complete_video_watch_session() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.percent_complete >= 90 THEN
    NEW.completed = true;
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER video_watch_sessions_auto_complete_trigger
  BEFORE INSERT OR UPDATE ON chronos.video_watch_sessions
  FOR EACH ROW EXECUTE FUNCTION chronos.auto_complete_video_watch_session();

CREATE TABLE chronos.usage_metrics (
  id                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  creator_id                   uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  date                         date NOT NULL,
  storage_used_bytes           bigint NOT NULL DEFAULT 0 CHECK (storage_used_bytes >= 0),
  videos_uploaded              integer NOT NULL DEFAULT 0 CHECK (videos_uploaded >= 0),
  total_video_duration_seconds integer NOT NULL DEFAULT 0 CHECK (total_video_duration_seconds >= 0),
  ai_credits_used              integer NOT NULL DEFAULT 0 CHECK (ai_credits_used >= 0),
  transcription_minutes        integer NOT NULL DEFAULT 0 CHECK (transcription_minutes >= 0),
  chat_messages_sent           integer NOT NULL DEFAULT 0 CHECK (chat_messages_sent >= 0),
  active_students              integer NOT NULL DEFAULT 0 CHECK (active_students >= 0),
  metadata                     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at                   timestamptz NOT NULL DEFAULT now(),
  updated_at                   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT usage_metrics_creator_date UNIQUE (creator_id, date)
);
CREATE INDEX idx_usage_metrics_creator_id ON chronos.usage_metrics (creator_id, date DESC);
CREATE INDEX idx_usage_metrics_date ON chronos.usage_metrics (date);
CREATE TRIGGER usage_metrics_updated_at_trigger BEFORE UPDATE ON chronos.usage_metrics
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();

-- Seeds: track_video_event. The seeds made it SECURITY DEFINER, which would let any caller write
-- events into any creator's stream; here it runs as the caller, so row-level security checks
-- that p_creator_id is the transaction's creator.
CREATE FUNCTION chronos.track_video_event(
  p_event_type text,
  p_video_id   uuid,
  p_creator_id uuid,
  p_student_id uuid DEFAULT NULL,
  p_course_id  uuid DEFAULT NULL,
  p_module_id  uuid DEFAULT NULL,
  p_metadata   jsonb DEFAULT '{}'::jsonb,
  p_timestamp  timestamptz DEFAULT now()
)
RETURNS uuid
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  v_event_id uuid;
BEGIN
  INSERT INTO chronos.video_analytics_events (
    event_type, video_id, creator_id, student_id, course_id, module_id, metadata, "timestamp"
  ) VALUES (
    p_event_type, p_video_id, p_creator_id, p_student_id, p_course_id, p_module_id,
    coalesce(p_metadata, '{}'::jsonb), coalesce(p_timestamp, now())
  )
  RETURNING id INTO v_event_id;
  RETURN v_event_id;
END;
$$;

CREATE FUNCTION chronos.get_student_total_watch_time(p_student_id uuid, p_video_id uuid)
RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(watch_time_seconds), 0)::integer
  FROM chronos.video_watch_sessions
  WHERE student_id = p_student_id AND video_id = p_video_id
$$;

CREATE FUNCTION chronos.get_student_highest_completion(p_student_id uuid, p_video_id uuid)
RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT coalesce(max(percent_complete), 0)
  FROM chronos.video_watch_sessions
  WHERE student_id = p_student_id AND video_id = p_video_id
$$;

CREATE FUNCTION chronos.has_student_completed_video(p_student_id uuid, p_video_id uuid)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM chronos.video_watch_sessions
    WHERE student_id = p_student_id AND video_id = p_video_id AND completed
  )
$$;
