-- The import queue is shared by every workspace on a server. Taken strictly oldest first, one
-- workspace that queued a channel of 200 videos (or one enormous transcript) made every other
-- workspace wait behind all of it. A worker now takes the oldest video of the workspaces with the
-- fewest videos being worked on right now (claimed within the lease), so a new workspace's first
-- import starts at the next claim while another's bulk import goes on.
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
  WITH in_flight AS (
    SELECT f.creator_id, count(*) AS working
    FROM chronos.videos f
    WHERE f.status IN ('pending', 'transcribing', 'processing', 'embedding') AND NOT f.is_deleted
      AND f.claimed_at IS NOT NULL AND f.claimed_at >= now() - p_lease
    GROUP BY f.creator_id
  )
  UPDATE chronos.videos v SET claimed_at = now()
  WHERE v.id = (
    SELECT q.id FROM chronos.videos q
    LEFT JOIN in_flight w ON w.creator_id = q.creator_id
    WHERE q.status IN ('pending', 'transcribing', 'processing', 'embedding') AND NOT q.is_deleted
      AND (q.claimed_at IS NULL OR q.claimed_at < now() - p_lease)
      AND (p_creator_id IS NULL OR q.creator_id = p_creator_id)
    ORDER BY coalesce(w.working, 0), q.created_at
    LIMIT 1
    FOR UPDATE OF q SKIP LOCKED
  )
  RETURNING v.id, v.creator_id;
END;
$$;
