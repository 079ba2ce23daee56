"""The Insights page through AppTest on a small workspace: one uploaded lecture whose file is stored,
two students asking the assistant about Kubernetes (no lesson covers it: one content-gap suggestion)
and one student asking about sourdough once (unanswered, too lone to be a suggestion)."""

from __future__ import annotations

import urllib.request
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from chronos_data import chat, creators, students, uploads
from chronos_data.db import Database, Workspace
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from tests.rag_eval_set import LECTURES, to_srt

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TUPLES = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")
KUBERNETES = ("How do I deploy my app to Kubernetes?", "How do I run my containers on a Kubernetes cluster?",
              "What do I need to put my application on Kubernetes?")
LONE = "How do I bake sourdough bread?"
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)  # the media server serves the bytes; nothing decodes them here


@dataclass(frozen=True)
class Sample:
    creator: uuid.UUID
    email: str
    video: uuid.UUID
    students: list[uuid.UUID]


def _plant(t: Workspace, student: uuid.UUID, question: str, *, found: bool) -> None:
    """A student's question and an answer stored the way the assistant stores them."""
    session = chat.create_session(t, chat.auto_title(question), student_id=student)
    chat.add_message(t, session, "user", question, metadata={"scope": {}})
    chat.add_message(t, session, "assistant", "An answer.", model="extractive", token_count=0,
                     metadata={"found": found, "query": question})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("insights-page-data")


@pytest.fixture(scope="module")
def workspace(db: Database, embedder, settings, data_dir):
    email = f"insights-page-{uuid.uuid4().hex[:8]}@example.com"
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    stored = uploads.keep_file(replace(settings, data_dir=data_dir), creator, "tuples.mp4", BytesIO(FAKE_MP4))
    with db.workspace(creator) as t:
        video = pipeline.add_subtitled_video(t, source_type="upload", source=stored, subtitle_bytes=to_srt(TUPLES),
                                             subtitle_filename="tuples.srt", title=TUPLES.title)
    run_until_done(db, creator, embedder, [video], timeout=120)
    with db.workspace(creator) as t:
        enrolled = [students.create_student(t, f"student{i}@example.com") for i in range(3)]
        for student, question in zip(enrolled[:2], KUBERNETES[:2], strict=True):
            _plant(t, student, question, found=False)
        _plant(t, enrolled[2], LONE, found=False)
    yield Sample(creator, email, video, enrolled)
    with db.owner() as conn:
        conn.execute(sa.text("DELETE FROM chronos.creators WHERE id = :id"), {"id": creator})


@pytest.fixture
def page(app_env, monkeypatch, workspace, data_dir, db):
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", workspace.email)
    monkeypatch.setenv("CHRONOS_DATA_DIR", str(data_dir))
    yield workspace
    with db.workspace(workspace.creator) as t:  # every test starts from the open suggestion
        t.conn.execute(sa.text("DELETE FROM content_gap_states WHERE creator_id = :c"), {"c": workspace.creator})


def _insights(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at = at.switch_page("pages/insights.py")
    at.query_params.update(query)
    return at.run()


def _gap_card_text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_play_at_plays_the_uploaded_file_at_its_second(page):
    at = _insights()
    at.segmented_control(key="insights_kind").set_value("content_gap").run()
    play = next(b for b in at.button if b.label.startswith("Play the nearest passage at "))
    minutes, seconds = play.label.removeprefix("Play the nearest passage at ").split(":")
    play.click().run()

    assert not at.exception
    [video] = at.get("video")
    assert video.proto.start_time == int(minutes) * 60 + int(seconds)
    assert "own platform" not in "\n".join(i.value for i in at.info)
    # The browser fetches the file by ranges from the media server; Streamlit's media file manager,
    # which holds a played file whole in memory, is not used.
    assert video.proto.url.startswith("http://127.0.0.1:") and "/media/" in video.proto.url
    with urllib.request.urlopen(urllib.request.Request(video.proto.url, headers={"Range": "bytes=4-11"})) as got:
        assert got.status == 206 and got.read() == FAKE_MP4[4:12]
    assert at.segmented_control(key="insights_kind").value == "content_gap"  # playing kept the kind


def test_done_keeps_the_kind_says_when_and_the_empty_state_tells_why(page):
    at = _insights(insights_kind="content_gap")  # a shared link opens on its kind
    assert at.segmented_control(key="insights_kind").value == "content_gap"
    assert "Students keep asking about" in _gap_card_text(at)

    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("insights_done_"))).click().run()

    assert not at.exception
    assert at.segmented_control(key="insights_kind").value == "content_gap"
    assert at.query_params.get("insights_kind") == ["content_gap"] or at.query_params.get("insights_kind") == \
        "content_gap"
    [empty] = at.info
    # Three questions found no answer: two grouped into the (now decided) suggestion, one alone.
    assert empty.value.startswith("3 questions found no answer in any lesson; the suggestion they form is "
                                  "marked done or dismissed")
    at.toggle(key="insights_decided").set_value(True).run()
    today = datetime.now(UTC)
    assert f"Done on {today.day} {today:%b %Y}" in _gap_card_text(at)


