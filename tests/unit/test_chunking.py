"""Chunks keep timestamps, stay within the model's input, end at sentences, and overlap."""

from itertools import pairwise

from chronos_data.ingest.chunking import MAX_WORDS, OVERLAP_WORDS, chunk_segments
from chronos_data.ingest.segments import Segment


def _captions(n: int, words_each: int = 8, seconds_each: float = 3.0, punctuate_every: int = 4) -> list[Segment]:
    out = []
    for i in range(n):
        words = [f"w{i}_{k}" for k in range(words_each)]
        if (i + 1) % punctuate_every == 0:
            words[-1] += "."
        out.append(Segment(i * seconds_each, (i + 1) * seconds_each, " ".join(words)))
    return out


def test_an_hour_of_captions_becomes_bounded_overlapping_timed_chunks():
    segments = _captions(1200)  # 1 hour, 9,600 words
    chunks = chunk_segments(segments)

    assert all(c.word_count <= MAX_WORDS for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start_seconds == 0 and chunks[-1].end_seconds == 3600
    assert all(a.start_seconds <= b.start_seconds for a, b in pairwise(chunks))
    # every word is in some chunk, and neighbours share some words (the overlap)
    words = {w for s in segments for w in s.text.split()}
    assert words == {w for c in chunks for w in c.text.split()}
    for a, b in pairwise(chunks):
        shared = set(a.text.split()) & set(b.text.split())
        assert 0 < len(shared) <= OVERLAP_WORDS


def test_chunks_end_at_sentence_ends_when_the_transcript_has_them():
    chunks = chunk_segments(_captions(200))
    assert all(c.text.endswith(".") for c in chunks[:-1])


def test_timestamps_follow_the_words():
    chunks = chunk_segments(_captions(200))
    for chunk in chunks:
        first_word = chunk.text.split()[0]
        caption = int(first_word[1:].split("_")[0])
        assert chunk.start_seconds == caption * 3


def test_one_long_unpunctuated_segment_is_split_with_interpolated_times():
    text = " ".join(f"w{i}" for i in range(1000))
    chunks = chunk_segments([Segment(0, 400, text)])
    assert len(chunks) >= 6 and all(c.word_count <= MAX_WORDS for c in chunks)
    assert chunks[0].start_seconds == 0 and chunks[-1].end_seconds == 400
    assert 100 < chunks[len(chunks) // 2].start_seconds < 300


def test_empty_transcript_gives_no_chunks():
    assert chunk_segments([Segment(0, 1, "   ")]) == []
