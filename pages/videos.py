"""Videos: add videos, watch them get processed, and browse the library."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chronos_data import page_data, uploads, videos
from chronos_data.errors import ChronosError
from chronos_data.ingest import adding, imports, pipeline, sources
from chronos_data.ingest.subtitles import SUBTITLE_EXTENSIONS
from components import layout, state
from components.selection import render_pickable_table
from components.video_library import (
    STATUS_LABELS,
    format_timestamp,
    overall_progress,
    render_transcript,
    status_label,
)

state.require_router()

SUBTITLE_TYPES = [ext.lstrip(".") for ext in SUBTITLE_EXTENSIONS]
st.title("Video library")


def _queued(message: str) -> None:
    """Wake the worker and rerun, so the library (not the empty state) shows the new video."""
    _noted(message)
    st.rerun()


def _noted(message: str) -> None:
    """Wake the worker and leave the note for the next run (from a callback, which reruns anyway)."""
    if worker := state.get_import_worker():
        worker.wake()
    st.session_state["videos_flash"] = message


def _refuse(form: str, message: str, icon: str = ":material/error:") -> None:
    """Keep an add form's error for the run that follows; the form keeps what was typed and chosen."""
    st.session_state[f"videos_{form}_error"] = (message, icon)


def _show_refusal(form: str) -> None:
    if refusal := st.session_state.pop(f"videos_{form}_error", None):
        message, icon = refusal
        st.error(message, icon=icon)


if flash := st.session_state.pop("videos_flash", None):
    st.toast(flash, icon=":material/hourglass_top:")
if restored := st.session_state.pop("videos_restored", None):
    st.success(restored, icon=":material/restore_from_trash:")


def _add_youtube() -> None:
    # Not cleared on submit: a refused link stays in the field to be corrected (see _submit_youtube).
    with st.form("videos_youtube_form"):
        st.text_input("YouTube link or video id", key="videos_youtube_link",
                      placeholder="https://www.youtube.com/watch?v=…")
        left, right = st.columns(2)
        left.text_input("Preferred transcript languages", value="en", key="videos_youtube_languages",
                        help="Language codes in order of preference, e.g. en, de. Manual captions "
                             "come before auto-generated ones; if none exist, the video's own "
                             "language is used.")
        right.text_input("Translate to (optional)", key="videos_youtube_translate",
                         placeholder="e.g. en", help="YouTube translates the captions if it can.")
        st.checkbox("Only these languages (otherwise the video's own language is used)",
                    key="videos_youtube_strict")
        st.form_submit_button("Add video", type="primary", on_click=_submit_youtube)
    _show_refusal("youtube")


def _submit_youtube() -> None:
    # A warning about an earlier link must not stay under this one's outcome.
    st.session_state.pop("videos_duplicate", None)
    get = st.session_state.get
    try:
        with state.workspace() as t:
            chosen = _chosen_captions()
            pipeline.add_youtube_video(t, get("videos_youtube_link") or "", languages=chosen.languages,
                                       translate_to=chosen.translate_to,
                                       only_these_languages=chosen.only_these_languages)
    except pipeline.DuplicateVideo as exc:
        st.session_state["videos_duplicate"] = (str(exc), exc.video_id)
        return
    except ChronosError as exc:
        _refuse("youtube", str(exc))
        return
    st.session_state["videos_youtube_link"] = ""
    _noted("Video queued: its transcript is being fetched.")


def _offer_reimport() -> None:
    duplicate = st.session_state.get("videos_duplicate")
    if not duplicate:
        return
    message, video_id = duplicate
    st.warning(message, icon=":material/content_copy:")
    if st.button("Re-import it now", key="videos_reimport",
                 help="Fetches its captions again, in the languages chosen above"):
        try:
            with state.workspace() as t:
                pipeline.retry_video(t, video_id, captions=_chosen_captions())
        except ChronosError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        del st.session_state["videos_duplicate"]
        _queued("Re-import queued.")


def _chosen_captions() -> pipeline.CaptionOptions:
    """The YouTube form's caption choice, as the creator left it."""
    get = st.session_state.get
    return pipeline.CaptionOptions(
        tuple(code.strip() for code in (get("videos_youtube_languages") or "").split(",")),
        (get("videos_youtube_translate") or "").strip() or None, bool(get("videos_youtube_strict")))


def _subtitled_keys(source_type: str) -> dict[str, str]:
    """The form's widget keys. The file pickers get new keys after a video is added (a file
    picker cannot be emptied through session state); until then, they keep their files."""
    added = st.session_state.get(f"videos_{source_type}_added", 0)
    files = f"_{added}" if added else ""
    return {"title": f"videos_{source_type}_title", "link": f"videos_{source_type}_link",
            "media": f"videos_upload_media{files}", "subtitle": f"videos_{source_type}_subtitle{files}",
            "minutes": f"videos_{source_type}_minutes"}


