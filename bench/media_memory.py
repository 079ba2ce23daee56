"""Peak memory of playing a 1.5 GB upload: ``st.video`` of its path (before) against the media server.

Each way runs in a fresh process (``ru_maxrss`` is a process's peak): Streamlit is loaded and warmed
first, then AppTest runs a page playing the file; for the media server the whole file is then fetched
over HTTP as a browser playing it to the end would. The file is sparse, so nothing is written.
"""

from __future__ import annotations

import http.client
import resource
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

SIZE = 1536 * 1024**2
_CREATOR = uuid.UUID(int=7)
_REL = f"uploads/{_CREATOR}/big/lecture.mp4"


def run(repeat: int = 1) -> str:
    rows = []
    for way in ("st.video", "media server"):
        with tempfile.TemporaryDirectory() as data:
            out = subprocess.run([sys.executable, "-m", "bench.media_memory", way, data], check=True,
                                 capture_output=True, text=True).stdout.split()
        base, peak = (int(x) // 1024 for x in out[-2:])
        rows.append(f"| {way} | {base:,} MB | {peak:,} MB | {peak - base:,} MB |")
    return "\n".join(["## Playing a 1.5 GB upload: peak resident memory", "",
                      "| played by | Streamlit loaded | peak | growth |", "|---|---:|---:|---:|", *rows])


def _play(src: str) -> None:
    import streamlit as st

    st.video(src, start_time=600)


def _measure(way: str, data: Path) -> tuple[int, int]:
    from streamlit.testing.v1 import AppTest

    (data / _REL).parent.mkdir(parents=True)
    with open(data / _REL, "wb") as f:
        f.truncate(SIZE)
    AppTest.from_function(_play, args=("https://example.com/warm.mp4",)).run()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if way == "st.video":
        AppTest.from_function(_play, args=(str(data / _REL),)).run(timeout=300)
    else:
        from chronos_data.media_server import MediaServer

        server = MediaServer(data).start()
        path = server.path_for(_CREATOR, _REL)
        AppTest.from_function(_play, args=(f"http://127.0.0.1:{server.port}{path}",)).run()
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        conn.request("GET", path)
        response, received = conn.getresponse(), 0
        while piece := response.read(1024**2):
            received += len(piece)
        assert received == SIZE, received
    return base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    print(*_measure(sys.argv[1], Path(sys.argv[2])))
