-- Seeds: chat_sessions and chat_messages (with the token_count and model columns of the
-- "chat analytics columns" migration). student_id is NULL for the creator's own assistant chats.
CREATE TABLE chronos.chat_sessions (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  student_id        uuid,
  creator_id        uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  title             text,
  context_video_ids uuid[] NOT NULL DEFAULT '{}',
  metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  last_message_at   timestamptz,
  FOREIGN KEY (student_id, creator_id) REFERENCES chronos.students (id, creator_id) ON DELETE CASCADE,
  CONSTRAINT chat_sessions_id_creator UNIQUE (id, creator_id)
);
CREATE INDEX idx_chat_sessions_student_id ON chronos.chat_sessions (student_id) WHERE student_id IS NOT NULL;
CREATE INDEX idx_chat_sessions_creator_id ON chronos.chat_sessions (creator_id, last_message_at DESC NULLS LAST);
CREATE TRIGGER chat_sessions_updated_at_trigger BEFORE UPDATE ON chronos.chat_sessions
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();

CREATE TABLE chronos.chat_messages (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id       uuid NOT NULL,
  creator_id       uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  role             text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  content          text NOT NULL,
  video_references jsonb NOT NULL DEFAULT '[]'::jsonb,
  token_count      integer CHECK (token_count IS NULL OR token_count >= 0),
  model            text,
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (session_id, creator_id) REFERENCES chronos.chat_sessions (id, creator_id) ON DELETE CASCADE
);
CREATE INDEX idx_chat_messages_session_id ON chronos.chat_messages (session_id, created_at);
CREATE INDEX idx_chat_messages_creator_id ON chronos.chat_messages (creator_id, created_at DESC);
