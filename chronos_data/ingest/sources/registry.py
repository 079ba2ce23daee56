"""The one place that knows which video platforms exist: each registers a ``VideoSource`` here.

The rest of Chronos asks this registry (``source_for(video.source_type)``, ``parse_link(text)``,
``moment_url(...)``) instead of branching on ``source_type``, so a new platform is one module in
this package plus its ``register(...)`` call (see README, "Add a video source").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from ...errors import ValidationError
from ..segments import Transcript

if TYPE_CHECKING:
    from ...config import Settings

__all__ = [
    "Link",
    "VideoSource",
    "all_sources",
    "embed_url",
    "find_source",
    "key_of",
    "moment_url",
    "parse_link",
    "register",
    "shorten",
    "source_for",
    "unregister",
]


@dataclass(frozen=True)
class Link:
    """What a pasted text points at. ``kind`` is the source's name for one video (``loom``,
    ``mux``, ``youtube_video``) or a list of videos (``youtube_list``)."""

    kind: str
    id: str
    url: str | None  # the canonical link (None for a stored file)
    start_seconds: int | None = None


class VideoSource:
    """What Chronos knows about one platform. Subclass it, fill in the class attributes, override
    what the platform offers, and ``register`` one instance."""

    #: The ``videos.source_type`` value (the seeds' CHECK constraint lists the allowed ones).
    name: ClassVar[str]
    #: How the UI names the platform ("YouTube").
    label: ClassVar[str]
    #: The ``videos`` column holding the platform's id of the video (the seeds' videos_source_validation).
    key_column: ClassVar[str]
    #: The seeds' ``embed_type`` written beside the key, or None.
    embed_type: ClassVar[str | None] = None
    #: The label of the link field where a creator adds one of its videos (None: no link, e.g. a file).
    link_label: ClassVar[str | None] = None
    #: Host names whose links this source parses (``parse_url``).
    hosts: ClassVar[frozenset[str]] = frozenset()
    #: How the page plays it: ``video`` (st.video of ``embed_url``), ``iframe`` (the platform's
    #: player page at ``embed_url``) or ``file`` (an uploaded file served by the app).
    player: ClassVar[str] = "iframe"
    #: How the tracking player (components.player, which reports what is watched) drives it:
    #: ``youtube`` (YouTube's IFrame API), ``file`` (an HTML5 video of the stored file), or None.
    tracking: ClassVar[str | None] = None
    #: Whether a link to the platform's own page can open the video at a second.
    links_to_moments: ClassVar[bool] = False
    #: Whether Chronos fetches the transcript itself (else a subtitle file, or transcription, gives it).
    fetches_transcript: ClassVar[bool] = False
    #: The title a video is added under until the platform tells its own (None: the creator names it).
    placeholder_title: ClassVar[str | None] = None
    #: Whether adding one takes the audio or video file itself (an upload), not a link.
    needs_media: ClassVar[bool] = False
    #: Whether its media's audio can be transcribed (OpenAI), so that a subtitle file is optional
    #: where the app has an OpenAI key (``can_transcribe``).
    transcribes_media: ClassVar[bool] = False

    def can_transcribe(self, settings: Settings) -> bool:
        """Whether a video of this source added without a subtitle file gets its transcript from
        OpenAI's transcription of its audio: it has media to transcribe and the app has a key."""
        return self.transcribes_media and bool(settings.openai_api_key)

    def parse_id(self, text: str) -> Link | None:
        """A bare id (no link) this platform recognises, else None."""
        return None

    def parse_url(self, url: Any, raw: str) -> Link | None:
        """A link (as ``urlparse`` splits it) on one of ``hosts``; None lets it fall through to "not a
        link Chronos knows".

        Raises:
            ValidationError: the link is this platform's but names no video (the message says how to fix it).
        """
        return None

    def parse_source(self, text: str, creator_id: Any) -> Link:
        """The video a creator named when adding one of this platform's videos (a link by default).

        Raises:
            ValidationError: ``text`` is not a video of this platform.
        """
        link = parse_link(text)
        if link.kind != self.name:
            raise ValidationError(f"That is not a {self.label} link; paste the video's share link "
                                  "or choose the right source.")
        return link

    def moment_url(self, key: str, seconds: int) -> str | None:
        """A link to the platform's page opening the video at ``seconds`` (None: it has none)."""
        return None

    def embed_url(self, key: str, seconds: int) -> str | None:
        """What the in-page player loads to play from ``seconds`` (None: it cannot play here)."""
        return None

    def thumbnail_url(self, key: str) -> str | None:
        """The thumbnail the platform serves for every video, known without asking it."""
        return None

    def fetch_transcript(self, key: str, options: Mapping[str, Any], reach: Any, *, creator_id: Any,
                         on_progress: Callable[[float], None]) -> Transcript:
        """The video's transcript from the platform, or made from its media.

        Args:
            options: what the creator chose when adding it (``videos.import_options``).
            reach: how the worker reaches the outside world (``pipeline.Sources``).
            on_progress: called with 0..1 during a long fetch (it also renews the worker's claim).

        Raises:
            ValidationError: the platform has none; the creator gives a subtitle file instead.
            SourceError: the platform refused or failed (``transient`` when a retry may help).
        """
        raise ValidationError("This video has no transcript; add its subtitle file again.")

    def fetch_metadata(self, key: str, reach: Any) -> Any | None:
        """Title, thumbnail and channel the platform tells (an object with ``title``,
        ``thumbnail_url``, ``channel_name``, ``channel_url``), or None."""
        return None


