"""The migration runner: applies each file once, in order, atomically, and guards history."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from chronos_data import migrations
from chronos_data.db import create_engine
from chronos_data.errors import MigrationError


def _ledger(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT filename FROM chronos.schema_migrations ORDER BY 1")).scalars())


@pytest.fixture
def engine(fresh_url: str):
    engine = create_engine(fresh_url, register_vector=False)
    yield engine
    engine.dispose()


@pytest.fixture
def sql_copy(tmp_path: Path) -> Path:
    target = tmp_path / "sql"
    shutil.copytree(migrations.MIGRATIONS_DIR, target)
    return target


def test_all_files_apply_on_an_empty_database_and_a_rerun_is_a_no_op(engine):
    files = [f.filename for f in migrations.discover()]

    assert migrations.migrate(engine) == files
    assert migrations.migrate(engine) == []
    assert _ledger(engine) == files


def test_listing_pending_files_changes_nothing(engine):
    with engine.connect() as conn:
        state = migrations.migration_status(conn)
        assert state.applied == [] and state.pending == [f.filename for f in migrations.discover()]
        assert conn.execute(sa.text("SELECT to_regclass('chronos.schema_migrations')")).scalar() is None


def test_a_failing_file_rolls_back_stays_pending_and_applies_once_fixed(engine, sql_copy):
    bad = sql_copy / "900_broken.sql"
    bad.write_text("CREATE TABLE chronos.half_done (id int);\nSELECT no_such_function();\n")

    with pytest.raises(MigrationError, match="900_broken.sql failed and was rolled back"):
        migrations.migrate(engine, sql_copy)

    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('chronos.half_done')")).scalar() is None
        assert migrations.migration_status(conn, sql_copy).pending == ["900_broken.sql"]

    bad.write_text("CREATE TABLE chronos.half_done (id int);\n")
    assert migrations.migrate(engine, sql_copy) == ["900_broken.sql"]
    assert migrations.migrate(engine, sql_copy) == []
    assert _ledger(engine).count("900_broken.sql") == 1


def test_an_applied_file_edited_afterwards_stops_start_up(engine, sql_copy):
    migrations.migrate(engine, sql_copy)
    edited = sql_copy / "009_report_schedules.sql"
    edited.write_text(edited.read_text() + "\n-- a later tweak\n")

    with pytest.raises(MigrationError, match="009_report_schedules.sql was edited after it was applied"):
        migrations.migrate(engine, sql_copy)


def test_windows_line_endings_do_not_count_as_an_edit(engine, sql_copy):
    migrations.migrate(engine, sql_copy)
    target = sql_copy / "009_report_schedules.sql"
    target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))

    assert migrations.migrate(engine, sql_copy) == []


def test_misnamed_and_duplicate_numbered_files_are_refused(tmp_path):
    (tmp_path / "1_short.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="misnamed"):
        migrations.discover(tmp_path)
    (tmp_path / "1_short.sql").unlink()
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share the number 001"):
        migrations.discover(tmp_path)


def test_two_processes_starting_together_apply_each_file_once(fresh_url):
    engines = [create_engine(fresh_url, register_vector=False) for _ in range(2)]
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(engine: sa.Engine) -> None:
        barrier.wait()
        try:
            results.append(migrations.migrate(engine))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    files = [f.filename for f in migrations.discover()]
    assert sorted(results, key=len) == [[], files]
    assert _ledger(engines[0]) == files
    for engine in engines:
        engine.dispose()
