"""One word each, in code, UI text and docs: a creator's **workspace** (never "tenant") and the
**students** who watch (never "learners"). README's "Words" section says what each means."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Kept as written: migrations already applied (their checksums are recorded), the benchmark log,
#: the original schema's policy names, and Microsoft's own word in its sign-in URLs.
APPLIED = re.compile(r"^sql/0(0\d|1\d|2[0-8])_")
KEPT_FILES = {"bench/RESULTS.md", "sql/029_student_tables.sql", "tests/unit/test_words.py"}
ALLOWED = re.compile(r"\w*_tenant_isolation|microsoftonline\.com/(TENANT|tenant-id)/")
TEXT = (".py", ".md", ".sql", ".toml", ".txt", ".js", ".html")
WORDS = re.compile(r"tenan(t|cy)|learner", re.IGNORECASE)


def test_no_tenant_or_learner_outside_applied_migrations():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in files:
        if APPLIED.match(name) or name in KEPT_FILES or not name.endswith(TEXT):
            continue
        path = ROOT / name
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if WORDS.search(ALLOWED.sub("", line)):
                found.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not found, "say workspace / student:\n" + "\n".join(found[:30])
