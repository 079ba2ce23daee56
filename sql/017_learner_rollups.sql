-- Distinct learners at millions of events, without rescanning them (issue 7).
--
-- "How many learners" over an arbitrary period cannot be summed from daily counts. Every learner
-- of a workspace gets a small number, and each period's learners of a lesson are kept as a bitmap
-- of those numbers: a period's distinct learners are the bit_or of its bitmaps, counted with
-- bit_count. The dashboards cover a date range with whole months, then whole weeks, then days,
-- so a 90-day range reads about a dozen bitmaps per lesson instead of a million events.
CREATE TABLE chronos.learner_numbers (
  creator_id uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  student_id uuid NOT NULL,
  number     integer NOT NULL CHECK (number >= 0),
  PRIMARY KEY (creator_id, student_id),
  FOREIGN KEY (student_id, creator_id) REFERENCES chronos.students (id, creator_id) ON DELETE CASCADE,
  UNIQUE (creator_id, number)
);

-- One row per period, video and (course, module) the video was watched in; course and module are
-- null for viewing outside a course (and, like the events, kept when a course is deleted: the
-- workspace's learner counts must not change). Bit n is learner number n. A week or month row is the bit_or
-- of its days, rewritten whenever one of its days is rolled up.
CREATE TABLE chronos.learner_sets (
  creator_id uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  grain      text NOT NULL CHECK (grain IN ('day', 'week', 'month')),
  period     date NOT NULL,
  video_id   uuid NOT NULL,
  course_id  uuid,
  module_id  uuid,
  started    bit varying NOT NULL,
  completed  bit varying NOT NULL,
  CONSTRAINT learner_sets_key UNIQUE NULLS NOT DISTINCT (creator_id, grain, period, video_id, course_id, module_id),
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE CASCADE
);
-- Bitmaps of a few thousand learners compress poorly and are read whole: storing them
-- uncompressed makes a period's union about three times faster to compute.
ALTER TABLE chronos.learner_sets ALTER COLUMN started SET STORAGE EXTERNAL;
ALTER TABLE chronos.learner_sets ALTER COLUMN completed SET STORAGE EXTERNAL;
CREATE INDEX idx_learner_sets_course ON chronos.learner_sets (creator_id, course_id, grain, period)
  WHERE course_id IS NOT NULL;

-- Each learner's standing in each course, kept by the rollup (for the at-risk list): when they
-- were last seen, on which lesson, and which lessons they completed.
CREATE TABLE chronos.course_learners (
  creator_id       uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  course_id        uuid NOT NULL,
  student_id       uuid NOT NULL,
  last_seen        timestamptz NOT NULL,
  last_video_id    uuid NOT NULL,
  completed_videos uuid[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (creator_id, course_id, student_id),
  FOREIGN KEY (course_id, creator_id) REFERENCES chronos.courses (id, creator_id) ON DELETE CASCADE,
  FOREIGN KEY (student_id, creator_id) REFERENCES chronos.students (id, creator_id) ON DELETE CASCADE
);
CREATE INDEX idx_course_learners_last_seen ON chronos.course_learners (creator_id, course_id, last_seen DESC);
CREATE INDEX idx_course_learners_student ON chronos.course_learners (student_id, creator_id);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['learner_numbers', 'learner_sets', 'course_learners'] LOOP
    EXECUTE format('ALTER TABLE chronos.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE chronos.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY %I ON chronos.%I USING (creator_id = chronos.current_creator_id()) '
      'WITH CHECK (creator_id = chronos.current_creator_id())', t || '_tenant_isolation', t);
  END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE ON chronos.learner_numbers, chronos.learner_sets, chronos.course_learners
  TO chronos_app;

-- Days rolled up before these tables existed have no bitmaps (and no rewatch counts): the next
-- rollup recomputes them.
UPDATE chronos.rollup_days SET stale = true;
