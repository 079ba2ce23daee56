"""The collector as a sender sees it: a real service on 127.0.0.1, posting with httpx."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from chronos_data.collector import keys, rows
from chronos_data.collector.writer import Writer
from tests.collector.conftest import make_workspace, run_collector
from tests.waiting import wait_until

NOW = datetime.now(UTC).replace(microsecond=0)


def event(ws, **extra):
    row = {"id": str(uuid.uuid4()), "type": "video_started", "video": str(ws.video),
           "student_email": "ana@example.com", "timestamp": (NOW - timedelta(minutes=5)).isoformat()}
    row.update(extra)
    return row


def jsonl(*rows_) -> str:
    return "\n".join(json.dumps(r) for r in rows_) + "\n"


def count_events(db, creator) -> int:
    with db.workspace(creator) as t:
        return t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events WHERE creator_id = :c"),
                              {"c": creator}).scalar_one()


def test_health_answers_when_the_database_does(collector):
    import httpx

    answer = httpx.get(f"{collector.url}/healthz")
    assert answer.status_code == 200 and answer.json()["ok"] is True


def test_a_json_lines_batch_is_stored_once_and_a_resend_stores_nothing(collector, db, ws):
    batch = jsonl(event(ws), event(ws, type="video_progress", video=ws.youtube_id, percent_complete=50),
                  event(ws, type="video_completed", video=ws.title, student_email="Bo@Example.com"))
    first = collector.post(ws.key, batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": 3, "duplicates": 0, "rejected": []}
    again = collector.post(ws.key, batch)
    assert again.json() == {"stored": 0, "duplicates": 3, "rejected": []}
    assert count_events(db, ws.creator) == 3
    with db.workspace(ws.creator) as t:
        students = t.conn.execute(sa.text("SELECT lower(email) FROM students ORDER BY 1")).scalars().all()
        assert students == ["ana@example.com", "bo@example.com"]
        # The day is marked for the rollup, as the batch path does.
        assert t.conn.execute(sa.text("SELECT stale FROM rollup_days WHERE date = :d"),
                              {"d": (NOW - timedelta(minutes=5)).date()}).scalar_one() is True


def test_a_json_array_keeps_good_rows_and_names_each_bad_one(collector, db, ws):
    bad = [
        event(ws, video="no-such-video"),
        event(ws, type="video_exploded"),
        event(ws, timestamp=(NOW + timedelta(hours=2)).isoformat()),
        event(ws, type="video_progress", percent_complete=140),
        {k: v for k, v in event(ws).items() if k != "id"},
        "not an object",
    ]
    answer = collector.post(ws.key, json.dumps([event(ws), *bad, event(ws, type="video_rewatched")]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stored"] == 2 and body["duplicates"] == 0
    errors = {r["line"]: r["error"] for r in body["rejected"]}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7]
    assert "no video 'no-such-video'" in errors[2]
    assert "type 'video_exploded'" in errors[3]
    assert "in the future" in errors[4]
    assert "percent_complete 140 is outside 0–100" in errors[5]
    assert "id is missing" in errors[6]
    assert "not a JSON object" in errors[7]
    assert count_events(db, ws.creator) == 2


def test_a_missing_unknown_or_revoked_key_gets_401(collector, db, ws):
    line = jsonl(event(ws))
    assert collector.post(None, line).status_code == 401
    assert collector.post("chr_live_" + "x" * 43, line).status_code == 401
    with db.workspace(ws.creator) as t:
        late = keys.create_key(t, "Revoked soon").key
        keys.revoke_key(t, "Revoked soon")
    answer = collector.post(late, line)
    assert answer.status_code == 401 and "missing, unknown or revoked" in answer.json()["error"]
    assert count_events(db, ws.creator) == 0


def test_a_key_writes_only_into_its_own_workspace(collector, db, ws):
    other = make_workspace(db, "other")
    # B's key naming A's video by id, YouTube id and title: no such video in B's workspace.
    answer = collector.post(other.key, jsonl(event(ws), event(ws, video=ws.youtube_id), event(ws, video=ws.title)))
    assert answer.status_code == 200
    assert answer.json()["stored"] == 0 and all("no video" in r["error"] for r in answer.json()["rejected"])
    # The same client ids under A's key are A's own: B's attempt used none of them up.
    ids = [str(uuid.uuid4()) for _ in range(2)]
    assert collector.post(other.key, jsonl(event(other, id=ids[0]), event(other, id=ids[1]))).json()["stored"] == 2
    assert collector.post(ws.key, jsonl(event(ws, id=ids[0]), event(ws, id=ids[1]))).json()["stored"] == 2
    assert count_events(db, ws.creator) == 2 and count_events(db, other.creator) == 2
    with db.workspace(other.creator) as t:
        assert t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events WHERE video_id = :v"),
                              {"v": ws.video}).scalar_one() == 0


def test_bodies_that_cannot_be_read_get_400_and_oversized_ones_413(collector, db, ws):
    assert collector.post(ws.key, b'{"type": "video_started", "video": "\xff\xfe"}\n').status_code == 400
    answer = collector.post(ws.key, "this is not json\nnor this\n")
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]
    assert collector.post(ws.key, "[1, 2").status_code == 400
    too_many = jsonl(*[event(ws) for _ in range(rows.MAX_ROWS + 1)])
    answer = collector.post(ws.key, too_many)
    assert answer.status_code == 413 and "at most 10,000" in answer.json()["error"]
    answer = collector.post(ws.key, "{}\n" * 100_000)  # small rows: the row limit, not the size, refuses it
    assert answer.status_code == 413 and "100,000 rows" in answer.json()["error"]
    huge = b"[" + b" " * (50 * 1024 * 1024) + b"]"
    answer = collector.post(ws.key, huge)
    assert answer.status_code == 413 and "larger than 5 MB" in answer.json()["error"]
    # Without a Content-Length (chunked), reading stops past the limit too.
    answer = collector.post(ws.key, iter([b"[" + b" " * (1024 * 1024)] * 8))  # type: ignore[arg-type]
    assert answer.status_code == 413
    assert count_events(db, ws.creator) == 0
    assert collector.post(ws.key, jsonl(event(ws))).json()["stored"] == 1  # and it keeps serving


def test_browsers_of_the_keys_origins_only_get_cors(collector, ws):
    import httpx

    url = f"{collector.url}/v1/events?key={ws.key}"
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = httpx.options(url, headers={"Origin": "https://school.example.com", **asked})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == "https://school.example.com"
    refused = httpx.options(url, headers={"Origin": "https://evil.example.com", **asked})
    assert "access-control-allow-origin" not in refused.headers
    posted = httpx.post(url, content=jsonl(event(ws)), headers={"Origin": "https://school.example.com"})
    assert posted.status_code == 200 and posted.headers["access-control-allow-origin"] == "https://school.example.com"
    evil = httpx.post(url, content=jsonl(event(ws)), headers={"Origin": "https://evil.example.com"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers


def test_the_snippet_is_served(collector):
    import httpx

    answer = httpx.get(f"{collector.url}/v1/collector.js")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/javascript")


def test_a_viewing_makes_one_watch_session_with_milestones_from_what_was_played(collector, db, ws):
    viewing = str(uuid.uuid4())
    at = NOW - timedelta(minutes=10)
    batch = jsonl(
        event(ws, session=viewing, timestamp=at.isoformat(), device_type="mobile"),
        # Played 0-60 s, then jumped to 540 s and played to 560 s of a 600 s video: 13 % played.
        event(ws, session=viewing, type="video_progress", played=[[0, 60], [540, 560]], duration=600,
              watch_time_seconds=80, timestamp=(at + timedelta(minutes=2)).isoformat()),
    )
    first = collector.post(ws.key, batch)
    assert first.json() == {"stored": 2, "duplicates": 0, "rejected": []}
    assert collector.post(ws.key, batch).json() == {"stored": 0, "duplicates": 2, "rejected": []}
    more = jsonl(event(ws, session=viewing, type="video_progress", played=[[0, 560]], duration=600,
                       watch_time_seconds=600, end=(at + timedelta(minutes=12)).isoformat(),
                       timestamp=(at + timedelta(minutes=11)).isoformat()))
    assert collector.post(ws.key, more).json()["stored"] == 1
    with db.workspace(ws.creator) as t:
        session = t.conn.execute(sa.text(
            "SELECT id, percent_complete, watch_time_seconds, device_type, session_end, completed, session_start "
            "FROM video_watch_sessions")).one()
        assert (session.percent_complete, session.watch_time_seconds, session.device_type) == (93, 600, "mobile")
        assert session.completed and session.session_end is not None and session.session_start == at
        kinds = t.conn.execute(sa.text(
            "SELECT event_type, metadata ->> 'milestone' FROM video_analytics_events "
            "WHERE metadata ->> 'session_id' = :s ORDER BY 1, 2"), {"s": str(session.id)}).all()
    assert [tuple(k) for k in kinds] == [("video_completed", None), ("video_progress", "10"),
                                         ("video_progress", "25"), ("video_progress", "50"),
                                         ("video_progress", "75"), ("video_progress", "90"),
                                         ("video_started", None)]


def test_a_full_queue_gets_429_with_retry_after_and_nothing_is_lost(db):
    """The writer is held up by a lock on the workspace's rollup day; requests past its queue are
    turned away, and what was accepted is written once the lock goes."""
    import concurrent.futures

    ws = make_workspace(db, "busy")
    # The writer must still be waiting on the lock when the second request comes, however slow the
    # machine: with the writer's usual 5 s lock wait it could give up first (503) and empty its queue.
    for running in run_collector(db, Writer(db, queue_rows=3, lock_seconds=600)):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            with db.owner() as conn:
                conn.execute(sa.text("LOCK TABLE chronos.rollup_days IN EXCLUSIVE MODE"))
                first = pool.submit(running.post, ws.key, jsonl(event(ws), event(ws)))
                # The writer has the first request and waits on the lock.
                wait_until(lambda writer=running.writer: writer.queued_rows >= 2, timeout=30, poll=0.01,
                           what="the first request to wait in the writer")
                refused = running.post(ws.key, jsonl(event(ws), event(ws)))
                assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
            assert first.result().json()["stored"] == 2  # written once the lock went
    assert count_events(db, ws.creator) == 2



def test_a_viewing_through_the_collector_is_recorded_as_the_preview_player_records_it(collector, db, ws):
    """The same viewing (play, watch 0:00-1:00, jump to 9:00, watch to 9:20, leave) once from the
    Student preview's player and once through the collector: the same session and the same events."""
    from chronos_data.viewing import watching

    with db.workspace(ws.creator) as t:
        student = t.conn.execute(sa.text("INSERT INTO students (creator_id, email) VALUES (:c, 'pre@example.com') "
                                         "RETURNING id"), {"c": ws.creator}).scalar_one()
        viewing = None
        for kind, position, played in (("play", 0, []), ("progress", 60, [[0, 60]]),
                                       ("seek", 540, [[0, 60]]), ("progress", 560, [[0, 60], [540, 560]])):
            viewing = watching.record_player_event(
                t, {"kind": kind, "viewing": "v1", "position": position, "watched": 80, "duration": 600,
                    "played": played, **({"from": 60} if kind == "seek" else {})},
                viewing, video_id=ws.video, student_id=student)
    session = str(uuid.uuid4())
    collected = collector.post(ws.key, jsonl(
        event(ws, session=session, student_email="col@example.com"),
        event(ws, session=session, student_email="col@example.com", type="video_progress", played=[[0, 60]],
              duration=600, watch_time_seconds=60),
        event(ws, session=session, student_email="col@example.com", type="video_progress",
              played=[[0, 60], [540, 560]], duration=600, watch_time_seconds=80)))
    assert collected.json()["stored"] == 3
    with db.workspace(ws.creator) as t:
        shown = t.conn.execute(sa.text(
            "SELECT st.email, s.percent_complete, s.watch_time_seconds, s.completed, s.metadata -> 'played' AS played, "
            "  array(SELECT e.event_type || coalesce(':' || (e.metadata ->> 'milestone'), '') FROM video_analytics_events e "
            "        WHERE e.metadata ->> 'session_id' = s.id::text ORDER BY 1) AS events "
            "FROM video_watch_sessions s JOIN students st ON st.id = s.student_id ORDER BY st.email")).all()
    (_, *col), (_, *pre) = shown
    assert col == pre
    assert pre[0] == 13 and pre[4] == ["video_progress:10", "video_started"]


