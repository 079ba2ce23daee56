"""OpenAI answering 429 (with Retry-After), 500, or not at all: the real `openai` client against the
fake server on 127.0.0.1, for embeddings, chat answers and Whisper transcription.

Each test counts the requests the fake received and the gaps between them (the client's backoff),
and checks what a person sees when the errors persist: one plain sentence, the question kept in
its conversation, an import ``failed`` with its reason that a retry completes.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import imageio_ffmpeg
import pytest
import sqlalchemy as sa

from chronos_data import chat, chunks, videos
from chronos_data.config import Settings
from chronos_data.embeddings import OpenAIEmbedder
from chronos_data.errors import SourceError
from chronos_data.ingest import pipeline
from chronos_data.ingest.transcription import transcribe
from chronos_data.ingest.worker import claim_next, run_until_done
from chronos_data.rag import OFFLINE_MODEL, Assistant, OpenAIChat, QuestionNotAnswered
from chronos_data.uploads import store_upload
from tests.app.shown import shown
from tests.conftest import import_lecture
from tests.fakes.openai_server import FakeOpenAI
from tests.rag_eval_set import LECTURES
from tests.waiting import wait_until

TUPLES = next(lecture for lecture in LECTURES if lecture.title == "Python tuples and immutability")
QUESTION = "Can a tuple be used as a dictionary key?"


@pytest.fixture
def api():
    with FakeOpenAI() as fake:
        yield fake


def _settings(api: FakeOpenAI, data_dir: Path | None = None) -> Settings:
    return Settings(database_url=None, data_dir=data_dir or Path("."), openai_api_key="sk-test",
                    openai_base_url=api.base_url)


#: How much longer than the wait it chose a client may take to send its retry: a loaded CI machine
#: stalls a process for a few hundred milliseconds now and then (gaps are never shorter than the wait).
SLACK = 2.0


def _gaps(requests) -> list[float]:
    """Seconds between consecutive requests: the client's wait before each retry."""
    return [round(b["at"] - a["at"], 2) for a, b in zip(requests, requests[1:], strict=False)]


def _received(api: FakeOpenAI, path: str, count: int) -> list[dict]:
    """The requests to ``path`` once the fake has recorded ``count`` of them. A client that gave up
    on a hanging request may raise before the fake's thread has even read its retry."""
    return wait_until(lambda: len(requests := api.requests_to(path)) >= count and requests, timeout=30,
                      what=f"{count} requests to {path}")


def _plain(message: str) -> None:
    """One sentence a person can act on: no traceback, no SDK dump, no status code soup."""
    assert "Traceback" not in message and "Error code" not in message and "{" not in message
    assert message.count(". ") == 0 and message.endswith(".") and ";" in message


# ---- embeddings --------------------------------------------------------------------------------

def test_embeddings_wait_as_long_as_retry_after_says_then_succeed(api):
    api.fail_next(2, status=429, retry_after=0.4, path="/embeddings")
    vectors = OpenAIEmbedder(_settings(api), max_retries=3).embed(["loops repeat work"])
    requests = api.requests_to("/embeddings")
    assert vectors.shape == (1, 1536)
    assert [r["fault"] for r in requests] == ["429", "429", None]
    assert all(0.4 <= gap < 0.4 + SLACK for gap in _gaps(requests)), _gaps(requests)
    print(f"\nembeddings 429 x2 (Retry-After 0.4 s): {len(requests)} requests, gaps {_gaps(requests)} s")


def test_embeddings_back_off_exponentially_on_server_errors(api):
    api.fail_next(2, status=500, path="/embeddings")
    OpenAIEmbedder(_settings(api), max_retries=3).embed(["loops repeat work"])
    requests = api.requests_to("/embeddings")
    gaps = _gaps(requests)
    assert [r["fault"] for r in requests] == ["500", "500", None]
    # The SDK waits 0.5 s, then 1 s (less up to 25 % jitter), without a Retry-After.
    assert 0.37 <= gaps[0] < 0.5 + SLACK and 0.75 <= gaps[1] < 1.0 + SLACK, gaps
    print(f"\nembeddings 500 x2: {len(requests)} requests, gaps {gaps} s")


