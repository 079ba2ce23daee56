"""What a reader sees of Markdown source that AppTest returns: user text is drawn through
``layout.inert``, which writes markup characters as backslash escapes or character references."""

from __future__ import annotations

import html
import re


def shown(markdown: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))
