"""Whop pull sync against a protocol-true fake Whop API (tests/fakes/whop.py), through the real SDK."""

from __future__ import annotations

import dataclasses
import gzip
import importlib
import io
import logging
import uuid

import pytest
import sqlalchemy as sa

from chronos_data import backup, students, videos, whop
from chronos_data.errors import ValidationError
from chronos_data.whop import client as whop_client_module
from tests.conftest import new_creator
from tests.fakes.whop import FakeWhop, WhopCourse, WhopLesson, WhopMember

# The members step's module (the package re-exports the function sync under the name of the module
# that walks the steps, hence the import by name).
whop_members_step = importlib.import_module("chronos_data.whop.sync_students")

YOUTUBE = "dQw4w9WgXcQ"
LOOM = "0123456789abcdef0123456789abcdef"
MUX = "muxPlaybackId0123456789"


def _company() -> str:
    return "biz_" + uuid.uuid4().hex[:12]


def _key() -> str:
    return "apik_" + uuid.uuid4().hex


def _members(n: int = 3) -> list[WhopMember]:
    found = [WhopMember(f"user_{i}", f"member{i}@example.com", f"Member {i}", f"mem_{i}") for i in range(n)]
    found[-1].status = "canceled"
    found[-1].cancellation_reason = "Too expensive"
    return found


def _course() -> WhopCourse:
    return WhopCourse("cors_1", "Git from scratch", [
        ("chap_1", "Basics", [WhopLesson("lesn_yt", "Commits", embed_type="youtube",
                                         embed_id=f"https://www.youtube.com/watch?v={YOUTUBE}"),
                              WhopLesson("lesn_loom", "Branches", embed_type="loom", embed_id=LOOM),
                              WhopLesson("lesn_text", "Cheat sheet", lesson_type="text")]),
        ("chap_2", "Advanced", [WhopLesson("lesn_mux", "Rebase", mux_asset_id="asset_1", mux_playback_id=MUX),
                                WhopLesson("lesn_other", "Not in the library", embed_type="youtube",
                                           embed_id="zzzzzzzzzzz")]),
    ], completions=[("crsli_1", "user_0", "lesn_yt"), ("crsli_2", "user_1", "lesn_mux"),
                    ("crsli_3", "user_0", "lesn_other")])


@pytest.fixture
def fake():
    with FakeWhop(_company(), _key(), members=_members(), courses=[_course()]) as server:
        yield server


@pytest.fixture
def whop_settings(settings, fake):
    return dataclasses.replace(settings, whop_base_url=fake.api_url)


def _library(t) -> dict[str, uuid.UUID]:
    return {
        "yt": videos.create_video(t, title="Commits", source_type="youtube", source_id=YOUTUBE),
        "loom": videos.create_video(t, title="Branches", source_type="loom", source_id=LOOM),
        "mux": videos.create_video(t, title="Rebase", source_type="mux", source_id=MUX),
    }


def _count(t, sql: str) -> int:
    return t.conn.execute(sa.text(sql), {"c": t.creator_id}).scalar_one()


def test_connect_then_sync_brings_members_lessons_and_completions(t, fake, whop_settings):
    library = _library(t)
    # A student known before (by e-mail, with history) is linked, not duplicated.
    before = students.create_student(t, "member1@example.com", "Early bird")
    connection = whop.connect(t, fake.key, fake.company, settings=whop_settings)
    assert connection.company_id == fake.company and connection.last_synced_at is None
    seen = []
    summary = whop.sync(t, seen.append, settings=whop_settings)

    assert summary.complete, summary.stopped
    assert summary.text == ("3 members: 2 new, 1 cancelled; 1 course, 3 lessons matched, 1 unmatched; "
                            "1 course made as a draft (left out until matched: Not in the library); "
                            "2 completions imported")
    assert [p.step for p in seen][0] == "members" and seen[-1].step == "completions"
    rows = t.conn.execute(sa.text("SELECT id, whop_user_id, whop_membership_id, email, name, is_active, last_active_at "
                                  "FROM students WHERE creator_id = :c ORDER BY whop_user_id"), {"c": t.creator_id}).all()
    assert [(r.whop_user_id, r.whop_membership_id, r.email, r.is_active) for r in rows] == [
        ("user_0", "mem_0", "member0@example.com", True), ("user_1", "mem_1", "member1@example.com", True),
        ("user_2", "mem_2", "member2@example.com", False)]
    assert rows[1].id == before and rows[1].name == "Early bird"
    assert all(r.last_active_at is not None for r in rows)

    mapping = {m.whop_lesson_id: m for m in whop.list_lessons(t)}
    assert [m.whop_lesson_id for m in whop.list_lessons(t)] == ["lesn_yt", "lesn_loom", "lesn_text", "lesn_mux",
                                                                "lesn_other"]
    assert mapping["lesn_yt"].video_id == library["yt"] and mapping["lesn_yt"].source == f"youtube {YOUTUBE}"
    assert mapping["lesn_loom"].video_id == library["loom"] and mapping["lesn_mux"].video_id == library["mux"]
    assert mapping["lesn_other"].video_id is None and mapping["lesn_text"].video_id is None
    assert videos.get_video(t, library["yt"]) is not None
    assert t.conn.execute(sa.text("SELECT whop_lesson_id FROM videos WHERE id = :v"),
                          {"v": library["mux"]}).scalar_one() == "lesn_mux"
    events = t.conn.execute(sa.text("SELECT video_id, student_id, metadata->>'import_key' AS key "
                                    "FROM video_analytics_events WHERE creator_id = :c AND event_type = 'video_completed' "
                                    "ORDER BY key"), {"c": t.creator_id}).all()
    by_user = {r.whop_user_id: r.id for r in rows}
    assert [(e.video_id, e.student_id, e.key) for e in events] == [
        (library["yt"], by_user["user_0"], "whop:completion:crsli_1"),
        (library["mux"], by_user["user_1"], "whop:completion:crsli_2")]
    status = whop.status(t)
    assert status.last_summary["text"] == summary.text and status.company_title == "Fake Academy"
    assert not status.resumable and status.last_error is None


