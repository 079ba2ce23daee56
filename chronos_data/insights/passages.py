"""What is said at a second of a video: the captions (or chunk) there, and a short label for it.

Pure: the transcript comes in as a ``Transcript``; the label is the passage's key phrases, or one
line from a chat model when one is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .keyphrases import key_phrases
from .labels import model_label

if TYPE_CHECKING:
    from ..rag.llm import ChatModel

__all__ = ["PASSAGE_AFTER_SECONDS", "PASSAGE_MAX_WORDS", "Passage", "Transcript", "documents", "passage_at",
           "passage_label"]

#: What is said "at" a second: the caption spoken then and those starting up to this long after it.
PASSAGE_AFTER_SECONDS = 15
PASSAGE_MAX_WORDS = 60
#: Words per document of the rest of the video, against which key phrases are weighed.
DOCUMENT_WORDS = 40

# The label prompt is one sentence; kept here rather than in rag/prompts, which belong to the assistant.
_LABEL_SYSTEM = ("You label moments of a video lecture for its creator. Given a transcript passage, reply with what "
                 "is being explained there, as a short noun phrase of at most eight words, lower case, no full stop, "
                 "nothing else.")


@dataclass(frozen=True)
class Transcript:
    segments: list[tuple[float, float, str]]  # the timed captions, when stored
    chunks: list[tuple[int, int, str]]  # (start, end, text) of the search chunks, the fallback



@dataclass(frozen=True)
class Passage:
    text: str
    start: float
    end: float
    others: list[str]  # the rest of the video, in pieces: what key phrases are weighed against
    around: str  # the captions just before and after it: they help name it


def passage_at(transcript: Transcript | None, second: float) -> Passage | None:
    """The captions at ``second`` (the one spoken then and the next few seconds), else the part of
    the chunk at that second (words placed evenly over its span)."""
    if transcript is None:
        return None
    if transcript.segments:
        segments = transcript.segments
        at = max([i for i, s in enumerate(segments) if s[0] <= second] or [0])
        near = [i for i, (a, b, _) in enumerate(segments)
                if b > second and a <= second + PASSAGE_AFTER_SECONDS] or [at]
        chosen = sorted(set(near) | {at})
        while len(chosen) > 1 and sum(len(segments[i][2].split()) for i in chosen) > PASSAGE_MAX_WORDS:
            chosen.remove(max(chosen, key=lambda i: (abs(segments[i][0] - second), i)))
        around = [i for i in (chosen[0] - 1, chosen[-1] + 1) if 0 <= i < len(segments)]
        others = documents([s[2] for i, s in enumerate(segments) if i not in chosen and i not in around])
        return Passage(" ".join(" ".join(segments[i][2].split()) for i in chosen),
                        segments[chosen[0]][0], segments[chosen[-1]][1], others,
                        " ".join(" ".join(segments[i][2].split()) for i in around))
    if transcript.chunks:
        chunks = transcript.chunks
        index = min(range(len(chunks)), key=lambda i: (not chunks[i][0] <= second <= chunks[i][1],
                                                        abs((chunks[i][0] + chunks[i][1]) / 2 - second), i))
        start, end, text = chunks[index]
        words = text.split()
        share = (second - start) / (end - start) if end > start else 0.0
        middle = int(min(max(share, 0.0), 1.0) * len(words))
        first = max(0, middle - PASSAGE_MAX_WORDS // 3)
        piece = " ".join(words[first:first + PASSAGE_MAX_WORDS])
        return Passage(piece, float(start), float(end), [c[2] for i, c in enumerate(chunks) if i != index], "")
    return None


def documents(texts: Sequence[str]) -> list[str]:
    """Consecutive captions joined into pieces of about DOCUMENT_WORDS words."""
    pieces: list[str] = []
    current: list[str] = []
    for text in texts:
        current.append(text)
        if sum(len(c.split()) for c in current) >= DOCUMENT_WORDS:
            pieces.append(" ".join(current))
            current = []
    if current:
        pieces.append(" ".join(current))
    return pieces


def passage_label(passage: Passage | None, chat_model: ChatModel | None) -> tuple[str, str, list[str]]:
    """(label, how it was made, key phrases): the model's one line when one is given and
    answers, else the passage's best key phrases."""
    if passage is None:
        return "", "none", []
    phrases = key_phrases(passage.text, passage.others, around=passage.around, top=3)
    if chat_model is not None and (line := model_label(chat_model, _LABEL_SYSTEM, passage.text)):
        return line, "model", phrases
    return ", ".join(phrases[:2]), "key_phrases", phrases
