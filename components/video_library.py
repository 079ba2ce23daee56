"""Pieces of the video library: status labels, timestamps, the transcript viewer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from chronos_data.ingest.sources import key_of, moment_url, source_for
from chronos_data.timecode import format_seconds as format_timestamp
from chronos_data.videos import Video
from components.layout import inert, plural
from components.moment_player import render_moment_player

__all__ = ["STATUS_LABELS", "TranscriptPage", "format_timestamp", "render_transcript", "status_label",
           "transcript_page"]

STATUS_LABELS = {
    "pending": "Queued",
    "uploading": "Uploading",
    "transcribing": "Fetching transcript",
    "processing": "Chunking transcript",
    "embedding": "Embedding",
    "completed": "Ready",
    "failed": "Failed",
}
_STAGE_SHARE = {"pending": 0.0, "uploading": 0.05, "transcribing": 0.1, "processing": 0.4, "embedding": 0.5}


def status_label(video: Video) -> str:
    return STATUS_LABELS.get(video.status, video.status)


def overall_progress(video: Video) -> float:
    """0..1 across the whole pipeline, for one progress bar per video."""
    if video.status == "completed":
        return 1.0
    base = _STAGE_SHARE.get(video.status, 0.0)
    return min(0.99, base + (0.5 * video.progress if video.status == "embedding" else 0.0))


TRANSCRIPT_PAGE_LINES = 100  # a page of the transcript viewer: a few minutes of speech, quick to draw


@dataclass(frozen=True)
class TranscriptPage:
    lines: list[tuple[int, float, str]]  # (index in the transcript, start second, text)
    matching: int  # lines that match the search (all of them without one)
    page: int  # 1-based, clamped to 1..pages
    pages: int


def transcript_page(segments: Sequence[tuple[float, float, str]], query: str, page: int,
                    per_page: int = TRANSCRIPT_PAGE_LINES) -> TranscriptPage:
    """One page of the transcript lines whose text holds ``query`` (any case; all lines when empty)."""
    needle = " ".join(query.split()).casefold()
    found = [(index, start, text) for index, (start, _end, text) in enumerate(segments)
             if not needle or needle in " ".join(text.split()).casefold()]
    pages = max(1, math.ceil(len(found) / per_page))
    page = min(max(int(page), 1), pages)
    return TranscriptPage(found[(page - 1) * per_page:page * per_page], len(found), page, pages)


def render_transcript(video: Video, segments: list[tuple[float, float, str]]) -> None:
    """The timed transcript, a page at a time and searchable. A timestamp links to that moment on
    YouTube or Loom; for an upload or a Mux video it opens the player in the page at that second."""
    if not segments:
        st.caption("No transcript stored yet.")
        return
    playing_key = "videos_transcript_playing"
    playing = st.session_state.get(playing_key)
    if playing and playing[0] == video.id:
        with st.container(border=True):
            render_moment_player(video, playing[1])
            st.button("Close player", key="videos_transcript_close", icon=":material/close:",
                      on_click=lambda: st.session_state.pop(playing_key, None))
    find, turn = st.columns([3, 1], vertical_alignment="bottom")
    query = find.text_input("Find in the transcript", key=f"videos_transcript_find_{video.id}",
                            placeholder="a word or phrase")
    pages = transcript_page(segments, query, 1).pages
    # The page number is kept per search: a new search starts on its first page.
    number = turn.number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1,
                               key=f"videos_transcript_page_{video.id}_{hash(query)}")
    shown = transcript_page(segments, query, number)
    if not shown.lines:
        st.caption(f"No line of this transcript says '{query.strip()}'.")
        return
    first, last = shown.lines[0][0] + 1, shown.lines[-1][0] + 1
    where = f"line {first:,}" if first == last else f"lines {first:,}–{last:,}"
    what = f"{plural(shown.matching, 'line')} with '{query.strip()}'" if query.strip() else plural(len(segments), "line")
    st.caption(f"Page {shown.page} of {shown.pages}: {where} of {what}.")
    in_page = not source_for(video.source_type).links_to_moments  # no page elsewhere opens it at a second
    # A scroll box only when the page is long; a short transcript shows whole.
    with st.container(height=420 if len(shown.lines) > 15 else "content", border=True):
        if in_page:
            for index, start, text in shown.lines:
                row = st.container(horizontal=True, gap="small", vertical_alignment="center")
                row.button(format_timestamp(start), key=f"videos_transcript_at_{video.id}_{index}", type="tertiary",
                           help=f"Play from {format_timestamp(start)}",
                           on_click=lambda second=int(start): st.session_state.__setitem__(
                               playing_key, (video.id, second)))
                row.markdown(inert(text))
        else:
            lines = []
            for _index, start, text in shown.lines:
                stamp = format_timestamp(start)
                url = moment_url(video.source_type, key_of(video), start)
                label = f"[`{stamp}`]({url})" if url else f"`{stamp}`"
                lines.append(f"{label} {inert(text)}")
            st.markdown("  \n".join(lines))
