-- Write keys: what the event collector (chronos_data/collector) accepts instead of a sign-in. A
-- creator makes one per site or player that sends viewing; the service finds the workspace a
-- request writes into from the key alone.
--
-- Only a hash of a key is kept (sha256 of a 256-bit random token: a slow hash adds nothing to a
-- secret nobody chose), so a copy of the database or a backup lets no one send events. The prefix
-- shown in lists ("chr_live_AbCd") lets a person tell their keys apart. A key is never deleted,
-- only revoked: its name may then be given to a new key.
CREATE TABLE chronos.write_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  creator_id   uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  key_prefix   text NOT NULL CHECK (key_prefix ~ '^chr_live_[A-Za-z0-9_-]{4}$'),
  -- Web pages (scheme://host[:port]) whose browsers may send events with this key (CORS); empty
  -- for a server that sends them itself.
  origins      text[] NOT NULL DEFAULT '{}' CHECK (cardinality(origins) <= 50),
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE UNIQUE INDEX idx_write_keys_name ON chronos.write_keys (creator_id, lower(name)) WHERE revoked_at IS NULL;

ALTER TABLE chronos.write_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.write_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY write_keys_tenant_isolation ON chronos.write_keys
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
-- write_key_owner() below runs as the owner, which FORCEd security holds to the policies too.
CREATE POLICY write_keys_service_role ON chronos.write_keys TO CURRENT_USER
  USING (true) WITH CHECK (true);
-- Revoking is an update: a key row stays, so its last use can still be told.
GRANT SELECT, INSERT, UPDATE ON chronos.write_keys TO chronos_app;
-- The analyst reads every table the app reads (018_workspace_members.sql) and writes none.
GRANT SELECT ON chronos.write_keys TO chronos_analyst;

-- The collector's one way from a key to its workspace: the workspace, key id and allowed origins
-- of the live key with this hash (no row for an unknown or revoked key), noting its use. It runs
-- before any creator is known, so as the owner, and refuses to run inside a workspace's transaction
-- (019_definer_guards.sql): the app's role cannot list or probe keys from there.
CREATE FUNCTION chronos.write_key_owner(p_key_hash text)
RETURNS TABLE (creator_id uuid, key_id uuid, origins text[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
BEGIN
  IF chronos.current_creator_id() IS NOT NULL THEN
    RAISE EXCEPTION 'write_key_owner runs only outside a workspace''s transaction'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY
  SELECT k.creator_id, k.id, k.origins FROM chronos.write_keys k
  WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL;
  -- Once a minute at most: a busy key would otherwise rewrite its row on every lookup.
  UPDATE chronos.write_keys k SET last_used_at = now()
  WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
    AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
END;
$$;
REVOKE ALL ON FUNCTION chronos.write_key_owner(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chronos.write_key_owner(text) TO chronos_app;