def _add_subtitled(source_type: str) -> None:
    source = sources.source_for(source_type)
    keys = _subtitled_keys(source_type)
    # Not cleared on submit: after a refusal the title, link and files stay for the next try.
    with st.form(f"videos_{source_type}_form"):
        st.text_input("Title", key=keys["title"])
        if source.link_label:
            st.text_input(source.link_label, key=keys["link"])
        if source.needs_media:
            st.file_uploader("Audio or video file", key=keys["media"],
                             type=[ext.lstrip(".") for ext in uploads.MEDIA_EXTENSIONS],
                             help="Up to 2 GB here. Larger files (pro and enterprise plans): "
                                  "python -m chronos_data import FILE --subtitles FILE.srt")
        optional = " (optional: without one, OpenAI transcribes the audio)" if (
            source.can_transcribe(state.get_settings())) else ""
        st.file_uploader(f"Subtitle file (.srt, .vtt, .sbv or plain text){optional}", type=SUBTITLE_TYPES,
                         key=keys["subtitle"])
        st.number_input("Duration in minutes (used to time a plain-text transcript)", min_value=0.0,
                        step=1.0, key=keys["minutes"])
        st.form_submit_button("Add video", type="primary", on_click=_submit_subtitled, args=(source_type, keys))
    _show_refusal(source_type)


#: The icon of a refusal for a missing file, by the file that is missing.
_MISSING_ICONS = {"subtitle": ":material/subtitles:", "media": ":material/upload_file:"}


def _submit_subtitled(source_type: str, keys: dict[str, str]) -> None:
    get = st.session_state.get
    form = adding.VideoForm(source_type, title=get(keys["title"]) or "", link=get(keys["link"]) or "",
                            media=get(keys["media"]), subtitle=get(keys["subtitle"]), minutes=get(keys["minutes"]) or 0.0)
    db = state.get_database()
    try:
        adding.add_video(db, state.current_creator_id(db), state.get_settings(), form, read_only=not state.can_edit())
    except adding.MissingFile as exc:
        _refuse(source_type, str(exc), _MISSING_ICONS[exc.needed])
        return
    except ChronosError as exc:
        if isinstance(exc, pipeline.DuplicateVideo):
            st.session_state["videos_selected"] = exc.video_id  # the copy already there is shown below
        _refuse(source_type, str(exc))
        return
    # Added: an empty form for the next video.
    st.session_state[keys["title"]] = ""
    if sources.source_for(source_type).link_label:
        st.session_state[keys["link"]] = ""
    st.session_state[keys["minutes"]] = 0.0
    st.session_state[f"videos_{source_type}_added"] = st.session_state.get(f"videos_{source_type}_added", 0) + 1
    _noted("Video queued: its transcript is being indexed.")


def _add_videos(expanded: bool) -> None:
    with st.expander("Add videos", expanded=expanded, icon=":material/add_circle:"):
        # A platform reached by a link whose transcript comes as a subtitle file (Loom, Mux, …) gets
        # a tab of its own from the registry.
        linked = [source for source in sources.all_sources() if source.hosts and not source.fetches_transcript]
        youtube, playlist, *linked_tabs, upload, bulk = st.tabs(
            ["YouTube", "Playlist or channel", *(source.label for source in linked), "Upload a file", "CSV of links"])
        with youtube:
            _add_youtube()
            _offer_reimport()
        with playlist:
            _add_playlist()
        for source, tab in zip(linked, linked_tabs, strict=True):
            with tab:
                _add_subtitled(source.name)
        with upload:
            _add_subtitled("upload")
        with bulk:
            _add_csv()