def test_a_new_question_shows_on_the_next_page_load(page, db):
    at = _insights(insights_kind="content_gap")
    assert "2 questions from 2 students" in _gap_card_text(at), _gap_card_text(at)
    with db.workspace(page.creator) as t:
        _plant(t, page.students[2], KUBERNETES[2], found=False)
    try:
        at = _insights(insights_kind="content_gap")
        assert "3 questions from 3 students" in _gap_card_text(at), _gap_card_text(at)
    finally:
        with db.workspace(page.creator) as t:
            t.conn.execute(sa.text("DELETE FROM chat_sessions WHERE creator_id = :c AND title = :title"),
                           {"c": page.creator, "title": chat.auto_title(KUBERNETES[2])})


def test_cards_say_their_numbers_in_words_and_the_csv_keeps_them(page):
    at = _insights(insights_kind="content_gap")
    text = _gap_card_text(at)
    assert "The assistant found no passage for any of them" in text
    assert "not found:" not in text and "best similarity" not in text  # no raw dump of the evidence
    assert at.download_button(key="insights_csv")


def test_the_empty_state_counts_unanswered_questions_too_lone_for_a_suggestion(page, db):
    """The defect: "Every question so far was answered" while questions had gone unanswered."""
    with db.workspace(page.creator) as t:
        t.conn.execute(sa.text("DELETE FROM chat_sessions WHERE creator_id = :c AND title = :title"),
                       {"c": page.creator, "title": chat.auto_title(KUBERNETES[1])})
    try:
        at = _insights(insights_kind="content_gap")
        [empty] = at.info
        assert empty.value.startswith("2 questions found no answer in any lesson, but no subject was asked about "
                                      "often enough to suggest a lesson")
    finally:
        with db.workspace(page.creator) as t:
            _plant(t, page.students[1], KUBERNETES[1], found=False)


def _play(source_type: str, source_id: str, second: int) -> None:
    import uuid
    from datetime import UTC, datetime

    from chronos_data.videos import Video
    from components.moment_player import render_moment_player

    now = datetime.now(UTC)
    ids = {"youtube": "youtube_video_id", "loom": "embed_id", "mux": "mux_playback_id"}
    fields = dict(youtube_video_id=None, embed_id=None, mux_playback_id=None)
    fields[ids[source_type]] = source_id
    video = Video(id=uuid.uuid4(), title="A lesson", description=None, url=None, source_type=source_type,
                  status="completed", error_message=None, duration_seconds=600, thumbnail_url=None,
                  storage_path=None, transcript_language="en", transcript_is_generated=False,
                  transcript_method="subtitles", progress=1.0, attempts=1, is_deleted=False, created_at=now,
                  updated_at=now, **fields)
    render_moment_player(video, second)


@pytest.mark.parametrize(("source_type", "source_id", "src"), [
    ("loom", "0123456789abcdef0123456789abcdef", "https://www.loom.com/embed/0123456789abcdef0123456789abcdef?t=42"),
    ("mux", "EcHgOK9coz5K4rjSwOkoE7Y7O01201YMIC200RI6lNxnhs",
     "https://player.mux.com/EcHgOK9coz5K4rjSwOkoE7Y7O01201YMIC200RI6lNxnhs?start-time=42"),
])
def test_the_moment_player_opens_loom_and_mux_at_the_second(source_type, source_id, src):
    at = AppTest.from_function(_play, args=(source_type, source_id, 42)).run()
    assert not at.exception and not at.info
    assert [frame.proto.src for frame in at.get("iframe")] == [src]


def test_the_moment_player_opens_youtube_at_the_second():
    at = AppTest.from_function(_play, args=("youtube", "dQw4w9WgXcQ", 42)).run()
    [video] = at.get("video")
    assert video.proto.start_time == 42 and "dQw4w9WgXcQ" in video.proto.url
