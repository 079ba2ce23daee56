-- Seeds: courses -> course_modules -> module_lessons (the junction that replaced video_ids[]).
CREATE TABLE chronos.courses (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  creator_id    uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  title         text NOT NULL CHECK (btrim(title) <> ''),
  description   text,
  thumbnail_url text,
  is_published  boolean NOT NULL DEFAULT false,
  display_order integer NOT NULL DEFAULT 0,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz,
  is_deleted    boolean NOT NULL DEFAULT false,
  CONSTRAINT courses_id_creator UNIQUE (id, creator_id)
);
CREATE INDEX idx_courses_creator_id ON chronos.courses (creator_id) WHERE NOT is_deleted;
CREATE INDEX idx_courses_is_published ON chronos.courses (creator_id, is_published) WHERE NOT is_deleted;
CREATE INDEX idx_courses_display_order ON chronos.courses (creator_id, display_order);
CREATE TRIGGER courses_updated_at_trigger BEFORE UPDATE ON chronos.courses
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();

CREATE TABLE chronos.course_modules (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  course_id     uuid NOT NULL,
  creator_id    uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  title         text NOT NULL CHECK (btrim(title) <> ''),
  description   text,
  -- DEPRECATED in the seeds (module_lessons replaced it); kept so outlines exported by the
  -- original product still load. Chronos never writes it.
  video_ids     text[] NOT NULL DEFAULT '{}',
  display_order integer NOT NULL DEFAULT 0,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (course_id, creator_id) REFERENCES chronos.courses (id, creator_id) ON DELETE CASCADE,
  CONSTRAINT course_modules_id_creator UNIQUE (id, creator_id)
);
CREATE INDEX idx_course_modules_course_id ON chronos.course_modules (course_id);
CREATE INDEX idx_course_modules_display_order ON chronos.course_modules (creator_id, course_id, display_order);
CREATE TRIGGER course_modules_updated_at_trigger BEFORE UPDATE ON chronos.course_modules
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();

CREATE TABLE chronos.module_lessons (
  id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  module_id                  uuid NOT NULL,
  video_id                   uuid NOT NULL,
  creator_id                 uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  lesson_order               integer NOT NULL CHECK (lesson_order > 0),
  title                      text NOT NULL CHECK (btrim(title) <> ''),
  description                text,
  is_required                boolean NOT NULL DEFAULT true,
  estimated_duration_minutes integer CHECK (estimated_duration_minutes IS NULL OR estimated_duration_minutes > 0),
  metadata                   jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  -- Both parents must belong to the lesson's creator: no lesson can point at a foreign video.
  FOREIGN KEY (module_id, creator_id) REFERENCES chronos.course_modules (id, creator_id) ON DELETE CASCADE,
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE CASCADE,
  CONSTRAINT idx_module_lessons_unique_video_per_module UNIQUE (module_id, video_id),
  -- Positions are unique within a module. Deferred to commit, so a reorder can pass through
  -- duplicate positions inside its one transaction.
  CONSTRAINT idx_module_lessons_module_order UNIQUE (module_id, lesson_order) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX idx_module_lessons_module_id ON chronos.module_lessons (creator_id, module_id);
CREATE INDEX idx_module_lessons_video_id ON chronos.module_lessons (video_id);
CREATE TRIGGER module_lessons_updated_at_trigger BEFORE UPDATE ON chronos.module_lessons
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();
