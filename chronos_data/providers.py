"""Which AI providers are active: offline by default, OpenAI (or a compatible server) with a key."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings

__all__ = ["LOCAL_EMBEDDING_MODEL", "OPENAI_EMBEDDING_MODEL", "Providers", "active_providers"]

LOCAL_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"


@dataclass(frozen=True)
class Providers:
    embeddings: str
    answers: str
    transcription: str
    openai_endpoint: str | None

    @property
    def online(self) -> bool:
        return self.openai_endpoint is not None


def active_providers(settings: Settings) -> Providers:
    """Describe, in words for the Settings page, what each AI task uses with these settings."""
    if settings.openai_api_key:
        endpoint = settings.openai_endpoint
        return Providers(
            embeddings=f"OpenAI {settings.openai_embedding_model} ({settings.openai_embedding_dimensions} dimensions)",
            answers=f"{settings.openai_chat_model} at the endpoint below, streamed and cited",
            transcription="OpenAI Whisper for audio and video files",
            openai_endpoint=endpoint,
        )
    return Providers(
        embeddings=f"{LOCAL_EMBEDDING_MODEL} on this computer (384 dimensions, offline)",
        answers="Quoted from your videos, word for word, with the second each quote starts (offline)",
        transcription="Subtitle files only; set OPENAI_API_KEY to transcribe audio",
        openai_endpoint=None,
    )
