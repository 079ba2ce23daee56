"""Appending events in batches: stored once, re-sent batches add nothing, bad rows refused whole."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from chronos_data import students, videos
from chronos_data.errors import ValidationError
from chronos_data.viewing import event_batch, rollups
from chronos_data.viewing.event_batch import EventRow, append_events
from tests.conftest import new_creator


def _video(t, title: str = "Loops") -> uuid.UUID:
    video = videos.create_video(t, title=title, source_type="loom", source_id=uuid.uuid4().hex, duration_seconds=600)
    videos.set_status(t, video, "completed")
    return video


def _session(video: uuid.UUID, student: uuid.UUID, at: datetime) -> list[EventRow]:
    """A watched-to-the-end session as a player would send it: started, five milestones, completed."""
    session = str(uuid.uuid4())
    rows = [EventRow("video_started", video, at, student, metadata={"session_id": session, "device": "desktop"})]
    rows += [EventRow("video_progress", video, at, student, metadata={"session_id": session, "milestone": m})
             for m in (10, 25, 50, 75, 90)]
    rows.append(EventRow("video_completed", video, at, student, metadata={"session_id": session}))
    return rows


def _count(t, video: uuid.UUID) -> int:
    return t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events WHERE video_id = :v"),
                          {"v": video}).scalar_one()


AT = datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_a_batch_is_stored_once_and_sending_it_again_stores_nothing(t):
    video = _video(t)
    student = students.create_student(t, "a@example.com")
    batch = _session(video, student, AT) + _session(video, student, AT)
    repeated_milestone = batch[3]  # a player that reports the same milestone twice in one batch
    assert append_events(t, [*batch, repeated_milestone]) == 14
    assert _count(t, video) == 14
    assert append_events(t, batch) == 0
    assert _count(t, video) == 14
    stored = t.conn.execute(sa.text("SELECT creator_id, student_id, \"timestamp\", metadata ->> 'milestone' "
                                    "FROM video_analytics_events WHERE video_id = :v AND event_type = 'video_progress' "
                                    "ORDER BY (metadata ->> 'milestone')::int LIMIT 1"), {"v": video}).one()
    assert tuple(stored) == (t.creator_id, student, AT, "10")


def test_rows_outside_the_once_only_indexes_are_all_kept(t):
    video = _video(t)
    rewatch = EventRow("video_rewatched", video, AT)  # no session_id: nothing says two of them are one
    assert append_events(t, [rewatch, rewatch]) == 2


def test_a_time_without_zone_is_utc_and_no_time_is_now(t):
    video = _video(t)
    append_events(t, [EventRow("video_started", video, datetime(2026, 3, 1, 10)), EventRow("video_started", video)])
    times = t.conn.execute(sa.text("SELECT \"timestamp\" = now() FROM video_analytics_events WHERE video_id = :v "
                                   "ORDER BY \"timestamp\""), {"v": video}).scalars().all()
    assert times == [False, True]
    assert t.conn.execute(sa.text("SELECT min(\"timestamp\") FROM video_analytics_events WHERE video_id = :v"),
                          {"v": video}).scalar_one() == AT


def test_days_already_rolled_up_are_marked_for_the_next_rollup(t):
    video = _video(t)
    rollups.rollup(t, days=[date(2026, 3, 1)])
    assert date(2026, 3, 1) not in rollups.pending_days(t)
    append_events(t, [EventRow("video_started", video, AT, metadata={"session_id": "s1"})])
    assert date(2026, 3, 1) in rollups.pending_days(t)


@pytest.mark.parametrize("bad, message", [
    (lambda video: EventRow("video_paused", video),
     "Event 2: 'video_paused' is not an event type; use one of video_imported, video_transcribed"),
    (lambda video: EventRow("video_started", None), "Event 2 names no video"),
    (lambda video: EventRow("video_started", "not-an-id"), "Event 2: video_id 'not-an-id' is not an id"),
    (lambda video: EventRow("video_started", uuid.uuid4()), "Event 2: video .* is not in this workspace"),
    (lambda video: EventRow("video_started", video, student_id=uuid.uuid4()),
     "Event 2: student .* is not in this workspace"),
    (lambda video: EventRow("video_started", video, metadata={"at": AT}), "Event 2: metadata cannot be stored as JSON"),
    (lambda video: EventRow("video_started", video, timestamp="yesterday"),
     "Event 2: timestamp 'yesterday' is not a date"),
    (lambda video: {"event_type": "video_started", "video_id": video}, "Event 2 is a dict, not an EventRow"),
])
def test_a_bad_row_refuses_the_whole_batch_and_the_transaction_goes_on(t, bad, message):
    video = _video(t)
    with pytest.raises(ValidationError, match=message):
        append_events(t, [EventRow("video_started", video, AT), bad(video), EventRow("video_started", video, AT)])
    assert _count(t, video) == 0
    assert append_events(t, [EventRow("video_started", video, AT)]) == 1  # the transaction is still usable


def test_another_workspaces_video_is_refused(db, t):
    other = new_creator(db, "other")
    with db.workspace(other) as theirs:
        their_video = _video(theirs, "Theirs")
    with pytest.raises(ValidationError, match=f"Event 1: video {their_video} is not in this workspace"):
        append_events(t, [EventRow("video_started", their_video, AT)])
    with db.workspace(other) as theirs:
        assert _count(theirs, their_video) == 0


def test_a_long_batch_is_checked_slice_by_slice_and_numbered_across_slices(t, monkeypatch):
    monkeypatch.setattr(event_batch, "CHECK_ROWS", 3)
    video = _video(t)
    student = students.create_student(t, "a@example.com")
    assert append_events(t, _session(video, student, AT)) == 7
    late = [*_session(video, student, AT), EventRow("video_started", video, student_id=uuid.uuid4())]
    with pytest.raises(ValidationError, match="Event 8: student"):
        append_events(t, late)
    assert _count(t, video) == 7


def test_metadata_is_stored_as_sent_whatever_it_holds(t):
    """The metadata travels as JSON text in a binary COPY: quotes, backslashes, tabs, line breaks,
    any script, numbers and nesting come out as they went in."""
    video = _video(t)
    metadata = {"session_id": "s-1", "note": 'a "quoted"\\path\twith\ttabs\nand lines', "title": "講義 ☕ é",
                "percent_complete": 12.5, "watch_time_seconds": 90, "flags": [True, False, None],
                "nested": {"depth": {"n": -1}}, "empty": ""}
    assert append_events(t, [EventRow("video_started", video, AT, metadata=metadata)]) == 1
    stored = t.conn.execute(sa.text("SELECT metadata FROM video_analytics_events WHERE video_id = :v"),
                            {"v": video}).scalar_one()
    assert stored == metadata
