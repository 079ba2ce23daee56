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


def _strings_and_calls(path: Path) -> tuple[set[str], set[str]]:
    tree = ast.parse(path.read_text())
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    calls = {f"{n.func.value.id}.{n.func.attr}" for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)}
    return strings, calls


def test_pages_components_and_the_load_benchmark_name_no_table():
    """A page asks chronos_data a question ("has_questions", "overview_page"), never for rows of a
    table it names; the benchmark calls what the pages call."""
    from chronos_data.workspace import WORKSPACE_TABLES
    from tests.workspace_calls import parse_migrations

    # Tables of one word ("videos") are also ordinary words (a CSV's name); the calls below catch those.
    named = {table for table in WORKSPACE_TABLES if "_" in table}
    schema = parse_migrations()
    every_table = {*schema.workspace_tables, *schema.other_tables}
    assert {"videos", "video_chunks", "whop_lessons"} <= every_table  # read from sql/
    paths = [*(ROOT / "pages").rglob("*.py"), *(ROOT / "components").rglob("*.py"), ROOT / "bench" / "load.py"]
    for path in paths:
        strings, calls = _strings_and_calls(path)
        assert not strings & named, (path, strings & named)
        assert not calls & {"workspace.has_rows", "workspace.row_counts"}, path
        # Any table of the migrations, one-word ones too, wherever a chronos_data call is given one.
        assert _data_calls_naming_tables(path, every_table) == []


def test_every_csv_download_goes_through_the_formula_guard():
    # Titles, e-mails and questions in a download are other people's text: written raw, a cell such
    # as "=HYPERLINK(...)" runs as a formula when the creator opens the file in a spreadsheet.
    for folder in ("pages", "components"):
        for path in (ROOT / folder).rglob("*.py"):
            assert ".to_csv(" not in path.read_text(), f"{path}: write CSV with chronos_data.spreadsheet.csv_bytes"
