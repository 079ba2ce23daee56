"""A timed transcript as timed sentences: what the concept-order check reads lessons in. Pure."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["MAX_SENTENCE_WORDS", "WORDS_PER_SENTENCE_END", "LessonTranscript", "Sentence", "chunks_as_segments",
           "sentences_from_segments"]

#: A transcript with fewer sentence ends than one per this many words has no usable punctuation
#: (auto-generated captions): each caption is then taken as a sentence.
WORDS_PER_SENTENCE_END = 40
#: A run of words without a sentence end is cut here, so one passage never becomes a paragraph.
MAX_SENTENCE_WORDS = 60
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a transcript and the second it starts at."""

    second: float
    text: str


@dataclass(frozen=True)
class LessonTranscript:
    """A lesson in course order with its video's sentences."""

    lesson_id: uuid.UUID
    video_id: uuid.UUID
    title: str
    module_title: str
    sentences: tuple[Sentence, ...]



def sentences_from_segments(segments: Iterable[tuple[float, float, str]]) -> tuple[Sentence, ...]:
    """A timed transcript (captions, or chunks without their overlap) as timed sentences.

    Each word is placed in time by its share of its caption; a sentence starts at its first word.
    Captions without punctuation are sentences of their own.
    """
    words: list[tuple[str, float, bool]] = []  # word, second, last word of its caption
    for start, end, text in segments:
        tokens = str(text).split()
        span = max(float(end) - float(start), 0.0)
        for k, token in enumerate(tokens):
            words.append((token, float(start) + span * k / len(tokens), k == len(tokens) - 1))
    ends = sum(1 for word, _, _ in words if _SENTENCE_END.search(word))
    punctuated = ends * WORDS_PER_SENTENCE_END >= len(words)
    sentences: list[Sentence] = []
    current: list[tuple[str, float, bool]] = []
    for word in words:
        current.append(word)
        if (_SENTENCE_END.search(word[0]) or (not punctuated and word[2])
                or len(current) >= MAX_SENTENCE_WORDS):
            sentences.append(Sentence(round(current[0][1], 1), " ".join(w for w, _, _ in current)))
            current = []
    if current:
        sentences.append(Sentence(round(current[0][1], 1), " ".join(w for w, _, _ in current)))
    return tuple(sentences)


def chunks_as_segments(rows: Sequence[tuple[str, int | None, int | None]]) -> list[tuple[float, float, str]]:
    """Stored chunks overlap (each repeats the end of the one before); the repeated words are
    dropped so every sentence is found once, at its own time."""
    pieces: list[tuple[float, float, str]] = []
    previous: list[str] = []
    for text, start, end in rows:
        words = text.split()
        first, last = float(start or 0), float(end if end is not None else start or 0)
        overlap = 0
        for size in range(min(len(previous), len(words), 200), 0, -1):
            if previous[-size:] == words[:size]:
                overlap = size
                break
        if overlap < len(words):
            begin = first + (last - first) * overlap / len(words)
            pieces.append((begin, last, " ".join(words[overlap:])))
        previous = words
    return pieces
