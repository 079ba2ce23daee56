"""Credentials in OPENAI_BASE_URL (``http://user:PASS@host/v1``, ``?api-key=…``) never reach a page,
a log line, a stored error message or a backup: every place that names the endpoint names it
without them. Before, the Settings, Videos and Assistant pages showed them, and a failed video
kept them in ``videos.error_message``, which analysts read and backups export."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from chronos_data import videos
from chronos_data.config import Settings, shown_url
from chronos_data.embeddings import OpenAIEmbedder
from chronos_data.errors import SourceError
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import claim_next
from chronos_data.providers import active_providers
from chronos_data.rag import OpenAIChat
from chronos_data.uploads import store_upload
from tests.faults.test_openai_faults import _tone
from tests.pg import free_port

SECRET = "S3CRET-pass"


@pytest.mark.parametrize(("url", "shown"), [
    (f"http://user:{SECRET}@host:11434/v1", "http://host:11434/v1"),
    (f"http://{SECRET}@host/v1", "http://host/v1"),
    (f"https://x.example.com/v1?api-version=2024-06&api-key={SECRET}", "https://x.example.com/v1?api-version=2024-06&api-key=***"),
    ("https://api.openai.com/v1", "https://api.openai.com/v1"),
    ("http://[::1]:8080/v1", "http://[::1]:8080/v1"),
])
def test_an_endpoint_is_shown_without_its_credentials(url, shown):
    assert shown_url(url) == shown


def _unreachable(tmp_path: Path) -> Settings:
    """An endpoint with a password in it, on a port where nothing listens."""
    return Settings(database_url=None, data_dir=tmp_path, openai_api_key="sk-test",
                    openai_base_url=f"http://chronos:{SECRET}@127.0.0.1:{free_port()}/v1?token={SECRET}")


def test_settings_and_errors_name_the_endpoint_without_its_password(tmp_path, caplog):
    settings = _unreachable(tmp_path)
    assert SECRET not in active_providers(settings).openai_endpoint
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError) as embedding_error:
        OpenAIEmbedder(settings, max_retries=0, timeout=1.0).embed(["a sentence"])
    assert "127.0.0.1" in str(embedding_error.value) and SECRET not in str(embedding_error.value)
    assert SECRET not in OpenAIChat(settings).endpoint
    assert SECRET not in caplog.text


def test_a_failed_transcription_stores_its_reason_without_the_password(db, creator_id, tmp_path):
    settings = _unreachable(tmp_path)
    media = _tone(tmp_path / "talk.wav", 3)
    with db.workspace(creator_id) as t, media.open("rb") as stream:
        path = store_upload(settings, creator_id, media.name, stream, media.stat().st_size, "basic")
        video_id = pipeline.add_upload_to_transcribe(t, storage_path=path, title="Talk",
                                                     file_size_bytes=media.stat().st_size)
    sources = pipeline.Sources(settings=settings)
    assert claim_next(db, sources.lease, creator_id=creator_id) == (creator_id, video_id)
    assert pipeline.process_video(db, creator_id, video_id, OpenAIEmbedder(settings, max_retries=0), sources) == "failed"
    with db.workspace(creator_id) as t:
        message = videos.get_video(t, video_id).error_message
    assert "cannot be reached" in message and "127.0.0.1" in message and SECRET not in message
