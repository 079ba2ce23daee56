"""Property tests of importing viewing history (CSV and JSON Lines) on the real database.

A good file stores each of its events and sessions exactly once, and importing it again adds
nothing; a file with bad rows keeps exactly its good rows and names each bad row by its line; an
unreadable file is refused whole and stores nothing. Each example runs in a savepoint that is
rolled back, so examples do not see each other's rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chronos_data import videos
from chronos_data.errors import ValidationError
from chronos_data.viewing import rollups
from chronos_data.viewing.analytics import DEVICE_TYPES, EVENT_TYPES, REFERRER_TYPES
from chronos_data.viewing.event_import import import_events
from tests.fuzz._support import DB, INJECTIONS, examples, rolled_back

YOUTUBE_ID = "dQw4w9WgXcQ"
TITLES = ("Loops & <b>Lists</b>", "'; DROP TABLE videos;--")
COLUMNS = ("type", "video", "student_email", "timestamp", "end", "percent_complete", "watch_time_seconds",
           "device_type", "referrer_type")


def _counts(t) -> tuple[int, int, int]:
    return t.conn.execute(sa.text(
        "SELECT (SELECT count(*) FROM video_analytics_events WHERE creator_id = :c), "
        "(SELECT count(*) FROM video_watch_sessions WHERE creator_id = :c), "
        "(SELECT count(*) FROM students WHERE creator_id = :c)"), {"c": t.creator_id}).one()


def _workspace(t) -> dict[str, list[str]]:
    """Two videos, and every way a row may name each: its id, YouTube id, title in any case."""
    youtube = videos.create_video(t, title=TITLES[0], source_type="youtube", source_id=YOUTUBE_ID)
    loom = videos.create_video(t, title=TITLES[1], source_type="loom", source_id=uuid.uuid4().hex)
    # Keyed by a fixed label, not the new ids, so that hypothesis draws the same video on replay.
    return {"youtube": [str(youtube), YOUTUBE_ID, TITLES[0], TITLES[0].upper()],
            "loom": [str(loom), TITLES[1], TITLES[1].lower()]}


_MOMENTS = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2026, 6, 30))
_ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])


def _iso(moment: datetime, zone, style: int) -> str:
    if zone is None:
        return moment.isoformat(sep=" " if style else "T")  # no zone means UTC
    local = moment.replace(tzinfo=UTC).astimezone(zone)
    text = local.isoformat()
    return text.replace("+00:00", "Z") if style else text


@st.composite
def good_rows(draw, names: dict[str, list[str]]) -> list[dict[str, str]]:
    """Rows that are all valid and all different events (kind, video, student and instant)."""
    rows, seen = [], set()
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from([*EVENT_TYPES, "session", "Session"]))
        video = draw(st.sampled_from(sorted(names)))
        local = draw(st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,9}", fullmatch=True))
        email = draw(st.sampled_from([f"{local}@example.com", f"{local.upper()}@Example.COM", f"{local}@школа.рф"]))
        start = draw(_MOMENTS)
        key = (kind.lower(), video, email.lower(), start)
        if key in seen:
            continue
        seen.add(key)
        row = {"type": kind, "video": draw(st.sampled_from(names[video])), "student_email": email,
               "timestamp": _iso(start, draw(_ZONES), draw(st.integers(0, 1)))}
        if draw(st.booleans()):
            row["end"] = _iso(start + timedelta(seconds=draw(st.integers(0, 7200))), draw(_ZONES), 0)
        if draw(st.booleans()):
            row["percent_complete"] = draw(st.sampled_from(["0", "100", "42", "99.5", "1e1"]))
        if draw(st.booleans()):
            row["watch_time_seconds"] = str(draw(st.integers(0, 86_400)))
        if draw(st.booleans()):
            row["device_type"] = draw(st.sampled_from(DEVICE_TYPES))
        if draw(st.booleans()):
            row["referrer_type"] = draw(st.sampled_from(REFERRER_TYPES))
        if draw(st.booleans()):  # a column the import ignores; U+2028 once split a JSON line in two
            row["notes"] = draw(st.sampled_from([*INJECTIONS, "line\u2028separator\x85next"]) | st.text(max_size=8))
        rows.append(row)
    return rows


_DEFECTS = [
    ("type", "video_paused"), ("type", ""), ("type", "<script>alert(1)</script>"),
    ("video", None), ("video", "no such video"), ("video", "'; DROP TABLE students;--"),
    ("student_email", "not-an-email"), ("student_email", ""), ("student_email", "a\x00b@example.com"),
    ("student_email", "x" * 321 + "@example.com"),
    ("timestamp", "yesterday"), ("timestamp", None), ("timestamp", "2026-13-01T00:00:00Z"),
    ("timestamp", "9999-12-31T00:00:00Z"), ("timestamp", "0001-01-01T00:00:00+01:00"),
    ("timestamp", "1969-12-31T23:59:59Z"), ("end", "2000-01-01T00:00:00Z"),
    ("percent_complete", "-1"), ("percent_complete", "101"), ("percent_complete", "NaN"),
    ("percent_complete", "inf"), ("percent_complete", "abc"), ("percent_complete", "1e400"),
    ("watch_time_seconds", "-5"), ("watch_time_seconds", "inf"), ("watch_time_seconds", "nan"),
    ("watch_time_seconds", "1e10"), ("device_type", "fridge"), ("referrer_type", "email"),
]
#: Lines only JSON Lines can hold: not JSON, not an object, half a surrogate pair in a value.
_BAD_JSON_LINES = ["{broken", "[1, 2]", '"text"', "null", "3",
                   '{"type": "video_started", "video": "x", "student_email": "\\ud800@example.com", '
                   '"timestamp": "2026-01-01T00:00:00Z"}']


def _csv(rows: list[dict], *, terminator: str, bom: bool, notes: list[str], quote_all: bool = False
         ) -> tuple[bytes, list[int]]:
    """The rows as CSV with an ignored "notes" column of hostile text, and the line each row ends on."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "notes"], lineterminator=terminator, extrasaction="ignore",
                            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    if not quote_all:  # Python quotes only its own terminator's characters; other writers quote any line break
        notes = [re.sub(r"[\r\n]", " ", note) for note in notes]
    writer.writeheader()
    lines = []
    for row, note in zip(rows, notes, strict=True):
        writer.writerow({k: v for k, v in {**row, "notes": note}.items() if v is not None})
        lines.append(len(re.findall(r"\r\n|\r|\n", out.getvalue())))
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(), lines


