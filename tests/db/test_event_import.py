"""Importing viewing history: row-by-row validation with line numbers, and no duplicates."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from chronos_data import videos
from chronos_data.errors import ValidationError
from chronos_data.viewing import rollups
from chronos_data.viewing.event_import import import_events

CSV = """type,video,student_email,timestamp,end,percent_complete,watch_time_seconds,device_type,referrer_type
session,Loops,ana@example.com,2026-03-01T10:00:00Z,2026-03-01T10:09:00Z,95,540,desktop,course_page
video_started,Loops,ana@example.com,2026-03-01T10:00:00Z,,,,desktop,
video_completed,loops,ANA@example.com,2026-03-01T10:09:00,,95,540,,
video_started,Nope,ben@example.com,2026-03-01T11:00:00Z,,,,,
video_started,Loops,not-an-email,2026-03-01T11:00:00Z,,,,,
session,Loops,ben@example.com,yesterday,,,,,
session,Loops,ben@example.com,2026-03-02T11:00:00Z,2026-03-02T10:00:00Z,,,,
video_progress,Loops,ben@example.com,2026-03-02T11:00:00Z,,140,,,
video_started,Loops,ben@example.com,2026-03-02T11:00:00Z,,,,fridge,
video_paused,Loops,ben@example.com,2026-03-02T11:00:00Z,,,,,
"""


@pytest.fixture
def loops(t):
    video = videos.create_video(t, title="Loops", source_type="loom", source_id=uuid.uuid4().hex,
                                duration_seconds=600)
    videos.set_status(t, video, "completed")
    return video


def test_good_rows_are_kept_and_bad_ones_reported_by_line(t, loops):
    report = import_events(t, CSV.encode(), "export.csv")
    assert (report.kept, report.duplicates, report.rejected_count, report.students_added) == (3, 0, 7, 1)
    assert report.rejected == [
        (5, "no video 'Nope' in this workspace"),
        (6, "student_email 'not-an-email' is not an e-mail address"),
        (7, "timestamp 'yesterday' is not an ISO 8601 time such as 2026-03-01T14:05:00Z"),
        (8, "end is before timestamp"),
        (9, "percent_complete 140 is outside 0–100"),
        (10, "device_type 'fridge' is not one of desktop, mobile, tablet"),
        (11, "type 'video_paused' is not 'session' or an event type (video_imported, video_transcribed, "
             "video_embedded, video_added_to_course, video_started, video_progress, video_completed, "
             "video_rewatched)"),
    ]
    session = t.conn.execute(sa.text("SELECT watch_time_seconds, completed FROM video_watch_sessions "
                                     "WHERE video_id = :v"), {"v": loops}).one()
    assert tuple(session) == (540, True)


def test_a_title_two_videos_share_is_refused_and_the_id_still_works(t, loops):
    twin = videos.create_video(t, title="loops", source_type="loom", source_id=uuid.uuid4().hex, duration_seconds=60)
    rows = (f"type,video,student_email,timestamp\nvideo_started,Loops,ana@example.com,2026-03-01T10:00:00Z\n"
            f"video_started,{twin},ana@example.com,2026-03-01T10:00:00Z\n")
    report = import_events(t, rows.encode(), "export.csv")
    assert report.rejected == [(2, "more than one video is titled 'Loops': name it by its id or YouTube id")]
    assert report.kept == 1
    kept = t.conn.execute(sa.text("SELECT video_id FROM video_analytics_events WHERE creator_id = :c"),
                          {"c": t.creator_id}).scalars().all()
    assert kept == [twin]  # never the other 'Loops'


def test_importing_the_same_file_again_adds_nothing(t, loops):
    import_events(t, CSV.encode(), "export.csv")
    again = import_events(t, CSV.encode(), "export.csv")
    assert (again.kept, again.duplicates, again.students_added) == (0, 3, 0)
    assert t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events WHERE video_id = :v "
                                  "AND metadata ? 'import_key'"), {"v": loops}).scalar_one() == 2


def test_json_lines_import_and_marks_days_for_the_rollup(t, loops):
    rollups.rollup(t, days=[__import__("datetime").date(2026, 3, 1)])
    lines = [json.dumps({"type": "video_started", "video": str(loops), "student_email": "cem@example.com",
                         "timestamp": "2026-03-01T08:00:00+02:00"}), "{broken", "[1, 2]", ""]
    report = import_events(t, "\n".join(lines).encode(), "events.jsonl")
    assert report.kept == 1 and report.rejected[0][0] == 2 and "not valid JSON" in report.rejected[0][1]
    assert report.rejected[1] == (3, "not a JSON object")
    assert [d.isoformat() for d in rollups.pending_days(t)][0] == "2026-03-01"


@pytest.mark.parametrize("data, name, message", [
    (b"video,student\nx,y\n", "a.csv", "no 'type' column"),
    (b"\xff\xfe\x00bad", "a.csv", "not UTF-8"),
    (b"type\n", "a.csv", "no rows"),
    (b"{}", "a.xlsx", "neither .csv nor .jsonl"),
])
def test_unreadable_files_are_refused_whole(t, data, name, message):
    with pytest.raises(ValidationError, match=message):
        import_events(t, data, name)
