"""The current schema, read from the database's catalogs and written as Markdown.

Migrations redefine functions and add policies over many files; ``docs/schema.md`` is what they
add up to, generated from a freshly migrated database so it is readable in one place. A test
regenerates it and fails when the file in the repository differs (``python -m chronos_data schema
--out docs/schema.md`` rewrites it). Only catalog facts that do not depend on the server's version
or on the order rows were written are included, so PostgreSQL 15 to 18 give the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["APP_ROLES", "Table", "read_tables", "schema_markdown"]

SCHEMA = "chronos"
#: The roles whose privileges the document lists: the app's login and read-only teammates.
APP_ROLES = ("chronos_app", "chronos_analyst")


@dataclass
class Table:
    name: str
    comment: str | None
    rls_enabled: bool
    rls_forced: bool
    columns: list[tuple[str, str, bool, str | None]] = field(default_factory=list)
    constraints: list[tuple[str, str]] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    policies: list[tuple[str, str, str, str | None, str | None]] = field(default_factory=list)
    privileges: dict[str, list[str]] = field(default_factory=dict)


def _rows(conn: Connection, sql: str) -> list[sa.Row]:
    return list(conn.execute(sa.text(sql), {"schema": SCHEMA}))


def read_tables(conn: Connection) -> list[Table]:
    """Every table of the Chronos schema with its columns, checks, indexes, triggers and access rules."""
    tables = {
        r.relname: Table(r.relname, r.comment, r.relrowsecurity, r.relforcerowsecurity)
        for r in _rows(conn, """
            SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment, c.relrowsecurity,
                   c.relforcerowsecurity
            FROM pg_class c WHERE c.relnamespace = CAST(:schema AS regnamespace) AND c.relkind IN ('r', 'p')
            ORDER BY c.relname""")
    }
    for r in _rows(conn, """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid) AS default
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = CAST(:schema AS regnamespace) AND c.relkind IN ('r', 'p')
              AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY c.relname, a.attnum"""):
        tables[r.relname].columns.append((r.attname, r.type, r.attnotnull, r.default))
    # PostgreSQL 18 lists NOT NULL as constraints too ('n'); the columns already say it.
    for r in _rows(conn, """
            SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) AS definition
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            WHERE c.relnamespace = CAST(:schema AS regnamespace) AND k.contype <> 'n'
            ORDER BY c.relname, k.conname"""):
        tables[r.relname].constraints.append((r.conname, r.definition))
    for r in _rows(conn, """
            SELECT t.relname, pg_get_indexdef(i.indexrelid) AS definition
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
            WHERE t.relnamespace = CAST(:schema AS regnamespace)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                              AND k.contype IN ('p', 'u', 'x'))
            ORDER BY t.relname, x.relname"""):
        tables[r.relname].indexes.append(r.definition)
    for r in _rows(conn, """
            SELECT c.relname, pg_get_triggerdef(g.oid) AS definition
            FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
            WHERE c.relnamespace = CAST(:schema AS regnamespace) AND NOT g.tgisinternal
            ORDER BY c.relname, g.tgname"""):
        tables[r.relname].triggers.append(r.definition)
    for r in _rows(conn, """
            SELECT tablename, policyname, cmd, array_to_string(roles, ', ') AS roles, qual, with_check
            FROM pg_policies WHERE schemaname = :schema ORDER BY tablename, policyname"""):
        tables[r.tablename].policies.append((r.policyname, r.cmd, r.roles, r.qual, r.with_check))
    for r in _rows(conn, """
            SELECT c.relname, g.grantee::regrole::text AS role,
                   string_agg(g.privilege_type, ', ' ORDER BY g.privilege_type) AS privileges
            FROM pg_class c, aclexplode(c.relacl) g
            WHERE c.relnamespace = CAST(:schema AS regnamespace) AND c.relkind IN ('r', 'p')
              AND g.grantee <> 0 AND g.grantee::regrole::text IN ('chronos_app', 'chronos_analyst')
            GROUP BY c.relname, g.grantee ORDER BY c.relname, role"""):
        tables[r.relname].privileges[r.role] = r.privileges.split(", ")
    return list(tables.values())


def _functions(conn: Connection) -> list[sa.Row]:
    return _rows(conn, """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
               pg_get_function_result(p.oid) AS result, p.prosecdef, l.lanname,
               CASE WHEN p.proacl IS NULL THEN 'everyone' ELSE coalesce(
                 (SELECT string_agg(CASE WHEN g.grantee = 0 THEN 'everyone' ELSE g.grantee::regrole::text END, ', '
                                    ORDER BY g.grantee <> 0, g.grantee::regrole::text)
                  FROM aclexplode(p.proacl) g
                  WHERE g.grantee = 0 OR g.grantee::regrole::text IN ('chronos_app', 'chronos_analyst')),
                 'the owner only') END AS callers
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
        WHERE p.pronamespace = CAST(:schema AS regnamespace)
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        ORDER BY p.proname, args""")


def _views(conn: Connection) -> list[sa.Row]:
    return _rows(conn, """
        SELECT c.relname, c.relkind FROM pg_class c
        WHERE c.relnamespace = CAST(:schema AS regnamespace) AND c.relkind IN ('v', 'm') ORDER BY c.relname""")


def _cell(text: str | None) -> str:
    return "" if text is None else "`" + text.replace("|", "\\|") + "`"


def schema_markdown(conn: Connection) -> str:
    """The Markdown of ``docs/schema.md`` for the database ``conn`` reaches."""
    # Definitions print names relative to the search path, and pgvector may live in either schema:
    # with both on the path, the app's connection and a plain one write the same file.
    conn.execute(sa.text(f"SET LOCAL search_path = public, {SCHEMA}"))
    version = conn.execute(sa.text(
        f"SELECT max(filename) FROM {SCHEMA}.schema_migrations")).scalar_one()
    extensions = ", ".join(r.extname for r in _rows(
        conn, "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname"))
    tables = read_tables(conn)
    out = [
        "# The Chronos schema",
        "",
        "Generated from a freshly migrated database by `python -m chronos_data schema --out docs/schema.md`;",
        "`tests/db/test_schema_doc.py` fails when this file and the migrations in `sql/` disagree.",
        "Change the schema with a new migration, never by editing this file.",
        "",
        f"Schema `{SCHEMA}` after `{version}` · extensions: {extensions}",
        "",
        "## Tables",
        "",
    ]
    for table in tables:
        out += [f"### {table.name}", ""]
        if table.comment:
            out += [table.comment, ""]
        rls = ("enabled and forced" if table.rls_forced else "enabled (not forced)") if table.rls_enabled else "off"
        out.append(f"Row-level security: {rls}.")
        for role in APP_ROLES:
            if role in table.privileges:
                out.append(f"`{role}` may {', '.join(table.privileges[role])}.")
        out += ["", "| column | type | not null | default |", "|---|---|---|---|"]
        out += [f"| {name} | {kind} | {'yes' if not_null else ''} | {_cell(default)} |"
                for name, kind, not_null, default in table.columns]
        if table.constraints:
            out += ["", "Constraints:"] + [f"- `{name}` {_cell(definition)}" for name, definition in table.constraints]
        if table.indexes:
            out += ["", "Indexes:"] + [f"- {_cell(definition)}" for definition in table.indexes]
        if table.triggers:
            out += ["", "Triggers:"] + [f"- {_cell(definition)}" for definition in table.triggers]
        if table.policies:
            out += ["", "Policies:"]
            for name, cmd, roles, using, check in table.policies:
                line = f"- `{name}` {cmd} to {roles}"
                line += f": using {_cell(using)}" if using else ""
                line += f"; with check {_cell(check)}" if check else ""
                out.append(line)
        out.append("")
    views = _views(conn)
    if views:
        out += ["## Views", ""]
        out += [f"- `{v.relname}`{' (materialized)' if v.relkind == 'm' else ''}" for v in views]
        out.append("")
    out += ["## Functions", "", "| function | returns | runs as | callable by |", "|---|---|---|---|"]
    for f in _functions(conn):
        out.append(f"| `{f.proname}({f.args})` | {_cell(f.result)} | "
                   f"{'definer' if f.prosecdef else 'caller'} ({f.lanname}) | {f.callers} |")
    return "\n".join(out) + "\n"
