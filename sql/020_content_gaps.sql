-- Insights, the content-gap inbox: the creator's decisions on suggestions ("students keep asking
-- about Y; no lesson covers it"). The suggestions themselves are computed from the stored
-- questions on each read (chronos_data/insights/gaps.py); only what the creator decided is kept.
--
-- A suggestion is named by a key derived from its questions' text (a hash of the earliest member
-- question, normalised), not from row ids: it stays the same across runs, as new questions join
-- the group, and across a backup restored with fresh ids, so a decision keeps hiding it.
CREATE TABLE chronos.content_gap_states (
  creator_id       uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  key              text NOT NULL CHECK (key ~ '^gap-[0-9a-f]{16}$'),
  state            text NOT NULL CHECK (state IN ('done', 'dismissed')),
  decided_at       timestamptz NOT NULL DEFAULT now(),
  -- What the suggestion said when it was decided: the inbox can list a decision whose questions
  -- have since been answered (or deleted), and a person can tell what was dismissed.
  title            text CHECK (title IS NULL OR length(title) <= 500),
  example_question text CHECK (example_question IS NULL OR length(example_question) <= 2000),
  PRIMARY KEY (creator_id, key)
);

ALTER TABLE chronos.content_gap_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE chronos.content_gap_states FORCE ROW LEVEL SECURITY;
CREATE POLICY content_gap_states_tenant_isolation ON chronos.content_gap_states
  USING (creator_id = chronos.current_creator_id()) WITH CHECK (creator_id = chronos.current_creator_id());
-- Undo (reopen) deletes the decision: the row holds nothing but the decision itself.
GRANT SELECT, INSERT, UPDATE, DELETE ON chronos.content_gap_states TO chronos_app;
-- The analyst reads every table the app reads (018_workspace_members.sql) and writes none.
GRANT SELECT ON chronos.content_gap_states TO chronos_analyst;
