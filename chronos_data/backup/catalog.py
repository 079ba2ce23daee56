"""The catalog: which tables hold a workspace, their columns, keys and foreign-key order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..workspace import WORKSPACE_TABLES
from .file_format import _SCHEMA, ACCESS_TABLES, DERIVED_TABLES, SECRET_TABLES, BackupFileError

_MIGRATION_NUMBER = re.compile(r"^(\d+)_")


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]  # every column in order, generated ones included
    generated: frozenset[str]
    primary_key: tuple[str, ...]
    uuid_key: bool  # the primary key is one uuid column: its values get fresh ids
    parents: frozenset[str]  # workspace tables this one references
    can_select: bool
    can_insert: bool

    @property
    def data_columns(self) -> tuple[str, ...]:
        """What a backup holds: everything but generated columns and creator_id (set on restore)."""
        return tuple(c for c in self.columns if c not in self.generated and c != "creator_id")


@dataclass(frozen=True)
class _Schema:
    tables: dict[str, _Table]
    order: list[str]  # parents before children
    version: str | None

    @property
    def backed_up(self) -> list[str]:
        return [n for n in self.order if n not in DERIVED_TABLES | ACCESS_TABLES | SECRET_TABLES]


def _load_schema(conn: Connection) -> _Schema:
    rows = conn.execute(sa.text("""
        SELECT c.relname, a.attname, a.attgenerated <> '' AS generated, format_type(a.atttypid, a.atttypmod) AS type,
               has_table_privilege(c.oid, 'SELECT') AS can_select, has_table_privilege(c.oid, 'INSERT') AS can_insert,
               coalesce(a.attnum = ANY (i.indkey::int2[]), false) AS in_key, cardinality(i.indkey::int2[]) AS key_size
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND EXISTS (SELECT 1 FROM pg_attribute k WHERE k.attrelid = c.oid AND k.attname = 'creator_id'
                      AND NOT k.attisdropped)
        ORDER BY c.relname, a.attnum
    """), {"schema": _SCHEMA}).all()
    edges = conn.execute(sa.text("""
        SELECT child.relname, parent.relname
        FROM pg_constraint f
        JOIN pg_class child ON child.oid = f.conrelid
        JOIN pg_class parent ON parent.oid = f.confrelid
        JOIN pg_namespace n ON n.oid = child.relnamespace AND n.nspname = :schema
        WHERE f.contype = 'f' AND child.oid <> parent.oid
    """), {"schema": _SCHEMA}).all()
    version = conn.execute(sa.text(f"SELECT max(filename) FROM {_SCHEMA}.schema_migrations")).scalar_one()

    columns: dict[str, list[Any]] = {}
    for row in rows:
        columns.setdefault(row.relname, []).append(row)
    parents: dict[str, set[str]] = {name: set() for name in columns}
    for child, parent in edges:
        if child in columns and parent in columns:  # creators and embedding_models are not workspace tables
            parents[child].add(parent)
    tables = {}
    for name, cols in columns.items():
        key = tuple(c.attname for c in cols if c.in_key)
        tables[name] = _Table(
            name=name,
            columns=tuple(c.attname for c in cols),
            generated=frozenset(c.attname for c in cols if c.generated),
            primary_key=key,
            uuid_key=len(key) == 1 and next(c.type for c in cols if c.attname == key[0]) == "uuid",
            parents=frozenset(parents[name]),
            can_select=cols[0].can_select,
            can_insert=cols[0].can_insert,
        )
    return _Schema(tables, _dependency_order(tables), version)


def _dependency_order(tables: dict[str, _Table]) -> list[str]:
    """Parents before children; among tables that may come next, the order a person reads them."""
    def rank(name: str) -> tuple[int, str]:
        return (WORKSPACE_TABLES.index(name) if name in WORKSPACE_TABLES else len(WORKSPACE_TABLES), name)

    order: list[str] = []
    waiting = dict(tables)
    while waiting:
        ready = sorted((n for n, t in waiting.items() if not (t.parents - set(order))), key=rank)
        if not ready:
            raise BackupFileError(f"The tables {', '.join(sorted(waiting))} reference each other in a cycle; "
                                  "a backup cannot order their rows.")
        order.append(ready[0])
        del waiting[ready[0]]
    return order


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(table: str) -> str:
    return f"{_SCHEMA}.{_ident(table)}"


def _migration_number(version: str | None) -> int:
    match = _MIGRATION_NUMBER.match(version or "")
    return int(match.group(1)) if match else 0
