"""Offline answers: the moments of the transcript that best answer a question, each cited to its seconds.

No language model writes anything: every quote is what was said, so an offline answer can be
incomplete but never invented. A moment is a sentence of punctuated captions, or a few cues of
captions without punctuation (YouTube's automatic ones), so a citation opens where the answer is
heard rather than at the start of a minute-long passage.
"""

from __future__ import annotations

import bisect
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..embeddings import Embedder
from .citations import Citation, from_source
from .retrieve import Source

__all__ = ["REFUSAL", "ExtractiveAnswer", "Moment", "WordWeights", "candidate_moments", "extract_answer", "moments",
           "sentence_seconds", "should_refuse", "split_sentences", "unanswered_share", "word_weights"]

MAX_SENTENCES = 3  # quotes per answer: enough to answer, short enough to read
_MAX_CANDIDATES = 200  # moments scored per question (bounded work on long passages)
# Weight of the IDF-weighted share of the question's words a moment contains. Small embedding models
# blur rare exact terms (ETag, reflog, SameSite) that a student types and the speaker said verbatim.
# bench rag, development set, all questions hit@1 / hit@5 / MRR: 0.1 → 0.93 / 0.98 / 0.95,
# 0.2 → 0.94 / 0.98 / 0.95, 0.3 → 0.94 / 0.99 / 0.96 (three quotes).
_WORD_WEIGHT = 0.3
_CLOSE_ENOUGH = 0.6  # a moment scoring under this share of the best one adds noise, not an answer
_WINDOW_CUES = 3  # auto captions: 3 cues (6–12 s) hold a thought (bench/RESULTS.md: 1, 2 and 4 did no better)
_PUNCTUATED_SHARE = 0.2  # captions with sentence ends in at least this share of cues are split into sentences
_ENDS_SENTENCE = re.compile(r"[.!?…][\"')\]]*\s*$|[.!?…][\"')\]]*\s")
#: Refusal, per embedding model: (refuse under this best moment score; or when at least this share of
#: the question's IDF weight is on *unanswered* words, under this score). An unanswered word is one no
#: passage of the workspace says and no word of the best moments comes near (cosine under
#: ``_NEAR_WORD``): "webhook", "Kubernetes", "decorators" in lessons that never name them, but not
#: "cacheable" next to "cache". Calibrated on three workspaces together (python -m bench rag's
#: development set, the older 51-question set, and four of its lectures alone, where more words are
#: unsaid): the rule sits on a plateau (0.33–0.34, 0.50, 0.58–0.62 refuse the same questions) that
#: refuses 24 of 30 unanswerable development questions and 14 of 15 older ones, and 2 of the 182
#: answerable questions of the three workspaces. (23 of 30 until a word of the question stopped
#: standing for another of its words: the numbers were not re-tuned for it.) The plain share of
#: words no passage says refused at best as many for 4 answerable refused; a rule fitted to the
#: development set alone ((0.40, 0.50, 0.50) on that share) refused 4 of the older set's 51
#: answerable questions: a rule fitted to one set does not carry.
REFUSAL: dict[str, tuple[float, float, float]] = {"all-MiniLM-L6-v2": (0.34, 0.50, 0.62)}
_NEAR_WORD = 0.45  # cosine of two single words' vectors above which one stands for the other
_JUDGED_MOMENTS = 3  # the best moments whose words may stand for a question's unsaid words
_STOP_WORDS = frozenset(
    "a an and are as at be but by can do does did for from how i if in into is it its my of on or so that the "
    "their them then there these they this to was what when where which who why will with would you your "
    "s t me we our us not no yes should could get got make use using about between difference".split())
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
Segment = tuple[float, float, str]  # a timed caption: start and end seconds, text
_SUFFIXES = ("ing", "ed", "es", "s")
_MIN_WORDS = 4  # shorter "sentences" ("Right.", "Okay, so.") carry no answer
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_MATCH_WORDS = 6  # words of a sentence's start used to find it in the timed captions
# A sentence that points to another lesson ("Next time: writing a sales page that converts.", "That's
# it for layout; next time, CSS custom properties.") names a subject without teaching it: quoted, it
# answers a question the videos do not cover.
_SIGNPOST = re.compile(r"\b(next time|in the next (lesson|video|episode|part|module|chapter))\b"
                       r"|^that'?s (it|all) for\b", re.IGNORECASE)


