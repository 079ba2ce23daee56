"""A CSV of links becomes one import request per row."""

import pytest

from chronos_data.errors import ValidationError
from chronos_data.ingest.imports import parse_csv


def test_a_url_column_and_optional_titles_with_a_bom_and_blank_rows():
    data = "\ufefftitle,url\nIntro,https://youtu.be/dQw4w9WgXcQ\n,,\nLoops,https://youtu.be/aaaaaaaaaaa\n".encode()
    rows = parse_csv(data, languages="de,en")
    assert [(r.source, r.title, r.languages) for r in rows] == [
        ("https://youtu.be/dQw4w9WgXcQ", "Intro", "de,en"), ("https://youtu.be/aaaaaaaaaaa", "Loops", "de,en")]


def test_without_a_header_the_first_column_holds_the_links():
    rows = parse_csv(b"https://youtu.be/dQw4w9WgXcQ\nhttps://youtu.be/aaaaaaaaaaa\n")
    assert [r.source for r in rows] == ["https://youtu.be/dQw4w9WgXcQ", "https://youtu.be/aaaaaaaaaaa"]


@pytest.mark.parametrize(("data", "says"), [(b"", "empty"), (b"\n\n", "empty"), (b"url,title\n", "no links")])
def test_empty_or_linkless_files_are_refused(data, says):
    with pytest.raises(ValidationError, match=says):
        parse_csv(data)
