"""A pool with every connection busy: pages get the "busy, retrying" error, not a raw TimeoutError."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from chronos_data.db import is_connection_lost
from chronos_data.errors import DatabaseUnavailable


def test_a_pool_with_no_free_connection_reports_a_busy_database(db, creator_id):
    tiny = sa.create_engine(db.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    busy = dataclasses.replace(db, engine=tiny)
    try:
        with tiny.connect():  # the only connection, held
            # Said the same to the page (which retries) and the command line (which does not).
            with pytest.raises(DatabaseUnavailable, match="too busy to answer right now; try again") as error:
                with busy.workspace(creator_id):
                    pass
        assert is_connection_lost(error.value)  # the app's retry loop handles it
        with busy.workspace(creator_id) as t:  # free again
            assert t.conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        tiny.dispose()