@dataclass(frozen=True)
class ExtractiveAnswer:
    text: str
    citations: list[Citation]
    refused: bool = False  # no moment answers well enough (the passages are shown as the closest)
    best_score: float | None = None


@dataclass(frozen=True)
class WordWeights:
    """The question's words weighed by how rare they are among the workspace's passages."""

    idf: dict[str, float]  # stemmed word -> BM25's IDF over the workspace's passages
    absent_share: float  # share of the total weight on words no passage holds
    absent: tuple[str, ...] = ()  # those words, as typed (lower case)


def word_weights(document_frequency: Mapping[str, int], passages: int) -> WordWeights:
    """BM25's IDF, log(1 + (N - df + 0.5) / (df + 0.5)), of each word.

    ``document_frequency``: a question's content words (as typed, lower case) -> how many of the
    workspace's ``passages`` hold them.
    """
    idf, absent = {}, 0.0
    for word, df in document_frequency.items():
        weight = math.log(1 + (passages - df + 0.5) / (df + 0.5))
        idf[_stem(word)] = max(idf.get(_stem(word), 0.0), weight)
        if df == 0:
            absent += weight
    total = sum(idf.values())
    return WordWeights(idf, absent / total if total else 0.0,
                       tuple(word for word, df in document_frequency.items() if df == 0))


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning (lower case, no stop words), unstemmed."""
    return list(dict.fromkeys(w for w in _WORD.findall(text.lower()) if w not in _STOP_WORDS))


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


def _content_words(text: str) -> set[str]:
    """Lower-case words minus stop words, crudely stemmed ("sorted" and "sorting" match "sort")."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP_WORDS}


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class Moment:
    """A sentence (or, in captions without punctuation, a few cues) of one passage, at its own seconds."""

    source: int  # rank of its passage in ``sources``
    video_id: uuid.UUID
    first_cue: int
    last_cue: int
    start_seconds: float
    end_seconds: float
    text: str
    #: What is embedded: the sentence, or each cue of a window (the window's vector is their
    #: normalised sum, so a cue is embedded once however many windows hold it).
    parts: tuple[str, ...] = ()


def moments(rank: int, video_id: uuid.UUID, segments: Sequence[tuple[float, float, str]]) -> list[Moment]:
    """The units a passage's captions are scored in.

    Punctuated captions: their sentences, each from the cue it starts in to the cue it ends in.
    Auto captions (hardly any sentence ends): windows of ``_WINDOW_CUES`` cues, one starting at every
    cue, so an answer cut across two cues is whole in one window.
    """
    if not segments:
        return []
    ended = sum(bool(_ENDS_SENTENCE.search(text)) for _, _, text in segments)
    if ended < _PUNCTUATED_SHARE * len(segments):
        cues = [" ".join(text.split()) for _, _, text in segments]
        return [Moment(rank, video_id, i, min(i + _WINDOW_CUES, len(segments)) - 1, segments[i][0],
                       segments[min(i + _WINDOW_CUES, len(segments)) - 1][1],
                       " ".join(cues[i:i + _WINDOW_CUES]), tuple(cues[i:i + _WINDOW_CUES]))
                for i in range(len(segments))]
    starts, at = [], 0
    for _, _, text in segments:
        starts.append(at)
        at += len(" ".join(text.split())) + 1
    joined = " ".join(" ".join(text.split()) for _, _, text in segments)

    def cue_at(offset: int) -> int:
        return bisect.bisect_right(starts, offset) - 1

    found, begin = [], 0
    for boundary in [m.end() for m in _SENTENCE_END.finditer(joined)] + [len(joined)]:
        piece = joined[begin:boundary]
        sentence = piece.strip()
        if sentence and len(sentence.split()) >= _MIN_WORDS and not _SIGNPOST.search(sentence):
            first = cue_at(begin + len(piece) - len(piece.lstrip()))
            last = cue_at(begin + len(piece.rstrip()) - 1)
            found.append(Moment(rank, video_id, first, last, segments[first][0], segments[last][1], sentence,
                                (sentence,)))
        begin = boundary
    return found