def _add_playlist() -> None:
    with st.form("videos_playlist_form"):
        link = st.text_input("Playlist or channel link", key="videos_playlist_link",
                             placeholder="https://www.youtube.com/playlist?list=… or https://www.youtube.com/@channel")
        listed = st.form_submit_button("List its videos")
    if listed:
        try:
            with st.spinner("Listing the videos (no media is downloaded)…"):
                st.session_state["videos_listing"] = imports.list_playlist(link)
        except ChronosError as exc:
            st.error(str(exc), icon=":material/error:")
            return
    listing = st.session_state.get("videos_listing")
    if listing is None:
        return
    if not listing.videos:
        st.info(f"{listing.title} has no public videos to import.")
        return
    st.markdown(f"**{layout.inert(listing.title)}**: {layout.plural(len(listing.videos), 'video')}. "
                "Untick the ones to leave out.")
    edited = st.data_editor(
        [{"Import": True, "Title": v.title,
          "Duration": format_timestamp(v.duration_seconds) if v.duration_seconds else "", "Link": v.url}
         for v in listing.videos],
        key="videos_listing_editor", hide_index=True, width="stretch", disabled=["Title", "Duration", "Link"],
        column_config={"Import": st.column_config.CheckboxColumn("Import"),
                       "Link": st.column_config.LinkColumn("Link", display_text="open")},
    )
    chosen = [listing.videos[i] for i, row in enumerate(edited) if row["Import"]]
    if st.button(f"Import {layout.plural(len(chosen), 'selected video')}", key="videos_playlist_import", type="primary",
                 disabled=not chosen):
        with state.workspace() as t:
            results = imports.queue_imports(t, state.get_settings(), [
                imports.ImportRequest(source=v.url, title=v.title) for v in chosen])
        refused = [r for r in results if r.video_id is None]
        if refused:
            st.session_state["videos_refused"] = [(r.source, r.error) for r in refused]
        del st.session_state["videos_listing"]
        _queued(f"{len(results) - len(refused)} of {layout.plural(len(results), 'video')} queued.")


def _add_csv() -> None:
    with st.form("videos_csv_form", clear_on_submit=True):
        st.caption("One YouTube link per row, in a column named url (an optional title column names the videos).")
        sheet = st.file_uploader("CSV file", type=["csv"], key="videos_csv_file")
        submitted = st.form_submit_button("Import all", type="primary")
    if not submitted:
        return
    if sheet is None:
        st.error("Choose a CSV file with one video link per row.", icon=":material/upload_file:")
        return
    try:
        with state.workspace() as t:
            results = imports.queue_imports(t, state.get_settings(), imports.parse_csv(sheet.getvalue()))
    except ChronosError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    refused = [r for r in results if r.video_id is None]
    if refused:
        st.session_state["videos_refused"] = [(r.source, r.error) for r in refused]
    _queued(f"{len(results) - len(refused)} of {layout.plural(len(results), 'video')} queued.")


def _show_refused() -> None:
    refused = st.session_state.pop("videos_refused", None)
    if refused:
        st.warning("These rows were not imported:\n\n" + "\n".join(f"- `{source}`: {error}" for source, error in refused),
                   icon=":material/rule:")


def _filters() -> dict:
    trash = st.toggle("Show trash", key="videos_show_trash")
    left, middle, right = st.columns([2, 2, 3])
    statuses = left.multiselect("Status", list(STATUS_LABELS), format_func=STATUS_LABELS.get,
                                key="videos_filter_status")
    sources = middle.multiselect("Source", list(videos.SOURCE_TYPES), key="videos_filter_source")
    query = right.text_input("Search titles and transcripts", key="videos_filter_query")
    return {"only_deleted": trash, "statuses": statuses, "source_types": sources, "query": query}


@st.fragment(run_every=2)
def _library(filters: dict, drawn_pick: object) -> None:
    """The list, refreshed every two seconds. ``drawn_pick`` is the selection when the page last ran
    whole: a click that changes it reruns the page, whose details panel is outside this fragment."""
    with state.workspace() as t:
        library = videos.list_videos(t, **filters)
    if not library:
        st.info("No videos match these filters." if any(filters.values())
                else "All your videos are in the trash; turn on Show trash to restore them.")
        return
    ready = sum(v.status == "completed" for v in library)
    busy = sum(v.in_progress for v in library)
    failed = sum(v.status == "failed" for v in library)
    st.markdown(f"**{ready} ready** · {busy} in progress · {failed} failed")
    rows = pd.DataFrame([{
        "id": v.id, "Title": v.title, "Source": v.source_type, "Status": status_label(v),
        "Progress": None if v.status == "failed" else overall_progress(v),
        "Duration": format_timestamp(v.duration_seconds) if v.duration_seconds else "",
        "Language": ((v.transcript_language or "") + (" (auto)" if v.transcript_is_generated else ""))
        if v.transcript_method else "",
        "Problem": v.error_message or "", "Added": v.created_at,
    } for v in library])
    # Kept by id: the list refreshes itself and filters reorder it, so a row position would soon
    # name another video.
    picked, _ = render_pickable_table(
        rows, id_column="id", key="videos_table", pick_key="videos_selected",
        column_config={"Progress": st.column_config.ProgressColumn("Progress", min_value=0, max_value=1, format="percent"),
                       "Added": st.column_config.DatetimeColumn("Added", format="D MMM YYYY, HH:mm")})
    if picked is not None and str(picked) != str(drawn_pick):
        st.rerun()
    if any(v.in_progress for v in library):
        st.caption("Processing runs in the background; this list updates by itself.")
    _failures([v for v in library if v.status == "failed" and not v.is_deleted])


