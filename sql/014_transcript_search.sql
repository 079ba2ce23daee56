-- Keyword search over transcript chunks, for hybrid (keyword + vector) retrieval.
--
-- Embeddings miss rare exact terms (an error code, a function name, "ETag"); full-text search
-- finds them. The tsvector is a stored generated column so it is computed once per chunk, on
-- insert, and can never drift from chunk_text. 'english' stems words ("caching" finds "cache")
-- and drops stop words; queries must use the same configuration to match.
ALTER TABLE chronos.video_chunks
  ADD COLUMN search_text tsvector GENERATED ALWAYS AS (to_tsvector('english', chunk_text)) STORED;

-- GIN answers @@ on search_text. The creator filter is not part of this index: a GIN index
-- cannot hold a uuid without btree_gin, and the planner combines this index with
-- idx_video_chunks_video_id (creator_id, video_id, chunk_index) in a BitmapAnd when one
-- creator's share of the table is small, or filters the GIN matches by creator otherwise.
CREATE INDEX idx_video_chunks_search_text ON chronos.video_chunks USING gin (search_text);
