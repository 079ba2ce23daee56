"""Property tests of chunking: for any transcript (segments in time order, as every source gives
them; overlapping, empty and very long segments included) the chunks hold every word exactly
once in order apart from the overlap, stay within the word limit, and their times never go back."""

from __future__ import annotations

import itertools
import math
import random

from hypothesis import example, given, settings
from hypothesis import strategies as st

from chronos_data.ingest.chunking import MAX_WORDS, OVERLAP_WORDS, TARGET_WORDS, chunk_segments
from chronos_data.ingest.segments import Segment
from tests.fuzz._support import FUZZ, examples

_ENDINGS = ["", "", "", ",", ".", "?", "!", "…", '."', ".)", "?'"]
_SEPARATORS = [" ", "  ", "\n", "\t", " \u00a0", "\u2028"]
#: Words with repeats, odd scripts and punctuation, for the test that cannot tell words apart.
_POOL = ["a", "the", "Tuple", "naïve", "日本語", "👩‍💻", "'", "--", "<b>", "x.", "end!", "…", "0:30", "ß", "\u200b"]


@st.composite
def transcripts(draw, *, unique: bool) -> list[Segment]:
    """Segments sorted by start; each may end after the next one starts. With ``unique``, word k
    is "w<k>" plus punctuation, so where each word went is unambiguous."""
    # One seeded generator per transcript: drawing each of thousands of words from hypothesis costs
    # seconds per example; the failing seed is still reported and replayed.
    rnd = random.Random(draw(st.integers(0, 2**32)))
    counter = itertools.count()
    clock = draw(st.sampled_from([0.0, 59.5, 36_000.0]))
    segments = []
    for _ in range(draw(st.integers(0, 30))):
        size = rnd.choice([0, 1, 3, 8, 12, rnd.randint(0, 60), rnd.randint(150, 400)])
        if unique:
            words = [f"w{next(counter)}{rnd.choice(_ENDINGS)}" for _ in range(size)]
        else:
            words = [rnd.choice(_POOL) + rnd.choice(_ENDINGS) for _ in range(size)]
        text = rnd.choice(_SEPARATORS).join(words)
        if rnd.random() < 0.3:
            text = rnd.choice(_SEPARATORS) + text + rnd.choice(_SEPARATORS)
        clock += rnd.choice([0.0, 0.5, 3.0, rnd.uniform(0, 120)])
        length = rnd.choice([0.0, 2.0, rnd.uniform(0, 300)])  # may overlap the next segments
        segments.append(Segment(clock, clock + length, text))
    return segments


_LIMITS = st.one_of(
    st.just((MAX_WORDS, TARGET_WORDS, OVERLAP_WORDS)),
    st.integers(1, 60).flatmap(lambda most: st.tuples(st.just(most), st.integers(1, most), st.integers(0, most))),
)


def _check_bounds(segments: list[Segment], chunks, most: int) -> None:
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert 0 < chunk.word_count <= most
        assert chunk.start_seconds <= chunk.end_seconds
    starts = [c.start_seconds for c in chunks]
    assert starts == sorted(starts), starts
    if chunks:
        spoken = [s for s in segments if s.text.split()]
        assert chunks[0].start_seconds >= math.floor(spoken[0].start)
        assert chunks[-1].end_seconds <= math.ceil(max(s.end for s in spoken))


@settings(FUZZ, max_examples=examples(300))
@given(transcripts(unique=True), _LIMITS)
@example([Segment(0.0, 2.0, "w0 w1"), Segment(0.0, 0.0, "w2")], (1, 1, 0))  # a split cue started after the next cue
@example([Segment(0.0, 100.0, " ".join(f"w{k}" for k in range(200))), *(Segment(10.0 + k, 11.0 + k, f"w{200 + k}.")
                                                                        for k in range(200))], (MAX_WORDS, TARGET_WORDS,
                                                                                                OVERLAP_WORDS))
def test_chunks_hold_every_word_once_in_order_with_times_that_never_go_back(segments, limits):
    most, target, overlap = limits
    chunks = chunk_segments(segments, max_words=most, target_words=target, overlap_words=overlap)
    _check_bounds(segments, chunks, most)
    words = [w for s in segments for w in s.text.split()]
    rebuilt: list[str] = []
    for chunk in chunks:
        piece = chunk.text.split()
        assert chunk.text == " ".join(piece)
        # The next chunk repeats the last few words of the one before it, and nothing else.
        repeated = len(rebuilt) - rebuilt.index(piece[0]) if rebuilt and piece[0] in rebuilt else 0
        assert repeated <= overlap and rebuilt[len(rebuilt) - repeated:] == piece[:repeated]
        assert rebuilt or repeated == 0
        rebuilt += piece[repeated:]
    assert rebuilt == words


@settings(FUZZ, max_examples=examples(200))
@given(transcripts(unique=False), _LIMITS)
def test_any_words_are_all_kept_within_the_limits(segments, limits):
    most, target, overlap = limits
    chunks = chunk_segments(segments, max_words=most, target_words=target, overlap_words=overlap)
    _check_bounds(segments, chunks, most)
    words = [w for s in segments for w in s.text.split()]
    kept = [w for c in chunks for w in c.text.split()]
    assert set(kept) == set(words)
    assert len(words) <= len(kept) <= len(words) + overlap * max(len(chunks) - 1, 0)
