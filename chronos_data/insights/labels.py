"""A configured language model's one-line label for a moment or a group of questions; None when
it fails or says nothing, so the caller keeps its offline key phrases."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from ..errors import ChronosError

if TYPE_CHECKING:
    from ..rag.llm import ChatModel

__all__ = ["model_label"]

log = logging.getLogger(__name__)
_MAX_CHARS = 90


def model_label(chat_model: ChatModel, system: str, text: str) -> str | None:
    """The first line of the model's reply to ``text`` under ``system``, without quotes or a full stop."""
    try:
        reply = chat_model.complete([{"role": "system", "content": system}, {"role": "user", "content": text}],
                                    max_tokens=30)
    except ChronosError as exc:  # the offline label is still a label
        log.warning("a model label failed, using key phrases: %s", exc)
        return None
    line = next((ln for ln in (reply or "").splitlines() if ln.strip()), "")
    line = re.sub(r"\s+", " ", line).strip().strip("\"'“”").rstrip(".").strip()
    return line[:_MAX_CHARS].rstrip() or None
