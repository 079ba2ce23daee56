"""The common currency of import: timed pieces of transcript text."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Segment", "Transcript"]


@dataclass(frozen=True)
class Segment:
    """One caption or transcript line: ``text`` spoken from ``start`` to ``end`` (seconds)."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """A whole transcript and where it came from."""

    segments: list[Segment]
    language: str | None = None
    is_generated: bool | None = None
    #: youtube_captions, yt_dlp_subtitles, subtitle_file, whisper
    method: str = "subtitle_file"
    #: What producing it cost (Whisper's per-minute price); captions and subtitle files are free.
    cost_usd: float = 0.0
    audio_seconds: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    @property
    def word_count(self) -> int:
        return sum(len(s.text.split()) for s in self.segments)
