"""The one rule for which YouTube caption track to read (transcript API and yt-dlp alike)."""

from __future__ import annotations

from chronos_data.ingest.caption_tracks import Track, choose_track, primary_language


def _made(code: str, **kw) -> Track[str]:
    return Track(code, False, f"made:{code}", **kw)


def _auto(code: str, **kw) -> Track[str]:
    return Track(code, True, f"auto:{code}", **kw)


def test_made_captions_in_any_wanted_language_beat_speech_recognition_in_the_first():
    tracks = [_auto("en"), _made("de")]
    assert choose_track(tracks, ["en", "de"]).item == "made:de"


def test_a_regional_track_counts_for_its_language_and_an_exact_one_wins():
    assert choose_track([_made("en-GB")], ["en"]).item == "made:en-GB"
    assert choose_track([_made("en-GB"), _made("en-US")], ["en-us"]).item == "made:en-US"
    assert choose_track([_made("pt")], ["pt_BR"]).item == "made:pt"


def test_an_alias_matches_exactly():
    assert choose_track([_made("en", aliases=("en-nP7-2PuUl7o",)), _made("en-GB")], ["en-nP7-2PuUl7o"]).item == "made:en"


def test_without_a_wanted_language_the_spoken_one_is_taken_as_made_captions_when_they_exist():
    tracks = [_made("fr"), _auto("es"), _made("es"), _auto("fr", original=True)]
    assert choose_track(tracks, ["en"]).item == "made:fr"  # the original speech is French
    assert choose_track([_made("fr"), _auto("es"), _made("es")], ["en"]).item == "made:es"  # first auto: Spanish
    assert choose_track([_made("fr"), _made("es")], ["en"]).item == "made:fr"  # no speech recognition
    assert choose_track([_auto("es")], ["en"], fallback=False) is None
    assert choose_track([], ["en"]) is None


def test_primary_language():
    assert [primary_language(c) for c in ("pt-BR", "zh_Hans", " EN ", None)] == ["pt", "zh", "en", ""]
