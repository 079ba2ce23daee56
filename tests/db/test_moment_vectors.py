"""The moments' vectors are stored at import (sql/026), read by a question, and filled by the first
question for a video imported before the table; they go with their video and with a backup.

The real local model embeds; a recording wrapper tells which texts a question had to embed itself.
"""

from __future__ import annotations

import io
import uuid

import numpy as np
import pytest
import sqlalchemy as sa

from chronos_data import backup
from chronos_data.db import Database
from chronos_data.embeddings import LocalEmbedder
from chronos_data.errors import SourceError
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from chronos_data.rag import Assistant
from chronos_data.rag.extractive import Moment
from chronos_data.rag.moment_vectors import moment_texts, read_moment_vectors, store_moment_vectors
from tests.conftest import import_lecture, new_creator
from tests.rag_eval_set import LECTURES

LECTURE = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")
QUESTION = "Can a tuple serve as a key in a dict?"


class Recording:
    """``inner`` that remembers every text it was asked to embed."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner, self.model, self.dimensions = inner, inner.model, inner.dimensions
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return self.inner.embed(texts)


def _imported(db: Database, embedder: LocalEmbedder, label: str) -> tuple[uuid.UUID, uuid.UUID]:
    creator = new_creator(db, label)
    with db.owner() as conn:  # no daily cap on questions
        conn.execute(sa.text("UPDATE chronos.creators SET subscription_tier = 'enterprise' WHERE id = :id"),
                     {"id": creator})
    video = import_lecture(db, creator, LECTURE)
    run_until_done(db, creator, embedder, [video], timeout=120)
    return creator, video


def _stored(db: Database, creator: uuid.UUID, video: uuid.UUID | None = None) -> int:
    with db.workspace(creator) as t:
        return t.conn.execute(sa.text("SELECT count(*) FROM moment_vectors WHERE CAST(:v AS uuid) IS NULL "
                                      "OR video_id = :v"), {"v": video}).scalar_one()


def _video_texts(db: Database, creator: uuid.UUID, video: uuid.UUID) -> set[str]:
    with db.workspace(creator) as t:
        segments = t.conn.execute(sa.text("SELECT transcript_segments FROM videos WHERE id = :v"),
                                  {"v": video}).scalar_one()
        spans = t.conn.execute(sa.text("SELECT start_time_seconds, end_time_seconds FROM video_chunks "
                                       "WHERE video_id = :v"), {"v": video}).all()
    return set(moment_texts([(float(a), float(b), str(c)) for a, b, c in segments], [tuple(s) for s in spans]))


@pytest.fixture(scope="module")
def imported(db: Database, embedder: LocalEmbedder) -> tuple[uuid.UUID, uuid.UUID]:
    return _imported(db, embedder, "moments")


def test_the_import_stores_a_vector_for_every_piece_a_question_can_quote(db, embedder, imported):
    creator, video = imported
    texts = _video_texts(db, creator, video)
    assert texts and _stored(db, creator, video) == len(texts)
    with db.workspace(creator) as t:
        stored = read_moment_vectors(t, [video], sorted(texts), embedder.model)
    some = sorted(texts)[:3]
    assert np.allclose(np.vstack([stored[text] for text in some]), embedder.embed(some), atol=1e-5)


def test_a_question_embeds_no_moment_of_an_imported_video(db, embedder, imported):
    creator, video = imported
    assistant = Assistant(db, Recording(embedder))
    recording = Recording(embedder)
    assistant.moment_embedder = recording  # what the offline answer embeds besides the question
    answer = assistant.ask(creator, QUESTION)
    assert answer.found and answer.citations
    assert not set(recording.texts) & _video_texts(db, creator, video)


def test_a_video_imported_before_the_table_gets_its_vectors_from_the_first_question(db, embedder):
    creator, video = _imported(db, embedder, "moments-old")
    with db.workspace(creator) as t:  # as a video imported before sql/026 is
        t.conn.execute(sa.text("DELETE FROM moment_vectors"))
    first = Assistant(db, embedder)
    first.moment_embedder = Recording(embedder)
    answer = first.ask(creator, QUESTION)
    quoted = set(first.moment_embedder.texts) & _video_texts(db, creator, video)
    assert answer.found and quoted and _stored(db, creator, video) >= len(quoted)
    again = Assistant(db, embedder)  # a new process: nothing in memory
    again.moment_embedder = Recording(embedder)
    assert again.ask(creator, QUESTION).citations == answer.citations
    assert not set(again.moment_embedder.texts) & quoted


def test_embedding_a_video_again_replaces_its_vectors(db, embedder):
    creator, video = _imported(db, embedder, "moments-again")
    with db.workspace(creator) as t:
        store_moment_vectors(t, video, {"a sentence the captions no longer say": embedder.embed(["x"])[0]},
                             embedder.model)
        pipeline.requeue_for_embedding(t)
    run_until_done(db, creator, embedder, [video], timeout=120)
    assert _stored(db, creator, video) == len(_video_texts(db, creator, video))


class FailsAfterChunks:
    """The local model for the chunks; then, for the moments, the embedding service is down."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner, self.model, self.dimensions = inner, inner.model, inner.dimensions
        self.calls = 0

    def embed(self, texts):
        self.calls += 1
        if self.calls > 1:
            raise SourceError("The embedding service is not answering.")
        return self.inner.embed(texts)