def _failures(failed: list[videos.Video]) -> None:
    """Each failed video says why, with a one-click retry."""
    if not failed:
        return
    with st.expander(f"{len(failed)} failed: why, and retry", expanded=True, icon=":material/error:"):
        for video in failed:
            text, button = st.columns([6, 1])
            text.markdown(f"**{layout.inert(video.title)}**: {layout.inert(video.error_message or 'Import failed.')}")
            if not state.can_edit():
                continue
            if button.button("Retry", key=f"videos_retry_{video.id}", icon=":material/refresh:"):
                with state.workspace() as t:
                    pipeline.retry_video(t, video.id, refetch=True)
                _queued("Queued again.")
            if button.button("Fix", key=f"videos_fix_{video.id}", icon=":material/build:",
                             help="Other caption languages, or the video's subtitle file"):
                st.session_state["videos_selected"] = video.id
                st.rerun()


def _restore(video_id, *, replace_live_copy: bool = False) -> None:
    try:
        with state.workspace() as t:
            videos.restore_video(t, video_id, replace_live_copy=replace_live_copy)
    except videos.LiveCopyExists as exc:
        # Kept until the creator chooses: the choice is drawn on the runs that follow.
        st.session_state["videos_copy_conflict"] = (video_id, str(exc))
        st.rerun()
    st.session_state.pop("videos_copy_conflict", None)
    st.session_state["videos_restored"] = "Restored." if not replace_live_copy else \
        "Restored; the copy that was in your library is in the trash now."
    st.rerun()


def _offer_copy_choice(video_id) -> None:
    """When the same YouTube video was added again since this copy went to the trash: keep one."""
    conflict = st.session_state.get("videos_copy_conflict")
    if not conflict or conflict[0] != video_id:
        return
    st.warning(layout.inert(conflict[1]), icon=":material/content_copy:")
    replace, discard, cancel = st.columns([2, 2, 1])
    if replace.button("Replace the library's copy with this one", key="videos_restore_replace", type="primary"):
        _restore(video_id, replace_live_copy=True)
    if discard.button("Keep the library's copy; delete this one for good", key="videos_delete_for_good",
                      help="This copy's transcript and viewing history are deleted; its lessons play the "
                           "library's copy."):
        try:
            with state.workspace() as t:
                moved = videos.delete_trashed_copy(t, video_id)
        except ChronosError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        st.session_state.pop("videos_copy_conflict", None)
        st.session_state.pop("videos_selected", None)
        st.session_state["videos_restored"] = "Deleted for good" + (
            f"; {layout.plural(moved, 'lesson')} now play the library's copy." if moved else ".")
        st.rerun()
    if cancel.button("Cancel", key="videos_copy_cancel"):
        st.session_state.pop("videos_copy_conflict", None)
        st.rerun()


def _repair(video: videos.Video) -> None:
    """A failed video's two ways forward: other caption languages (YouTube), or its subtitle file."""
    source = sources.source_for(video.source_type)
    if source.fetches_transcript:  # the platform's own captions: another language may exist
        with state.workspace() as t:
            chosen = pipeline.caption_options(t, video.id)
        with st.form(f"videos_recaption_{video.id}"):
            st.markdown("**Try other captions**")
            left, right = st.columns(2)
            languages = left.text_input("Preferred transcript languages", value=", ".join(chosen.languages),
                                        key=f"videos_recaption_languages_{video.id}")
            translate = right.text_input("Translate to (optional)", value=chosen.translate_to or "",
                                         key=f"videos_recaption_translate_{video.id}")
            strict = st.checkbox("Only these languages (otherwise the video's own language is used)",
                                 value=chosen.only_these_languages, key=f"videos_recaption_strict_{video.id}")
            retried = st.form_submit_button("Retry with these captions", icon=":material/refresh:")
        if retried:
            try:
                with state.workspace() as t:
                    pipeline.retry_video(t, video.id, captions=pipeline.CaptionOptions(
                        tuple(code.strip() for code in languages.split(",")), translate.strip() or None, strict))
            except ChronosError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                _queued("Queued again with the new caption choice.")
    with st.form(f"videos_attach_{video.id}"):
        st.markdown("**Use the video's subtitle file instead**" + (
            f" (it keeps its {source.label} thumbnail and links to each moment)" if source.fetches_transcript else ""))
        subtitle = st.file_uploader("Subtitle file (.srt, .vtt, .sbv or plain text)", type=SUBTITLE_TYPES,
                                    key=f"videos_attach_file_{video.id}")
        minutes = st.number_input("Duration in minutes (used to time a plain-text transcript)", min_value=0.0,
                                  step=1.0, key=f"videos_attach_minutes_{video.id}")
        attached = st.form_submit_button("Import with this subtitle file", type="primary",
                                         icon=":material/subtitles:")
    if attached:
        if subtitle is None:
            st.error("Choose the video's subtitle file first.", icon=":material/subtitles:")
            return
        try:
            with state.workspace() as t:
                pipeline.attach_subtitles(t, video.id, subtitle_bytes=subtitle.getvalue(),
                                          subtitle_filename=subtitle.name,
                                          duration_seconds=int(minutes * 60) or None)
        except ChronosError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            _queued("Subtitle file attached: the video is being indexed.")


