-- Whop's courses as Chronos courses (chronos_data/whop/sync.py): a sync makes one draft course per
-- Whop course, one module per chapter and one lesson per matched video lesson, once. These tables
-- remember which Chronos course and module each Whop course and chapter became, so a later sync
-- adds only what is new (a chapter, a lesson matched since) and never touches the creator's edits,
-- and so a completion Whop reports lands in the course and module its lesson is in.
--
-- A Chronos course or module the creator deleted leaves its row with a NULL id: the sync does not
-- make it again.
CREATE TABLE chronos.whop_courses (
  creator_id     uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  whop_course_id text NOT NULL,
  course_id      uuid,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (creator_id, whop_course_id),
  FOREIGN KEY (course_id, creator_id) REFERENCES chronos.courses (id, creator_id) ON DELETE SET NULL (course_id)
);
CREATE INDEX idx_whop_courses_course ON chronos.whop_courses (course_id) WHERE course_id IS NOT NULL;

ALTER TABLE chronos.whop_courses ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.whop_courses FORCE ROW LEVEL SECURITY;
CREATE POLICY whop_courses_tenant_isolation ON chronos.whop_courses
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON chronos.whop_courses TO chronos_app;
GRANT SELECT ON chronos.whop_courses TO chronos_analyst;

CREATE TABLE chronos.whop_chapters (
  creator_id      uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  whop_chapter_id text NOT NULL,
  whop_course_id  text NOT NULL,
  module_id       uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (creator_id, whop_chapter_id),
  FOREIGN KEY (creator_id, whop_course_id) REFERENCES chronos.whop_courses (creator_id, whop_course_id)
    ON DELETE CASCADE,
  FOREIGN KEY (module_id, creator_id) REFERENCES chronos.course_modules (id, creator_id) ON DELETE SET NULL (module_id)
);
CREATE INDEX idx_whop_chapters_module ON chronos.whop_chapters (module_id) WHERE module_id IS NOT NULL;

ALTER TABLE chronos.whop_chapters ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.whop_chapters FORCE ROW LEVEL SECURITY;
CREATE POLICY whop_chapters_tenant_isolation ON chronos.whop_chapters
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON chronos.whop_chapters TO chronos_app;
GRANT SELECT ON chronos.whop_chapters TO chronos_analyst;

-- The sync put this lesson into its Chronos course once: it never adds it again, so a lesson the
-- creator removed stays removed.
ALTER TABLE chronos.whop_lessons ADD COLUMN in_course boolean NOT NULL DEFAULT false;
