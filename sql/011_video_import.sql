-- Video import: what the pipeline needs to resume, retry and re-chunk without asking the source again.
ALTER TABLE chronos.videos
  -- The timed transcript as [[start, end, text], ...]: re-chunking or re-embedding reads it
  -- instead of fetching from YouTube again. Only text is stored, never media.
  ADD COLUMN transcript_segments jsonb,
  ADD COLUMN transcript_is_generated boolean,
  ADD COLUMN transcript_method text CHECK (transcript_method IS NULL OR transcript_method IN
    ('youtube_captions', 'yt_dlp_subtitles', 'subtitle_file', 'whisper')),
  -- How the creator asked for it: preferred languages, translation.
  ADD COLUMN import_options jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- A worker's lease: work claimed longer ago than the lease is taken over (the worker died).
  ADD COLUMN claimed_at timestamptz,
  -- 0..1 within the current stage, for the page's progress bar.
  ADD COLUMN progress real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1);

-- One live copy of a YouTube video per creator; a deleted one may be imported again.
CREATE UNIQUE INDEX idx_videos_unique_youtube_per_creator ON chronos.videos (creator_id, youtube_video_id)
  WHERE youtube_video_id IS NOT NULL AND NOT is_deleted;

-- The import queue, across creators: unfinished videos in arrival order.
CREATE INDEX idx_videos_import_queue ON chronos.videos (created_at)
  WHERE status IN ('pending', 'transcribing', 'processing', 'embedding') AND NOT is_deleted;

-- Workers serve every creator, but the app role sees one creator per transaction. Claiming runs
-- as the owner and returns only ids: the work itself then runs in that creator's transaction.
-- SKIP LOCKED lets several workers (app processes, the CLI) claim different videos at once.
CREATE FUNCTION chronos.claim_import_job(p_lease interval DEFAULT interval '10 minutes')
RETURNS TABLE (video_id uuid, creator_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = chronos, pg_catalog AS $$
BEGIN
  RETURN QUERY
  UPDATE chronos.videos v SET claimed_at = now()
  WHERE v.id = (
    SELECT q.id FROM chronos.videos q
    WHERE q.status IN ('pending', 'transcribing', 'processing', 'embedding') AND NOT q.is_deleted
      AND (q.claimed_at IS NULL OR q.claimed_at < now() - p_lease)
    ORDER BY q.created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  )
  RETURNING v.id, v.creator_id;
END;
$$;
REVOKE ALL ON FUNCTION chronos.claim_import_job(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chronos.claim_import_job(interval) TO chronos_app;
