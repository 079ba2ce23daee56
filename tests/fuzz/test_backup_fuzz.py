"""Property tests of restoring damaged and hostile backup files on the real database.

Whatever the bytes (a backup cut at any point, a line far over the limit anywhere, a compression
bomb after any prefix, any line or header field replaced by other JSON), a restore either succeeds
or raises BackupFileError with one plain sentence, and a refused file writes nothing. Bounds are
set low (``ReadLimits``) so that each example stays small; tests/db/test_backup.py runs the real
ones against a 1 GB line. Each example runs in a savepoint that is rolled back.
"""

from __future__ import annotations

import gzip
import io
import json
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chronos_data import backup, students, uploads, videos
from chronos_data.backup import BackupFileError, ReadLimits
from chronos_data.ingest import pipeline
from tests.bombs import gzip_bomb
from tests.conftest import new_creator
from tests.fuzz._support import DB, INJECTIONS, assert_plain_message, examples, rolled_back

# A line of 5 MB: above the 4 MB media part lines an export writes, far below the real 32 MB.
LIMITS = ReadLimits(line_bytes=5 * 1024**2, total_bytes=2 * 1024**2, rows=500)


@pytest.fixture(scope="module")
def source(db, settings) -> bytes:
    """A small workspace's backup: three videos (two uploaded, one with its media file in the
    backup, over several lines of it) and students."""
    creator = new_creator(db, "fuzz-backup")
    stored = uploads.keep_file(settings, creator, "fuzz.webm", io.BytesIO(b"\x1aE\xdf\xa3" * (1024**2 + 7)))
    with db.workspace(creator) as t:
        pipeline.add_subtitled_video(t, source_type="upload", source=stored, title="Stored",
                                     subtitle_bytes=b"1\n00:00:01,000 --> 00:00:02,000\nStored.\n",
                                     subtitle_filename="stored.srt")
        videos.create_video(t, title="Loops & <b>Lists</b>", source_type="loom", source_id=uuid.uuid4().hex)
        pipeline.add_subtitled_video(t, source_type="upload", source="demo/fuzz.mp4", title="'; DROP TABLE videos;--",
                                     subtitle_bytes=b"1\n00:00:00,000 --> 00:00:04,000\nHello there.\n",
                                     subtitle_filename="fuzz.srt")
        for i, name in enumerate(INJECTIONS[:6]):
            students.create_student(t, f"s{i}@example.com", name)
    out = io.BytesIO()
    with db.workspace(creator) as t:
        backup.export_workspace(t, out, media=settings)
    with db.owner() as conn:
        conn.execute(sa.text("DELETE FROM chronos.creators WHERE id = :c"), {"c": creator})
    return out.getvalue()


def _lines(data: bytes) -> list[bytes]:
    return gzip.decompress(data).splitlines(keepends=True)


def _rows(t) -> int:
    return t.conn.execute(sa.text("SELECT (SELECT count(*) FROM videos WHERE creator_id = :c) "
                                  "+ (SELECT count(*) FROM students WHERE creator_id = :c)"),
                          {"c": t.creator_id}).scalar_one()


def _files(settings, t) -> list:
    folder = settings.data_dir / "uploads" / str(t.creator_id)
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _restore(t, data: bytes, settings) -> BackupFileError | None:
    """Restore ``data`` in a savepoint that is undone; the refusal, if any, after checking that it
    is one plain sentence and that nothing was written, rows or media files."""
    with rolled_back(t):
        try:
            backup.restore_workspace(t, data, limits=LIMITS, media=settings)
        except BackupFileError as exc:
            assert_plain_message(exc)
            assert _rows(t) == 0 and _files(settings, t) == []
            return exc
        assert _rows(t) > 0
    for file in _files(settings, t):  # a restore that succeeded, undone: its media file goes too
        uploads.remove_upload(settings, file.relative_to(settings.data_dir).as_posix())
    return None


def test_the_unharmed_file_restores(t, settings, source):
    assert _restore(t, source, settings) is None


@settings(DB, max_examples=examples(40))
@given(cut=st.floats(0, 1, exclude_max=True))
@example(cut=0.0)
def test_a_backup_cut_anywhere_is_refused(t, settings, source, cut):
    assert _restore(t, source[:int(len(source) * cut)], settings) is not None


@settings(DB, max_examples=examples(30))
@given(where=st.floats(0, 1), extra=st.integers(1, 2 * LIMITS.line_bytes), fill=st.sampled_from(
    [b"a", b" ", b"[", b"\x00", b'"', "é".encode(), b"\xff"]), newline=st.booleans())
@example(where=0.0, extra=2 * LIMITS.line_bytes, fill=b"[", newline=False)
def test_a_line_over_the_limit_anywhere_is_refused_by_its_number(t, settings, source, where, extra, fill, newline):
    lines = _lines(source)
    at = int(len(lines) * where)
    long_line = fill * ((LIMITS.line_bytes + extra) // len(fill) + 1) + (b"\n" if newline else b"")
    error = _restore(t, gzip.compress(b"".join([*lines[:at], long_line, *lines[at:]])), settings)
    # Every line before it is whole and within the limits, and length is checked before content.
    assert error is not None and str(error).startswith(f"Line {at + 1} of the file is longer than 5 MB,"), error


@settings(DB, max_examples=examples(20))
@given(prefix_lines=st.integers(0, 12), fill=st.sampled_from([b"a", b"\n", b"{}\n", b"0", b"[" * 7, b" \r\n"]),
       megabytes=st.integers(3, 24))
@example(prefix_lines=12, fill=b"\n", megabytes=24)
def test_a_bomb_after_any_prefix_is_refused(t, settings, source, prefix_lines, fill, megabytes):
    prefix = b"".join(_lines(source)[:prefix_lines])
    bomb = gzip_bomb(megabytes * 1024**2 // len(fill), fill, prefix=prefix)
    assert len(bomb) < 64 * 1024 + len(prefix)  # small on disk, megabytes decompressed
    assert _restore(t, bomb, settings) is not None


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
                     | st.sampled_from(INJECTIONS),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)
_HEADER_KEYS = ("format", "version", "schema_version", "exported_at", "creator", "tables", "recomputed")


@settings(DB, max_examples=examples(40))
@given(index=st.floats(0, 1, exclude_max=True), value=_JSON | st.just("deep"))
@example(index=0.0, value="deep")
def test_any_line_replaced_by_other_json_is_refused_or_restores(t, settings, source, index, value):
    lines = _lines(source)
    text = "[" * 100_000 + "]" * 100_000 if value == "deep" else json.dumps(value)
    lines[int(len(lines) * index)] = text.encode() + b"\n"
    _restore(t, gzip.compress(b"".join(lines)), settings)


@settings(DB, max_examples=examples(40))
@given(key=st.sampled_from(_HEADER_KEYS), value=_JSON, creator_key=st.sampled_from(["id", "email", "name", "settings"]))
@example(key="version", value=None, creator_key="id")
@example(key="schema_version", value=25, creator_key="id")
@example(key="creator", value="someone", creator_key="id")
def test_any_header_field_replaced_is_refused_or_restores(t, settings, source, key, value, creator_key):
    lines = _lines(source)
    header = json.loads(lines[0])
    if key == "creator" and isinstance(value, dict | None):
        header["creator"][creator_key] = value  # one field of the creator: an id, an e-mail of any type
    else:
        header[key] = value
    lines[0] = json.dumps(header).encode() + b"\n"
    _restore(t, gzip.compress(b"".join(lines)), settings)