def test_a_second_sync_adds_nothing(t, fake, whop_settings):
    _library(t)
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    whop.sync(t, settings=whop_settings)
    counts = [_count(t, f"SELECT count(*) FROM {table} WHERE creator_id = :c")
              for table in ("students", "whop_lessons", "video_analytics_events")]
    again = whop.sync(t, settings=whop_settings)
    assert (again.members, again.new_members, again.cancelled, again.completions) == (3, 0, 0, 0)
    assert [_count(t, f"SELECT count(*) FROM {table} WHERE creator_id = :c")
            for table in ("students", "whop_lessons", "video_analytics_events")] == counts


def test_a_member_who_cancels_turns_inactive_and_is_kept(t, fake, whop_settings):
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    whop.sync(t, settings=whop_settings)
    fake.members[0].status = "expired"
    summary = whop.sync(t, settings=whop_settings)
    assert (summary.new_members, summary.cancelled) == (0, 1)
    assert t.conn.execute(sa.text("SELECT is_active FROM students WHERE creator_id = :c AND whop_user_id = 'user_0'"),
                          {"c": t.creator_id}).scalar_one() is False


def test_rate_limit_is_waited_out_as_retry_after_says(t, fake, whop_settings):
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    fake.clear()
    fake.fail_next(1, 429, retry_after="1", path="/members")
    summary = whop.sync(t, settings=whop_settings)
    assert summary.complete and summary.members == 3
    assert len(fake.requests_to("/api/v1/members")) == 2  # the refused one, then its retry


def test_a_server_error_is_retried(t, fake, whop_settings):
    _library(t)
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    fake.clear()
    fake.fail_next(1, 503, path="/course_lessons/lesn_mux")
    summary = whop.sync(t, settings=whop_settings)
    assert summary.complete and summary.lessons_matched == 3
    assert len(fake.requests_to("/api/v1/course_lessons/lesn_mux")) == 2


def test_a_bad_key_or_company_is_refused_in_words_and_nothing_is_stored(t, fake, whop_settings):
    with pytest.raises(whop.WhopError, match="refused the API key .401.") as refused:
        whop.connect(t, "apik_wrong", fake.company, settings=whop_settings)
    assert refused.value.status == 401
    with pytest.raises(whop.WhopError, match="may not read company biz_other .403.") as other:
        whop.connect(t, fake.key, "biz_other", settings=whop_settings)
    assert fake.key not in str(other.value)
    with pytest.raises(ValidationError, match="starts with biz_"):
        whop.connect(t, fake.key, "my company", settings=whop_settings)
    with pytest.raises(ValidationError, match="empty"):
        whop.connect(t, "  ", fake.company, settings=whop_settings)
    assert whop.status(t) is None
    with pytest.raises(ValidationError, match="not connected to Whop"):
        whop.sync(t, settings=whop_settings)


def test_a_key_revoked_after_connecting_stops_the_sync_with_a_clear_message(t, fake, whop_settings):
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    fake.key = _key()  # revoked on Whop's side
    summary = whop.sync(t, settings=whop_settings)
    assert not summary.complete and "refused the API key (401)" in summary.stopped
    assert "Sync again to resume" in summary.text
    assert whop.status(t).last_error.startswith("Whop refused the API key")


def test_a_sync_cut_mid_pagination_resumes_from_its_cursor(t, monkeypatch, whop_settings, fake):
    monkeypatch.setattr(whop_members_step, "PAGE_SIZE", 2)
    monkeypatch.setattr(whop_client_module, "MAX_RETRIES", 0)  # the cut is not waited out
    fake.members[:] = [WhopMember(f"user_{i}", f"m{i}@example.com", f"M {i}", f"mem_{i}") for i in range(7)]
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    fake.cut("/members", after_pages=2)
    first = whop.sync(t, settings=whop_settings)
    assert not first.complete and "could not be reached" in first.stopped
    assert (first.members, first.new_members) == (4, 4)
    assert whop.status(t).resumable
    fake.heal()
    fake.clear()
    second = whop.sync(t, settings=whop_settings)
    assert second.complete
    assert fake.requests_to("/api/v1/members")[0].param("after") == "4"  # resumed, not started over
    assert (second.members, second.new_members) == (7, 7)  # the counts of the whole sync
    assert _count(t, "SELECT count(*) FROM students WHERE creator_id = :c") == 7
    assert not whop.status(t).resumable


