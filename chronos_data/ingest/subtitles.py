"""Subtitle files (SRT, WebVTT, SBV, plain text) to timed transcript segments.

The timed formats are read by ``webvtt-py``; this module only decides the encoding and the format,
evens out what the library is strict about, cleans the cue text and turns every failure into a
:class:`~chronos_data.errors.ValidationError` a user can act on.
"""

from __future__ import annotations

import codecs
import html
import io
import itertools
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

import charset_normalizer
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from chronos_data.errors import ValidationError
from chronos_data.ingest.segments import Segment

__all__ = ["MAX_SECONDS", "MAX_SUBTITLE_BYTES", "SUBTITLE_EXTENSIONS", "parse_subtitles"]

log = logging.getLogger(__name__)

SUBTITLE_EXTENSIONS = (".srt", ".vtt", ".sbv", ".txt")
#: A caption later than this is a broken timing, not a long video; videos and chunks store their
#: seconds as 32-bit integers, which a cue at 99999999:00:00 would overflow.
MAX_SECONDS = 1_000 * 3600
#: The largest subtitle file taken. An SRT of a 10-hour lecture is about 1 MB; a 50 MB file took 33 s
#: and 822 MB to parse in the page's request, then hours of the import worker.
MAX_SUBTITLE_BYTES = 10 * 1024 * 1024

_UPLOAD_HINT = "upload an .srt, .vtt, .sbv or .txt file"
_SAVE_AS_TEXT = "save the subtitles as UTF-8 text and upload them again"
_FORMAT_NAMES = {"srt": "SRT", "vtt": "WebVTT", "sbv": "SBV"}
_TIMING_EXAMPLES = {
    "srt": "00:00:01,000 --> 00:00:04,000",
    "vtt": "00:00:01.000 --> 00:00:04.000",
    "sbv": "0:00:01.000,0:00:04.000",
}

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# What people upload by mistake; named so the message can say what the file really is.
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\x1aE\xdf\xa3", "a video"),
)
# A few control characters can slip into real subtitles (DOS end-of-file marks); more than this
# share means the bytes were never text.
_MAX_CONTROL_SHARE = 0.01
# Western European text has its accented letters one at a time ("Ça va", "Über"); Cyrillic,
# Greek and the CJK code pages write runs of bytes above 0x7F.
_HIGH_BYTE_RUN = re.compile(rb"[\x80-\xff]{2}")

# Sniffing only decides which library reader to use; the library does the parsing.
_ARROW_TIMING = re.compile(r"^\s*\d[\d:.,]*\s*-->")
_COMMA_TIMESTAMP = re.compile(r"\d:\d{1,2},\d")
_SBV_TIMING = re.compile(r"^\s*\d+:\d{1,2}:\d{1,2}\.\d+\s*,\s*\d+:\d{1,2}:\d{1,2}\.\d+\s*$")

_SSA_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
# Zero-width marks that make a cue look non-empty; ZWJ/ZWNJ stay as they carry meaning in some scripts.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200e\u200f\u2060\ufeff"))
# Rolling captions repeat text back to back; a repeat after a real pause was said again.
_MAX_REPEAT_GAP_SECONDS = 1.0

_SENTENCE_END = re.compile("(?<=[.!?\u2026])\\s+|(?<=[.!?\u2026][\"'\u201d\u2019)\\]])\\s+")
_WORDS_PER_MINUTE = 150
_MAX_WORDS_PER_SEGMENT = 40


