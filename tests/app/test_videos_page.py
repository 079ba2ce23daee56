"""The Videos page through AppTest: adding by link, the live library, filters and trash."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import creators, videos
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from tests.app.shown import shown
from tests.app.transactions import page_transactions

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SRT = b"1\n00:00:02,000 --> 00:00:06,000\nGenerators yield values lazily.\n"


@pytest.fixture
def workspace(app_env, monkeypatch, db):
    email = f"videos-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    with db.engine.begin() as conn:
        return creators.ensure_creator(conn, email)


def _videos_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    return at.switch_page("pages/videos.py").run()


def test_an_invalid_youtube_link_is_explained_and_nothing_is_added(workspace, db):
    at = _videos_page()
    at.text_input(key="videos_youtube_link").input("https://vimeo.com/123")
    at.button[0].click().run()  # the YouTube form's submit button comes first
    assert not at.exception
    assert any("not a YouTube, Loom or Mux link" in e.value for e in at.error)
    with db.workspace(workspace) as t:
        assert videos.list_videos(t, include_deleted=True) == []


def test_a_duplicate_youtube_video_is_refused_with_a_re_import_offer(workspace, db):
    with db.workspace(workspace) as t:
        pipeline.add_youtube_video(t, "dQw4w9WgXcQ", title="Original")
    at = _videos_page()
    at.text_input(key="videos_youtube_link").input("https://youtu.be/dQw4w9WgXcQ")
    at.button[0].click().run()
    assert any("'Original' is already in your library" in w.value for w in at.warning)
    assert at.button(key="videos_reimport")
    with db.workspace(workspace) as t:
        assert len(videos.list_videos(t)) == 1


def test_the_library_lists_processed_videos_and_the_trash(workspace, db):
    with db.workspace(workspace) as t:
        video_id = pipeline.add_subtitled_video(
            t, source_type="loom", source="https://www.loom.com/share/0123456789abcdef0123456789abcdef",
            subtitle_bytes=SRT, subtitle_filename="gen.srt", title="Generators")
    run_until_done(db, workspace, LocalEmbedder(), [video_id])

    at = _videos_page()
    table = at.dataframe[0].value
    assert list(table["Title"]) == ["Generators"] and list(table["Status"]) == ["Ready"]
    assert not at.exception

    at.session_state["videos_selected"] = video_id  # as if the row were clicked
    at.run()
    assert not at.exception
    assert any("Generators lazily" in m.value or "Generators yield" in m.value.replace("\\", "")
               for m in at.markdown), "the transcript is shown"
    assert at.button(key="videos_retry").label == "Re-process"

    with db.workspace(workspace) as t:
        videos.soft_delete_video(t, video_id)
    at = _videos_page()
    assert any("in the trash" in i.value for i in at.info)
    at.toggle(key="videos_show_trash").set_value(True).run()
    assert list(at.dataframe[0].value["Title"]) == ["Generators"]


def test_a_playlist_is_listed_and_its_videos_imported_as_one_batch(workspace, db):
    from tests.fakes.ytdlp_pages import FakeVideo, FakeYouTubeSite, route_ytdlp_to

    with FakeYouTubeSite() as site, route_ytdlp_to(site):
        site.add_playlist("PLchronos01", "Python in a week", [
            FakeVideo("aaaaaaaaaa1", "Day 1: lists", 600), FakeVideo("aaaaaaaaaa2", "Day 2: dicts", 720)])
        with db.workspace(workspace) as t:  # one of them is already in the library
            pipeline.add_youtube_video(t, "aaaaaaaaaa2", title="Day 2: dicts")
        at = _videos_page()
        at.text_input(key="videos_playlist_link").input("https://www.youtube.com/playlist?list=PLchronos01")
        at.button[1].click().run()  # the playlist form's "List its videos"
        assert not at.exception and not at.error
        assert any("Python in a week" in m.value and "2 videos" in m.value for m in at.markdown)
        importer = at.button(key="videos_playlist_import")
        assert importer.label == "Import 2 selected videos"
        importer.click().run()

    assert not at.exception
    assert any("already in your library" in w.value for w in at.warning)  # the duplicate is reported
    with db.workspace(workspace) as t:
        titles = sorted(v.title for v in videos.list_videos(t))
    assert titles == ["Day 1: lists", "Day 2: dicts"]


def _restore_conflict(db, workspace) -> tuple[AppTest, uuid.UUID, uuid.UUID]:
    """The same YouTube video added again after its first copy went to the trash; that copy shown."""
    with db.workspace(workspace) as t:
        old = pipeline.add_youtube_video(t, "https://youtu.be/dQw4w9WgXcQ", title="First import")
        videos.soft_delete_video(t, old)
        new = pipeline.add_youtube_video(t, "https://youtu.be/dQw4w9WgXcQ", title="Added again")
    at = _videos_page()
    at.toggle(key="videos_show_trash").set_value(True).run()
    at.session_state["videos_selected"] = old
    at.run()
    at.button(key="videos_restore").click().run()
    assert not at.exception
    assert any("'First import' cannot be restored as it is" in shown(w.value) and "as 'Added again'" in shown(w.value)
               for w in at.warning)
    return at, old, new


def test_restoring_over_a_live_copy_offers_to_replace_it(workspace, db):
    at, old, new = _restore_conflict(db, workspace)
    at.button(key="videos_restore_replace").click().run()
    assert not at.exception
    assert any("Restored" in s.value for s in at.success)
    with db.workspace(workspace) as t:
        assert [v.id for v in videos.list_videos(t)] == [old]
        assert videos.get_video(t, new).is_deleted


def test_restoring_over_a_live_copy_offers_to_delete_the_trashed_one_for_good(workspace, db):
    at, old, new = _restore_conflict(db, workspace)
    at.button(key="videos_delete_for_good").click().run()
    assert not at.exception
    assert any("Deleted for good" in s.value for s in at.success)
    with db.workspace(workspace) as t:
        assert [v.id for v in videos.list_videos(t, include_deleted=True)] == [new]


def _submit(at: AppTest, form: str) -> AppTest:
    next(b for b in at.button if b.proto.form_id == form).click().run()
    assert not at.exception
    return at


def test_a_refused_loom_form_keeps_the_title_link_and_file(workspace, db):
    at = _videos_page()
    at.text_input(key="videos_loom_title").input("Kick-off")
    at.text_input(key="videos_loom_link").input("https://www.loom.com/share/not-a-loom-id")
    _submit(at, "videos_loom_form")
    assert any("Add the video's subtitle file" in e.value for e in at.error)
    assert at.text_input(key="videos_loom_title").value == "Kick-off"
    assert at.text_input(key="videos_loom_link").value == "https://www.loom.com/share/not-a-loom-id"

    at.file_uploader(key="videos_loom_subtitle").upload("talk.srt", SRT, "application/x-subrip")
    _submit(at, "videos_loom_form")
    assert at.error and not any("Add the video's subtitle file" in e.value for e in at.error)
    assert at.text_input(key="videos_loom_title").value == "Kick-off"
    assert at.file_uploader(key="videos_loom_subtitle").value.name == "talk.srt"

    at.text_input(key="videos_loom_link").input("https://www.loom.com/share/0123456789abcdef0123456789abcdef")
    _submit(at, "videos_loom_form")
    assert not at.error
    with db.workspace(workspace) as t:
        assert [v.title for v in videos.list_videos(t)] == ["Kick-off"]
    # Added: the form is empty for the next video.
    assert at.text_input(key="videos_loom_title").value == ""
    assert at.text_input(key="videos_loom_link").value == ""


def test_an_already_in_your_library_warning_goes_when_another_link_is_tried(workspace, db):
    with db.workspace(workspace) as t:
        pipeline.add_youtube_video(t, "dQw4w9WgXcQ", title="Original")
    at = _videos_page()
    at.text_input(key="videos_youtube_link").input("https://youtu.be/dQw4w9WgXcQ")
    _submit(at, "videos_youtube_form")
    assert any("already in your library" in w.value for w in at.warning)

    at.text_input(key="videos_youtube_link").input("https://vimeo.com/123")
    _submit(at, "videos_youtube_form")
    assert any("not a YouTube, Loom or Mux link" in e.value for e in at.error)
    assert not any("already in your library" in w.value for w in at.warning)
    assert "videos_reimport" not in [b.key for b in at.button]
    assert at.text_input(key="videos_youtube_link").value == "https://vimeo.com/123"  # kept to be corrected


def _failed_youtube_video(db, workspace, video_id: str, scenario: str, **options) -> uuid.UUID:
    """A YouTube video whose import failed, through the real client against the fake YouTube."""
    from chronos_data.ingest.youtube import ProxySettings
    from tests.fakes.youtube import FakeYouTube

    with FakeYouTube() as fake:
        fake.scenario(video_id, scenario, **({"tracks": [("de", False)]} if scenario == "ok" else {}))
        with db.workspace(workspace) as t:
            created = pipeline.add_youtube_video(t, video_id, **options)
        run_until_done(db, workspace, LocalEmbedder(), [created], sources=pipeline.Sources(
            youtube_session=fake.session(), proxy=ProxySettings(), ytdlp_fallback=False))
    with db.workspace(workspace) as t:
        assert videos.get_video(t, created).status == "failed"
    return created


def test_a_blocked_youtube_video_takes_its_subtitle_file_from_its_detail_panel(workspace, db):
    video_id = _failed_youtube_video(db, workspace, "blockedPAGE", "request_blocked")
    at = _videos_page()
    at.button(key=f"videos_fix_{video_id}").click().run()  # from the list of failures
    assert not at.exception
    assert any("blocking caption requests" in e.value for e in at.error)
    at.file_uploader(key=f"videos_attach_file_{video_id}").upload("lesson.srt", SRT, "application/x-subrip")
    _submit(at, f"videos_attach_{video_id}")
    with db.workspace(workspace) as t:
        video = videos.get_video(t, video_id)
        assert (video.status, video.error_message, video.transcript_method) == ("pending", None, "subtitle_file")
        assert (video.source_type, video.youtube_video_id) == ("youtube", "blockedPAGE")
        assert video.thumbnail_url == "https://i.ytimg.com/vi/blockedPAGE/hqdefault.jpg"


def test_retry_of_a_failed_youtube_video_takes_other_languages_and_strictness(workspace, db):
    video_id = _failed_youtube_video(db, workspace, "germanPAGEx", "ok", languages=["en"], only_these_languages=True)
    at = _videos_page()
    at.session_state["videos_selected"] = video_id
    at.run()
    assert at.text_input(key=f"videos_recaption_languages_{video_id}").value == "en"
    assert at.checkbox(key=f"videos_recaption_strict_{video_id}").value is True
    at.text_input(key=f"videos_recaption_languages_{video_id}").input("de, en")
    at.checkbox(key=f"videos_recaption_strict_{video_id}").uncheck()
    _submit(at, f"videos_recaption_{video_id}")
    with db.workspace(workspace) as t:
        assert videos.get_video(t, video_id).status == "pending"
        assert pipeline.caption_options(t, video_id) == pipeline.CaptionOptions(("de", "en"), None, False)


def test_re_import_it_now_uses_the_languages_chosen_in_the_form(workspace, db):
    with db.workspace(workspace) as t:
        video_id = pipeline.add_youtube_video(t, "dQw4w9WgXcQ", title="Original", languages=["en"])
    at = _videos_page()
    at.text_input(key="videos_youtube_link").input("https://youtu.be/dQw4w9WgXcQ")
    at.text_input(key="videos_youtube_languages").input("fr, de")
    at.text_input(key="videos_youtube_translate").input("es")
    at.checkbox(key="videos_youtube_strict").check()
    _submit(at, "videos_youtube_form")
    at.button(key="videos_reimport").click().run()
    assert not at.exception
    with db.workspace(workspace) as t:
        assert pipeline.caption_options(t, video_id) == pipeline.CaptionOptions(("fr", "de"), "es", True)


def test_the_page_reads_its_frame_in_one_transaction_and_the_library_in_another(workspace, db):
    with db.workspace(workspace) as t:
        video_id = pipeline.add_subtitled_video(
            t, source_type="loom", source="https://www.loom.com/share/0123456789abcdef0123456789abcdef",
            subtitle_bytes=SRT, subtitle_filename="gen.srt", title="Generators")
    at = _videos_page()
    at.session_state["videos_selected"] = video_id
    # One for what the page draws (whether the library is empty, the selected video's details), one
    # for the list, which refreshes on its own every two seconds while imports run.
    assert len(page_transactions(at, "pages/videos.py")) == 2
    assert at.button(key="videos_retry") and not at.exception


def test_an_analyst_reads_a_video_but_is_offered_no_action(workspace, db, monkeypatch):
    from components import state

    monkeypatch.setattr(state, "can_edit", lambda: False)  # pages then run as the read-only role
    with db.workspace(workspace) as t:
        live = pipeline.add_subtitled_video(
            t, source_type="loom", source="https://www.loom.com/share/0123456789abcdef0123456789abcdef",
            subtitle_bytes=SRT, subtitle_filename="gen.srt", title="Generators")
        trashed = pipeline.add_subtitled_video(
            t, source_type="loom", source="https://www.loom.com/share/" + "ab" * 16,
            subtitle_bytes=SRT, subtitle_filename="old.srt", title="Old generators")
        videos.soft_delete_video(t, trashed)
    for video_id, title in ((live, "Generators"), (trashed, "Old generators")):
        at = AppTest.from_file(APP, default_timeout=60).run()
        at.query_params["video"] = str(video_id)
        at.switch_page("pages/videos.py").run()
        assert not at.exception and [shown(s.value) for s in at.subheader] == [title]
        labels = {b.label for b in at.button}
        assert not labels & {"Restore", "Re-process", "Retry", "Move to trash"}, labels
