"""`python -m chronos_data whop connect|status|sync|disconnect` against the fake Whop API."""

from __future__ import annotations

import json
import uuid

from chronos_data import cli
from tests.fakes.whop import FakeWhop
from tests.whop.test_whop_sync import _company, _course, _key, _members


def test_connect_sync_status_disconnect_from_the_command_line(database_url, monkeypatch, capsys, tmp_path):
    email = f"whop-cli-{uuid.uuid4().hex[:8]}@example.com"
    with FakeWhop(_company(), _key(), members=_members(), courses=[_course()]) as fake:
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("CHRONOS_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("WHOP_BASE_URL", fake.api_url)
        monkeypatch.setenv("WHOP_API_KEY", "apik_wrong")
        assert cli.main(["whop", "connect", fake.company, "--creator", email]) == 1
        assert "refused the API key (401)" in capsys.readouterr().err
        monkeypatch.setenv("WHOP_API_KEY", fake.key)
        assert cli.main(["whop", "connect", fake.company, "--creator", email, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["company_id"] == fake.company
        assert cli.main(["whop", "sync", "--creator", email, "--json"]) == 0
        out = capsys.readouterr()
        assert json.loads(out.out)["text"].startswith("3 members: 3 new, 1 cancelled; 1 course")
        assert cli.main(["whop", "status", "--creator", email]) == 0
        shown = capsys.readouterr().out
        assert f"company: {fake.company} (Fake Academy)" in shown and "summary: 3 members" in shown
        secret_file = tmp_path / "secret.txt"
        secret_file.write_text("ws_" + "c" * 48 + "\n")
        assert cli.main(["whop", "webhook-secret", "--secret-file", str(secret_file), "--creator", email]) == 0
        assert "stored (encrypted)" in capsys.readouterr().out
        assert cli.main(["whop", "disconnect", "--creator", email]) == 0
        assert "key is forgotten" in capsys.readouterr().out
        for text in (shown, out.out, out.err):
            assert fake.key not in text