@pytest.mark.timeout(60)
def test_a_list_whose_cursor_does_not_move_stops_the_sync_instead_of_looping(t, whop_settings, fake):
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    fake.clear()  # connecting reads one member to check the key
    fake.stall("/members")
    summary = whop.sync(t, settings=whop_settings)
    assert not summary.complete and "did not move" in summary.stopped, summary.stopped
    assert len(fake.requests_to("/api/v1/members")) == 2  # the first page, and the one that repeated it
    fake.heal()
    assert whop.sync(t, settings=whop_settings).complete


def test_one_workspace_sync_never_writes_into_another(db, settings):
    a, b = new_creator(db, "whop-a"), new_creator(db, "whop-b")
    with (FakeWhop(_company(), _key(), members=_members(), courses=[_course()]) as fake_a,
          FakeWhop(_company(), _key(), members=[WhopMember("user_b", "b@example.com", "B", "mem_b")],
                   courses=[]) as fake_b):
        settings_a = dataclasses.replace(settings, whop_base_url=fake_a.api_url)
        settings_b = dataclasses.replace(settings, whop_base_url=fake_b.api_url)
        with db.workspace(a) as t:
            whop.connect(t, fake_a.key, fake_a.company, settings=settings_a)
        with db.workspace(b) as t:
            whop.connect(t, fake_b.key, fake_b.company, settings=settings_b)
            whop.sync(t, settings=settings_b)
        with db.workspace(a) as t:
            assert _count(t, "SELECT count(*) FROM students WHERE creator_id = :c") == 0
            assert whop.status(t).last_synced_at is None
            # A's company cannot be connected to B as well.
        with db.workspace(b) as t, pytest.raises(ValidationError, match="already connected to another"):
            whop.connect(t, fake_a.key, fake_a.company, settings=settings_a)
        with db.workspace(b) as t:
            assert [s.email for s in students.list_students(t)] == ["b@example.com"]
            assert whop.disconnect(t) and whop.status(t) is None


def test_the_api_key_never_reaches_logs_errors_or_backups(t, fake, whop_settings, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(whop.WhopError) as refused:
        whop.connect(t, fake.key + "x", fake.company, settings=whop_settings)
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    fake.fail_next(1, 500, path="/memberships")
    whop.sync(t, settings=whop_settings)
    stored = t.conn.execute(sa.text("SELECT api_key_encrypted FROM whop_connections WHERE creator_id = :c"),
                            {"c": t.creator_id}).scalar_one()
    assert fake.key.encode() not in bytes(stored)
    out = io.BytesIO()
    backup.export_workspace(t, out)
    exported = gzip.decompress(out.getvalue())
    assert b"whop_connections" not in exported and fake.key.encode() not in exported
    assert bytes(stored) not in exported
    for text in (caplog.text, str(refused.value), repr(whop.status(t)), repr(whop_settings)):
        assert fake.key not in text


def test_a_member_s_changed_e_mail_is_taken_unless_another_student_has_it(t, fake, whop_settings):
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    whop.sync(t, settings=whop_settings)
    students.create_student(t, "taken@example.com", "Someone else")
    fake.members[0].email = "Member0.New@example.com"
    fake.members[1].email = "TAKEN@example.com"
    summary = whop.sync(t, settings=whop_settings)
    emails = dict(t.conn.execute(sa.text("SELECT whop_user_id, email FROM students WHERE creator_id = :c "
                                         "AND whop_user_id IS NOT NULL"), {"c": t.creator_id}).all())
    assert emails == {"user_0": "Member0.New@example.com", "user_1": "member1@example.com",
                      "user_2": "member2@example.com"}
    assert summary.emails_kept == ("member1@example.com",)
    assert "1 e-mail change not taken (the new address is another student's): member1@example.com" in summary.text


def test_a_member_whose_e_mail_whop_sends_blank_keeps_the_one_chronos_knows(t, fake, whop_settings):
    """Whop sends an empty (or blank) e-mail for a member it used to show: not a changed address,
    so the student keeps theirs, and a new member without one is stored without one."""
    whop.connect(t, fake.key, fake.company, settings=whop_settings)
    whop.sync(t, settings=whop_settings)
    fake.members[0].email = ""
    fake.members[1].email = "   "
    fake.members.append(WhopMember("user_9", " ", "Member 9", "mem_9"))
    summary = whop.sync(t, settings=whop_settings)
    assert summary.complete and summary.emails_kept == ()
    emails = dict(t.conn.execute(sa.text("SELECT whop_user_id, email FROM students WHERE creator_id = :c "
                                         "AND whop_user_id IS NOT NULL"), {"c": t.creator_id}).all())
    assert emails == {"user_0": "member0@example.com", "user_1": "member1@example.com",
                      "user_2": "member2@example.com", "user_9": None}
