-- The command line waits for its own creator's videos: let it claim only those, so a busy shared
-- queue (other creators, slow sources) cannot hold it up. The app's worker still serves everyone.
DROP FUNCTION chronos.claim_import_job(interval);

CREATE FUNCTION chronos.claim_import_job(p_lease interval DEFAULT interval '10 minutes',
                                         p_creator_id uuid DEFAULT NULL)
RETURNS TABLE (video_id uuid, creator_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
BEGIN
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
REVOKE ALL ON FUNCTION chronos.claim_import_job(interval, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chronos.claim_import_job(interval, uuid) TO chronos_app;
