"""Which language a question is in, so an unanswered one can say the videos speak another.

Detection uses ``langdetect`` (Google's language-detection profiles, shipped in the package). It
guesses wrong on short English questions ("stripe webhook setup guide" reads as Afrikaans), so a
question in Latin script counts as another language only when English is not among the guesses,
none of its words is a common English one, and it has letters outside ASCII (é, ñ, ü) or a little
word of the language guessed ("est", "una", "ist").
"""

from __future__ import annotations

import re
import threading

from langdetect import DetectorFactory, LangDetectException, detect_langs

__all__ = ["LANGUAGE_NAMES", "language_note", "question_language"]

#: English names of the languages a student is likely to ask in (langdetect's codes).
LANGUAGE_NAMES = {
    "ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French", "hi": "Hindi",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese",
    "ru": "Russian", "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian", "zh": "Chinese",
}
# English words no other common language writes the same way in a question: one of them settles it.
_ENGLISH = frozenset("the is are what how why which does should would could when where who of and with "
                     "you your this that can".split())
_WORD = re.compile(r"[^\W\d_]+")
# Little words of the languages a student most often asks in, which English keywords do not use.
_LITTLE_WORDS = {
    "es": frozenset("el la los las una es que del para como por mi se qué cómo está son".split()),
    "fr": frozenset("le la les une est des du que qui mon ma pour dans avec comment quoi ce qu".split()),
    "de": frozenset("der das ein eine ist und wie ich nicht mit kann mein zu warum".split()),
    "pt": frozenset("os uma um é não como da para meu minha que com".split()),
    "it": frozenset("il lo gli una è come che di per mio mia non con".split()),
    "nl": frozenset("het een hoe wat ik niet met van".split()),
}
_lock = threading.Lock()


def question_language(question: str) -> str | None:
    """The language code of ``question`` ("en", "es", "zh-cn" …), or None when it has no words."""
    words = _WORD.findall(question.lower())
    if not words:
        return None
    letters = "".join(words)
    latin = sum(ch.isascii() for ch in letters) / len(letters) > 0.5
    if latin and _ENGLISH.intersection(words):
        return "en"
    with _lock:  # the profiles load once, on first use; a fixed seed makes the guess repeatable
        DetectorFactory.seed = 0
        try:
            guesses = detect_langs(question)
        except LangDetectException:
            return None
    if not guesses or (latin and any(g.lang == "en" for g in guesses)):
        return "en" if guesses else None
    guessed = guesses[0].lang
    if latin and letters.isascii() and not _LITTLE_WORDS.get(guessed, frozenset()).intersection(words):
        return None  # "docker compose volumes" (guessed Portuguese): keywords, in no language for sure
    return guessed


def language_note(question: str, videos_language: str) -> str | None:
    """One line for an unanswered question asked in another language than the videos', else None."""
    asked = question_language(question)
    if asked is None or _base(asked) == _base(videos_language):
        return None
    name = LANGUAGE_NAMES.get(_base(videos_language))
    if name is None:
        return "Your question seems to be in another language than your videos; try asking in theirs."
    return f"Your videos are in {name}; try asking in {name}."


def _base(code: str) -> str:
    """The language without its region or script: "en-US" → "en", "zh-cn" → "zh"."""
    return code.lower().replace("_", "-").split("-")[0]