def test_an_embedding_request_that_hangs_is_given_up_and_retried(api):
    api.fail_next(1, hang=5, path="/embeddings")
    started = time.monotonic()
    OpenAIEmbedder(_settings(api), max_retries=2, timeout=1.0).embed(["loops repeat work"])
    took = time.monotonic() - started
    requests = api.requests_to("/embeddings")
    assert [r["fault"] for r in requests] == ["hang 5s", None] and 1.0 <= took < 1.5 + SLACK
    print(f"\nembeddings hang x1 (timeout 1 s): {len(requests)} requests, success after {took:.2f} s")


@pytest.mark.parametrize("fault, expected", [
    ({"status": 429, "retry_after": 0.1}, "The embedding service is rate-limiting this key, even after retries; "
                                          "wait a few minutes and try again."),
    ({"status": 500}, "The embedding service had an error, even after retries; try again in a few minutes."),
    ({"hang": 5}, "The embedding service did not answer in time, even after retries; try again in a few minutes."),
])
def test_persistent_embedding_errors_end_in_one_plain_sentence(api, fault, expected):
    api.fail_next(10, path="/embeddings", **fault)
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        OpenAIEmbedder(_settings(api), max_retries=1, timeout=0.5).embed(["loops repeat work"])
    assert str(error.value) == expected and error.value.transient
    _plain(str(error.value))
    requests = _received(api, "/embeddings", 2)
    assert len(requests) == 2  # the first try and max_retries=1 retry, then no more
    print(f"\nembeddings {requests[0]['fault']} persisting: {len(requests)} requests, gave up after "
          f"{time.monotonic() - started:.2f} s, gaps {_gaps(requests)} s")


def test_the_clients_are_built_with_bounded_timeouts_and_retries(api):
    embedder = OpenAIEmbedder(_settings(api))
    chat_model = OpenAIChat(_settings(api))
    for client, retries, read in ((embedder._client, 3, 60.0), (chat_model._client, 3, 60.0),
                                  (chat_model._rewriter, 1, 15.0)):
        assert client.max_retries == retries
        assert client.timeout.read == read and client.timeout.connect == 5.0


# ---- chat answers ------------------------------------------------------------------------------

@pytest.fixture
def online_workspace(db, creator_id, api):
    """A creator with one lecture embedded by the fake OpenAI server."""
    video_id = import_lecture(db, creator_id, TUPLES)
    run_until_done(db, creator_id, OpenAIEmbedder(_settings(api)), [video_id], timeout=60)
    api.requests.clear()
    return creator_id


def _assistant(db, api, **chat_options) -> Assistant:
    return Assistant(db, OpenAIEmbedder(_settings(api), max_retries=2, timeout=1.0),
                     OpenAIChat(_settings(api), **chat_options))


def _stored(db, creator, session_id) -> list[tuple[str, str]]:
    with db.workspace(creator) as t:
        return [(m.role, m.content) for m in chat.list_messages(t, session_id)]


def test_a_rate_limited_answer_is_retried_after_retry_after_and_written_by_the_model(db, api, online_workspace):
    api.fail_next(2, status=429, retry_after=0.5, path="/chat/completions")
    answer = _assistant(db, api).ask(online_workspace, QUESTION)
    requests = api.requests_to("/chat/completions")
    assert [r["fault"] for r in requests] == ["429", "429", None]
    assert all(gap >= 0.5 for gap in _gaps(requests))
    assert answer.model == "gpt-4o-mini" and answer.notice is None and "[1]" in answer.text
    print(f"\nchat 429 x2 (Retry-After 0.5 s): {len(requests)} requests, gaps {_gaps(requests)} s, "
          f"answered in {answer.latency_ms} ms")


@pytest.mark.parametrize("fault, notice", [
    ({"status": 500}, "The language model service had an error, even after retries; ask again in a moment."),
    ({"hang": 5}, "The language model at {endpoint} did not answer in time, even after retries; ask again."),
])
def test_a_model_that_keeps_failing_gives_the_quoted_answer_and_says_why(db, api, online_workspace, fault, notice):
    api.fail_next(10, path="/chat/completions", **fault)
    answer = _assistant(db, api, max_retries=1, timeout=0.5).ask(online_workspace, QUESTION)
    requests = _received(api, "/chat/completions", 2)
    assert len(requests) == 2  # one try, one retry
    assert answer.model == OFFLINE_MODEL and answer.found and answer.citations
    assert answer.notice == notice.format(endpoint=api.base_url)
    _plain(answer.notice)
    assert _stored(db, online_workspace, answer.session_id) == [("user", QUESTION), ("assistant", answer.text)]
    print(f"\nchat {requests[0]['fault']} persisting: {len(requests)} requests, offline answer after "
          f"{answer.latency_ms} ms")


