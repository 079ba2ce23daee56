-- Sign-in and teammates: a creator can give people read-only analyst access to their workspace.
--
-- Read-only is enforced by Postgres, not by hiding buttons: an analyst's transactions run as
-- chronos_analyst (SET LOCAL ROLE from chronos_app), a role that may SELECT what chronos_app may
-- and change nothing. The same row-level security policies apply to it (they are for PUBLIC), so
-- an analyst sees only the workspace their transaction names.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chronos_analyst') THEN
    CREATE ROLE chronos_analyst NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
GRANT chronos_analyst TO chronos_app;
-- SET ROLE checks the session user: under DATABASE_URL that is the migrating user.
DO $$
BEGIN
  EXECUTE format('GRANT chronos_analyst TO %I', current_user);
EXCEPTION WHEN OTHERS THEN
  NULL;  -- already a member, or a superuser
END
$$;

CREATE TABLE chronos.workspace_members (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  creator_id   uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  email        text NOT NULL,
  role         text NOT NULL DEFAULT 'analyst' CHECK (role IN ('analyst')),
  added_at     timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz,
  -- Soft delete: removing a teammate can be undone until someone re-adds the address.
  removed_at   timestamptz,
  CONSTRAINT workspace_members_email_shape CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320)
);
CREATE UNIQUE INDEX idx_workspace_members_email ON chronos.workspace_members (creator_id, lower(email));
CREATE INDEX idx_workspace_members_lookup ON chronos.workspace_members (lower(email)) WHERE removed_at IS NULL;

ALTER TABLE chronos.workspace_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.workspace_members FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_members_tenant_isolation ON chronos.workspace_members
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
-- sign_in() below runs as the owner, which FORCEd security holds to the policies too.
CREATE POLICY workspace_members_service_role ON chronos.workspace_members TO CURRENT_USER
  USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON chronos.workspace_members TO chronos_app;

-- The analyst may read every table the app may read, and write none.
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN
    SELECT DISTINCT table_name FROM information_schema.role_table_grants
    WHERE grantee = 'chronos_app' AND table_schema = 'chronos' AND privilege_type = 'SELECT'
  LOOP
    EXECUTE format('GRANT SELECT ON chronos.%I TO chronos_analyst', t);
  END LOOP;
END
$$;
GRANT USAGE ON SCHEMA chronos TO chronos_analyst;

-- Sign-in: the workspaces an identity may open. Runs before any creator is known, so as the
-- owner; it finds or creates the person's own workspace (recording last_login_at) and lists
-- the workspaces that named them as a teammate (recording when they were last seen).
CREATE FUNCTION chronos.sign_in(p_email text, p_name text DEFAULT NULL)
RETURNS TABLE (creator_id uuid, creator_email text, creator_name text, role text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
DECLARE
  v_own uuid;
BEGIN
  v_own := chronos.ensure_creator(p_email, p_name);
  UPDATE chronos.creators c SET last_login_at = now() WHERE c.id = v_own;
  UPDATE chronos.workspace_members m SET last_seen_at = now()
  WHERE lower(m.email) = lower(btrim(p_email)) AND m.removed_at IS NULL;
  RETURN QUERY
    SELECT c.id, c.email, c.name, 'owner'::text FROM chronos.creators c WHERE c.id = v_own
    UNION ALL
    SELECT c.id, c.email, c.name, m.role
    FROM chronos.workspace_members m JOIN chronos.creators c ON c.id = m.creator_id
    WHERE lower(m.email) = lower(btrim(p_email)) AND m.removed_at IS NULL AND c.is_active AND c.id <> v_own
    ORDER BY 4 DESC, 2;
END;
$$;
REVOKE ALL ON FUNCTION chronos.sign_in(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chronos.sign_in(text, text) TO chronos_app;