def _jsonl(rows: list[dict | str], *, blank: list[bool], newline: str, ascii_only: bool) -> tuple[bytes, list[int]]:
    text, lines = [], []
    for row, gap in zip(rows, blank, strict=True):
        if gap:
            text.append("")
        text.append(row if isinstance(row, str) else json.dumps({k: v for k, v in row.items() if v is not None},
                                                                ensure_ascii=ascii_only))
        lines.append(len(text))
    return newline.join(text).encode(), lines


@st.composite
def files(draw, rows: list[dict | str], allow_json_only: bool = True) -> tuple[bytes, str, list[int]]:
    if draw(st.booleans()) or any(isinstance(r, str) for r in rows):
        data, lines = _jsonl(rows, blank=draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows))),
                             newline=draw(st.sampled_from(["\n", "\r\n", "\r"])), ascii_only=draw(st.booleans()))
        return data, draw(st.sampled_from(["events.jsonl", "EVENTS.NDJSON", "export.json"])), lines
    notes = draw(st.lists(st.sampled_from(INJECTIONS) | st.text(max_size=10), min_size=len(rows), max_size=len(rows)))
    data, lines = _csv(rows, terminator=draw(st.sampled_from(["\r\n", "\n", "\r"])), bom=draw(st.booleans()),
                       notes=notes, quote_all=draw(st.booleans()))
    return data, draw(st.sampled_from(["events.csv", "Export.CSV"])), lines


