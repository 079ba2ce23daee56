"""``python -m chronos_data``: the same functions as the pages, for scripts and cron jobs."""

from __future__ import annotations

import json
import uuid

import pytest

from chronos_data import cli, videos
from chronos_data.migrations import discover
from tests.conftest import new_creator

LATEST = discover()[-1].filename


@pytest.fixture
def env(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)


def test_status_json_reports_database_schema_and_workspace_rows(env, capsys):
    email = f"cli-{uuid.uuid4().hex[:6]}@example.com"
    assert cli.main(["status", "--json", "--creator", email]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["workspace"]["email"] == email
    assert report["workspace"]["rows"]["videos"] == 0 and "video_analytics_events" in report["workspace"]["rows"]
    assert report["database"]["kind"] == "url" and report["database"]["pgvector_version"]
    assert report["database"]["schema_version"] == LATEST and report["database"]["pending_migrations"] == []


def test_status_text_is_for_people(env, capsys):
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"schema version: {LATEST}" in out and "local@chronos.localhost" in out


def test_migrate_on_a_migrated_database_applies_nothing(env, capsys):
    assert cli.main(["migrate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["applied_now"] == [] and report["pending"] == [] and len(report["applied"]) >= 10


def test_migrate_on_an_empty_database_applies_everything(fresh_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    assert cli.main(["migrate"]) == 0
    assert "applied now: 001_extensions.sql" in capsys.readouterr().out


def test_an_error_is_one_line_and_a_non_zero_exit(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:secret@127.0.0.1:1/db")
    assert cli.main(["status"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("error: Nothing accepts")
    assert "secret" not in captured.err
    assert cli.main(["status", "--json"]) == 1
    assert "Nothing accepts" in json.loads(capsys.readouterr().out)["error"]


SRT = b"1\n00:00:00,000 --> 00:00:04,000\nLoops repeat work until a condition changes.\n"


def test_import_a_subtitle_file_waits_and_reports_the_video(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path / "data"))
    lesson = tmp_path / "loops.srt"
    lesson.write_bytes(SRT)
    email = f"cli-import-{uuid.uuid4().hex[:6]}@example.com"

    assert cli.main(["import", str(lesson), "--title", "Loops", "--json", "--creator", email]) == 0

    [video] = json.loads(capsys.readouterr().out)["videos"]
    assert (video["title"], video["status"], video["error"]) == ("Loops", "completed", None)
    assert cli.main(["status", "--json", "--creator", email]) == 0
    assert json.loads(capsys.readouterr().out)["workspace"]["rows"]["video_chunks"] == 1


def test_a_worker_process_empties_the_import_queue(fresh_url, tmp_path, capsys, monkeypatch):
    # A database of its own: a worker serves every creator's queue, and the session's shared database
    # holds the videos other tests left queued (a run spent minutes importing them).
    from chronos_data.config import Settings
    from chronos_data.db import open_database
    from chronos_data.ingest.imports import ImportRequest, queue_imports

    monkeypatch.setenv("DATABASE_URL", fresh_url)
    monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path / "data"))
    lesson = tmp_path / "loops.srt"
    lesson.write_bytes(SRT)
    db = open_database(Settings.from_env())
    try:
        creator = new_creator(db)
        with db.workspace(creator) as t:
            [queued] = queue_imports(t, Settings.from_env(), [ImportRequest(source=str(lesson), title="Loops")])
        assert cli.main(["worker", "--until-idle", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["processed"] == 1
        with db.workspace(creator) as t:
            assert videos.get_video(t, queued.video_id).status == "completed"
        assert cli.main(["worker", "--until-idle", "--json"]) == 0  # nothing left: a no-op
        assert json.loads(capsys.readouterr().out)["processed"] == 0
    finally:
        db.dispose()


def test_import_of_a_youtube_link_with_subtitles_uses_the_file_for_a_failed_and_a_new_video(
        env, db, tmp_path, capsys, monkeypatch):
    from chronos_data import creators
    from chronos_data.embeddings import LocalEmbedder
    from chronos_data.ingest import pipeline, youtube
    from chronos_data.ingest.worker import run_until_done
    from tests.fakes.youtube import FakeYouTube

    monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path / "data"))
    lesson = tmp_path / "loops.srt"
    lesson.write_bytes(SRT)
    email = f"cli-yt-{uuid.uuid4().hex[:6]}@example.com"
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    blocked, fresh = "potokenAAAA", "potokenBBBB"
    with FakeYouTube() as fake:
        fake.scenario(blocked, "po_token_required")
        fake.scenario(fresh, "po_token_required")
        # The command's own worker reaches YouTube (for the title) through the module's session.
        real_session = youtube.TimeoutSession
        monkeypatch.setattr(youtube, "TimeoutSession", lambda *a, **kw: fake.install(real_session(*a, **kw)))
        with db.workspace(creator) as t:
            failed = pipeline.add_youtube_video(t, blocked)
        run_until_done(db, creator, LocalEmbedder(), [failed], sources=pipeline.Sources(
            youtube_session=fake.session(), proxy=youtube.ProxySettings(), ytdlp_fallback=False))
        with db.workspace(creator) as t:
            assert "proof-of-origin token" in videos.get_video(t, failed).error_message

        fake.clear()
        code = cli.main(["import", f"https://youtu.be/{blocked}", f"https://www.youtube.com/watch?v={fresh}&t=5",
                         "--subtitles", str(lesson), "--json", "--creator", email])
        report = json.loads(capsys.readouterr().out)
        assert code == 0, report
        assert fake.requests_to("/youtubei/v1/player") == []  # YouTube's captions were not asked for again
        assert len(fake.requests_to("/oembed")) == 2
    assert [v["status"] for v in report["videos"]] == ["completed", "completed"]
    assert report["videos"][0]["id"] == str(failed)  # the failed copy, not a second one
    with db.workspace(creator) as t:
        for video_id, key in ((failed, blocked), (uuid.UUID(report["videos"][1]["id"]), fresh)):
            video = videos.get_video(t, video_id)
            assert (video.source_type, video.youtube_video_id, video.transcript_method) == \
                ("youtube", key, "subtitle_file")
            assert video.thumbnail_url and not video.title.startswith("YouTube video")
        assert len(videos.list_videos(t)) == 2


def test_import_reports_each_refused_source_and_exits_non_zero(env, tmp_path, capsys):
    email = f"cli-bad-{uuid.uuid4().hex[:6]}@example.com"
    code = cli.main(["import", "https://www.loom.com/share/0123456789abcdef0123456789abcdef", "not-a-link",
                     "--json", "--creator", email])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and "2 of 2 imports did not complete" in report["error"]
    assert [v["status"] for v in report["videos"]] == ["refused", "refused"]
    assert "--subtitles" in report["videos"][0]["error"] and "not a YouTube" in report["videos"][1]["error"]


def test_reembed_requeues_and_finishes_every_video(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path / "data"))
    lesson = tmp_path / "loops.srt"
    lesson.write_bytes(SRT)
    email = f"cli-reembed-{uuid.uuid4().hex[:6]}@example.com"
    assert cli.main(["import", str(lesson), "--creator", email, "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["reembed", "--creator", email, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"model": "all-MiniLM-L6-v2", "videos": 1}


def test_ask_answers_from_the_workspace_with_cited_moments(env, tmp_path, capsys):
    email = f"ask-{uuid.uuid4().hex[:6]}@example.com"
    subtitles = tmp_path / "loops.srt"
    subtitles.write_bytes(SRT + b"\n2\n00:00:04,000 --> 00:00:09,000\nA while loop checks its condition before "
                                b"every pass through the body.\n")
    assert cli.main(["import", "https://www.loom.com/share/00112233445566778899aabbccddeeff", "--subtitles",
                     str(subtitles), "--title", "Loops", "--creator", email, "--json"]) == 0
    capsys.readouterr()

    assert cli.main(["ask", "When does a while loop check its condition?", "--creator", email, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["found"] is True and answer["model"] == "extractive" and uuid.UUID(answer["session_id"])
    citation = next(c for c in answer["citations"] if "while loop" in c["snippet"])
    assert citation["title"] == "Loops" and citation["start_seconds"] == 4 and citation["end_seconds"] >= 9
    assert citation["url"] == "https://www.loom.com/share/00112233445566778899aabbccddeeff?t=4"
    assert {"video_id", "youtube_video_id", "snippet"} <= set(citation)

    assert cli.main(["ask", "and for loops?", "--session", answer["session_id"], "--creator", email]) == 0
    text = capsys.readouterr().out
    assert "[1] Loops at 00:0" in text and answer["session_id"] in text

    assert cli.main(["ask", "How do I bake bread?", "--creator", email, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["found"] is False


def test_ask_refuses_a_bad_scope_in_one_line(env, capsys):
    assert cli.main(["ask", "anything", "--course", "not-an-id"]) == 1
    assert capsys.readouterr().err == "error: 'not-an-id' is not a course id.\n"
    assert cli.main(["ask", "anything", "--course", str(uuid.uuid4()), "--json"]) == 1
    assert "not in this workspace" in json.loads(capsys.readouterr().out)["error"]


def test_demo_then_rollup_and_events_import(env, tmp_path, capsys):
    assert cli.main(["demo", "--students", "30", "--days", "20", "--seed", "5", "--json"]) == 0
    demo = json.loads(capsys.readouterr().out)
    assert demo["students"] == 30 and demo["videos"] == 10 and demo["events"] > 100
    assert cli.main(["rollup", "--creator", demo["email"], "--json"]) == 0
    rolled = json.loads(capsys.readouterr().out)
    assert rolled["days"] and rolled["video_rows"] == 0  # the demo was rolled up already: nothing changes

    export = tmp_path / "events.csv"
    export.write_text("type,video,student_email,timestamp\n"
                      "video_started,SQL joins explained,new@example.com,2026-01-05T10:00:00Z\n"
                      "video_started,No such video,new@example.com,2026-01-05T10:00:00Z\n")
    assert cli.main(["events", "import", str(export), "--creator", demo["email"]]) == 0
    out = capsys.readouterr().out
    assert "kept: 1" in out and "rejected: 1" in out and "line 3: no video 'No such video'" in out
    assert cli.main(["rollup", "--creator", demo["email"], "--since", "2026-01-01"]) == 0
    assert "2026-01-05" in capsys.readouterr().out
    assert cli.main(["rollup", "--since", "last week"]) == 1
    assert "YYYY-MM-DD" in capsys.readouterr().err
    from chronos_data.config import Settings
    from chronos_data.db import open_database
    from chronos_data.demo import remove_demo

    db = open_database(Settings.from_env())
    try:
        assert remove_demo(db, demo["email"])
    finally:
        db.dispose()


def test_import_text_output_is_one_human_line_per_video(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path / "data"))
    lesson = tmp_path / "loops.srt"
    lesson.write_bytes(SRT)
    email = f"cli-text-{uuid.uuid4().hex[:6]}@example.com"

    assert cli.main(["import", str(lesson), "--title", "Loops", "--creator", email]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Ready: Loops  (id ") and lines[1:] == ["1 video imported."]
    assert not any("{" in line or "'status'" in line for line in lines)  # no Python dicts
