"""Which caption track of a YouTube video to read: one rule for the transcript API (``youtube``)
and the yt-dlp fallback (``ytdlp``), which describe the same tracks in different shapes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Track", "choose_track", "primary_language"]

T = TypeVar("T")


@dataclass(frozen=True)
class Track(Generic[T]):
    """One caption track as the rule sees it; ``item`` is what the client reads it with."""

    language: str  # its language code, e.g. "en-GB"
    is_generated: bool  # YouTube's speech recognition rather than captions someone made
    item: T
    #: Other names it answers to exactly (yt-dlp's key, e.g. "en-nP7-2PuUl7o").
    aliases: tuple[str, ...] = ()
    #: The speech recognition of the spoken language (yt-dlp marks it "-orig"); else the first generated one counts.
    original: bool = False


def choose_track(tracks: Sequence[Track[T]], wanted: Sequence[str], *, fallback: bool = True) -> Track[T] | None:
    """The track to read, or None when none fits.

    Captions someone made in any of ``wanted`` (in the creator's order of preference) beat speech
    recognition in any of them; a regional track ("en-GB") counts for its language ("en"). When
    none of ``wanted`` exists and ``fallback`` is set, the video's original language is taken:
    that of its (original) speech-recognition track, as made captions when they exist in it, else
    the speech recognition; without speech recognition, the first made track.
    """
    manual = [track for track in tracks if not track.is_generated]
    generated = [track for track in tracks if track.is_generated]
    # Made before generated across all wanted languages: a creator's hand-made captions in their
    # second language beat speech recognition in their first.
    for pool in (manual, generated):
        for code in wanted:
            found = _find_language(pool, code)
            if found is not None:
                return found
    if not fallback:
        return None
    # YouTube runs speech recognition in the language spoken in the video, so it is the best guess
    # at the original language; a video without it has only uploaded captions, the first the creator's own.
    spoken = ([track for track in generated if track.original] or generated)[:1]
    if spoken:
        return _find_language(manual, spoken[0].language) or spoken[0]
    return manual[0] if manual else None


def primary_language(code: str | None) -> str:
    """The language without its region or script: "pt-BR" -> "pt", "zh_Hans" -> "zh"."""
    return (code or "").strip().lower().replace("_", "-").split("-")[0]


def _find_language(pool: list[Track[T]], code: str) -> Track[T] | None:
    wanted = _normal(code)
    for track in pool:
        if wanted in {_normal(track.language), *(_normal(alias) for alias in track.aliases)}:
            return track
    for track in pool:  # "en" matches "en-GB" / "en-US"; "pt-BR" matches "pt"
        if primary_language(track.language) == primary_language(code):
            return track
    return None


def _normal(code: str) -> str:
    return code.strip().lower().replace("_", "-")