@settings(DB, max_examples=examples(30))
@given(data=st.data())
def test_a_good_file_stores_each_row_exactly_once_and_again_nothing(t, data):
    with rolled_back(t):
        names = _workspace(t)
        rows = data.draw(good_rows(names))
        payload, filename, _ = data.draw(files(rows))
        before = _counts(t)
        report = import_events(t, payload, filename)
        assert (report.kept, report.duplicates, report.rejected) == (len(rows), 0, [])
        sessions = sum(r["type"].lower() == "session" for r in rows)
        emails = {r["student_email"].lower() for r in rows}
        assert _counts(t) == (before[0] + len(rows) - sessions, before[1] + sessions, before[2] + len(emails))
        assert report.students_added == len(emails)
        once = t.conn.execute(sa.text(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM video_analytics_events WHERE creator_id = :c "
            "AND metadata ? 'import_key' GROUP BY metadata ->> 'import_key') k"), {"c": t.creator_id}).scalar()
        assert once in (None, 1)

        again = import_events(t, payload, filename)
        assert (again.kept, again.duplicates, again.students_added) == (0, len(rows), 0)
        assert _counts(t) == (before[0] + len(rows) - sessions, before[1] + sessions, before[2] + len(emails))


@settings(DB, max_examples=examples(30))
@given(data=st.data())
def test_bad_rows_are_named_by_line_and_only_the_good_rows_are_kept(t, data):
    with rolled_back(t):
        names = _workspace(t)
        good = data.draw(good_rows(names))
        json_lines = data.draw(st.booleans())
        bad: list[dict | str] = []
        for _ in range(data.draw(st.integers(1, 6))):
            if json_lines and data.draw(st.booleans()):
                bad.append(data.draw(st.sampled_from(_BAD_JSON_LINES)))
                continue
            column, value = data.draw(st.sampled_from(_DEFECTS))
            row = {**data.draw(st.sampled_from(good)), column: value}
            if column == "end":
                row["timestamp"] = "2020-01-01T00:00:00Z"
            bad.append(row)
        order = data.draw(st.permutations([(row, False) for row in good] + [(row, True) for row in bad]))
        rows = [row for row, _ in order]
        if json_lines:
            payload, lines = _jsonl(rows, blank=[False] * len(rows), newline="\n", ascii_only=True)
            filename = "events.jsonl"
        else:
            payload, lines = _csv(rows, terminator="\r\n", bom=False, notes=[""] * len(rows))
            filename = "events.csv"
        before = _counts(t)
        report = import_events(t, payload, filename)
        expected_bad = [line for line, (_, is_bad) in zip(lines, order, strict=True) if is_bad]
        assert [line for line, _ in report.rejected] == expected_bad
        assert all(message.strip() and "Traceback" not in message for _, message in report.rejected)
        assert report.kept + report.duplicates == len(good)
        sessions = sum(r["type"].lower() == "session" for r in good)
        assert _counts(t)[:2] == (before[0] + len(good) - sessions, before[1] + sessions)
        rollups.rollup(t)  # the days it marked roll up (9999-12-31 had no next day)


@settings(DB, max_examples=examples(40))
@given(st.one_of(st.binary(max_size=300),
                 st.text(max_size=200).map(lambda s: s.encode("utf-8")),
                 st.lists(st.sampled_from([",".join(COLUMNS), "type", "session,x,a@b.c,2026-01-01", "\r", "\n",
                                           '"', "\x00", "a" * 140_000, "{}", "{\"type\": 1}"]), max_size=6)
                 .map(lambda parts: "\n".join(parts).encode())),
       st.sampled_from(["a.csv", "a.jsonl", "a.ndjson", "a.json", "a.xlsx", "a", ""]))
@example(b"type,video\n" + b"x" * 200_000 + b",1\n", "big.csv")  # csv.Error: field larger than field limit
@example(b"type,video,student_email,timestamp\rsession,x,a@b.c,2026-01-01\r", "mac.csv")  # csv.Error: new-line
def test_any_file_is_imported_row_by_row_or_refused_whole_storing_nothing(t, data, filename):
    with rolled_back(t):
        _workspace(t)
        before = _counts(t)
        try:
            report = import_events(t, data, filename)
        except ValidationError as error:
            assert str(error).strip() and str(error).endswith(".")
            assert _counts(t) == before
        else:
            assert report.kept == 0 and report.rejected_count >= 1  # no row names a video of the workspace
            assert _counts(t) == before
