-- Seeds: creators and students (Whop ids kept as optional external ids of the original platform).
CREATE TABLE chronos.creators (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  whop_company_id   text UNIQUE,
  whop_user_id      text,
  email             text NOT NULL,
  name              text,
  subscription_tier text NOT NULL DEFAULT 'basic'
                    CHECK (subscription_tier IN ('basic', 'pro', 'enterprise')),
  settings          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  last_login_at     timestamptz,
  is_active         boolean NOT NULL DEFAULT true,
  CONSTRAINT creators_email_not_blank CHECK (btrim(email) <> '')
);
-- One workspace per sign-in identity; e-mail case does not make a second one.
CREATE UNIQUE INDEX idx_creators_email ON chronos.creators (lower(email));
CREATE INDEX idx_creators_whop_company_id ON chronos.creators (whop_company_id);
CREATE INDEX idx_creators_subscription_tier ON chronos.creators (subscription_tier);
CREATE INDEX idx_creators_is_active ON chronos.creators (is_active);
CREATE TRIGGER creators_updated_at_trigger BEFORE UPDATE ON chronos.creators
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();

CREATE TABLE chronos.students (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  whop_user_id       text,
  whop_membership_id text,
  creator_id         uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  email              text,
  name               text,
  preferences        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  last_active_at     timestamptz,
  is_active          boolean NOT NULL DEFAULT true,
  -- Seeds made whop_user_id globally unique; one person can study with several creators,
  -- so uniqueness is per creator. (id, creator_id) lets child rows prove they share the tenant.
  CONSTRAINT students_whop_user_per_creator UNIQUE (creator_id, whop_user_id),
  CONSTRAINT students_id_creator UNIQUE (id, creator_id)
);
CREATE INDEX idx_students_whop_user_id ON chronos.students (whop_user_id);
CREATE INDEX idx_students_whop_membership_id ON chronos.students (whop_membership_id);
CREATE INDEX idx_students_creator_id ON chronos.students (creator_id, created_at);
CREATE INDEX idx_students_is_active ON chronos.students (creator_id, is_active);
CREATE UNIQUE INDEX idx_students_creator_email ON chronos.students (creator_id, lower(email))
  WHERE email IS NOT NULL;
CREATE TRIGGER students_updated_at_trigger BEFORE UPDATE ON chronos.students
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();
