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
