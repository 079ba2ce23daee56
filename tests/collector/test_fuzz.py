"""Random bodies, keys and headers: the collector answers each with 2xx or 4xx and keeps serving."""

from __future__ import annotations

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.collector.conftest import make_workspace
from tests.fuzz._support import DB, examples, hostile_text

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
                     max_leaves=12)
_fields = st.fixed_dictionaries({}, optional={
    "id": st.one_of(hostile_text, st.integers(), st.uuids().map(str)),
    "type": st.sampled_from(["video_started", "video_progress", "video_completed", "session", "x"]) | hostile_text,
    "video": hostile_text, "student_email": st.emails() | hostile_text,
    "timestamp": st.datetimes().map(lambda d: d.isoformat()) | hostile_text,
    "percent_complete": st.integers(-5, 200) | st.floats() | hostile_text,
    "session": hostile_text, "played": _json, "duration": _json, "end": hostile_text,
})
_bodies = st.one_of(
    st.binary(max_size=2000),
    st.lists(_fields, max_size=20).map(lambda rows: json.dumps(rows).encode()),
    st.lists(_fields | _json, max_size=20).map(lambda rows: "\n".join(json.dumps(r) for r in rows).encode()),
    _json.map(lambda v: json.dumps(v).encode()),
)


def test_random_bodies_never_get_a_server_error(collector, db):
    ws = make_workspace(db, "fuzz")

    @settings(DB, max_examples=examples(150))
    @given(body=_bodies, video=st.sampled_from([str(ws.video), ws.youtube_id, ws.title]),
           content_type=st.sampled_from(["application/json", "application/x-ndjson", "text/plain", "x/y"]))
    def post(body: bytes, video: str, content_type: str) -> None:
        body = body.replace(b'"video": ""', f'"video": "{video}"'.encode())
        answer = httpx.post(f"{collector.url}/v1/events", content=body, timeout=60,
                            headers={"Authorization": f"Bearer {ws.key}", "Content-Type": content_type})
        assert 200 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"].startswith("application/json")

    post()
    assert httpx.get(f"{collector.url}/healthz").status_code == 200
