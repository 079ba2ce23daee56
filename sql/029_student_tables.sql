-- One word for the people who watch: "student", as the original schema's students table says.
-- The rollup tables of 017 said "learner"; they, their constraints, indexes and policies are
-- renamed (no function refers to them by name, and backups leave them out: they are derived).
ALTER TABLE chronos.learner_numbers RENAME TO student_numbers;
ALTER TABLE chronos.learner_sets RENAME TO student_sets;
ALTER TABLE chronos.course_learners RENAME TO course_students;

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.relname AS tab, con.conname AS name FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'chronos' AND c.relname IN ('student_numbers', 'student_sets', 'course_students')
      AND con.conname LIKE '%learner%'
  LOOP
    EXECUTE format('ALTER TABLE chronos.%I RENAME CONSTRAINT %I TO %I', r.tab, r.name,
                   replace(r.name, 'learner', 'student'));
  END LOOP;
  FOR r IN
    SELECT indexname AS name FROM pg_indexes
    WHERE schemaname = 'chronos' AND tablename IN ('student_numbers', 'student_sets', 'course_students')
      AND indexname LIKE '%learner%'
  LOOP
    EXECUTE format('ALTER INDEX chronos.%I RENAME TO %I', r.name, replace(r.name, 'learner', 'student'));
  END LOOP;
  FOR r IN
    SELECT tablename AS tab, policyname AS name FROM pg_policies
    WHERE schemaname = 'chronos' AND tablename IN ('student_numbers', 'student_sets', 'course_students')
      AND policyname LIKE '%learner%'
  LOOP
    EXECUTE format('ALTER POLICY %I ON chronos.%I RENAME TO %I', r.name, r.tab,
                   replace(r.name, 'learner', 'student'));
  END LOOP;
  FOR r IN
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'chronos' AND c.relkind = 'S' AND c.relname LIKE '%learner%'
  LOOP
    EXECUTE format('ALTER SEQUENCE chronos.%I RENAME TO %I', r.name, replace(r.name, 'learner', 'student'));
  END LOOP;
END
$$;
