"""Sign-in through Streamlit's st.login against a fake OpenID Connect provider on 127.0.0.1, in Chromium.

The app runs as it would for a team: `[auth]` in its secrets file, every visitor signs in, the first
sign-in creates the person's workspace, and an analyst teammate sees the owner's workspace read-only.
"""

from __future__ import annotations

import secrets
import uuid

import pytest
import sqlalchemy as sa

from chronos_data import access, courses
from tests.e2e.conftest import SCREENSHOTS, running_app
from tests.fakes.oidc import FakeOIDCProvider
from tests.pg import free_port

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def provider():
    with FakeOIDCProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def app(tmp_path_factory, provider, database_url):
    root = tmp_path_factory.mktemp("sign-in")
    port = free_port()
    secrets_file = root / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{provider.client_id}"\n'
        f'client_secret = "{provider.client_secret}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
    )
    env = {"DATABASE_URL": database_url, "CHRONOS_IMPORT_WORKER": "off"}
    with running_app(root, env, ["--secrets.files", str(secrets_file)], port) as instance:
        yield instance


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def _identity(email: str) -> access.Identity:
    """Someone the tests sign in directly, not through the provider (their own test issuer)."""
    return access.Identity("https://direct.example.com", f"direct-{email}", email)


def _sign_in(page, app, email: str, name: str = "") -> None:
    page.goto(app.url)
    page.get_by_role("button", name="Sign in").click(timeout=60_000)
    page.wait_for_url("**/authorize**", timeout=30_000)
    page.fill("input[name=login_email]", email)
    page.fill("input[name=login_name]", name)
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Signed in as").wait_for(timeout=60_000)


def test_a_visitor_must_sign_in_and_the_first_sign_in_creates_the_workspace(page, app, provider, db):
    page.goto(app.url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert page.get_by_text("Overview").count() == 0  # no page of the app before signing in
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sign-in.png"))

    email = f"creator-{uuid.uuid4().hex[:8]}@example.com"
    _sign_in(page, app, email, "Grace Hopper")
    page.get_by_role("heading", name="Overview").wait_for(timeout=30_000)
    assert page.get_by_text(email).count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "signed-in.png"))
    assert provider.issued_tokens[-1]["email"] == email

    with db.owner() as conn:
        row = conn.execute(sa.text("SELECT name, last_login_at FROM chronos.creators WHERE email = :e"),
                           {"e": email}).one()
    assert row.name == "Grace Hopper" and row.last_login_at is not None

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)


def test_an_analyst_teammate_sees_the_owner_s_workspace_read_only(page, app, db):
    owner_email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    analyst_email = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    with db.engine.begin() as conn:
        [owner] = access.sign_in(conn, _identity(owner_email))
    with db.workspace(owner.creator_id) as t:
        courses.create_course(t, "Owner's statistics course")
        access.add_teammate(t, analyst_email)

    _sign_in(page, app, analyst_email)
    page.get_by_label("Workspace").click()
    page.get_by_role("option", name=f"{owner_email} (analyst)").click()
    page.get_by_text(f"you are an analyst in {owner_email}").wait_for(timeout=30_000)
    page.get_by_role("link", name="Courses").click()
    page.get_by_text("Owner's statistics course").first.wait_for(timeout=30_000)
    assert page.get_by_text("Read-only access: building and publishing courses").count() == 1
    assert page.get_by_role("button", name="New course").count() == 0
    assert page.get_by_role("button", name="Publish").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "analyst-courses.png"))

    page.get_by_role("link", name="Videos").click()
    page.get_by_text("Read-only access: adding and changing videos").wait_for(timeout=30_000)
    page.get_by_role("link", name="Settings").click()
    page.get_by_text("read-only analyst access").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Add as analyst").count() == 0


@pytest.mark.parametrize("verified", [False, None], ids=["claim false", "claim absent"])
def test_an_unverified_address_is_refused_with_a_plain_message(page, app, provider, db, verified):
    """A token without ``email_verified`` is no proof either (it opened the address's workspace)."""
    email = f"unverified-{uuid.uuid4().hex[:8]}@example.com"
    provider.email_verified = verified
    try:
        page.goto(app.url)
        page.get_by_role("button", name="Sign in").click(timeout=60_000)
        page.fill("input[name=login_email]", email)
        page.get_by_role("button", name="Continue").click()
        page.get_by_text("has not confirmed that").wait_for(timeout=60_000)
    finally:
        provider.email_verified = True
    assert page.get_by_text("Traceback").count() == 0
    with db.owner() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM chronos.creators WHERE email = :e"),
                            {"e": email}).scalar_one() == 0


def test_another_account_typing_a_creator_s_address_is_refused(page, app, provider, db):
    email = f"bravo-{uuid.uuid4().hex[:8]}@example.com"
    with db.engine.begin() as conn:
        [bravo] = access.sign_in(conn, _identity(email))
    with db.workspace(bravo.creator_id) as t:
        courses.create_course(t, "Bravo's private course")
    page.goto(app.url)
    page.get_by_role("button", name="Sign in").click(timeout=60_000)
    page.fill("input[name=login_email]", email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("belongs to another sign-in account").wait_for(timeout=60_000)
    assert page.get_by_text("Bravo's private course").count() == 0
    assert page.get_by_text("Traceback").count() == 0


def test_the_owner_adds_removes_and_restores_a_teammate_in_settings(page, app, db):
    owner_email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    mate_email = f"mate-{uuid.uuid4().hex[:8]}@example.com"
    _sign_in(page, app, owner_email)
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Teammate's e-mail address").fill("not an address")
    page.get_by_role("button", name="Add as analyst").click()
    page.get_by_text("is not an e-mail address").wait_for(timeout=30_000)

    page.get_by_label("Teammate's e-mail address").fill(mate_email)
    page.get_by_role("button", name="Add as analyst").click()
    page.get_by_text("Teammate added").wait_for(timeout=30_000)
    page.get_by_text("not signed in yet").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "settings-teammates.png"))

    page.get_by_role("button", name="Remove").click()
    page.get_by_text("Teammate removed").wait_for(timeout=30_000)
    with db.engine.begin() as conn:
        assert [w.role for w in access.sign_in(conn, _identity(mate_email))] == ["owner"]
    page.get_by_role("button", name="Undo").click()
    page.get_by_text("Teammate restored").wait_for(timeout=30_000)
    with db.engine.begin() as conn:
        assert [w.email for w in access.sign_in(conn, _identity(mate_email))][1] == owner_email