def test_a_key_revoked_while_in_use_is_refused_within_the_cache_time(collector, db):
    ws = make_workspace(db, "revoke")
    assert collector.post(ws.key, jsonl(event(ws))).status_code == 200
    with db.workspace(ws.creator) as t:
        assert keys.revoke_key(t, "Site")
    # KEY_CACHE_SECONDS is 10
    answer = wait_until(lambda: (r := collector.post(ws.key, jsonl(event(ws)))).status_code != 200 and r,
                        timeout=30, poll=0.2, what="the revoked key to be refused")
    assert answer.status_code == 401


def test_health_is_503_when_the_database_does_not_answer():
    """A database on a port where nothing listens (a real connection attempt, refused)."""
    import httpx

    from chronos_data.db import Database, create_engine

    nowhere = create_engine("postgresql+psycopg://chronos@127.0.0.1:1/chronos", register_vector=False)
    down = Database(engine=nowhere, owner_engine=nowhere, kind="url", display_url="nowhere")
    for running in run_collector(down, Writer(down)):
        assert httpx.get(f"{running.url}/healthz", timeout=30).status_code == 503
        answer = running.post("chr_live_" + "A" * 43, jsonl({"id": "1"}))
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"


def test_collected_events_show_on_analytics_after_the_next_rollup(collector, db):
    from chronos_data.viewing import dashboards, rollups

    ws = make_workspace(db, "charts")
    day = (NOW - timedelta(days=2)).replace(hour=10)
    batch = jsonl(*[event(ws, student_email=f"s{i}@example.com", timestamp=day.isoformat()) for i in range(3)],
                  event(ws, type="video_completed", student_email="s0@example.com",
                        timestamp=(day + timedelta(minutes=9)).isoformat()))
    assert collector.post(ws.key, batch).json()["stored"] == 4
    with db.workspace(ws.creator) as t:
        rollups.rollup(t)
        frame = dashboards.views_over_time(t, dashboards.Filters(day.date(), day.date()))
    assert frame["views"].tolist() == [3]