def test_when_searching_fails_the_question_stays_in_its_conversation(db, api, online_workspace):
    api.fail_next(3, status=429, retry_after=0.1, path="/embeddings")  # the first try and both retries
    assistant = _assistant(db, api)
    with pytest.raises(QuestionNotAnswered) as error:
        assistant.start(online_workspace, QUESTION)
    assert str(error.value) == ("The embedding service is rate-limiting this key, even after retries; wait a few "
                                "minutes and try again.")
    assert _stored(db, online_workspace, error.value.session_id) == [("user", QUESTION)]
    assert len(api.requests_to("/embeddings")) == 3 and not api.requests_to("/chat/completions")

    # Service is back: asking again in the same conversation answers it.
    answer = assistant.ask(online_workspace, QUESTION, session_id=error.value.session_id)
    assert answer.model == "gpt-4o-mini"
    assert [role for role, _ in _stored(db, online_workspace, error.value.session_id)] == ["user", "user", "assistant"]


def test_when_the_model_and_the_embeddings_both_fail_mid_answer_the_moments_are_still_quoted(db, api, online_workspace):
    assistant = _assistant(db, api, max_retries=1, timeout=1.0)
    run = assistant.start(online_workspace, QUESTION)  # the question is embedded and its passages found
    api.fail_next(20, status=500)  # then the whole service breaks: the model and the embeddings
    text = "".join(run)
    # The moments' vectors were stored at import (sql/026): quoting needs no embedding call.
    assert run.answer.model == OFFLINE_MODEL and run.answer.citations
    assert text.startswith("“") and "[1]" in text and "hashable" in text
    assert run.answer.notice.startswith("The language model service had an error")
    assert _stored(db, online_workspace, run.session_id) == [("user", QUESTION), ("assistant", text)]


def test_when_the_model_and_the_embeddings_both_fail_without_stored_moments_the_sources_are_listed(db, api,
                                                                                                 online_workspace):
    with db.workspace(online_workspace) as t:  # as for a video imported before sql/026
        t.conn.execute(sa.text("DELETE FROM moment_vectors WHERE creator_id = :c"), {"c": online_workspace})
    assistant = _assistant(db, api, max_retries=1, timeout=1.0)
    run = assistant.start(online_workspace, QUESTION)
    api.fail_next(20, status=500)  # the model fails, and so does embedding the moments to quote them
    text = "".join(run)
    assert run.answer.model == OFFLINE_MODEL and run.answer.citations
    assert text == "No answer could be written this time; open the passages under Sources to read what your videos say."
    assert run.answer.notice.startswith("The language model service had an error")
    assert _stored(db, online_workspace, run.session_id) == [("user", QUESTION), ("assistant", text)]


# ---- Whisper transcription ---------------------------------------------------------------------

def _tone(path: Path, seconds: float) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-ac", "1", "-ar", "16000",
                    str(path)], check=True)
    return path


def test_transcription_recovers_from_a_hang_and_honours_retry_after(api, tmp_path):
    audio = _tone(tmp_path / "lecture.wav", 6)
    api.fail_next(1, hang=5, path="/audio/transcriptions")
    api.fail_next(2, status=429, retry_after=0.4, path="/audio/transcriptions")
    result = transcribe(audio, _settings(api), max_retries=3, timeout=1.5)
    requests = api.requests_to("/audio/transcriptions")
    assert [r["fault"] for r in requests] == ["hang 5s", "429", "429", None]
    assert result.transcript.segments and all(r["body"]["file_size"] == audio.stat().st_size for r in requests)
    gaps = _gaps(requests)
    assert gaps[0] >= 1.5 and gaps[1] >= 0.4 and gaps[2] >= 0.4  # the timeout, then Retry-After twice
    print(f"\nwhisper hang x1 (timeout 1.5 s) + 429 x2 (Retry-After 0.4 s): {len(requests)} requests, gaps {gaps} s")


