-- Tenancy: the application role, the per-transaction creator setting, shared trigger functions.
--
-- The app never queries as the owner of these tables: owners and superusers bypass row-level
-- security. It connects as, or SET ROLEs to, chronos_app, a role without BYPASSRLS that owns
-- nothing. Each transaction names its creator with set_config('chronos.creator_id', id, true);
-- the "true" makes the setting transaction-local, so a pooled connection cannot carry one
-- creator's id into the next transaction.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chronos_app') THEN
    CREATE ROLE chronos_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

-- The migrating user must be able to SET ROLE chronos_app (PostgreSQL 16+ no longer implies it).
DO $$
BEGIN
  EXECUTE format('GRANT chronos_app TO %I', current_user);
EXCEPTION WHEN OTHERS THEN
  -- Already a member, or a superuser (who may SET ROLE to anyone).
  NULL;
END
$$;

GRANT USAGE ON SCHEMA chronos TO chronos_app;

-- The creator whose data the current transaction may touch; NULL (no rows at all) when unset.
-- STABLE and inlinable, so policies compare creator_id to a constant and use creator_id indexes.
CREATE FUNCTION chronos.current_creator_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT nullif(current_setting('chronos.creator_id', true), '')::uuid
$$;

-- Seeds: update_updated_at_column(), attached to every table with an updated_at column.
CREATE FUNCTION chronos.update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;