def parse_subtitles(data: bytes, filename: str, *, duration_seconds: float | None = None) -> list[Segment]:
    """Decode and parse a subtitle file into ordered segments (seconds).

    The extension picks the format unless the content says otherwise (a ``WEBVTT`` header, SRT or
    SBV timings); a file without timings is plain text, spread over ``duration_seconds`` (or over
    an estimate at 150 words a minute). Raises :class:`ValidationError` for anything unreadable.
    """
    name = PurePosixPath(filename.replace("\\", "/")).name or "the uploaded file"
    extension = _extension(name)
    if extension and extension not in SUBTITLE_EXTENSIONS:
        raise ValidationError(f"'{name}' is not a subtitle file; {_UPLOAD_HINT}.")
    if not data:
        raise ValidationError(f"The subtitle file '{name}' is empty; {_UPLOAD_HINT} that contains the captions.")
    if len(data) > MAX_SUBTITLE_BYTES:
        raise ValidationError(
            f"The subtitle file '{name}' is {len(data) / 1024**2:,.1f} MB; Chronos takes subtitle files up to "
            f"{MAX_SUBTITLE_BYTES // 1024**2} MB (a 10-hour lecture's is about 1 MB). Check that it is a subtitle "
            "file, or split it and add each part as its own video.")

    text = _decode(data, name)
    if not text.strip():
        raise ValidationError(f"The subtitle file '{name}' is empty; {_UPLOAD_HINT} that contains the captions.")

    fmt = _sniff_format(text, extension)
    log.debug("reading %s as %s", name, fmt)
    if fmt == "text":
        segments = _spread_plain_text(text, duration_seconds)
    else:
        segments = _merge_repeats(_read_cues(text, fmt, name))
    if not segments:
        raise ValidationError(
            f"The subtitle file '{name}' contains no caption text; check that it is the right file and upload it again."
        )
    latest = max(segment.end for segment in segments)
    if latest > MAX_SECONDS:
        raise ValidationError(
            f"The subtitle file '{name}' has a caption at {latest / 3600:,.0f} hours, past the {MAX_SECONDS // 3600:,} "
            "hours Chronos takes; check its timings and upload it again."
        )
    return segments


