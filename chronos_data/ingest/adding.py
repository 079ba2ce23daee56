"""Adding one video from a form (the Videos page's Loom, Mux and upload tabs): one call that checks
what the form holds against what its source needs, keeps an uploaded file, and queues the video.

What a source needs (a media file, a subtitle file unless its audio can be transcribed) is the
source's to say (``VideoSource.needs_media``, ``VideoSource.can_transcribe``); the page only draws
the fields and shows the outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

from ..config import Settings
from ..creators import get_creator
from ..db import Database, Workspace
from ..errors import ReadOnlyAccess, ValidationError
from ..uploads import removed_on_error, store_upload
from .queueing import add_subtitled_video, add_upload_to_transcribe
from .sources import source_for

__all__ = ["ChosenFile", "MissingFile", "VideoForm", "add_video"]


class ChosenFile(Protocol):
    """A file a creator chose in a form (Streamlit's UploadedFile is one): its name, its size in
    bytes, and its content, read in blocks or whole."""

    name: str
    size: int

    def read(self, size: int = -1, /) -> bytes: ...

    def getvalue(self) -> bytes: ...


@dataclass(frozen=True)
class VideoForm:
    """What a creator filled in to add one video of ``source_type`` whose transcript is a subtitle
    file (or, for a source that can transcribe it, the media's audio)."""

    source_type: str
    title: str = ""
    link: str = ""
    media: ChosenFile | None = None
    subtitle: ChosenFile | None = None
    minutes: float = 0.0  # the duration, to time a plain-text transcript (0: not given)


class MissingFile(ValidationError):
    """The form lacks a file its source needs; ``needed`` says which (``subtitle`` or ``media``)."""

    def __init__(self, message: str, needed: Literal["subtitle", "media"]) -> None:
        super().__init__(message)
        self.needed = needed


def add_video(db: Database, creator_id: uuid.UUID, settings: Settings, form: VideoForm, *,
              read_only: bool = False) -> uuid.UUID:
    """Queue the video a form describes; returns its id. ``read_only`` is an analyst teammate's
    access, as the page's transactions run it: refused before any file is kept.

    An uploaded file is kept first (outside any transaction: a copy of gigabytes must not hold
    one open), then the video is queued in a transaction of its own; a refused video or a failed
    commit removes the kept file.

    Raises:
        MissingFile: the subtitle file (or the media file) the source needs is missing.
        ValidationError: the link, the subtitle file, the title or the media file is refused
            (type, size for the plan, a full disk); nothing is kept.
        DuplicateVideo: the library already has this link (``video_id`` is that copy).
        ReadOnlyAccess: ``read_only``; nothing is kept.
    """
    if read_only:
        raise ReadOnlyAccess("You have read-only (analyst) access to this workspace; ask its owner to add videos.")
    source = source_for(form.source_type)
    if form.subtitle is None and not source.can_transcribe(settings):
        hint = " (or set OPENAI_API_KEY so Chronos can transcribe the audio)" if source.transcribes_media else ""
        raise MissingFile(f"Add the video's subtitle file{hint}: Chronos builds the searchable transcript from it.",
                          "subtitle")
    media = form.media if source.needs_media else None
    if source.needs_media and media is None:
        raise MissingFile("Choose the audio or video file to upload.", "media")
    if media is None:
        with db.workspace(creator_id) as t:
            return _queue(t, form, form.link, None)
    with db.workspace(creator_id) as t:
        tier = get_creator(t).subscription_tier
    stored = store_upload(settings, creator_id, media.name, media, media.size, tier)
    with removed_on_error(settings, stored), db.workspace(creator_id) as t:
        return _queue(t, form, stored, media)


def _queue(t: Workspace, form: VideoForm, source: str, media: ChosenFile | None) -> uuid.UUID:
    title = form.title or (media.name if media else "")
    if form.subtitle is None:  # an upload whose audio OpenAI will transcribe
        return add_upload_to_transcribe(t, storage_path=source, title=title, file_size_bytes=media.size if media else None)
    return add_subtitled_video(
        t, source_type=form.source_type, source=source, subtitle_bytes=form.subtitle.getvalue(),
        subtitle_filename=form.subtitle.name, title=title, duration_seconds=int(form.minutes * 60) or None,
        file_size_bytes=media.size if media else None)
