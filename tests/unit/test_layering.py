"""The architecture, checked: data flows page -> component -> chronos_data -> Postgres."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL_LIKE = re.compile(r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b.{0,80}\b(FROM|SET|WHERE|VALUES)\b")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_data_module_never_imports_streamlit_or_the_ui():
    for path in (ROOT / "chronos_data").rglob("*.py"):
        assert not _imports(path) & {"streamlit", "components", "pages", "plotly"}, path


def test_pages_and_components_hold_no_sql_and_no_database_driver():
    for folder in ("pages", "components"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not _imports(path) & {"sqlalchemy", "psycopg", "openai", "pgvector"}, path
            assert not SQL_LIKE.search(path.read_text()), path


def test_every_page_is_listed_in_the_router():
    router = (ROOT / "app.py").read_text()
    for page in (ROOT / "pages").glob("*.py"):
        assert f'"pages/{page.name}"' in router, page.name


def _table_names() -> set[str]:
    created = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?chronos\.(\w+)", re.IGNORECASE)
    return {name for path in (ROOT / "sql").glob("*.sql") for name in created.findall(path.read_text())}


def _data_calls_naming_tables(path: Path, tables: set[str]) -> list[str]:
    """Calls into chronos_data (``module.function(...)``) given a table's name as a string."""
    tree = ast.parse(path.read_text())
    modules = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and node.module and node.module.split(".")[0] == "chronos_data" for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id in modules):
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                for leaf in ast.walk(argument):
                    if isinstance(leaf, ast.Constant) and leaf.value in tables:
                        found.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}({leaf.value!r})")
    return found


def test_pages_and_components_never_name_a_table():
    """What a page shows is asked for by what it means ("has transcripts"), never by a table."""
    tables = _table_names()
    assert {"videos", "video_chunks", "chat_messages"} <= tables  # the check reads the migrations
    found = [hit for folder in ("pages", "components") for path in sorted((ROOT / folder).rglob("*.py"))
             for hit in _data_calls_naming_tables(path, tables)]
    assert found == []
