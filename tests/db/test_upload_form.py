"""Adding one video from a form (the Videos page's Loom, Mux and upload tabs) is one call:
``adding.add_video`` checks what the source needs, keeps the file and queues the video."""

from __future__ import annotations

import dataclasses
import io
import uuid
from pathlib import Path

import pytest

from chronos_data import videos
from chronos_data.db import Database
from chronos_data.errors import ReadOnlyAccess, ValidationError
from chronos_data.ingest import adding, pipeline
from tests.conftest import new_creator

SRT = b"""1
00:00:01,000 --> 00:00:05,000
Welcome to the course. Today we learn about Python lists.
"""
MEDIA = b"\x00\x00\x00\x18ftypmp42" + bytes(200)


class _Chosen(io.BytesIO):
    """A file chosen in a form, as Streamlit's UploadedFile: a BytesIO with a name and a size."""

    def __init__(self, name: str, data: bytes) -> None:
        super().__init__(data)
        self.name, self.size = name, len(data)


@pytest.fixture
def workspace(db: Database) -> uuid.UUID:
    return new_creator(db, "uploader")


def _settings(settings, tmp_path: Path, *, key: str | None = None):
    return dataclasses.replace(settings, data_dir=tmp_path / "data", openai_api_key=key)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _video(db: Database, creator: uuid.UUID, video_id: uuid.UUID) -> videos.Video:
    with db.workspace(creator) as t:
        return videos.get_video(t, video_id)


def test_an_upload_with_its_subtitle_file_is_kept_and_queued_under_the_files_name(db, workspace, settings, tmp_path):
    here = _settings(settings, tmp_path)
    form = adding.VideoForm("upload", media=_Chosen("lecture.mp4", MEDIA), subtitle=_Chosen("lecture.srt", SRT))

    video = _video(db, workspace, adding.add_video(db, workspace, here, form))

    [stored] = _files(tmp_path / "data")
    assert stored.read_bytes() == MEDIA and video.storage_path == stored.relative_to(tmp_path / "data").as_posix()
    assert (video.title, video.source_type, video.transcript_method) == ("lecture.mp4", "upload", "subtitle_file")


def test_an_upload_without_subtitles_is_queued_for_transcription_only_with_a_key(db, workspace, settings, tmp_path):
    form = adding.VideoForm("upload", title="Talk", media=_Chosen("talk.mp3", MEDIA))
    with pytest.raises(adding.MissingFile) as refused:
        adding.add_video(db, workspace, _settings(settings, tmp_path), form)
    assert refused.value.needed == "subtitle" and str(refused.value) == (
        "Add the video's subtitle file (or set OPENAI_API_KEY so Chronos can transcribe the audio): Chronos builds "
        "the searchable transcript from it.")
    assert _files(tmp_path / "data") == []

    video = _video(db, workspace, adding.add_video(db, workspace, _settings(settings, tmp_path, key="sk-test"), form))

    assert (video.title, video.status, video.transcript_method) == ("Talk", "pending", None)
    assert len(_files(tmp_path / "data")) == 1


def test_a_missing_media_file_or_a_linked_videos_missing_subtitles_are_named(db, workspace, settings, tmp_path):
    here = _settings(settings, tmp_path, key="sk-test")
    with pytest.raises(adding.MissingFile, match="^Choose the audio or video file to upload.$") as refused:
        adding.add_video(db, workspace, here, adding.VideoForm("upload", subtitle=_Chosen("a.srt", SRT)))
    assert refused.value.needed == "media"
    loom = adding.VideoForm("loom", title="Talk", link="https://www.loom.com/share/" + "ab" * 16,
                            media=_Chosen("ignored.mp4", MEDIA))  # a Loom takes no media file
    with pytest.raises(adding.MissingFile) as refused:
        adding.add_video(db, workspace, here, loom)
    assert str(refused.value) == "Add the video's subtitle file: Chronos builds the searchable transcript from it."

    video = _video(db, workspace, adding.add_video(db, workspace, here, dataclasses.replace(
        loom, subtitle=_Chosen("talk.txt", b"Hello there."), minutes=2.0)))

    assert (video.title, video.source_type, video.duration_seconds) == ("Talk", "loom", 120)
    assert _files(tmp_path / "data") == []
    with pytest.raises(pipeline.DuplicateVideo) as again:
        adding.add_video(db, workspace, here, dataclasses.replace(loom, subtitle=_Chosen("talk.srt", SRT)))
    assert again.value.video_id == video.id


def test_an_analyst_adding_a_video_is_refused_and_nothing_is_kept(db, workspace, settings, tmp_path):
    form = adding.VideoForm("upload", media=_Chosen("lecture.mp4", MEDIA), subtitle=_Chosen("lecture.srt", SRT))
    with pytest.raises(ReadOnlyAccess, match="read-only"):
        adding.add_video(db, workspace, _settings(settings, tmp_path), form, read_only=True)
    assert _files(tmp_path / "data") == []
    with db.workspace(workspace) as t:
        assert videos.list_videos(t, include_deleted=True) == []


def test_an_upload_whose_video_is_refused_keeps_no_file(db, workspace, settings, tmp_path):
    form = adding.VideoForm("upload", media=_Chosen("lecture.mp4", MEDIA), subtitle=_Chosen("lecture.srt", b"\n\n"))
    with pytest.raises(ValidationError):
        adding.add_video(db, workspace, _settings(settings, tmp_path), form)
    assert _files(tmp_path / "data") == []