def test_a_viewing_reported_by_percent_only_is_counted_from_the_video_s_length(collector, db, ws):
    """A sender that reports only percent_complete (no played ranges, no watch time, no duration):
    the share is taken of the library's length; a video of unknown length refuses it in words."""
    from chronos_data import videos

    with db.workspace(ws.creator) as t:
        unknown = videos.create_video(t, title=f"No length {uuid.uuid4().hex[:6]}", source_type="youtube",
                                      source_id=("N" + uuid.uuid4().hex)[:11])
    viewing, other = str(uuid.uuid4()), str(uuid.uuid4())
    answer = collector.post(ws.key, jsonl(
        event(ws, session=viewing),
        event(ws, session=viewing, type="video_progress", percent_complete=50),
        event(ws, session=other, video=str(unknown)),
        event(ws, session=other, video=str(unknown), type="video_progress", percent_complete=50)))
    result = answer.json()
    assert result["stored"] == 3
    assert [r["line"] for r in result["rejected"]] == [4] and "length" in result["rejected"][0]["error"]
    with db.workspace(ws.creator) as t:
        session = t.conn.execute(sa.text(
            "SELECT id, percent_complete, watch_time_seconds FROM video_watch_sessions WHERE video_id = :v"),
            {"v": ws.video}).one()
        milestones = t.conn.execute(sa.text(
            "SELECT metadata ->> 'milestone' FROM video_analytics_events WHERE metadata ->> 'session_id' = :s "
            "AND event_type = 'video_progress' ORDER BY 1"), {"s": str(session.id)}).scalars().all()
    assert (session.percent_complete, session.watch_time_seconds) == (50, 300)
    assert milestones == ["10", "25", "50"]


