"""Audio transcription through the real `openai` client against the fake server, with real ffmpeg."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
import pytest

from chronos_data.config import Settings
from chronos_data.errors import SourceError, ValidationError
from chronos_data.ingest.transcription import WHISPER_USD_PER_MINUTE, transcribe
from tests.fakes.openai_server import FakeOpenAI


def _settings(key: str | None, base_url: str) -> Settings:
    return Settings.from_env({"OPENAI_API_KEY": key or "", "OPENAI_BASE_URL": base_url})


def _tone(path: Path, seconds: float, *extra: str) -> Path:
    """A 16 kHz mono sine wave of ``seconds`` (WAV unless ``path`` says otherwise), made by ffmpeg."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", *extra,
                    "-ac", "1", "-ar", "16000", str(path)], check=True)
    return path


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """Route tempfile into a folder the test can inspect for leftovers."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_short_file_is_sent_as_is_and_gives_timed_segments_language_and_cost(tmp_path, scratch):
    audio = _tone(tmp_path / "lecture.wav", 9)
    progress: list[float] = []
    with FakeOpenAI() as api:
        result = transcribe(audio, _settings("sk-good", api.base_url), on_progress=progress.append)
    [request] = api.requests
    assert request["path"] == "/v1/audio/transcriptions"
    body = request["body"]
    assert body["file_name"] == "lecture.wav" and body["file_size"] == audio.stat().st_size
    assert body["model"] == "whisper-1" and body["response_format"] == "verbose_json"
    assert body["timestamp_granularities[]"] == "segment" and "language" not in body

    transcript = result.transcript
    assert [(s.start, s.end) for s in transcript.segments] == [(0.0, 4.0), (4.0, 8.0), (8.0, 9.0)]
    assert transcript.segments[0].text == "Sentence 1 of a recording 9.00 seconds long."  # stripped
    assert transcript.language == "en" and transcript.method == "whisper" and transcript.is_generated
    assert result.audio_seconds == pytest.approx(9.0)
    assert result.cost_usd == pytest.approx(9 / 60 * WHISPER_USD_PER_MINUTE) and result.pieces == 1
    assert progress == [1.0]
    assert list(scratch.iterdir()) == []


def test_the_callers_language_is_sent_and_kept(tmp_path):
    audio = _tone(tmp_path / "cours.wav", 2)
    with FakeOpenAI() as api:
        result = transcribe(audio, _settings("sk-good", api.base_url), language="fr")
    assert api.requests[0]["body"]["language"] == "fr" and result.transcript.language == "fr"


def test_an_oversized_file_is_re_encoded_to_small_mp3(tmp_path, scratch):
    audio = _tone(tmp_path / "talk.wav", 7)  # 224 kB of PCM; about 29 kB as 32 kbit/s MP3
    assert audio.stat().st_size > 100_000
    with FakeOpenAI() as api:
        result = transcribe(audio, _settings("sk-good", api.base_url), max_upload_bytes=100_000)
    [request] = api.requests
    assert request["body"]["file_name"].endswith(".mp3") and request["body"]["file_size"] < 40_000
    assert result.pieces == 1 and result.transcript.segments[-1].end == pytest.approx(7.0, abs=0.15)
    assert list(scratch.iterdir()) == []


def test_a_container_the_api_does_not_take_is_re_encoded_even_when_small(tmp_path):
    video = _tone(tmp_path / "clip.mkv", 3, "-c:a", "pcm_s16le")
    with FakeOpenAI() as api:
        result = transcribe(video, _settings("sk-good", api.base_url))
    assert api.requests[0]["body"]["file_name"].endswith(".mp3")
    assert result.transcript.segments[-1].end == pytest.approx(3.0, abs=0.15)


def test_a_long_file_is_split_and_segment_times_run_on_across_pieces(tmp_path, scratch):
    audio = _tone(tmp_path / "course.wav", 11)
    limit = 10_000  # about 2.2 s of 32 kbit/s audio per piece, so 11 s needs 5 pieces
    progress: list[float] = []
    with FakeOpenAI() as api:
        result = transcribe(audio, _settings("sk-good", api.base_url), max_upload_bytes=limit,
                            on_progress=progress.append)
    sizes = [r["body"]["file_size"] for r in api.requests]
    assert len(sizes) == result.pieces >= 4 and all(size <= limit for size in sizes)
    assert all(r["body"]["file_name"].endswith(".mp3") for r in api.requests)

    segments = result.transcript.segments
    assert len(segments) == result.pieces  # the fake gives one segment per piece this short
    assert segments[0].start == 0.0
    for before, after in zip(segments, segments[1:], strict=False):
        # each piece's segment starts where the previous piece ended (MP3 frames are 36 ms)
        assert after.start == pytest.approx(before.end, abs=0.08) and after.start > before.start
    assert segments[1].start == pytest.approx(2.2, abs=0.2)  # shifted by the first piece's length
    assert segments[-1].end == pytest.approx(11.0, abs=0.2)
    assert result.audio_seconds == pytest.approx(11.0, abs=0.3)
    assert progress == sorted(progress) and len(progress) == result.pieces and progress[-1] == 1.0
    assert list(scratch.iterdir()) == []


def test_without_a_key_nothing_is_sent_and_the_message_says_what_to_do(tmp_path):
    audio = _tone(tmp_path / "a.wav", 1)
    with FakeOpenAI() as api, pytest.raises(SourceError, match="needs an OpenAI API key; set OPENAI_API_KEY"):
        transcribe(audio, _settings(None, api.base_url))
    assert api.requests == []


def test_a_rejected_key_says_so(tmp_path, scratch):
    audio = _tone(tmp_path / "a.wav", 7)
    with FakeOpenAI() as api, pytest.raises(SourceError) as error:
        transcribe(audio, _settings("sk-rejected", api.base_url), max_upload_bytes=10_000)
    assert str(error.value) == "OpenAI rejected the API key; check OPENAI_API_KEY."
    assert not error.value.transient and len(api.requests) == 1  # stops at the first piece
    assert list(scratch.iterdir()) == []  # the pieces are removed on failure too


def test_rate_limits_are_retried_by_the_sdk_then_reported_as_transient(tmp_path):
    audio = _tone(tmp_path / "a.wav", 1)
    with FakeOpenAI() as api, pytest.raises(SourceError, match="rate-limiting") as error:
        transcribe(audio, _settings("sk-ratelimited", api.base_url), max_retries=1)
    assert error.value.transient and len(api.requests) == 2  # one call plus the SDK's one retry


def test_one_server_error_is_absorbed_by_the_sdk_retry(tmp_path):
    audio = _tone(tmp_path / "a.wav", 1)
    with FakeOpenAI() as api:
        assert transcribe(audio, _settings("sk-flaky", api.base_url)).transcript.segments
    assert len(api.requests) == 2


def test_a_request_the_service_refuses_is_permanent_with_its_message(tmp_path):
    audio = _tone(tmp_path / "a.wav", 1)
    with FakeOpenAI() as api, pytest.raises(SourceError) as error:
        transcribe(audio, _settings("sk-good", api.base_url), language="english")
    assert not error.value.transient
    assert str(error.value) == ("The transcription service refused the request (400): Invalid language 'english'. "
                                "Language parameter must be specified in ISO-639-1 format.")


def test_an_unreachable_service_is_transient(tmp_path):
    audio = _tone(tmp_path / "a.wav", 1)
    with FakeOpenAI() as api:
        base_url = api.base_url
    with pytest.raises(SourceError, match="cannot be reached") as error:  # the server is gone now
        transcribe(audio, _settings("sk-good", base_url), max_retries=0)
    assert error.value.transient


@pytest.mark.parametrize("name, content", [("notes.mp3", b"hello, this is not audio\n"),
                                           ("clip.wav", b"")])
def test_a_file_ffmpeg_cannot_read_is_a_validation_error(tmp_path, scratch, name, content):
    fake = tmp_path / name
    fake.write_bytes(content)
    with FakeOpenAI() as api, pytest.raises(ValidationError, match=f"{name} is not an audio or video file"):
        transcribe(fake, _settings("sk-good", api.base_url))
    assert api.requests == [] and list(scratch.iterdir()) == []


def test_a_file_without_sound_is_a_validation_error(tmp_path):
    subtitles = tmp_path / "captions.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    with FakeOpenAI() as api, pytest.raises(ValidationError, match="captions.srt has no sound track"):
        transcribe(subtitles, _settings("sk-good", api.base_url))
    assert api.requests == []
