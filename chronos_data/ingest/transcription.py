"""Speech to text for uploads without subtitles: OpenAI's transcription endpoint (Whisper).

API::

    transcribe(path, settings, *, model="whisper-1", language=None, on_progress=None,
               max_upload_bytes=MAX_UPLOAD_BYTES, max_retries=3, timeout=600.0) -> Transcription

``Transcription`` holds

- ``transcript``: a :class:`~chronos_data.ingest.segments.Transcript` with ``method="whisper"``,
  ``is_generated=True`` and ``language`` as an ISO-639-1 code (the one the caller asked for, else
  the one the service detected, mapped from Whisper's English names such as "english"; None when
  unknown);
- ``audio_seconds``: the audio length the service reported (what it bills), summed over pieces;
- ``cost_usd``: ``audio_seconds / 60 * WHISPER_USD_PER_MINUTE``, an estimate at list price;
- ``pieces``: how many requests the file took.

Preparing the file: the API takes at most 25 MB per request and only some containers
(``_API_SUFFIXES``). A file that fits and has an accepted suffix is sent as it is. Otherwise
ffmpeg (the binary inside the ``imageio-ffmpeg`` wheel) re-encodes the sound to mono 16 kHz
32 kbit/s MP3, about 14 MB per hour; if that is still over the limit, it is cut into consecutive
pieces that each fit, sent one by one, and every piece's segment times are shifted by the
piece's start. All intermediate files live in a temporary directory removed on every exit path.

Errors are Chronos errors with one plain sentence: no API key or an API failure ->
:class:`SourceError` (``transient`` for rate limits, timeouts, connection failures and 5xx left
after the SDK's own retries; Chronos adds no second retry layer), a file ffmpeg cannot read ->
:class:`ValidationError`.
"""

from __future__ import annotations

import csv
import logging
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings, shown_url
from ..errors import ChronosError, SourceError, ValidationError
from ..openai_errors import source_error
from .segments import Segment, Transcript

__all__ = ["MAX_UPLOAD_BYTES", "WHISPER_USD_PER_MINUTE", "Transcription", "transcribe"]

log = logging.getLogger(__name__)

#: OpenAI's limit is 25 MB per request; the margin covers the multipart envelope and rounding.
MAX_UPLOAD_BYTES = 24 * 1024 * 1024
#: whisper-1 list price (USD per minute of audio), for the cost estimate only.
WHISPER_USD_PER_MINUTE = 0.006

# What the endpoint accepts; it identifies the format by the file name's extension.
_API_SUFFIXES = frozenset({".flac", ".m4a", ".mp3", ".mp4", ".mpeg", ".mpga", ".oga", ".ogg", ".wav", ".webm"})
# Speech stays intelligible to Whisper at this rate (it resamples everything to 16 kHz mono anyway).
_BITRATE = 32_000
_SAMPLE_RATE = 16_000
# Cut pieces at 90 % of the limit's worth of audio: MP3 headers and bitrate jitter add a little.
_PIECE_MARGIN = 0.9
_PROBE_TIMEOUT = 120.0
_CONVERT_TIMEOUT = 3600.0  # re-encoding runs at hundreds of times real time; an hour means a hang

_NO_KEY = ("Transcribing audio needs an OpenAI API key; set OPENAI_API_KEY, or upload the video's "
           "subtitle file instead.")

# verbose_json names the detected language in English ("english"); the rest of Chronos uses codes.
_LANGUAGE_CODES = {
    "afrikaans": "af", "arabic": "ar", "armenian": "hy", "azerbaijani": "az", "belarusian": "be",
    "bosnian": "bs", "bulgarian": "bg", "catalan": "ca", "chinese": "zh", "croatian": "hr", "czech": "cs",
    "danish": "da", "dutch": "nl", "english": "en", "estonian": "et", "finnish": "fi", "french": "fr",
    "galician": "gl", "german": "de", "greek": "el", "hebrew": "he", "hindi": "hi", "hungarian": "hu",
    "icelandic": "is", "indonesian": "id", "italian": "it", "japanese": "ja", "kannada": "kn",
    "kazakh": "kk", "korean": "ko", "latvian": "lv", "lithuanian": "lt", "macedonian": "mk", "malay": "ms",
    "marathi": "mr", "maori": "mi", "nepali": "ne", "norwegian": "no", "persian": "fa", "polish": "pl",
    "portuguese": "pt", "romanian": "ro", "russian": "ru", "serbian": "sr", "slovak": "sk",
    "slovenian": "sl", "spanish": "es", "swahili": "sw", "swedish": "sv", "tagalog": "tl", "tamil": "ta",
    "thai": "th", "turkish": "tr", "ukrainian": "uk", "urdu": "ur", "vietnamese": "vi", "welsh": "cy",
}


