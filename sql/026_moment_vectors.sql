-- The vectors of the moments the assistant's offline answer quotes (chronos_data/rag/moment_vectors.py).
--
-- An offline answer scores each moment of the passages it found (a sentence of punctuated
-- captions, a cue of automatic ones) by its embedding. Embedded at question time, the first
-- question on a lesson took 0.5–2.4 s on two cores; the import pipeline now embeds them once,
-- after the chunks, and the question reads them here. A row is one piece of text of one video as
-- the model embeds it, named by the md5 of that text: the question looks its pieces up by the
-- same hash. Videos imported before this migration get their rows the first time a question
-- quotes them. Rows go with their video (cascade), are replaced when the video is embedded again,
-- and are carried by workspace backups like every table with a creator_id.
CREATE TABLE chronos.moment_vectors (
  creator_id      uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  video_id        uuid NOT NULL,
  embedding_model text NOT NULL REFERENCES chronos.embedding_models (name),
  text_md5        text NOT NULL CHECK (text_md5 ~ '^[0-9a-f]{32}$'),
  embedding       vector NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- The composite key proves a moment belongs to a video of the same creator.
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE CASCADE,
  PRIMARY KEY (creator_id, video_id, embedding_model, text_md5)
);

-- A vector must have its model's dimensions, as a chunk's must (005_video_chunks.sql).
CREATE TRIGGER moment_vectors_embedding_dimensions_trigger
  BEFORE INSERT OR UPDATE OF embedding, embedding_model ON chronos.moment_vectors
  FOR EACH ROW EXECUTE FUNCTION chronos.check_chunk_embedding_dimensions();

ALTER TABLE chronos.moment_vectors ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.moment_vectors FORCE ROW LEVEL SECURITY;
CREATE POLICY moment_vectors_tenant_isolation ON chronos.moment_vectors
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
-- Written by the import (and by a question, for a video imported before this table), replaced
-- when a video is embedded again; never updated in place.
GRANT SELECT, INSERT, DELETE ON chronos.moment_vectors TO chronos_app;
-- The analyst reads every table the app reads (018_workspace_members.sql) and writes none.
GRANT SELECT ON chronos.moment_vectors TO chronos_analyst;