def _fallback_moments(rank: int, source: Source) -> list[Moment]:
    """A passage without timed captions: its sentences, each cited at the passage's start."""
    return [Moment(rank, source.video_id, -1, -1, source.start_seconds, source.end_seconds, sentence, (sentence,))
            for sentence in split_sentences(source.text)
            if len(sentence.split()) >= _MIN_WORDS and not _SIGNPOST.search(sentence)]


def _keyword_shares(question: str, texts: Sequence[str], weights: Mapping[str, float] | None) -> np.ndarray:
    """For each text, the share of the question's word weight (IDF) it contains."""
    asked = _content_words(question)
    # With weights, a word without one is a stop word of the search's configuration: it weighs nothing.
    weight = {w: weights.get(w, 0.0) if weights is not None else 1.0 for w in asked}
    total = sum(weight.values())
    if not total:
        return np.zeros(len(texts), dtype=np.float32)
    return np.array([sum(weight[w] for w in asked & _content_words(text)) / total for text in texts],
                    dtype=np.float32)


def should_refuse(best: float, unanswered_share: float, embedding_model: str) -> bool:
    """Whether the best moment is too weak to answer with, by the model's calibration (none: never).

    ``unanswered_share``: share of the question's IDF weight on words no passage of the workspace
    says and no word of the best moments stands for (``unanswered_share``).
    """
    calibration = REFUSAL.get(embedding_model)
    if calibration is None:
        return False
    weak, unanswered, weak_if_unanswered = calibration
    return best < weak or (unanswered_share >= unanswered and best < weak_if_unanswered)


def _unsaid_bound(weights: WordWeights) -> float:
    """The most ``unanswered_share`` can be: the share of the weight on words no passage says."""
    total = sum(weights.idf.values())
    return sum(weights.idf.get(stem, 0.0) for stem in {_stem(w) for w in weights.absent}) / total if total else 0.0


def unanswered_share(weights: WordWeights, best_moments: Sequence[str], embedder: Embedder) -> float:
    """The share of the question's IDF weight on words no passage says and nothing near the answer
    means: each of ``weights.absent`` whose vector is not within ``_NEAR_WORD`` of a word of
    ``best_moments`` that the question does not say itself (a student's "tally" is the speaker's
    "counter"; "webhook" is nobody's)."""
    total = sum(weights.idf.values())
    if not weights.absent or not total:
        return 0.0
    # A word of the question itself stands for none of its other words: "pg" of "pg_dump" is not
    # answered by the "Postgres" the moment shares with the question (it answers "Postgres").
    said = list(dict.fromkeys(w for text in best_moments for w in content_words(text) if _stem(w) not in weights.idf))
    if not said:
        return weights.absent_share
    vectors = np.asarray(embedder.embed([*weights.absent, *said]), dtype=np.float32)
    nearest = (vectors[:len(weights.absent)] @ vectors[len(weights.absent):].T).max(axis=1)
    unanswered = {_stem(word) for word, cosine in zip(weights.absent, nearest, strict=True) if cosine < _NEAR_WORD}
    return sum(weights.idf.get(stem, 0.0) for stem in unanswered) / total


def candidate_moments(sources: Sequence[Source], segments_by_video: Mapping[uuid.UUID, Sequence[Segment]]) -> list[Moment]:
    """The moments an answer from ``sources`` chooses among: each passage's, in passage order.

    ``segments_by_video``: video id -> its timed captions [(start, end, text)]; a passage of a
    video without them is cut into its sentences, each at the passage's start.
    """
    candidates: list[Moment] = []
    for rank, source in enumerate(sources):
        window = [s for s in segments_by_video.get(source.video_id, [])
                  if s[1] >= source.start_seconds - 1 and s[0] <= source.end_seconds + 1]
        candidates.extend(moments(rank, source.video_id, window) if window else _fallback_moments(rank, source))
    return candidates[:_MAX_CANDIDATES]


