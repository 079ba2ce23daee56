"""docs/schema.md is what the migrations add up to, and every table follows the house rules."""

from __future__ import annotations

import difflib
from pathlib import Path

import sqlalchemy as sa

from chronos_data import migrations
from chronos_data.schema_doc import read_tables, schema_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
#: Tables outside the workspaces, with why they need no creator policy.
SHARED_TABLES = {
    "schema_migrations": "the migration ledger, written only by the owner",
    "embedding_models": "the catalogue of embedding models, the same for every workspace",
    "vector_index_stats": "one row per model; policies scope it through the creator's own chunks",
}


def test_docs_schema_md_is_what_a_fresh_migrate_gives(fresh_url):
    engine = sa.create_engine(fresh_url)
    try:
        migrations.migrate(engine)
        with engine.connect() as conn:
            generated = schema_markdown(conn)
    finally:
        engine.dispose()
    written = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    diff = "".join(difflib.unified_diff(written.splitlines(True), generated.splitlines(True),
                                        "docs/schema.md", "a fresh migrate", n=1))
    assert not diff, ("docs/schema.md is out of date; run `python -m chronos_data schema --out docs/schema.md`:\n"
                      + diff[:4000])


def test_every_workspace_table_has_forced_row_level_security_a_policy_and_app_grants(db):
    with db.owner_engine.connect() as conn:
        tables = read_tables(conn)
    broken = {}
    for table in tables:
        if table.name in SHARED_TABLES:
            continue
        problems = [problem for problem, missing in (
            ("row-level security not enabled and forced", not (table.rls_enabled and table.rls_forced)),
            ("no policy", not table.policies),
            ("no privilege for chronos_app", "chronos_app" not in table.privileges),
            # Analyst teammates read what the app reads (sql/018_workspace_members.sql).
            ("chronos_analyst may not read it", "SELECT" in table.privileges.get("chronos_app", ())
             and "SELECT" not in table.privileges.get("chronos_analyst", ())),
            # creators is the workspace itself: its policy compares its own id.
            ("no creator_id column", table.name != "creators"
             and not any(name == "creator_id" for name, *_ in table.columns)),
        ) if missing]
        if problems:
            broken[table.name] = problems
    assert len(tables) > 20 and broken == {}