def _actions(video: videos.Video) -> None:
    """Restore, re-process and move to trash, each confirmed where data could be lost."""
    actions = st.columns(4)
    if video.is_deleted:
        if actions[0].button("Restore", key="videos_restore", icon=":material/restore_from_trash:"):
            _restore(video.id)
        _offer_copy_choice(video.id)
    else:
        if actions[0].button("Retry" if video.status == "failed" else "Re-process", key="videos_retry",
                             icon=":material/refresh:", disabled=video.in_progress):
            with state.workspace() as t:
                pipeline.retry_video(t, video.id, refetch=video.status == "failed")
            _queued("Queued again.")
        if actions[1].button("Move to trash", key="videos_delete", icon=":material/delete:"):
            st.session_state["videos_confirm_delete"] = video.id
        if st.session_state.get("videos_confirm_delete") == video.id:
            st.warning("Move this video to the trash? Lessons using it will show it as missing until you "
                       "restore it.", icon=":material/warning:")
            yes, no = st.columns([1, 5])
            if yes.button("Move to trash", key="videos_delete_confirm", type="primary"):
                with state.workspace() as t:
                    videos.soft_delete_video(t, video.id)
                st.session_state.pop("videos_confirm_delete", None)
                st.session_state.pop("videos_selected", None)
                st.rerun()
            if no.button("Cancel", key="videos_delete_cancel"):
                st.session_state.pop("videos_confirm_delete", None)
                st.rerun()


def _details(details: videos.VideoDetails | None) -> None:
    if details is None:
        if st.session_state.pop("videos_selected", None) is None:  # else: it was deleted meanwhile
            st.caption("Select a video to see its transcript and actions.")
        return
    video = details.video
    st.subheader(video.title)
    facts = [f"**Status:** {status_label(video)}", f"**Source:** {video.source_type}",
             f"**Chunks:** {details.chunk_count}",
             f"**Embedding model:** {', '.join(details.embedding_models) or '–'}"]
    if video.transcript_method:
        facts.append(f"**Transcript:** {video.transcript_method.replace('_', ' ')}")
        facts.append(f"**Cost:** ${details.cost_usd:.2f}")
    st.markdown(" · ".join(facts))
    if video.status == "failed":
        st.error(video.error_message or "Import failed.", icon=":material/error:")
        if not video.is_deleted and state.can_edit():
            _repair(video)
    if state.can_edit():  # an analyst reads the transcript; the actions change the library
        _actions(video)
    render_transcript(video, details.segments)


def _open_linked_video(video: videos.Video) -> None:
    """A link to one video (?video=<id>, from the Courses page's checklist) opens its details, with the
    trash shown when it is there and no filter hiding it. The parameter is dropped (below), so picking
    another row is not undone; a mistyped or foreign id opens nothing."""
    st.session_state["videos_selected"] = video.id
    st.session_state["videos_show_trash"] = video.is_deleted
    for key in ("videos_filter_status", "videos_filter_source"):
        st.session_state[key] = []
    st.session_state["videos_filter_query"] = ""


with state.workspace() as t:
    page = page_data.videos_page(t, st.session_state.get("videos_selected"), st.query_params.pop("video", None))
if page.linked:
    _open_linked_video(page.linked)
has_videos = page.has_videos

if state.can_edit():
    _add_videos(expanded=not has_videos)
    _show_refused()
else:
    layout.render_read_only_note("adding and changing videos")
if not has_videos:
    layout.render_empty_state(
        "Your library is empty",
        "Add a YouTube link above, or a Loom, Mux or uploaded video with its subtitle file. Each "
        "transcript is split into timestamped passages the assistant can cite, usually within seconds.",
    )
else:
    _library(_filters(), st.session_state.get("videos_selected"))
    _details(page.details)
