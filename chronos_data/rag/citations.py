"""Citations: the numbered moments an answer points to, as stored with the message and shown."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from ..ingest.sources import moment_url
from .retrieve import Source

__all__ = ["Citation", "cited_numbers", "from_source"]

_SNIPPET_CHARS = 320
_CITATION = re.compile(r"\[(\d{1,2})\]")


@dataclass(frozen=True)
class Citation:
    """``[number]`` in an answer: a video, the second to open it at, and what is said there."""

    number: int
    video_id: uuid.UUID
    title: str
    source_type: str
    youtube_video_id: str | None
    source_key: str | None
    start_seconds: int
    end_seconds: int
    snippet: str

    @property
    def url(self) -> str | None:
        """``watch?v=ID&t=SECONDSs`` for YouTube, the share link at that time for Loom, else None
        (the page opens its own player at the second instead)."""
        return moment_url(self.source_type, self.source_key, self.start_seconds)

    def to_json(self) -> dict[str, Any]:
        """The form stored in ``chat_messages.video_references`` and printed by ``ask --json``."""
        return {**asdict(self), "video_id": str(self.video_id), "url": self.url}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Citation:
        fields = cls.__dataclass_fields__
        values = {k: v for k, v in data.items() if k in fields}
        values["video_id"] = uuid.UUID(str(values["video_id"]))
        values.setdefault("source_key", values.get("youtube_video_id"))
        return cls(**values)


def from_source(number: int, source: Source, *, start_seconds: int | None = None, snippet: str | None = None
                ) -> Citation:
    """A citation of ``source`` (at one of its sentences when ``start_seconds`` is given)."""
    text = snippet if snippet is not None else source.text
    if len(text) > _SNIPPET_CHARS:
        text = text[:_SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
    return Citation(number=number, video_id=source.video_id, title=source.title, source_type=source.source_type,
                    youtube_video_id=source.youtube_video_id, source_key=source.source_key,
                    start_seconds=source.start_seconds if start_seconds is None else start_seconds,
                    end_seconds=source.end_seconds, snippet=text)


def cited_numbers(text: str) -> list[int]:
    """The citation numbers an answer uses, in order of first use."""
    seen: list[int] = []
    for match in _CITATION.finditer(text):
        number = int(match[1])
        if number not in seen:
            seen.append(number)
    return seen
