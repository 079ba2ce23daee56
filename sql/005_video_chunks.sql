-- Transcript chunks and their embeddings.
--
-- Seeds stored vector(1536) from one OpenAI model. Chronos embeds with a local 384-dimension
-- model when no key is set and with OpenAI's 1536-dimension models when one is, so:
--   * embedding_models lists every model with its dimensions;
--   * video_chunks.embedding is an untyped vector, and each chunk records its embedding_model;
--   * each model gets its own partial HNSW index on embedding::vector(<dims>) WHERE
--     embedding_model = '<name>' (pgvector's documented way to index mixed dimensions);
--   * searches name one model, so vectors of different models are never compared.
-- Adding a model is one call: SELECT chronos.register_embedding_model(name, provider, dims).
CREATE TABLE chronos.embedding_models (
  name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$'),
  provider    text NOT NULL CHECK (provider IN ('local', 'openai')),
  dimensions  integer NOT NULL CHECK (dimensions BETWEEN 1 AND 2000),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chronos.video_chunks (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  video_id           uuid NOT NULL,
  creator_id         uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  chunk_index        integer NOT NULL CHECK (chunk_index >= 0),
  chunk_text         text NOT NULL,
  embedding          vector,
  embedding_model    text REFERENCES chronos.embedding_models (name),
  start_time_seconds integer CHECK (start_time_seconds IS NULL OR start_time_seconds >= 0),
  end_time_seconds   integer,
  word_count         integer CHECK (word_count IS NULL OR word_count >= 0),
  metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at         timestamptz NOT NULL DEFAULT now(),
  -- The composite key proves a chunk belongs to a video of the same creator.
  FOREIGN KEY (video_id, creator_id) REFERENCES chronos.videos (id, creator_id) ON DELETE CASCADE,
  CONSTRAINT video_chunks_time_order CHECK (end_time_seconds IS NULL OR start_time_seconds IS NULL
                                            OR end_time_seconds >= start_time_seconds),
  CONSTRAINT video_chunks_embedding_has_model CHECK (embedding IS NULL OR embedding_model IS NOT NULL),
  CONSTRAINT video_chunks_video_index UNIQUE (video_id, chunk_index)
);
CREATE INDEX idx_video_chunks_video_id ON chronos.video_chunks (creator_id, video_id, chunk_index);

-- A vector must have its model's dimensions; a CHECK cannot look the model up, a trigger can.
CREATE FUNCTION chronos.check_chunk_embedding_dimensions() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  expected integer;
BEGIN
  IF NEW.embedding IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT dimensions INTO expected FROM chronos.embedding_models WHERE name = NEW.embedding_model;
  IF vector_dims(NEW.embedding) <> expected THEN
    RAISE EXCEPTION 'embedding has % dimensions but model % makes %',
      vector_dims(NEW.embedding), NEW.embedding_model, expected
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER video_chunks_embedding_dimensions_trigger
  BEFORE INSERT OR UPDATE OF embedding, embedding_model ON chronos.video_chunks
  FOR EACH ROW EXECUTE FUNCTION chronos.check_chunk_embedding_dimensions();

-- Registers a model and builds its HNSW index. HNSW rather than the seeds' IVFFlat: pgvector's
-- published measurements give IVFFlat 4-5x less throughput at the same recall, and HNSW needs
-- no training data, so an empty table gets a good index. vector_cosine_ops matches <=>.
CREATE FUNCTION chronos.register_embedding_model(p_name text, p_provider text, p_dimensions integer)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO chronos.embedding_models (name, provider, dimensions)
  VALUES (p_name, p_provider, p_dimensions)
  ON CONFLICT (name) DO NOTHING;
  IF (SELECT dimensions FROM chronos.embedding_models WHERE name = p_name) <> p_dimensions THEN
    RAISE EXCEPTION 'embedding model % is already registered with other dimensions', p_name;
  END IF;
  EXECUTE format(
    'CREATE INDEX IF NOT EXISTS %I ON chronos.video_chunks '
    'USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WHERE embedding_model = %L',
    chronos.embedding_index_name(p_name), p_dimensions, p_name);
END;
$$;

CREATE FUNCTION chronos.embedding_index_name(p_model text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT left('idx_video_chunks_embedding_' || regexp_replace(lower(p_model), '[^a-z0-9]+', '_', 'g'), 63)
$$;

-- The local model ships with Chronos (all-MiniLM-L6-v2 on onnxruntime); the OpenAI ones are
-- used when OPENAI_API_KEY is set (text-embedding-ada-002 is the seeds' original model).
SELECT chronos.register_embedding_model('all-MiniLM-L6-v2', 'local', 384);
SELECT chronos.register_embedding_model('text-embedding-3-small', 'openai', 1536);
SELECT chronos.register_embedding_model('text-embedding-ada-002', 'openai', 1536);

-- Seeds: search_video_chunks. Differences, each for a reason:
--   * the model is named, and its dimensions cast the column, so the model's partial HNSW
--     index is used and only its vectors are compared;
--   * similarity_threshold defaults to 0: the seeds' fixed 0.7 returns nothing with current
--     OpenAI models, and cut-offs are calibrated per model by the caller;
--   * only the current creator's (row-level security), completed, not deleted videos;
--   * iterative index scans (pgvector 0.8) so a creator filter still yields match_count rows.
CREATE FUNCTION chronos.search_video_chunks(
  query_embedding      vector,
  match_count          integer DEFAULT 5,
  similarity_threshold double precision DEFAULT 0,
  filter_video_ids     uuid[] DEFAULT NULL,
  p_embedding_model    text DEFAULT 'all-MiniLM-L6-v2'
)
RETURNS TABLE (
  chunk_id           uuid,
  video_id           uuid,
  chunk_index        integer,
  chunk_text         text,
  start_time_seconds integer,
  end_time_seconds   integer,
  similarity         double precision
)
LANGUAGE plpgsql AS $$
DECLARE
  dims integer;
BEGIN
  SELECT m.dimensions INTO dims FROM chronos.embedding_models m WHERE m.name = p_embedding_model;
  IF dims IS NULL THEN
    RAISE EXCEPTION 'unknown embedding model %', p_embedding_model USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF vector_dims(query_embedding) <> dims THEN
    RAISE EXCEPTION 'query has % dimensions but model % makes %',
      vector_dims(query_embedding), p_embedding_model, dims USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
  -- Model name and dimensions are inlined (%L, %s) so the planner matches the partial index.
  RETURN QUERY EXECUTE format($q$
    WITH nearest AS MATERIALIZED (
      SELECT c.id, c.video_id, c.chunk_index, c.chunk_text, c.start_time_seconds,
             c.end_time_seconds, c.embedding::vector(%1$s) <=> $1::vector(%1$s) AS distance
      FROM chronos.video_chunks c
      JOIN chronos.videos v ON v.id = c.video_id AND v.creator_id = c.creator_id
      WHERE c.embedding_model = %2$L
        AND c.creator_id = chronos.current_creator_id()
        AND v.status = 'completed' AND NOT v.is_deleted
        AND ($3::uuid[] IS NULL OR c.video_id = ANY ($3::uuid[]))
      ORDER BY c.embedding::vector(%1$s) <=> $1::vector(%1$s)
      LIMIT $2
    )
    SELECT id, video_id, chunk_index, chunk_text, start_time_seconds, end_time_seconds,
           1 - distance AS similarity
    FROM nearest
    WHERE 1 - distance >= $4
    ORDER BY distance$q$, dims, p_embedding_model)
  USING query_embedding, match_count, filter_video_ids, similarity_threshold;
END;
$$;

-- Seeds: vector_index_stats. security_invoker makes the view obey row-level security, so each
-- creator sees the coverage of their own chunks (a plain view would run as its owner).
CREATE VIEW chronos.vector_index_stats WITH (security_invoker = true) AS
SELECT count(*)                                                        AS total_chunks,
       count(embedding)                                                AS chunks_with_embeddings,
       round(100.0 * count(embedding) / nullif(count(*), 0), 2)        AS embedding_coverage_percent,
       count(DISTINCT embedding_model)                                 AS embedding_models
FROM chronos.video_chunks;