@dataclass(frozen=True)
class Transcription:
    """A transcript plus what it cost: see the module docstring."""

    transcript: Transcript
    audio_seconds: float
    cost_usd: float
    pieces: int = 1


@dataclass(frozen=True)
class _Piece:
    path: Path
    upload_name: str
    start: float  # seconds from the beginning of the recording


def transcribe(
    path: Path,
    settings: Settings,
    *,
    model: str = "whisper-1",
    language: str | None = None,
    on_progress: Callable[[float], None] | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_retries: int = 3,
    timeout: float = 600.0,
) -> Transcription:
    """Transcribe the audio or video file at ``path`` with OpenAI's speech-to-text endpoint.

    ``language`` (ISO-639-1, e.g. "en") skips detection and improves accuracy. ``on_progress``
    gets the fraction of pieces done (0-1] after each request. ``max_upload_bytes`` is the
    per-request size limit (lower it to test splitting); ``max_retries`` and ``timeout`` go to the
    SDK client, whose retries are the only ones.
    """
    if not settings.openai_api_key:
        raise SourceError(_NO_KEY)
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{path.name} does not exist or is not a file; upload it again.")
    ffmpeg = _ffmpeg_exe()
    probed_seconds = _probe(ffmpeg, path)

    from openai import OpenAI, Timeout

    # A dead host fails in seconds; ``timeout`` bounds each wait for an answer (a 25 MB piece takes minutes).
    client = OpenAI(api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                    max_retries=max_retries, timeout=Timeout(timeout, connect=min(timeout, 10.0)))
    segments: list[Segment] = []
    languages: list[str] = []
    audio_seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="chronos-whisper-") as work:
        pieces = _prepare(ffmpeg, path, Path(work), max_upload_bytes)
        log.info("Transcribing %s (%.0f s of audio) in %d piece(s) with %s", path.name,
                 probed_seconds or 0.0, len(pieces), model)
        for number, piece in enumerate(pieces, start=1):
            response = _request(client, piece, model, language)
            segments.extend(_segments(response, piece.start))
            if detected := _language_code(getattr(response, "language", None)):
                languages.append(detected)
            audio_seconds += _billed_seconds(response)
            if on_progress is not None:
                on_progress(number / len(pieces))
    if not audio_seconds and probed_seconds:  # a compatible server that reports no duration
        audio_seconds = probed_seconds
    detected_language = Counter(languages).most_common(1)[0][0] if languages else None
    transcript = Transcript(segments, language=_language_code(language) or detected_language,
                            is_generated=True, method="whisper")
    cost = round(audio_seconds / 60.0 * WHISPER_USD_PER_MINUTE, 6)
    return Transcription(transcript, audio_seconds=audio_seconds, cost_usd=cost, pieces=len(pieces))


# ---- ffmpeg ----------------------------------------------------------------------------------

def _ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:  # RuntimeError: the wheel has no binary for this platform
        raise ChronosError("The package imageio-ffmpeg (which provides ffmpeg) is missing or broken; reinstall "
                           "Chronos with pip install -r requirements.txt.") from exc


def _unreadable(name: str) -> ValidationError:
    return ValidationError(f"{name} is not an audio or video file Chronos can read; upload an audio or video "
                           "file (such as MP3, M4A, WAV or MP4), or the video's subtitle file instead.")


def _probe(ffmpeg: str, path: Path) -> float | None:
    """Check ``path`` has a sound track; return its duration in seconds when the container says."""
    # imageio-ffmpeg ships no ffprobe: `ffmpeg -i` alone prints the input description and exits 1
    # ("no output file"), so the verdict comes from the description, not the exit code.
    try:
        result = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True,
                                text=True, errors="replace", timeout=_PROBE_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise _unreadable(path.name) from exc
    except OSError as exc:
        raise ChronosError(f"ffmpeg could not be started ({exc.strerror}); reinstall imageio-ffmpeg.") from exc
    kinds = re.findall(r"^\s*Stream #\d+:\d+\S*: (\w+):", result.stderr, flags=re.MULTILINE)
    if "Input #0" not in result.stderr or not kinds:
        log.info("ffmpeg cannot read %s: %s", path.name, _last_line(result.stderr))
        raise _unreadable(path.name)
    if "Audio" not in kinds:
        raise ValidationError(f"{path.name} has no sound track to transcribe; upload a file with audio, or the "
                              "video's subtitle file instead.")
    match = re.search(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)", result.stderr)
    return int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3]) if match else None


