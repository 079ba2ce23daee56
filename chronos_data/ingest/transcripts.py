"""Storing a transcript on its video: the text the library searches and the timed segments a
question quotes."""

from __future__ import annotations

import json
import math
import uuid

import sqlalchemy as sa

from ..db import Workspace
from .segments import Transcript

__all__ = ["store_transcript", "stored_segments"]


def stored_segments(transcript: Transcript) -> list[tuple[float, float, str]]:
    """The timed captions as ``videos.transcript_segments`` keeps them (and a question reads them)."""
    return [(round(s.start, 3), round(s.end, 3), s.text) for s in transcript.segments]


def store_transcript(t: Workspace, video_id: uuid.UUID, transcript: Transcript) -> None:
    """Keep ``transcript`` as the video's (its length too, when the video's is not known yet)."""
    segments = [list(segment) for segment in stored_segments(transcript)]
    duration = math.ceil(transcript.segments[-1].end) if transcript.segments else None
    t.conn.execute(
        sa.text("UPDATE videos SET transcript = :text, transcript_segments = CAST(:segments AS jsonb), "
                "transcript_language = :language, transcript_is_generated = :generated, transcript_method = :method, "
                "duration_seconds = coalesce(duration_seconds, :duration) WHERE creator_id = :c AND id = :v"),
        {"text": transcript.text, "segments": json.dumps(segments), "language": transcript.language,
         "generated": transcript.is_generated, "method": transcript.method, "duration": duration,
         "c": t.creator_id, "v": video_id},
    )
