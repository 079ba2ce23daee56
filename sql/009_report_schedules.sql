-- Seeds: report_schedules ("configure automated reports"). The seeds list the table without
-- columns; these are the ones a schedule needs: what, how often, when, for whom.
CREATE TABLE chronos.report_schedules (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  creator_id   uuid NOT NULL REFERENCES chronos.creators (id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (btrim(name) <> ''),
  report_type  text NOT NULL CHECK (report_type IN ('overview', 'video_performance', 'engagement', 'costs')),
  frequency    text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
  day_of_week  smallint CHECK (day_of_week IS NULL OR day_of_week BETWEEN 0 AND 6),
  day_of_month smallint CHECK (day_of_month IS NULL OR day_of_month BETWEEN 1 AND 28),
  send_time    time NOT NULL DEFAULT '09:00',
  timezone     text NOT NULL DEFAULT 'UTC',
  recipients   text[] NOT NULL DEFAULT '{}',
  filters      jsonb NOT NULL DEFAULT '{}'::jsonb,
  is_active    boolean NOT NULL DEFAULT true,
  last_sent_at timestamptz,
  next_run_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT report_schedules_weekly_day CHECK (frequency <> 'weekly' OR day_of_week IS NOT NULL),
  CONSTRAINT report_schedules_monthly_day CHECK (frequency <> 'monthly' OR day_of_month IS NOT NULL)
);
CREATE INDEX idx_report_schedules_creator_id ON chronos.report_schedules (creator_id);
CREATE INDEX idx_report_schedules_next_run ON chronos.report_schedules (next_run_at) WHERE is_active;
CREATE TRIGGER report_schedules_updated_at_trigger BEFORE UPDATE ON chronos.report_schedules
  FOR EACH ROW EXECUTE FUNCTION chronos.update_updated_at_column();
