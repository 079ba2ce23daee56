"""An uploaded file: stored under the workspace's data folder, played from the app's media server,
its transcript a subtitle file or OpenAI's transcription of the audio (``ingest.transcription``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ...errors import ValidationError
from ...uploads import check_storage_path, stored_file
from ..segments import Transcript
from .registry import Link, VideoSource, register

__all__ = ["UPLOAD", "Upload"]


class Upload(VideoSource):
    name = "upload"
    label = "Uploaded file"
    key_column = "storage_path"
    player = "file"  # the page resolves the stored file to a media-server URL (components.moment_player)
    tracking = "file"
    needs_media = True
    transcribes_media = True

    def parse_source(self, text: str, creator_id: Any) -> Link:
        """The stored file's path (``uploads.store_upload`` wrote it under the workspace's folder)."""
        return Link("upload", check_storage_path(creator_id, text), None)

    def fetch_transcript(self, key: str, options: Mapping[str, Any], reach: Any, *, creator_id: Any,
                         on_progress: Callable[[float], None]) -> Transcript:
        """OpenAI's transcription of the file's audio (when the app has a key), with its cost."""
        from ..transcription import transcribe  # imported late: the OpenAI client loads only when needed

        settings = reach.settings
        if settings is None or not self.can_transcribe(settings):
            raise ValidationError("This upload has no transcript; add its subtitle file, or set OPENAI_API_KEY so "
                                  "Chronos can transcribe the audio.")
        result = transcribe(stored_file(settings, key, creator_id), settings, on_progress=on_progress)
        return replace(result.transcript, cost_usd=result.cost_usd, audio_seconds=result.audio_seconds)


UPLOAD = register(Upload())