_REGISTRY: dict[str, VideoSource] = {}


def register(source: VideoSource) -> VideoSource:
    """Make ``source`` known to Chronos under ``source.name`` (again: replaces the earlier one)."""
    _REGISTRY[source.name] = source
    return source


def unregister(name: str) -> None:
    """Forget a source (tests register a fake one and remove it after)."""
    _REGISTRY.pop(name, None)


def all_sources() -> tuple[VideoSource, ...]:
    """Every registered source, in registration order."""
    return tuple(_REGISTRY.values())


def source_for(source_type: str) -> VideoSource:
    """The source registered as ``source_type``.

    Raises:
        ValidationError: no such source.
    """
    try:
        return _REGISTRY[source_type]
    except KeyError:
        raise ValidationError(f"'{source_type}' is not a video source; use one of "
                              f"{', '.join(_REGISTRY)}.") from None


def find_source(source_type: str) -> VideoSource | None:
    """The source registered as ``source_type``, or None (a row written by a newer Chronos, say)."""
    return _REGISTRY.get(source_type)


def key_of(row: Any) -> str | None:
    """The platform's id of a video (any row with ``source_type`` and the key columns), or None."""
    source = _REGISTRY.get(getattr(row, "source_type", None) or "")
    return getattr(row, source.key_column, None) if source else None


def moment_url(source_type: str, key: str | None, seconds: float | None) -> str | None:
    """A link that opens the video at ``seconds`` on its platform; None where the platform has none."""
    source = _REGISTRY.get(source_type)
    if not key or source is None:
        return None
    return source.moment_url(key, int(seconds or 0))


def embed_url(source_type: str, key: str | None, seconds: float | None) -> str | None:
    """What the in-page player loads to play the video from ``seconds``; None where it cannot."""
    source = _REGISTRY.get(source_type)
    if not key or source is None:
        return None
    return source.embed_url(key, max(0, int(seconds or 0)))


def parse_link(text: str) -> Link:
    """Parse a link to a video on any registered platform, or a bare id one of them recognises.

    Raises:
        ValidationError: the text is not a link Chronos can import (the message says which work).
    """
    raw = (text or "").strip()
    if not raw:
        raise ValidationError(f"The link is empty; paste a {_linked_platforms()} link.")
    for source in _REGISTRY.values():
        if (link := source.parse_id(raw)) is not None:
            return link
    try:
        url = urlparse(raw if "://" in raw else f"https://{raw}")
        host = (url.hostname or "").lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a link Chronos knows either way
        url, host = None, ""
    for source in _REGISTRY.values():
        if host in source.hosts and (link := source.parse_url(url, raw)) is not None:
            return link
    raise ValidationError(
        f"'{shorten(raw)}' is not a {_linked_platforms()} link; paste a link such as "
        "https://www.youtube.com/watch?v=… or an 11-character YouTube video id."
    )


def _linked_platforms() -> str:
    labels = [source.label for source in _REGISTRY.values() if source.hosts]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


def shorten(text: str, limit: int = 80) -> str:
    """``text`` fit to quote in a message: control characters blanked, cut at ``limit``."""
    # Control characters (a NUL, a terminal escape) would make the message unreadable or unprintable.
    text = "".join(" " if ord(char) < 32 or 0x7F <= ord(char) < 0xA0 else char for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
