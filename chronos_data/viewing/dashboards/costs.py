"""What the workspace's use of paid services cost: per period, and as lines per month and kind."""

from __future__ import annotations

import pandas as pd

from ...db import Workspace
from .filters import _IN_RANGE, Filters, _frame


def costs(t: Workspace, f: Filters) -> pd.DataFrame:
    """Spending by kind: transcription by source and method (from import events), AI credits."""
    return _frame(t, f"""
        SELECT 'transcription' AS kind, coalesce(v.source_type, 'unknown') || ' · ' ||
               coalesce(e.metadata ->> 'transcript_method', 'unknown') AS item,
               count(*)::int AS count, round(sum(coalesce((e.metadata ->> 'cost')::numeric, 0)), 4)::float8 AS usd
        FROM video_analytics_events e JOIN videos v ON v.id = e.video_id AND v.creator_id = e.creator_id
        WHERE e.creator_id = :creator AND e.event_type = 'video_transcribed' AND {_IN_RANGE.format(col='e."timestamp"')}
        GROUP BY 1, 2
        UNION ALL
        SELECT 'assistant', 'AI credits (1 per 1,000 model tokens)', coalesce(sum(u.ai_credits_used), 0)::int, NULL
        FROM usage_metrics u WHERE u.creator_id = :creator AND u.date BETWEEN :start AND :end
        ORDER BY 1, 2
    """, f.params(t))


def cost_lines(t: Workspace, f: Filters) -> pd.DataFrame:
    """Spending per month, kind, video and item (transcriptions per video; AI credits per month)."""
    return _frame(t, f"""
        SELECT date_trunc('month', e."timestamp" AT TIME ZONE 'UTC')::date AS month, 'transcription' AS kind,
               v.title AS video, coalesce(v.source_type, 'unknown') || ' · ' ||
               coalesce(e.metadata ->> 'transcript_method', 'unknown') AS item, count(*)::int AS count,
               round(sum(coalesce((e.metadata ->> 'cost')::numeric, 0)), 4)::float8 AS usd
        FROM video_analytics_events e JOIN videos v ON v.id = e.video_id AND v.creator_id = e.creator_id
        WHERE e.creator_id = :creator AND e.event_type = 'video_transcribed' AND {_IN_RANGE.format(col='e."timestamp"')}
        GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT date_trunc('month', u.date)::date, 'assistant', NULL, 'AI credits (1 per 1,000 model tokens)',
               sum(u.ai_credits_used)::int, 0
        FROM usage_metrics u WHERE u.creator_id = :creator AND u.date BETWEEN :start AND :end
        GROUP BY 1 HAVING sum(u.ai_credits_used) > 0
        ORDER BY 1, 2, 3, 4
    """, f.params(t))
