"""The vectors of the moments an offline answer scores, stored with their video (sql/026).

The offline answer (``extractive``) scores every moment of the passages a question found by the
embedding of its text pieces (a sentence, or the cues of an auto-caption window). Embedding them
while the student waits made the first question on a lesson slow; the import pipeline now
embeds them once (``moment_texts`` + ``store_moment_vectors``) and a question reads them
(``read_moment_vectors``). A video imported before the table existed gets its rows from the
first question that quotes it. Rows are named by the md5 of the text, so a question finds a
piece by what it says, whatever passage it came from.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence

import numpy as np
import sqlalchemy as sa
from pgvector import Vector

from ..db import Workspace
from .extractive import moments

__all__ = ["moment_texts", "read_moment_vectors", "store_moment_vectors"]

Segment = tuple[float, float, str]
_VECTOR_HEADER = 4  # bytes before the floats in vector_send's output: dimensions and an unused int16
_INSERT_ROWS = 1000  # rows per statement: a long lecture's few thousand pieces in a few round trips


def moment_texts(segments: Sequence[Segment], chunk_spans: Sequence[tuple[int, int]]) -> list[str]:
    """Every text piece a question can score in a video: the pieces of the moments of each chunk's
    captions, as ``extractive.extract_answer`` cuts them from a passage (a sentence cut by the
    passage's edge is a piece of its own), and of the whole video's (sentences across two chunks).

    Args:
        segments: the video's timed captions (start, end, text), as stored with it.
        chunk_spans: each chunk's (start, end) seconds, as stored with it.
    """
    windows = [[s for s in segments if s[1] >= start - 1 and s[0] <= end + 1] for start, end in chunk_spans]
    pieces: dict[str, None] = {}
    for window in [*windows, list(segments)]:
        for moment in moments(0, uuid.UUID(int=0), window):
            pieces.update(dict.fromkeys(moment.parts))
    return list(pieces)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def read_moment_vectors(t: Workspace, video_ids: Sequence[uuid.UUID], texts: Sequence[str],
                        embedding_model: str) -> dict[str, np.ndarray]:
    """The stored vectors of ``texts`` among ``video_ids``' moments (text -> vector); a text not
    stored for any of them is missing from the result."""
    if not texts or not video_ids:
        return {}
    by_hash = {_md5(text): text for text in texts}
    # pgvector's binary form (vector_send: two int16 headers, then big-endian float32s) is read
    # without parsing text: bench chat, ~150 vectors a question, 55 ms as text on a busy machine.
    rows = t.conn.execute(sa.text(
        "SELECT DISTINCT ON (text_md5) text_md5, vector_send(embedding) AS embedding FROM moment_vectors "
        "WHERE creator_id = :creator AND video_id = ANY(:videos) AND embedding_model = :model "
        "AND text_md5 = ANY(:hashes)"),
        {"creator": t.creator_id, "videos": list(set(video_ids)), "model": embedding_model,
         "hashes": list(by_hash)})
    return {by_hash[row.text_md5]: np.frombuffer(row.embedding, dtype=">f4", offset=_VECTOR_HEADER).astype(np.float32)
            for row in rows}


def store_moment_vectors(t: Workspace, video_id: uuid.UUID, vectors: Mapping[str, np.ndarray], embedding_model: str,
                         *, replace: bool = False) -> int:
    """Keep ``vectors`` (text -> vector) as ``video_id``'s moments (a text already kept stays as
    it is); returns how many were given.

    ``replace``: first forget the video's vectors of every model (it was embedded again: its
    captions may have changed).
    """
    if replace:
        t.conn.execute(sa.text("DELETE FROM moment_vectors WHERE creator_id = :creator AND video_id = :video"),
                       {"creator": t.creator_id, "video": video_id})
    if not vectors:
        return 0
    rows = [{"creator": t.creator_id, "video": video_id, "model": embedding_model, "md5": _md5(text),
             "embedding": Vector(np.asarray(vector, dtype=np.float32))} for text, vector in vectors.items()]
    for start in range(0, len(rows), _INSERT_ROWS):
        t.conn.execute(sa.text(
            "INSERT INTO moment_vectors (creator_id, video_id, embedding_model, text_md5, embedding) "
            "VALUES (:creator, :video, :model, :md5, :embedding) "
            "ON CONFLICT (creator_id, video_id, embedding_model, text_md5) DO NOTHING"),
            rows[start:start + _INSERT_ROWS])
    return len(rows)

