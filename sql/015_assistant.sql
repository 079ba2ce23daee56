-- The assistant: relevance cut-offs per embedding model, answer feedback and timing, and a
-- trash for conversations.

-- Cosine similarity below which a passage does not answer a question. Each model spreads its
-- scores differently (ada-002 rates unrelated text ~0.7, text-embedding-3 ~0.1, MiniLM ~0.1),
-- so one fixed number (the seeds' 0.7) either returns nothing or everything. NULL: no cut-off.
ALTER TABLE chronos.embedding_models
  ADD COLUMN relevance_floor double precision CHECK (relevance_floor IS NULL OR relevance_floor BETWEEN -1 AND 1);
-- all-MiniLM-L6-v2, measured with `python -m bench retrieval` on the evaluation set: every
-- labelled question's best passage scores >= 0.226, every off-topic question's <= 0.199.
UPDATE chronos.embedding_models SET relevance_floor = 0.20 WHERE name = 'all-MiniLM-L6-v2';
-- OpenAI's published guidance and common measurements: text-embedding-3 models score unrelated
-- text around 0.0-0.15 and answers above 0.3; ada-002 compresses everything into 0.68-0.9.
UPDATE chronos.embedding_models SET relevance_floor = 0.20 WHERE name LIKE 'text-embedding-3-%';
UPDATE chronos.embedding_models SET relevance_floor = 0.75 WHERE name = 'text-embedding-ada-002';

-- Thumbs up (1) or down (-1) on an assistant message, and how long the answer took.
ALTER TABLE chronos.chat_messages
  ADD COLUMN feedback smallint CHECK (feedback IS NULL OR feedback IN (-1, 1)),
  ADD COLUMN latency_ms integer CHECK (latency_ms IS NULL OR latency_ms >= 0);
-- The question log and the daily message cap read one creator's questions by time.
CREATE INDEX idx_chat_messages_creator_role ON chronos.chat_messages (creator_id, role, created_at DESC);

-- Deleted conversations go to the trash first, so a mistaken delete can be undone.
ALTER TABLE chronos.chat_sessions ADD COLUMN deleted_at timestamptz;
