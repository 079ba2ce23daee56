"""A workspace connected to the fake Whop company and synced once (test_whop_sync's fake and library)."""

from __future__ import annotations

import dataclasses

import pytest

from chronos_data import whop
from tests.whop.test_whop_sync import _library, fake  # noqa: F401  (the fixture)


@pytest.fixture
def synced(t, fake, settings):  # noqa: F811
    """(settings pointed at the fake, the library's videos) after one sync."""
    s = dataclasses.replace(settings, whop_base_url=fake.api_url)
    library = _library(t)
    whop.connect(t, fake.key, fake.company, settings=s)
    whop.sync(t, settings=s)
    return s, library
