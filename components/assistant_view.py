"""Pieces of the Assistant page: answers with linked citations and the sources panel (its player is
``components.moment_player``, shared with Insights and the course preview)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import streamlit as st

from chronos_data.rag import Citation
from components.layout import inert
from components.moment_player import render_moment_player
from components.video_library import format_timestamp

__all__ = ["linked_answer", "render_moment_player", "render_sources"]

_CITATION = re.compile(r"\[(\d{1,2})\]")


def linked_answer(text: str, citations: Sequence[Citation], *, quoted: bool) -> str:
    """Markdown of an answer whose ``[n]`` markers link to the cited moment.

    Args:
        quoted: the text is transcript quotes (offline): shown exactly as spoken, never as Markdown.
    """
    by_number = {c.number: c for c in citations}
    parts, last = [], 0
    for match in _CITATION.finditer(text):
        parts.append(inert(text[last:match.start()]) if quoted else text[last:match.start()])
        citation = by_number.get(int(match[1]))
        if citation is None:
            parts.append(inert(match[0]) if quoted else match[0])
        else:
            # The tooltip is a link title, where escapes and entities count too: "&amp;" would show
            # as "&", and a title ending in "\" would escape the closing quote and break the link.
            tip = inert(f"{citation.title} at {format_timestamp(citation.start_seconds)}".replace('"', "'"))
            label = f"\\[{citation.number} · {format_timestamp(citation.start_seconds)}\\]"
            parts.append(f'[{label}]({citation.url} "{tip}")' if citation.url else f"**{label}**")
        last = match.end()
    parts.append(inert(text[last:]) if quoted else text[last:])
    # A quoted answer's paragraphs are separate quotes; keep their blank lines as Markdown breaks.
    return "".join(parts)


def render_sources(citations: Sequence[Citation], *, key: str, on_play: Callable[[Citation], None]) -> None:
    """The sources panel: each cited video, its timestamp (a link where the platform allows) and
    what is said there; "Play here" opens the in-page player at that second."""
    if not citations:
        return
    with st.expander(f"Sources ({len(citations)})", icon=":material/format_quote:"):
        for citation in citations:
            stamp = format_timestamp(citation.start_seconds)
            left, right = st.columns([4, 1], vertical_alignment="center")
            where = f"[{stamp}]({citation.url})" if citation.url else f"`{stamp}`"
            left.markdown(f"**[{citation.number}] {inert(citation.title)}** · {where}  \n"
                          f":gray[{inert(citation.snippet)}]")
            # A callback, not the button's return value: it runs before the page is drawn again,
            # so the player (drawn above the messages) opens on this click.
            right.button("Play", key=f"{key}_play_{citation.number}", icon=":material/play_circle:",
                         help=f"Play the video here from {stamp}", on_click=on_play, args=(citation,))