REPLAYED = NOW - timedelta(minutes=30)  # when the viewing of the replay tests began


def when(minutes: int) -> str:
    """``minutes`` into the viewing of the replay tests."""
    return (REPLAYED + timedelta(minutes=minutes)).isoformat()


def _assert_the_finished_play_and_the_replay(db, ws) -> None:
    """The first play ended at 100 %; the replay, started 12 minutes in, is its own session at 10 %."""
    with db.workspace(ws.creator) as t:
        sessions = t.conn.execute(sa.text(
            "SELECT session_start, session_end IS NOT NULL AS ended, percent_complete, watch_time_seconds "
            "FROM video_watch_sessions WHERE video_id = :v ORDER BY session_start"), {"v": ws.video}).all()
    assert [tuple(s) for s in sessions] == [(REPLAYED, True, 100, 600),
                                            (REPLAYED + timedelta(minutes=12), False, 10, 60)]


def test_playing_again_after_the_end_under_the_same_session_is_a_new_viewing(collector, db, ws):
    """A sender keeps its session id when the student watches to the end and presses play again:
    the replay is a watch session of its own, and the finished one keeps its end and its progress."""
    viewing = str(uuid.uuid4())
    first = collector.post(ws.key, jsonl(
        event(ws, session=viewing, timestamp=when(0)),
        event(ws, session=viewing, type="video_progress", played=[[0, 600]], duration=600, watch_time_seconds=600,
              timestamp=when(10), end=when(10))))
    assert first.json()["stored"] == 2
    replay = collector.post(ws.key, jsonl(
        event(ws, session=viewing, timestamp=when(12)),
        event(ws, session=viewing, type="video_progress", played=[[0, 60]], duration=600, watch_time_seconds=60,
              timestamp=when(13))))
    assert replay.json() == {"stored": 2, "duplicates": 0, "rejected": []}
    _assert_the_finished_play_and_the_replay(db, ws)