def extract_answer(
    question: str,
    question_vector: np.ndarray,
    sources: Sequence[Source],
    embedder: Embedder,
    segments_by_video: dict,
    *,
    word_weights: WordWeights | None = None,
    part_vectors: Mapping[str, np.ndarray] | None = None,
) -> ExtractiveAnswer:
    """The moments of ``sources`` that best answer ``question``, best first, each followed by its [n].

    Every moment (a sentence, or a few cues of unpunctuated captions) is scored by the cosine of its
    embedding with the question plus ``_WORD_WEIGHT`` times the share of the question's IDF weight it
    contains; [1] is the best. Quotes are numbered by relevance, not in speaking order: a student
    reads [1] first and opens it first, so it must be the moment that answers. Each citation opens
    at the quoted words' first second and ends at their last.

    Args:
        question: the question as asked (its words count alongside the embedding).
        question_vector: the question's embedding from ``embedder``.
        segments_by_video: video id -> its timed captions [(start, end, text)], for exact seconds.
        word_weights: IDF of the question's words over the workspace's passages (None: all weigh 1,
            and no refusal by unanswered words).
        part_vectors: vectors of moments' texts already known (stored at import,
            ``moment_vectors``): only the others are embedded.

    Returns:
        The quotes and citations, or ``refused`` (no quote) when no moment answers well enough.
    """
    candidates = candidate_moments(sources, segments_by_video)
    if not candidates:
        return ExtractiveAnswer("", [])
    similarity = _vectors(embedder, candidates, part_vectors or {}) @ np.asarray(question_vector, dtype=np.float32)
    scores = similarity + _WORD_WEIGHT * _keyword_shares(
        question, [m.text for m in candidates], word_weights.idf if word_weights else None)
    best = float(scores.max())
    ranked = np.argsort(-scores, kind="stable")
    if embedder.model in REFUSAL:
        # The unanswered share (single words embedded) only decides between the two scores, and it
        # is at most the share of words no passage says.
        weak, unanswered_at, weak_if_unanswered = REFUSAL[embedder.model]
        decides = word_weights is not None and weak <= best < weak_if_unanswered and (
            _unsaid_bound(word_weights) >= unanswered_at)
        judged = [candidates[i].text for i in ranked[:_JUDGED_MOMENTS]]
        unanswered = unanswered_share(word_weights, judged, embedder) if decides else 0.0
        if should_refuse(best, unanswered, embedder.model):
            return ExtractiveAnswer("", [], refused=True, best_score=best)
    chosen: list[int] = []
    for i in ranked:
        if len(chosen) == MAX_SENTENCES or scores[i] < best * _CLOSE_ENOUGH:
            break
        if not any(_overlap(candidates[i], candidates[j]) for j in chosen):
            chosen.append(int(i))
    lines, citations = [], []
    for number, i in enumerate(chosen, start=1):
        moment = candidates[i]
        source = sources[moment.source]
        citation = from_source(number, source, start_seconds=int(moment.start_seconds), snippet=moment.text)
        citations.append(replace(citation, end_seconds=max(citation.start_seconds, math.ceil(moment.end_seconds))))
        lines.append(f"“{moment.text}” [{number}]")
    return ExtractiveAnswer("\n\n".join(lines), citations, best_score=best)


def _vectors(embedder: Embedder, candidates: Sequence[Moment], known: Mapping[str, np.ndarray]) -> np.ndarray:
    """Each moment's unit vector: its parts embedded once each (unless ``known``) and summed (bench
    rag: the sum of a window's cue vectors ranks as well as the window's own, 0.94 / 1.00 / 0.97
    against 0.94 / 0.99 / 0.96, for a third of the text to embed)."""
    parts = list(dict.fromkeys(part for m in candidates for part in m.parts))
    missing = [part for part in parts if part not in known]
    fresh = dict(zip(missing, np.asarray(embedder.embed(missing), dtype=np.float32), strict=True)) if missing else {}
    vector = {**{part: np.asarray(known[part], dtype=np.float32) for part in parts if part in known}, **fresh}
    summed = np.vstack([np.sum([vector[p] for p in m.parts], axis=0) for m in candidates])
    return summed / np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-9)


def _overlap(a: Moment, b: Moment) -> bool:
    """The same words twice: moments of one video whose seconds overlap (windows of auto captions
    share cues), or the same sentence of a passage without timed captions."""
    if a.video_id != b.video_id:
        return False
    if a.first_cue < 0 or b.first_cue < 0:
        return a.text == b.text
    return a.start_seconds < b.end_seconds and b.start_seconds < a.end_seconds
