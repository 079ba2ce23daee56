"""The Settings page's restore in Chromium: a backup file chosen in the browser is restored into the
empty workspace by the one restore call (``backup.restore_backup``), and a damaged one is refused
with the workspace left empty."""

from __future__ import annotations

import gzip
import io
import uuid

import pytest
import sqlalchemy as sa

from chronos_data import backup, creators, students
from tests.conftest import new_creator
from tests.e2e.conftest import SCREENSHOTS, running_app

pytestmark = pytest.mark.timeout(300)

EMAIL = f"restore-browser-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture(scope="module")
def app(tmp_path_factory, database_url):
    root = tmp_path_factory.mktemp("restore")
    env = {"DATABASE_URL": database_url, "CHRONOS_IMPORT_WORKER": "off", "CHRONOS_LOCAL_EMAIL": EMAIL}
    with running_app(root, env) as instance:
        yield instance


@pytest.fixture(scope="module")
def backup_file(db, tmp_path_factory):
    """A backup of another workspace holding two students."""
    source = new_creator(db, "restore-browser-source")
    with db.workspace(source) as t:
        students.create_student(t, "ada@example.com", "Ada")
        students.create_student(t, "grace@example.com", "Grace")
    out = io.BytesIO()
    with db.workspace(source) as t:
        backup.export_workspace(t, out)
    folder = tmp_path_factory.mktemp("backups")
    good, damaged = folder / "good.jsonl.gz", folder / "damaged.jsonl.gz"
    good.write_bytes(out.getvalue())
    text = gzip.decompress(out.getvalue()).decode()
    damaged.write_bytes(gzip.compress((text.rsplit("\n", 2)[0] + "\n").encode()))  # without its closing line
    yield good, damaged
    with db.owner() as conn:
        conn.execute(sa.text("DELETE FROM chronos.creators WHERE id = :c"), {"c": source})


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def _students(db) -> list[str]:
    with db.engine.begin() as conn:
        creator = creators.ensure_creator(conn, EMAIL)
    with db.workspace(creator) as t:
        return sorted(s.email for s in students.list_students(t))


def _restore(page, app, file) -> None:
    page.goto(f"{app.url}/settings")
    page.get_by_role("heading", name="Backup").wait_for(timeout=60_000)
    page.locator("input[type=file]").set_input_files(str(file))
    page.get_by_text(file.name).wait_for(timeout=30_000)
    page.get_by_role("button", name="Restore into this workspace").click()


def test_a_damaged_file_is_refused_then_a_good_one_is_restored(page, app, db, backup_file):
    good, damaged = backup_file
    _restore(page, app, damaged)
    page.get_by_text("cut short").wait_for(timeout=60_000)
    assert _students(db) == []

    _restore(page, app, good)
    page.get_by_text("Restored the backup of").wait_for(timeout=60_000)
    assert page.get_by_text("2 students").count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "settings-restored.png"), full_page=True)
    assert _students(db) == ["ada@example.com", "grace@example.com"]
    assert page.get_by_text("Traceback").count() == 0
