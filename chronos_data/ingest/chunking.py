"""Split a timed transcript into overlapping chunks that keep their timestamps.

Chunks end at sentence ends where the transcript has punctuation (captions often have none:
then at caption boundaries), stay within the embedding model's input, and overlap a little so
a sentence split across two chunks is findable from both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .segments import Segment

__all__ = ["MAX_WORDS", "OVERLAP_WORDS", "TARGET_WORDS", "Chunk", "chunk_segments"]

#: all-MiniLM-L6-v2 reads 256 word pieces; English averages ~1.3 pieces a word.
MAX_WORDS = 180
#: Where a chunk starts looking for a sentence end to stop at.
TARGET_WORDS = 120
#: Words repeated at the start of the next chunk: keeps a sentence cut in two findable from both.
OVERLAP_WORDS = 30
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    start_seconds: int
    end_seconds: int

    @property
    def word_count(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class _Unit:
    start: float
    end: float
    words: list[str]

    @property
    def ends_sentence(self) -> bool:
        return bool(self.words) and bool(_SENTENCE_END.search(self.words[-1]))


def chunk_segments(
    segments: Sequence[Segment],
    *,
    max_words: int = MAX_WORDS,
    target_words: int = TARGET_WORDS,
    overlap_words: int = OVERLAP_WORDS,
) -> list[Chunk]:
    """Chunks covering ``segments`` in order, each with start/end seconds."""
    units = _monotone([u for s in segments for u in _units(s, max_words)])
    chunks: list[Chunk] = []
    start = 0
    while start < len(units):
        end, words = start, 0
        while end < len(units) and words + len(units[end].words) <= max_words:
            words += len(units[end].words)
            end += 1
            if words >= target_words and units[end - 1].ends_sentence:
                break
        end = max(end, start + 1)
        chunks.append(_make_chunk(len(chunks), units[start:end]))
        if end >= len(units):
            break
        start = _overlap_start(units, start, end, overlap_words)
    return chunks


def _units(segment: Segment, max_words: int) -> list[_Unit]:
    """A segment as one unit, or several when it alone is longer than a chunk may be."""
    words = segment.text.split()
    if not words:
        return []
    if len(words) <= max_words:
        return [_Unit(segment.start, segment.end, words)]
    pieces = math.ceil(len(words) / max_words)
    per_piece = math.ceil(len(words) / pieces)
    span = max(segment.end - segment.start, 0.0)
    units = []
    for i in range(0, len(words), per_piece):
        # Time is interpolated by word position: speech is roughly even within one segment.
        begin = segment.start + span * i / len(words)
        finish = segment.start + span * min(i + per_piece, len(words)) / len(words)
        units.append(_Unit(begin, finish, words[i : i + per_piece]))
    return units


def _monotone(units: list[_Unit]) -> list[_Unit]:
    """Units whose starts never go back in time.

    Captions overlap (a cue often ends after the next one starts); a long cue split by word
    position could then start a piece after the next cue, and a chunk before the one it precedes.
    Such a piece starts no later than what is said after it.
    """
    latest = math.inf
    for i in range(len(units) - 1, -1, -1):
        if units[i].start > latest:
            units[i] = _Unit(latest, units[i].end, units[i].words)
        latest = units[i].start
    return units


def _overlap_start(units: list[_Unit], start: int, end: int, overlap_words: int) -> int:
    back, words = end, 0
    while back - 1 > start and words + len(units[back - 1].words) <= overlap_words:
        back -= 1
        words += len(units[back].words)
    return back


def _make_chunk(index: int, units: list[_Unit]) -> Chunk:
    return Chunk(
        index=index,
        text=" ".join(word for unit in units for word in unit.words),
        start_seconds=math.floor(units[0].start),
        end_seconds=max(math.ceil(units[-1].end), math.floor(units[0].start)),
    )
