"""Mux: playback links or ids, played in Mux's hosted player; the transcript comes as a subtitle file."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from .registry import Link, VideoSource, register

__all__ = ["MUX", "Mux"]

_PLAYBACK_ID = re.compile(r"^[A-Za-z0-9]{20,64}\Z")


class Mux(VideoSource):
    name = "mux"
    label = "Mux"
    link_label = "Mux playback link or id"
    key_column = "mux_playback_id"
    hosts = frozenset({"stream.mux.com", "player.mux.com", "image.mux.com"})

    def parse_url(self, url: Any, raw: str) -> Link | None:
        playback = [p for p in url.path.split("/") if p][:1]
        candidate = playback[0].removesuffix(".m3u8") if playback else ""
        if _PLAYBACK_ID.match(candidate):
            return Link("mux", candidate, f"https://stream.mux.com/{candidate}.m3u8")
        return None  # not a playback link: "not a link Chronos knows"

    def embed_url(self, key: str, seconds: int) -> str:
        # Mux's hosted player page; ``start-time`` is its documented embed parameter (seconds).
        return f"https://player.mux.com/{quote(key)}?start-time={seconds}"


MUX = register(Mux())
