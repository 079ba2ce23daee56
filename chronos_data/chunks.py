"""Transcript chunks, their embeddings, and nearest-neighbour search over them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from pgvector import Vector

from ._rows import to_record
from .db import Workspace

__all__ = [
    "Chunk",
    "count_by_model",
    "EmbeddingModel",
    "NewChunk",
    "insert_chunks",
    "list_chunks",
    "list_embedding_models",
]


@dataclass(frozen=True)
class EmbeddingModel:
    name: str
    provider: str
    dimensions: int


@dataclass(frozen=True)
class NewChunk:
    """A chunk to store: its text, where it sits in the video, and optionally its vector."""

    chunk_index: int
    chunk_text: str
    start_time_seconds: int | None = None
    end_time_seconds: int | None = None
    embedding: Sequence[float] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    id: uuid.UUID
    video_id: uuid.UUID
    chunk_index: int
    chunk_text: str
    start_time_seconds: int | None
    end_time_seconds: int | None
    word_count: int | None
    embedding_model: str | None


def list_embedding_models(t: Workspace) -> list[EmbeddingModel]:
    """Every embedding model the schema knows, with its dimensions."""
    rows = t.conn.execute(sa.text("SELECT name, provider, dimensions FROM embedding_models ORDER BY name"))
    return [to_record(EmbeddingModel, row) for row in rows]


def count_by_model(t: Workspace) -> dict[str, int]:
    """How many of the workspace's chunks each embedding model made (unembedded chunks under '')."""
    rows = t.conn.execute(
        sa.text("SELECT coalesce(embedding_model, ''), count(*) FROM video_chunks WHERE creator_id = :creator "
                "GROUP BY 1 ORDER BY 2 DESC, 1"),
        {"creator": t.creator_id},
    )
    return {model: int(count) for model, count in rows}


def insert_chunks(
    t: Workspace, video_id: uuid.UUID, chunks: Sequence[NewChunk], *, embedding_model: str | None
) -> int:
    """Store ``chunks`` of one video in one statement; returns how many were written."""
    if not chunks:
        return 0
    rows = [
        {
            "creator": t.creator_id,
            "video": video_id,
            "idx": c.chunk_index,
            "text": c.chunk_text,
            "start": c.start_time_seconds,
            "end": c.end_time_seconds,
            "words": len(c.chunk_text.split()),
            "embedding": None if c.embedding is None else Vector(np.asarray(c.embedding, dtype=np.float32)),
            "model": embedding_model if c.embedding is not None else None,
            "metadata": json.dumps(c.metadata),
        }
        for c in chunks
    ]
    t.conn.execute(
        sa.text(
            "INSERT INTO video_chunks (creator_id, video_id, chunk_index, chunk_text, start_time_seconds, "
            "end_time_seconds, word_count, embedding, embedding_model, metadata) VALUES (:creator, :video, "
            ":idx, :text, :start, :end, :words, :embedding, :model, CAST(:metadata AS jsonb))"
        ),
        rows,
    )
    return len(rows)


def list_chunks(t: Workspace, video_id: uuid.UUID) -> list[Chunk]:
    """A video's chunks in transcript order."""
    rows = t.conn.execute(
        sa.text(
            "SELECT id, video_id, chunk_index, chunk_text, start_time_seconds, end_time_seconds, "
            "word_count, embedding_model FROM video_chunks "
            "WHERE creator_id = :creator AND video_id = :video ORDER BY chunk_index"
        ),
        {"creator": t.creator_id, "video": video_id},
    )
    return [to_record(Chunk, row) for row in rows]
