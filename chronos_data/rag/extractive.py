"""Offline answers: the transcript sentences that best answer a question, each cited to its second.

No language model writes anything: every sentence is quoted as it was spoken, so an offline
answer can be incomplete but never invented.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..embeddings import Embedder
from .citations import Citation, from_source
from .retrieve import Source

__all__ = ["ExtractiveAnswer", "extract_answer", "sentence_seconds", "split_sentences"]

MAX_SENTENCES = 3  # quoted sentences per answer: enough to answer, short enough to read
_MAX_CANDIDATES = 48  # sentences embedded per question (bounded work on long passages)
_CLOSE_ENOUGH = 0.6  # a sentence scoring under this share of the best one adds noise, not an answer
# Weight of the share of the question's words a sentence contains. Small embedding models blur
# rare exact terms (ETag, reflog, SameSite) that a learner types and the speaker said verbatim.
_WORD_WEIGHT = 0.3
_STOP_WORDS = frozenset(
    "a an and are as at be but by can do does did for from how i if in into is it its my of on or so that the "
    "their them then there these they this to was what when where which who why will with would you your "
    "s t me we our us not no yes should could get got make use using about between difference".split())
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SUFFIXES = ("ing", "ed", "es", "s")
_NEXT_TO_CHOSEN = 0.15  # the sentence after (or before) a chosen one usually finishes its thought
_MIN_WORDS = 4  # shorter "sentences" ("Right.", "Okay, so.") carry no answer
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_MATCH_WORDS = 6  # words of a sentence's start used to find it in the timed captions


@dataclass(frozen=True)
class ExtractiveAnswer:
    text: str
    citations: list[Citation]


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage; captions without punctuation become pieces of up to 40 words."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p.strip()]
    pieces: list[str] = []
    for part in parts:
        words = part.split()
        for start in range(0, len(words), 40):
            chunk = words[start:start + 40] if len(words) > 40 else words
            pieces.append(" ".join(chunk))
            if len(words) <= 40:
                break
    return pieces


def sentence_seconds(sentence: str, segments: Sequence[tuple[float, float, str]], default: int) -> int:
    """The second a sentence starts at: the caption holding its first words, else ``default``."""
    if not segments:
        return default
    offsets, pieces, position = [], [], 0
    for start, _end, text in segments:
        normal = " ".join(text.lower().split())
        offsets.append((position, start))
        pieces.append(normal)
        position += len(normal) + 1
    joined = " ".join(pieces)
    probe = " ".join(sentence.lower().split()[:_MATCH_WORDS])
    found = joined.find(probe)
    if found < 0:
        return default
    second = default
    for offset, start in offsets:
        if offset > found:
            break
        second = int(start)
    return second


def _choose(candidates: list[tuple[int, int, str]], scores: np.ndarray) -> list[int]:
    """The best sentence, then up to MAX_SENTENCES - 1 more that score close to it, preferring the
    sentences next to ones already chosen; returned in the order they were said."""
    best = int(np.argmax(scores))
    chosen = [best]
    while len(chosen) < MAX_SENTENCES:
        def boosted(i: int) -> float:
            near = any(candidates[i][0] == candidates[c][0] and abs(candidates[i][1] - candidates[c][1]) == 1
                       for c in chosen)
            return float(scores[i]) + (_NEXT_TO_CHOSEN if near else 0.0)

        rest = [i for i in range(len(candidates)) if i not in chosen]
        if not rest:
            break
        pick = max(rest, key=boosted)
        if boosted(pick) < float(scores[best]) * _CLOSE_ENOUGH:
            break
        chosen.append(pick)
    return sorted(chosen, key=lambda i: (candidates[i][0], candidates[i][1]))


def _content_words(text: str) -> set[str]:
    """Lower-case words minus stop words, crudely stemmed ("sorted" and "sorting" match "sort")."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP_WORDS}


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def extract_answer(
    question: str,
    question_vector: np.ndarray,
    sources: Sequence[Source],
    embedder: Embedder,
    segments_by_video: dict,
) -> ExtractiveAnswer:
    """The best-matching sentences of ``sources``, in reading order, each followed by its [n].

    Args:
        question: the question as asked (its words count alongside the embedding).
        question_vector: the question's embedding from ``embedder``.
        segments_by_video: video id -> its timed captions [(start, end, text)], for exact seconds.
    """
    candidates: list[tuple[int, int, str]] = []  # (source rank, position, sentence)
    for rank, source in enumerate(sources):
        for position, sentence in enumerate(split_sentences(source.text)):
            if len(sentence.split()) >= _MIN_WORDS:
                candidates.append((rank, position, sentence))
    candidates = candidates[:_MAX_CANDIDATES]
    if not candidates:
        return ExtractiveAnswer("", [])
    vectors = embedder.embed([sentence for _, _, sentence in candidates])
    asked = _content_words(question)
    overlap = np.array([len(asked & _content_words(sentence)) / max(len(asked), 1) for _, _, sentence in candidates],
                       dtype=np.float32)
    scores = vectors @ np.asarray(question_vector, dtype=np.float32) + _WORD_WEIGHT * overlap
    chosen = _choose(candidates, scores)
    lines, citations = [], []
    for number, i in enumerate(chosen, start=1):
        rank, _, sentence = candidates[i]
        source = sources[rank]
        window = [s for s in segments_by_video.get(source.video_id, [])
                  if s[1] >= source.start_seconds - 1 and s[0] <= source.end_seconds + 1]
        second = sentence_seconds(sentence, window, source.start_seconds)
        citations.append(from_source(number, source, start_seconds=second, snippet=sentence))
        lines.append(f"“{sentence}” [{number}]")
    return ExtractiveAnswer("\n\n".join(lines), citations)