def test_a_failed_transcription_leaves_the_import_failed_with_its_reason_and_a_retry_completes(db, creator_id, api,
                                                                                                tmp_path):
    settings = _settings(api, tmp_path / "data")
    audio = _tone(tmp_path / "lecture.wav", 6)
    with db.workspace(creator_id) as t, audio.open("rb") as media:
        path = store_upload(settings, creator_id, audio.name, media, audio.stat().st_size, "basic")
        video_id = pipeline.add_upload_to_transcribe(t, storage_path=path, title="Lecture",
                                                     file_size_bytes=audio.stat().st_size)
    api.fail_next(4, status=429, retry_after=0.1, path="/audio/transcriptions")  # more than transcribe()'s 3 retries
    sources = pipeline.Sources(settings=settings)
    embedder = OpenAIEmbedder(settings)
    assert claim_next(db, sources.lease, creator_id=creator_id) == (creator_id, video_id)
    started = time.monotonic()
    assert pipeline.process_video(db, creator_id, video_id, embedder, sources) == "failed"
    failed_after = time.monotonic() - started
    with db.workspace(creator_id) as t:
        video = videos.get_video(t, video_id)
        assert (video.status, video.attempts, video.progress) == ("failed", 1, 0)
        assert video.error_message == ("The transcription service is rate-limiting this key, even after retries; "
                                       "wait a few minutes and retry the video.")
        assert chunks.list_chunks(t, video_id) == []
        pipeline.retry_video(t, video_id)  # the Retry button
    gaps = _gaps(api.requests_to("/audio/transcriptions"))

    run_until_done(db, creator_id, embedder, [video_id], sources=sources, timeout=60)
    with db.workspace(creator_id) as t:
        video = videos.get_video(t, video_id)
    assert (video.status, video.error_message) == ("completed", None)
    assert len(api.requests_to("/audio/transcriptions")) == 5  # 4 refused, then the retry's one
    print(f"\nwhisper 429 persisting in an import: failed after {failed_after:.2f} s and 4 requests "
          f"(gaps {gaps} s); Retry completed it with 1 more")


# ---- the Assistant page ------------------------------------------------------------------------

@pytest.fixture
def online_page(app_env, monkeypatch, db, api):
    """The app in this process, with OpenAI at the fake server and one embedded lecture."""
    from chronos_data import creators
    from components import state

    email = f"faults-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", email)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, email)
    video_id = import_lecture(db, creator, TUPLES)
    run_until_done(db, creator, OpenAIEmbedder(_settings(api)), [video_id], timeout=60)
    api.requests.clear()
    state.get_assistant.clear()  # built from the environment above, not a previous test's
    state.get_embedder.clear()
    yield creator
    state.get_assistant.clear()
    state.get_embedder.clear()


def _ask_on_the_page(question: str):
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[2] / "app.py")
    at = AppTest.from_file(app, default_timeout=90).run()
    at = at.switch_page("pages/assistant.py").run()
    at.chat_input(key="assistant_question").set_value(question).run()
    return at


def test_the_assistant_page_says_plainly_when_the_search_fails_and_keeps_the_question(db, api, online_page):
    api.fail_next(10, status=429, retry_after=0.1, path="/embeddings")
    at = _ask_on_the_page(QUESTION)
    assert not at.exception
    assert [e.value for e in at.error] == ["The embedding service is rate-limiting this key, even after retries; "
                                           "wait a few minutes and try again."]
    with db.workspace(online_page) as t:
        (session,) = chat.list_sessions(t, whose="mine")
        assert [(m.role, m.content) for m in chat.list_messages(t, session.id)] == [("user", QUESTION)]
    at.run()  # the next rerun opens the conversation that keeps the question
    assert not at.exception and QUESTION in "\n".join(str(m.value) for m in at.markdown)


def test_the_assistant_page_shows_the_quoted_answer_and_why_the_model_failed(db, api, online_page):
    api.fail_next(4, status=429, retry_after=0.1, path="/chat/completions")
    at = _ask_on_the_page(QUESTION)
    assert not at.exception and not at.error
    assert len(api.requests_to("/chat/completions")) == 4  # the page's client: max_retries=3
    captions = shown("\n".join(str(c.value) for c in at.caption))  # inert text, as the reader sees it
    assert "The language model is rate-limiting this key even after retries; wait a minute and ask again." in captions
    assert "Quoted from your videos" in captions
    assert "“" in "\n".join(str(m.value) for m in at.markdown)  # the quoted sentences
