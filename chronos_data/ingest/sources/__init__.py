"""Video platforms: one module each, registered in ``registry`` (see README, "Add a video source")."""

# isort: off
# Importing a platform's module registers it; this order is the order the UI lists them in.
from . import youtube, loom, mux, upload  # noqa: F401
# isort: on
from .registry import (
    Link,
    VideoSource,
    all_sources,
    embed_url,
    find_source,
    key_of,
    moment_url,
    parse_link,
    register,
    source_for,
    unregister,
)
from .youtube import is_youtube_id, youtube_thumbnail, youtube_watch_url

__all__ = [
    "Link",
    "VideoSource",
    "all_sources",
    "embed_url",
    "find_source",
    "is_youtube_id",
    "key_of",
    "moment_url",
    "parse_link",
    "register",
    "source_for",
    "unregister",
    "youtube_thumbnail",
    "youtube_watch_url",
]
