-- Seeds: videos, a discriminated union over source_type (youtube, mux, loom, upload).
CREATE TABLE chronos.videos (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  creator_id              uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  title                   text NOT NULL CHECK (btrim(title) <> ''),
  description             text,
  url                     text,
  storage_path            text,
  thumbnail_url           text,
  duration_seconds        integer CHECK (duration_seconds IS NULL OR duration_seconds >= 0),
  transcript              text,
  transcript_language     text DEFAULT 'en',
  status                  text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'uploading', 'transcribing', 'processing',
                                            'embedding', 'completed', 'failed')),
  error_message           text,
  processing_started_at   timestamptz,
  processing_completed_at timestamptz,
  file_size_bytes         bigint CHECK (file_size_bytes IS NULL OR file_size_bytes >= 0),
  metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  is_deleted              boolean NOT NULL DEFAULT false,
  source_type             text NOT NULL DEFAULT 'youtube'
                          CHECK (source_type IN ('youtube', 'mux', 'loom', 'upload')),
  youtube_video_id        text CHECK (youtube_video_id IS NULL OR youtube_video_id ~ '^[A-Za-z0-9_-]{11}$'),
  youtube_channel_id      text,
  whop_lesson_id          text,
  mux_asset_id            text,
  mux_playback_id         text,
  embed_type              text CHECK (embed_type IS NULL OR embed_type IN ('youtube', 'loom', 'vimeo', 'wistia')),
  embed_id                text,
  CONSTRAINT videos_source_validation CHECK (
    (source_type = 'youtube' AND youtube_video_id IS NOT NULL) OR
    (source_type = 'mux' AND mux_playback_id IS NOT NULL) OR
    (source_type = 'loom' AND embed_id IS NOT NULL) OR
    (source_type = 'upload' AND storage_path IS NOT NULL)
  ),
  -- A failed video says why, so the creator can fix and retry it.
  CONSTRAINT videos_failed_has_error CHECK (status <> 'failed' OR error_message IS NOT NULL),
  CONSTRAINT videos_id_creator UNIQUE (id, creator_id)
);
-- Every index a page filters on leads with creator_id: tenant filter first, then the question.
CREATE INDEX idx_videos_creator_id ON chronos.videos (creator_id, created_at DESC) WHERE NOT is_deleted;
CREATE INDEX idx_videos_created_at ON chronos.videos (creator_id, created_at DESC);
CREATE INDEX idx_videos_is_deleted ON chronos.videos (creator_id, updated_at DESC) WHERE is_deleted;
CREATE INDEX idx_videos_status ON chronos.videos (creator_id, status);
CREATE INDEX idx_videos_source_type ON chronos.videos (creator_id, source_type);
CREATE INDEX idx_videos_youtube_video_id ON chronos.videos (creator_id, youtube_video_id)
  WHERE youtube_video_id IS NOT NULL;
CREATE INDEX idx_videos_whop_lesson_id ON chronos.videos (creator_id, whop_lesson_id)
  WHERE whop_lesson_id IS NOT NULL;
CREATE INDEX idx_videos_mux_asset_id ON chronos.videos (creator_id, mux_asset_id)
  WHERE mux_asset_id IS NOT NULL;
CREATE INDEX idx_videos_mux_playback_id ON chronos.videos (creator_id, mux_playback_id)
  WHERE mux_playback_id IS NOT NULL;
CREATE INDEX idx_videos_embed_type ON chronos.videos (creator_id, embed_type)
  WHERE embed_type IS NOT NULL;
CREATE INDEX idx_videos_embed_id ON chronos.videos (creator_id, embed_id)
  WHERE embed_id IS NOT NULL;
CREATE TRIGGER videos_updated_at_trigger BEFORE UPDATE ON chronos.videos
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();
