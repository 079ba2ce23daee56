"""Loom: share links, moments as ``?t=``, its embed player; the transcript comes as a subtitle file."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ...errors import ValidationError
from .registry import Link, VideoSource, register

__all__ = ["LOOM", "Loom"]

_VIDEO_ID = re.compile(r"[0-9a-f]{32}")


class Loom(VideoSource):
    name = "loom"
    label = "Loom"
    link_label = "Loom share link"
    key_column = "embed_id"
    embed_type = "loom"
    hosts = frozenset({"loom.com", "www.loom.com"})
    links_to_moments = True

    def parse_url(self, url: Any, raw: str) -> Link:
        parts = [p for p in url.path.split("/") if p]
        if len(parts) >= 2 and parts[0] in {"share", "embed"} and _VIDEO_ID.fullmatch(parts[1]):
            return Link("loom", parts[1], f"https://www.loom.com/share/{parts[1]}")
        raise ValidationError("That Loom link has no video id; copy the share link (loom.com/share/…).")

    def moment_url(self, key: str, seconds: int) -> str:
        return f"https://www.loom.com/share/{key}" + (f"?t={seconds}" if seconds else "")

    def embed_url(self, key: str, seconds: int) -> str:
        return f"https://www.loom.com/embed/{quote(key)}?t={seconds}"


LOOM = register(Loom())