def test_a_video_whose_moments_failed_is_still_searchable_and_its_question_embeds_them(db, embedder):
    creator = new_creator(db, "moments-failed")
    video = import_lecture(db, creator, LECTURE)
    run_until_done(db, creator, FailsAfterChunks(embedder), [video], timeout=120)
    with db.workspace(creator) as t:
        assert t.conn.execute(sa.text("SELECT status FROM videos WHERE id = :v"), {"v": video}).scalar_one() \
            == "completed"
    assert _stored(db, creator, video) == 0
    assert Assistant(db, embedder).ask(creator, QUESTION).found
    assert _stored(db, creator, video) > 0


def test_the_vectors_go_with_their_video(db, embedder):
    creator, video = _imported(db, embedder, "moments-deleted")
    assert _stored(db, creator, video) > 0
    with db.workspace(creator) as t:  # a video deleted for good (videos.delete_trashed_copy deletes so)
        t.conn.execute(sa.text("DELETE FROM videos WHERE id = :v"), {"v": video})
    assert _stored(db, creator, video) == 0


def test_a_backup_carries_the_vectors(db, embedder, imported):
    creator, video = imported
    with db.workspace(creator) as t:
        file = io.BytesIO()
        backup.export_workspace(t, file)
    restored = new_creator(db, "moments-restored")
    file.seek(0)
    with db.workspace(restored) as t:
        backup.restore_workspace(t, file)
        [copy] = t.conn.execute(sa.text("SELECT id FROM videos")).scalars().all()
    assert _stored(db, restored, copy) == _stored(db, creator, video) > 0
    assistant = Assistant(db, embedder)
    assistant.moment_embedder = Recording(embedder)
    assert assistant.ask(restored, QUESTION).found
    assert not set(assistant.moment_embedder.texts) & _video_texts(db, restored, copy)


def test_vectors_of_a_video_deleted_while_the_question_ran_are_not_kept_and_the_answer_goes_on(db, embedder, imported):
    creator, _video = imported
    gone = Moment(0, uuid.uuid4(), 0, 0, 0.0, 3.0, "A sentence of a video deleted meanwhile.",
                  ("A sentence of a video deleted meanwhile.",))
    known: dict = {}
    Assistant(db, embedder)._fill(creator, [gone], known)
    assert set(known) == {gone.text}
    with db.workspace(creator) as t:
        assert read_moment_vectors(t, [gone.video_id], [gone.text], embedder.model) == {}