def _extension(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    # "Interview 2.0" or "v1.2 final" have no real extension; only a short word counts as one.
    return suffix if re.fullmatch(r"\.[a-z][a-z0-9]{0,4}", suffix) else ""


def _decode(data: bytes, name: str) -> str:
    """Bytes to text with normalised newlines, refusing anything that is not text."""
    not_text = f"'{name}' is not a text file"
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # A stray bad byte should not cost the whole file; the share check below catches garbage.
            text = data.decode(encoding, errors="replace")
            break
    else:
        for magic, kind in _MAGIC:
            if data.startswith(magic):
                raise ValidationError(f"{not_text} (it looks like {kind}); {_UPLOAD_HINT}.")
        # NUL never occurs in 8-bit or UTF-8 text: it is UTF-16/32 written without a BOM, or binary.
        if b"\x00" in data:
            wide = _decode_wide_without_bom(data)
            if wide is None:
                raise ValidationError(f"{not_text} (it contains binary data); {_SAVE_AS_TEXT}.")
            text = wide
        else:
            text = _decode_without_bom(data)

    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").rstrip("\x1a")
    if "\x00" in text:  # never in text, even after a BOM; PostgreSQL refuses to store it
        raise ValidationError(f"{not_text} (it contains binary data); {_SAVE_AS_TEXT}.")
    controls = sum(1 for char in text if (ord(char) < 32 and char not in "\t\n\f\v") or 0x7F <= ord(char) < 0xA0)
    if controls + text.count("\ufffd") > _MAX_CONTROL_SHARE * len(text):
        raise ValidationError(f"{not_text} (it contains binary data); {_SAVE_AS_TEXT}.")
    return text


def _decode_wide_without_bom(data: bytes) -> str | None:
    """UTF-16 or UTF-32 text without a BOM (some Windows tools write it), else None."""
    wide = [match for match in charset_normalizer.from_bytes(data) if match.encoding.startswith(("utf_16", "utf_32"))]
    if not wide:
        return None
    # A short text reads in both byte orders; the ASCII a subtitle file always has (its timings)
    # puts the NUL bytes after each character in little-endian, before it in big-endian.
    little = data[1::2].count(0) > data[0::2].count(0)
    wide.sort(key=lambda match: match.encoding.endswith("_le") != little)
    log.info("decoding subtitles as %s without a BOM", wide[0].encoding)
    return str(wide[0])


def _decode_without_bom(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if not _HIGH_BYTE_RUN.search(data):
        # Lone high bytes are Windows-1252 letters; a multibyte code page would swallow the ASCII
        # letter after each one, and charset detection takes "Ça va" for Big5 ("ド va").
        return data.decode("cp1252", errors="replace")
    matches = list(charset_normalizer.from_bytes(data))
    if matches:
        # Short Western texts decode without chaos in several code pages (cp1250, cp1125, ...), so
        # among the equally clean candidates Windows-1252, the usual legacy subtitle encoding, wins.
        least = min(match.chaos for match in matches)
        clean = [match for match in matches if match.chaos == least]
        if not any("cp1252" in match.could_be_from_charset for match in clean):
            log.info("decoding subtitles as %s", clean[0].encoding)
            return str(clean[0])
    return data.decode("cp1252", errors="replace")


def _sniff_format(text: str, extension: str) -> str:
    lines = text.split("\n")
    if text.lstrip().startswith("WEBVTT"):
        return "vtt"
    # In a .txt only a line starting with a time counts, so prose with an arrow stays prose.
    loose = extension in (".srt", ".vtt")
    timings = [line for line in lines if _ARROW_TIMING.match(line) or (loose and _looks_like_timing(line))]
    if timings:
        # SRT writes "00:00:01,000"; dotted timings are WebVTT unless the name says SRT (its reader
        # takes both), and WebVTT needs no hours, which the SRT reader does.
        if extension == ".srt" or any(_COMMA_TIMESTAMP.search(line) for line in timings):
            return "srt"
        return "vtt"
    if any(_SBV_TIMING.match(line) for line in lines):
        return "sbv"
    if extension in (".srt", ".vtt", ".sbv"):
        log.info("no timings found in a %s file, reading it as plain text", extension)
    return "text"


@dataclass
class _Cue:
    start: float
    end: float
    lines: list[str]


def _read_cues(text: str, fmt: str, name: str) -> list[_Cue]:
    """Timed cues from the library, in time order, with cleaned non-empty lines."""
    prepared = _PREPARE[fmt](text)
    try:
        captions = webvtt.from_buffer(io.StringIO(prepared), format=fmt).captions
    except (MalformedFileError, MalformedCaptionError, ValueError) as error:
        log.info("webvtt-py rejected %s as %s: %s", name, fmt, error)
        captions = None
    except Exception:  # a library bug must still reach the user as a plain sentence
        log.exception("webvtt-py failed on %s", name)
        captions = None

    # The library skips (or rejects the file for) cues it cannot read without saying which; find
    # the first such line for the user.
    timing_lines = _timing_lines(text, fmt)
    if captions is None or len(captions) < len(timing_lines):
        for number, line in timing_lines:
            if not _timing_readable(line, fmt):
                raise ValidationError(
                    f"Line {number} of '{name}' has a timing Chronos cannot read ({line.strip()[:60]!r}); "
                    f"write it like {_TIMING_EXAMPLES[fmt]} and upload the file again."
                )
    if captions is None:
        raise ValidationError(
            f"'{name}' could not be read as {_FORMAT_NAMES[fmt]} subtitles; export them again or {_UPLOAD_HINT}."
        )

    cues = []
    for caption in captions:
        start = caption.start_time.in_milliseconds() / 1000
        end = max(caption.end_time.in_milliseconds() / 1000, start)
        lines = [cleaned for cleaned in map(_clean_line, caption.text.split("\n")) if cleaned]
        if lines:
            cues.append(_Cue(start, end, lines))
    cues.sort(key=lambda cue: cue.start)
    return cues


def _prepare_srt(text: str) -> str:
    """Number every cue and separate cues by a blank line, which the library's SRT reader requires."""
    out: list[str] = []
    count = 0
    for line in text.split("\n"):
        if "-->" not in line:
            out.append(line)
            continue
        if count == 0:
            out = []  # a title or notes before the first cue are not captions
        elif out and out[-1].strip().isdigit():
            out.pop()  # the cue number; renumbered below
        while out and not out[-1].strip():
            out.pop()
        count += 1
        out.extend(["", str(count), line.strip()] if out else [str(count), line.strip()])
    return "\n".join(out) + "\n\n"


def _prepare_vtt(text: str) -> str:
    text = text.lstrip()
    return text if text.startswith("WEBVTT") else "WEBVTT\n\n" + text


def _prepare_sbv(text: str) -> str:
    return text.strip() + "\n"


_PREPARE: dict[str, Callable[[str], str]] = {"srt": _prepare_srt, "vtt": _prepare_vtt, "sbv": _prepare_sbv}


def _timing_lines(text: str, fmt: str) -> list[tuple[int, str]]:
    """The (1-based number, line) of every line that should hold a cue's timing."""
    lines = text.split("\n")
    if fmt != "sbv":
        return [(i, line) for i, line in enumerate(lines, 1) if _looks_like_timing(line)]
    # SBV has no arrow: a cue is a block whose first line is the timing.
    return [
        (i, line)
        for i, line in enumerate(lines, 1)
        if line.strip()[:1].isdigit() and (i == 1 or not lines[i - 2].strip())
    ]


def _looks_like_timing(line: str) -> bool:
    # Digits tell a broken timing from a NOTE or caption line that merely contains an arrow.
    return "-->" in line and any(char.isdigit() for char in line)


def _timing_readable(line: str, fmt: str) -> bool:
    """Ask the library itself whether it can read this timing line, in a one-cue file."""
    probe = {"srt": f"1\n{line.strip()}\nx\n\n", "vtt": f"WEBVTT\n\n{line.strip()}\nx\n", "sbv": f"{line.strip()}\nx\n"}
    try:
        return len(webvtt.from_buffer(io.StringIO(probe[fmt]), format=fmt).captions) == 1
    except Exception:  # noqa: BLE001 -- any failure at all means "unreadable"
        return False


def _clean_line(line: str) -> str:
    """One caption line without SSA overrides, entities, invisible marks or extra spaces.

    Cue tags (``<i>``, ``<v Bob>``, ``<c.yellow>``, ``<00:00:01.000>``) are already gone: the
    library's ``Caption.text`` strips them.
    """
    line = html.unescape(_SSA_OVERRIDE.sub("", line)).translate(_INVISIBLE)
    return " ".join(line.split())


def _merge_repeats(cues: list[_Cue]) -> list[Segment]:
    """Segments without the text that rolling (YouTube auto-caption) cues repeat from the cue before.

    A cue that starts with the last lines of the previous cue loses them; a cue left with nothing
    new extends the previous segment instead.
    """
    segments: list[Segment] = []
    previous: _Cue | None = None
    for cue in cues:
        lines = cue.lines
        if previous is not None and segments and cue.start - segments[-1].end <= _MAX_REPEAT_GAP_SECONDS:
            lines = lines[_repeated_prefix(previous.lines, lines) :]
            if not lines:
                last = segments[-1]
                segments[-1] = Segment(last.start, max(last.end, cue.end), last.text)
                previous = cue
                continue
        segments.append(Segment(cue.start, cue.end, " ".join(lines)))
        previous = cue
    return segments


def _repeated_prefix(before: list[str], lines: list[str]) -> int:
    """How many first ``lines`` repeat the last lines of ``before``."""
    for size in range(min(len(before), len(lines)), 0, -1):
        if before[-size:] == lines[:size]:
            return size
    return 0


def _spread_plain_text(text: str, duration_seconds: float | None) -> list[Segment]:
    """One segment per sentence (or line), timed in proportion to its words."""
    pieces = [chunk for unit in _plain_units(text) for chunk in _chunks(unit)]
    total = sum(len(piece) for piece in pieces)
    if not total:
        return []
    duration = duration_seconds
    if duration is None or not math.isfinite(duration) or duration <= 0:
        duration = total * 60 / _WORDS_PER_MINUTE
    segments = []
    done = 0
    for words in pieces:
        start = duration * (done / total)
        done += len(words)
        # done / total is exactly 1.0 at the end, so the last segment ends exactly at the duration.
        segments.append(Segment(start, duration * (done / total), " ".join(words)))
    return segments


def _plain_units(text: str) -> list[str]:
    """Sentences, keeping line breaks as boundaries unless a line was only wrapped mid-sentence."""
    units: list[str] = []
    current = ""
    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if not line:
            if current:
                units.append(current)
            current = ""
            continue
        # A wrapped line ends without punctuation and the next one goes on in lower case.
        if current and not current.endswith((".", "!", "?", "…", ":", ";")) and line[0].islower():
            current = f"{current} {line}"
        else:
            if current:
                units.append(current)
            current = line
    if current:
        units.append(current)
    return [sentence for unit in units for sentence in _SENTENCE_END.split(unit) if sentence.strip()]


def _chunks(unit: str) -> list[list[str]]:
    """Words of a sentence, in near-equal pieces no longer than ``_MAX_WORDS_PER_SEGMENT``."""
    words = unit.split()
    count = math.ceil(len(words) / _MAX_WORDS_PER_SEGMENT)
    bounds = [len(words) * i // count for i in range(count + 1)] if count else []
    return [words[a:b] for a, b in itertools.pairwise(bounds)]
