-- The owner-run functions that work before a creator is known (sign-in) or across creators (the
-- import queue) refuse to run inside a transaction that already belongs to a creator: there, they
-- would hand one workspace another's id (ensure_creator, sign_in) or let it claim, and so block,
-- another's queued import (claim_import_job). Their callers (sign-in, the worker) never set a creator.

CREATE OR REPLACE FUNCTION chronos.ensure_creator(p_email text, p_name text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
DECLARE
  v_id uuid;
BEGIN
  IF chronos.current_creator_id() IS NOT NULL THEN
    RAISE EXCEPTION 'ensure_creator runs only outside a workspace''s transaction'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_email IS NULL OR btrim(p_email) = '' THEN
    RAISE EXCEPTION 'an e-mail address is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO chronos.creators (email, name)
  VALUES (btrim(p_email), nullif(btrim(p_name), ''))
  ON CONFLICT ((lower(email))) DO UPDATE SET last_login_at = now()
  RETURNING id INTO v_id;
  RETURN v_id;
END;
$$;

CREATE OR REPLACE FUNCTION chronos.sign_in(p_email text, p_name text DEFAULT NULL)
RETURNS TABLE (creator_id uuid, creator_email text, creator_name text, role text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
DECLARE
  v_own uuid;
BEGIN
  IF chronos.current_creator_id() IS NOT NULL THEN
    RAISE EXCEPTION 'sign_in runs only outside a workspace''s transaction'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
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

CREATE OR REPLACE FUNCTION chronos.claim_import_job(p_lease interval DEFAULT interval '10 minutes',
                                                    p_creator_id uuid DEFAULT NULL)
RETURNS TABLE (video_id uuid, creator_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
BEGIN
  IF chronos.current_creator_id() IS NOT NULL AND p_creator_id IS DISTINCT FROM chronos.current_creator_id() THEN
    RAISE EXCEPTION 'a workspace''s transaction may claim only its own imports'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY
  UPDATE chronos.videos v SET claimed_at = now()
  WHERE v.id = (
    SELECT q.id FROM chronos.videos q
    WHERE q.status IN ('pending', 'transcribing', 'processing', 'embedding') AND NOT q.is_deleted
      AND (q.claimed_at IS NULL OR q.claimed_at < now() - p_lease)
      AND (p_creator_id IS NULL OR q.creator_id = p_creator_id)
    ORDER BY q.created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  )
  RETURNING v.id, v.creator_id;
END;
$$;
