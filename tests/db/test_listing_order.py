"""Rows added in one transaction share a timestamp; lists of them still read the same on every run.

Ids are random, so a list ordered by time alone shows such rows in whatever order the database
returns them, and a restored copy (new ids) in another. Each list breaks ties on what the creator sees.
"""

from __future__ import annotations

from chronos_data import students, videos


def test_videos_added_together_list_by_title(t):
    for title in ("Lambdas", "Closures", "Generators", "Async"):
        videos.create_video(t, title=title, source_type="upload", source_id=f"uploads/{title}.mp4")
    assert [v.title for v in videos.list_videos(t)] == ["Async", "Closures", "Generators", "Lambdas"]


def test_students_added_together_list_by_email(t):
    for email in ("dana@example.com", "bo@example.com", "cy@example.com", "al@example.com"):
        students.create_student(t, email)
    assert [s.email for s in students.list_students(t)] == [
        "al@example.com", "bo@example.com", "cy@example.com", "dana@example.com"]