def test_a_workspace_whose_rows_are_locked_gets_503_and_others_are_written(db):
    """One workspace's rows held by another transaction (a rollup, a Whop sync) for longer than the
    writer waits: its request is answered 503 with Retry-After, another workspace's is written."""
    import concurrent.futures

    held, other = make_workspace(db, "held"), make_workspace(db, "free")
    # One writer thread, so a stuck write would hold up every workspace; a short wait keeps the test quick.
    for running in run_collector(db, Writer(db, writers=1, lock_seconds=0.5)):
        assert running.post(held.key, jsonl(event(held))).json()["stored"] == 1  # its day's rollup row exists
        with concurrent.futures.ThreadPoolExecutor(1) as pool, db.owner() as conn:
            conn.execute(sa.text("SELECT 1 FROM chronos.rollup_days WHERE creator_id = :c FOR UPDATE"),
                         {"c": held.creator})
            busy = pool.submit(running.post, held.key, jsonl(event(held)))
            wait_until(lambda writer=running.writer, busy=busy: writer.queued_rows >= 1 or busy.done(),
                       timeout=30, poll=0.01,
                       what="the held workspace's request to reach the writer")
            free = running.post(other.key, jsonl(event(other)))
            refused = busy.result()
        assert free.status_code == 200 and free.json()["stored"] == 1
        assert refused.status_code == 503 and refused.headers["retry-after"].isdigit()
        assert "busy" in refused.json()["error"]
    assert count_events(db, held.creator) == 1 and count_events(db, other.creator) == 1


def test_a_percent_only_row_is_a_share_of_the_video_the_session_is_measured_against(collector, db, ws):
    """The player's duration (300 s) differs from the library's length (600 s): 50 % reported is
    50 % stored, not a quarter (half the player's length measured against the library's)."""
    viewing = str(uuid.uuid4())
    answer = collector.post(ws.key, jsonl(
        event(ws, session=viewing),
        event(ws, session=viewing, type="video_progress", percent_complete=50, duration=300)))
    assert answer.json()["stored"] == 2
    with db.workspace(ws.creator) as t:
        percent = t.conn.execute(sa.text("SELECT percent_complete FROM video_watch_sessions WHERE video_id = :v"),
                                 {"v": ws.video}).scalar_one()
    assert percent == 50


def test_a_replay_whose_rows_come_out_of_order_in_one_request_keeps_each_row_in_its_play(collector, db, ws):
    """A sender flushes its queue out of order: the replay's progress comes before the replay's
    start in the same request. The progress still belongs to the replay, not to the finished play."""
    viewing = str(uuid.uuid4())
    answer = collector.post(ws.key, jsonl(
        event(ws, session=viewing, timestamp=when(0)),
        event(ws, session=viewing, type="video_progress", played=[[0, 600]], duration=600, watch_time_seconds=600,
              timestamp=when(10), end=when(10)),
        event(ws, session=viewing, type="video_progress", played=[[0, 60]], duration=600, watch_time_seconds=60,
              timestamp=when(13)),
        event(ws, session=viewing, timestamp=when(12))))
    assert answer.json()["rejected"] == []
    _assert_the_finished_play_and_the_replay(db, ws)
