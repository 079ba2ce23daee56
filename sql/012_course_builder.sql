-- Course builder: revisions for stale-edit detection, and positions that are exactly 1..n.
--
-- A page shows a module's lessons (or a course's modules) together with the revision it read;
-- a change made from an older revision (another tab, another person) is refused instead of
-- silently reordering what the creator no longer sees. Every lesson change bumps its module's
-- revision; every change to a course's list of modules bumps the course's revision.
ALTER TABLE chronos.courses
  ADD COLUMN revision integer NOT NULL DEFAULT 0 CHECK (revision >= 0);
ALTER TABLE chronos.course_modules
  ADD COLUMN revision integer NOT NULL DEFAULT 0 CHECK (revision >= 0);

-- From now on positions are kept at 1..n by chronos_data.courses. Rows written before (the
-- columns defaulted to 0, and deleted courses kept their place) are renumbered once, keeping
-- their order. Under row-level security a non-superuser owner sees no rows here, which is
-- harmless: the app renumbers a list whenever it changes it.
UPDATE chronos.courses c SET display_order = o.n
FROM (
  SELECT id, row_number() OVER (PARTITION BY creator_id ORDER BY display_order, created_at, id) AS n
  FROM chronos.courses WHERE NOT is_deleted
) o
WHERE c.id = o.id AND c.display_order <> o.n;

UPDATE chronos.course_modules m SET display_order = o.n
FROM (
  SELECT id, row_number() OVER (PARTITION BY course_id ORDER BY display_order, created_at, id) AS n
  FROM chronos.course_modules
) o
WHERE m.id = o.id AND m.display_order <> o.n;

-- idx_module_lessons_module_order is deferred, so passing through duplicates here is fine.
UPDATE chronos.module_lessons l SET lesson_order = o.n
FROM (
  SELECT id, row_number() OVER (PARTITION BY module_id ORDER BY lesson_order, created_at, id) AS n
  FROM chronos.module_lessons
) o
WHERE l.id = o.id AND l.lesson_order <> o.n;

-- Importing an outline matches videos by title, ignoring case.
CREATE INDEX idx_videos_title_lower ON chronos.videos (creator_id, lower(title)) WHERE NOT is_deleted;
