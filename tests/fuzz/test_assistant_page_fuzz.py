"""The Assistant page through AppTest with hostile text: a question, an answer quoted from a
transcript and a video title full of <script>, <img onerror>, Markdown and LaTeX are shown as
the text they are, never as HTML or formatting."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import chat, creators
from chronos_data.embeddings import LocalEmbedder
from chronos_data.ingest import pipeline
from chronos_data.ingest.worker import run_until_done
from components.layout import inert

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
TITLE = f"{IMG} **Escaping** $5 & $6"
# Entities in a subtitle file become the characters themselves in the transcript.
SRT = b"""1
00:00:01,000 --> 00:00:05,000
A title like &lt;script&gt;alert(1)&lt;/script&gt; must be shown as text and never run.

2
00:00:06,000 --> 00:00:10,000
The tag &lt;img src=x onerror=alert(1)&gt; runs its onerror code when the image fails to load.

3
00:00:11,000 --> 00:00:15,000
Escaping every tag keeps the script and the image tag inert on the page.
"""
QUESTION = f"{SCRIPT} What does {IMG} do when the image fails to load? It costs $5 & $6 **now**\x00"


@pytest.fixture
def workspace(app_env, monkeypatch, db):
    email = f"fuzz-page-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    with db.workspace(creator) as t:
        video_id = pipeline.add_subtitled_video(
            t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}", subtitle_bytes=SRT,
            subtitle_filename="xss.srt", title=TITLE)
    run_until_done(db, creator, LocalEmbedder(), [video_id])
    return creator


def _texts(at: AppTest):
    """Every element whose body Streamlit renders as Markdown, with whether it may hold HTML."""
    for kind in ("markdown", "caption", "heading"):  # st.markdown, st.caption, st.title/header/subheader
        for element in at.get(kind):
            yield kind, str(element.value), bool(getattr(element.proto, "allow_html", False))


def test_a_hostile_question_and_answer_show_as_text_not_html(workspace, db):
    at = AppTest.from_file(APP, default_timeout=90).run()
    at = at.switch_page("pages/assistant.py").run()
    at.chat_input(key="assistant_question").set_value(QUESTION).run()
    assert not at.exception and not at.error

    with db.workspace(workspace) as t:
        [session] = chat.list_sessions(t, whose="mine")
        question, answer = chat.list_messages(t, session.id)
    stored = " ".join(QUESTION.replace("\x00", " ").split())
    assert question.content == stored  # kept as typed, the NUL made a space
    assert IMG in answer.content or TITLE in answer.content  # the quoted transcript (or the closest video)

    texts = list(_texts(at))
    bodies = [body for _, body, _ in texts]
    assert inert(stored) in bodies  # the question, every active character escaped
    assert any(inert(IMG) in body for body in bodies if body != inert(stored))  # the answer or its source
    for kind, body, allow_html in texts:
        if "alert(1)" not in body:
            continue
        assert not allow_html, (kind, body)  # Streamlit renders HTML only when asked to
        if kind != "heading":  # headings are the conversation's title; see below
            # No tag, entity, formatting or LaTeX survives: each active character is escaped.
            assert not re.search(r"(?<!\\)[<>&$*]", body), (kind, body)
