-- Workspaces are keyed by the sign-in identity, the provider's issuer and subject (OpenID Connect's
-- iss + sub), not by the e-mail address the token carries: an address can change hands (a reused
-- mailbox, a renamed account, a provider that does not verify it), a subject never does. The
-- e-mail stays as the workspace's label and as the key of teammate access.
ALTER TABLE chronos.creators ADD COLUMN identity_issuer text;
ALTER TABLE chronos.creators ADD COLUMN identity_subject text;
ALTER TABLE chronos.creators ADD CONSTRAINT creators_identity_pair
  CHECK ((identity_issuer IS NULL) = (identity_subject IS NULL));
CREATE UNIQUE INDEX idx_creators_identity ON chronos.creators (identity_issuer, identity_subject)
  WHERE identity_issuer IS NOT NULL;

DROP FUNCTION chronos.sign_in(text, text);

-- The workspaces an identity may open, its own first. Its own is found by (issuer, subject); on an
-- identity's first sign-in, a workspace of the same address that no identity holds yet (made before
-- sign-in was configured, or by `python -m chronos_data` commands) becomes its own; a workspace
-- another identity holds is never opened by the address alone.
CREATE FUNCTION chronos.sign_in(p_issuer text, p_subject text, p_email text, p_name text DEFAULT NULL)
RETURNS TABLE (creator_id uuid, creator_email text, creator_name text, role text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
DECLARE
  v_own uuid;
  v_holder text;
  v_email text := btrim(p_email);
BEGIN
  IF chronos.current_creator_id() IS NOT NULL THEN
    RAISE EXCEPTION 'sign_in runs only outside a workspace''s transaction'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF coalesce(btrim(p_issuer), '') = '' OR coalesce(btrim(p_subject), '') = '' THEN
    RAISE EXCEPTION 'a sign-in identity (issuer and subject) is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF coalesce(v_email, '') = '' THEN
    RAISE EXCEPTION 'an e-mail address is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT c.id INTO v_own FROM chronos.creators c
  WHERE c.identity_issuer = p_issuer AND c.identity_subject = p_subject;
  IF v_own IS NULL THEN
    SELECT c.id, c.identity_subject INTO v_own, v_holder FROM chronos.creators c WHERE lower(c.email) = lower(v_email);
    IF v_own IS NOT NULL AND v_holder IS NOT NULL THEN
      RAISE EXCEPTION 'the workspace of this address belongs to another sign-in'
        USING ERRCODE = 'unique_violation', HINT = 'address_held';
    ELSIF v_own IS NOT NULL THEN
      UPDATE chronos.creators c SET identity_issuer = p_issuer, identity_subject = p_subject WHERE c.id = v_own;
    ELSE
      INSERT INTO chronos.creators (email, name, identity_issuer, identity_subject)
      VALUES (v_email, nullif(btrim(p_name), ''), p_issuer, p_subject)
      RETURNING id INTO v_own;
    END IF;
  ELSE
    -- The address is a label: follow the provider's, unless another workspace already uses it.
    UPDATE chronos.creators c SET email = v_email
    WHERE c.id = v_own AND lower(c.email) <> lower(v_email)
      AND NOT EXISTS (SELECT 1 FROM chronos.creators o WHERE lower(o.email) = lower(v_email));
  END IF;
  UPDATE chronos.creators c SET last_login_at = now() WHERE c.id = v_own;
  UPDATE chronos.workspace_members m SET last_seen_at = now()
  WHERE lower(m.email) = lower(v_email) AND m.removed_at IS NULL;
  RETURN QUERY
    SELECT c.id, c.email, c.name, 'owner'::text FROM chronos.creators c WHERE c.id = v_own
    UNION ALL
    SELECT c.id, c.email, c.name, m.role
    FROM chronos.workspace_members m JOIN chronos.creators c ON c.id = m.creator_id
    WHERE lower(m.email) = lower(v_email) AND m.removed_at IS NULL AND c.is_active AND c.id <> v_own
    ORDER BY 4 DESC, 2;
END;
$$;
REVOKE ALL ON FUNCTION chronos.sign_in(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chronos.sign_in(text, text, text, text) TO chronos_app;