def _convert(ffmpeg: str, args: list[str], name: str) -> None:
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                timeout=_CONVERT_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"Converting {name} for transcription did not finish within an hour; try a shorter "
                          "file.") from exc
    except OSError as exc:
        raise ChronosError(f"ffmpeg could not be started ({exc.strerror}); reinstall imageio-ffmpeg.") from exc
    if result.returncode != 0:
        log.warning("ffmpeg failed on %s: %s", name, result.stderr.strip())
        raise ValidationError(f"{name} could not be converted for transcription ({_last_line(result.stderr)}); "
                              "upload another copy of the file, or the video's subtitle file instead.")


def _prepare(ffmpeg: str, path: Path, work: Path, limit: int) -> list[_Piece]:
    """The file itself if the API takes it as is, else re-encoded audio, cut if still too big."""
    if path.stat().st_size <= limit and path.suffix.lower() in _API_SUFFIXES:
        return [_Piece(path, path.name, 0.0)]
    audio = work / "audio.mp3"
    _convert(ffmpeg, ["-i", str(path), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(_SAMPLE_RATE),
                      "-c:a", "libmp3lame", "-b:a", f"{_BITRATE // 1000}k", str(audio)], path.name)
    if audio.stat().st_size <= limit:
        return [_Piece(audio, audio.name, 0.0)]
    return _split(ffmpeg, audio, work, limit, path.name)


def _split(ffmpeg: str, audio: Path, work: Path, limit: int, name: str) -> list[_Piece]:
    """Cut the constant-bitrate ``audio`` into consecutive pieces of at most ``limit`` bytes."""
    seconds = limit * _PIECE_MARGIN / (_BITRATE / 8)
    if seconds < 1.0:
        raise ValueError(f"max_upload_bytes={limit} holds less than a second of audio")
    # The margin should always suffice; halving is a guard against an encoder surprise.
    for attempt in range(3):
        folder = work / f"pieces-{attempt}"
        folder.mkdir()
        listing = folder / "pieces.csv"
        # Stream copy cuts between MP3 frames (36 ms at 16 kHz); the list gives each piece's true start.
        _convert(ffmpeg, ["-i", str(audio), "-map", "0:a:0", "-c", "copy", "-f", "segment",
                          "-segment_time", f"{seconds:.3f}", "-reset_timestamps", "1",
                          "-segment_list", str(listing), "-segment_list_type", "csv",
                          str(folder / "part%04d.mp3")], name)
        with listing.open(newline="") as rows:
            pieces = [_Piece(folder / row[0], row[0], float(row[1])) for row in csv.reader(rows) if row]
        if pieces and all(piece.path.stat().st_size <= limit for piece in pieces):
            log.info("Cut %s into %d pieces of about %.0f s", name, len(pieces), seconds)
            return pieces
        seconds /= 2
        if seconds < 1.0:
            break
    raise ChronosError(f"{name} could not be cut into pieces small enough for the transcription service.")


# ---- the API ---------------------------------------------------------------------------------

def _request(client: Any, piece: _Piece, model: str, language: str | None) -> Any:
    import openai

    options: dict[str, Any] = {"language": language} if language else {}
    try:
        # Bytes, not a file object: the SDK's retries must be able to send the body again.
        return client.audio.transcriptions.create(
            model=model, file=(piece.upload_name, piece.path.read_bytes()), response_format="verbose_json",
            timestamp_granularities=["segment"], **options)
    # Nothing retries a failed video by itself: each sentence sends the creator to its Retry button.
    except openai.APIError as exc:
        raise source_error(exc, "transcription service", again="retry the video",
                           endpoint=shown_url(str(client.base_url).rstrip("/"))) from exc
    except openai.OpenAIError as exc:  # e.g. an answer that does not parse as verbose_json
        log.warning("Unexpected answer from the transcription service: %s", exc)
        raise SourceError("The transcription service sent an answer Chronos could not read.") from exc


def _segments(response: Any, offset: float) -> list[Segment]:
    timed = getattr(response, "segments", None)
    if timed:
        return [Segment(round(s.start + offset, 3), round(s.end + offset, 3), s.text.strip())
                for s in timed if s.text and s.text.strip()]
    # A compatible server that ignores timestamp_granularities: one segment for the whole piece.
    text = (getattr(response, "text", None) or "").strip()
    if not text:
        return []
    duration = getattr(response, "duration", None) or 0.0
    return [Segment(round(offset, 3), round(offset + duration, 3), text)]


def _billed_seconds(response: Any) -> float:
    usage = getattr(response, "usage", None)
    seconds = getattr(usage, "seconds", None) if usage is not None else None
    if seconds is None:
        seconds = getattr(response, "duration", None)
    return float(seconds or 0.0)


def _language_code(name: str | None) -> str | None:
    value = (name or "").strip().lower()
    if len(value) == 2 and value.isalpha():  # already a code (the caller's, or a compatible server's)
        return value
    return _LANGUAGE_CODES.get(value)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1].rstrip(".") if lines else "no details"
