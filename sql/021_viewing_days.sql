-- One definition per number (issue 16): the daily rollup the dashboards read, per video AND the
-- course the viewing happened in (chronos_data/metrics.py defines every column).
--
-- video_analytics has one row per (video, day): a course filter could only narrow it to the
-- course's videos, counting a lesson shared by two courses in both (264 views "in" a course where
-- 236 happened), and it kept a completion rate rather than completions (a completion on a day
-- without a start of that video was lost). Here a row is (video, course context, day), with
-- counts that add up over any period: views, completions, repeat views, sessions, completed and
-- rewound sessions, watch seconds, the assistant's answers, and the day's viewing shape (hours,
-- reach, rewinds, devices, referrers) for retention and the audience charts.
CREATE TABLE chronos.viewing_days (
  creator_id         uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  date               date NOT NULL,
  video_id           uuid NOT NULL,
  -- The course the viewing happened in, null outside any course. No foreign key, as in
  -- learner_sets: a deleted course's viewing still counts for the workspace and the video.
  course_id          uuid,
  views              integer NOT NULL DEFAULT 0 CHECK (views >= 0),
  completions        integer NOT NULL DEFAULT 0 CHECK (completions >= 0),
  repeat_views       integer NOT NULL DEFAULT 0 CHECK (repeat_views >= 0),
  sessions           integer NOT NULL DEFAULT 0 CHECK (sessions >= 0),
  completed_sessions integer NOT NULL DEFAULT 0 CHECK (completed_sessions >= 0),
  rewound_sessions   integer NOT NULL DEFAULT 0 CHECK (rewound_sessions >= 0),
  watch_seconds      bigint NOT NULL DEFAULT 0 CHECK (watch_seconds >= 0),
  -- The assistant does not know a course: these two are on the rows without one.
  questions          integer NOT NULL DEFAULT 0 CHECK (questions >= 0),
  cited_answers      integer NOT NULL DEFAULT 0 CHECK (cited_answers >= 0),
  shape              jsonb NOT NULL DEFAULT '{}'::jsonb,
  CONSTRAINT viewing_days_key UNIQUE NULLS NOT DISTINCT (creator_id, date, video_id, course_id),
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE CASCADE
);
CREATE INDEX idx_viewing_days_course ON chronos.viewing_days (creator_id, course_id, date) WHERE course_id IS NOT NULL;
CREATE INDEX idx_viewing_days_video ON chronos.viewing_days (creator_id, video_id, date);

ALTER TABLE chronos.viewing_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.viewing_days FORCE ROW LEVEL SECURITY;
CREATE POLICY viewing_days_tenant_isolation ON chronos.viewing_days
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
-- The rollup rewrites a day's rows whole (a row whose activity moved to another course goes).
GRANT SELECT, INSERT, UPDATE, DELETE ON chronos.viewing_days TO chronos_app;
GRANT SELECT ON chronos.viewing_days TO chronos_analyst;

-- Every rolled day is recomputed by the next rollup: into viewing_days, and into learner_sets,
-- which now count imported watch sessions as views too.
UPDATE chronos.rollup_days SET stale = true;
